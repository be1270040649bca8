# Validation: photo-z metrics on the held-out test sample, Δz per bin against a deep reference
# field (COSMOS-style), and — where the truth is known (the mock) — against the truth.


rule validate_photoz:
    input:
        model=f"{R}/model/photoz_model.json",
        calibration=f"{R}/calibration/pit_calibration.json",
        test=f"{R}/samples/test.parquet",
    output:
        predictions=f"{R}/validation/test_predictions.parquet",
        metrics=f"{R}/validation/photoz_metrics.json",
    params:
        magnitude_bins=config["validation"]["magnitude_bins"],
        bands=BANDS,
    log:
        log_of("validate_photoz"),
    benchmark:
        benchmark_of("validate_photoz")
    threads: 1
    resources:
        mem_mb=job_resource("validate_photoz", "mem_mb"),
        runtime=job_resource("validate_photoz", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/validate_photoz.py"


rule validate_delta_z:
    input:
        reference=source_files(config, SOURCES["deep_reference"]) if DEEP_REFERENCE else [],
        bins=per_shard(f"{R}/tomography/bins/{{shard}}.parquet"),
        samples=per_shard(f"{R}/tomography/samples/{{shard}}.parquet"),
        edges=f"{R}/tomography/edges.json",
    output:
        delta_z=f"{R}/validation/delta_z.json",
    params:
        catalog=SOURCES["deep_reference"],
        bands=BANDS,
        deep_reference=config["validation"]["deep_reference"],
        z_range=CLUSTERING_RANGE,
        seed=SEED,
    log:
        log_of("validate_delta_z"),
    benchmark:
        benchmark_of("validate_delta_z")
    threads: 1
    resources:
        mem_mb=job_resource("validate_delta_z", "mem_mb"),
        runtime=job_resource("validate_delta_z", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/validate_delta_z.py"


rule validate_truth:
    input:
        truth=source_files(config, SOURCES["truth"]) if TRUTH else [],
        bins=per_shard(f"{R}/tomography/bins/{{shard}}.parquet"),
        nz=f"{R}/nz/nz.json",
        edges=f"{R}/tomography/edges.json",
    output:
        truth=f"{R}/validation/truth.json",
    params:
        catalog=SOURCES["truth"],
        grid_step=config["tomography"]["grid_step"],
        max_objects=config["validation"]["truth"]["max_objects"],
        chunk_rows=config["partition"]["chunk_rows"],
        z_range=CLUSTERING_RANGE,
        seed=SEED,
    log:
        log_of("validate_truth"),
    benchmark:
        benchmark_of("validate_truth")
    threads: 1
    resources:
        mem_mb=job_resource("validate_truth", "mem_mb"),
        runtime=job_resource("validate_truth", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/validate_truth.py"


rule validate_clustering:
    input:
        reference=source_files(config, SOURCES["clustering_reference"]) if CLUSTERING else [],
        bins=per_shard(f"{R}/tomography/bins/{{shard}}.parquet"),
        shards=lambda wc: [shard_path(key) for key in shard_keys()],
        nz=f"{R}/nz/nz.json",
        edges=f"{R}/tomography/edges.json",
    output:
        delta_z=f"{R}/validation/clustering_delta_z.json",
    params:
        catalog=SOURCES["clustering_reference"],
        clustering=config["validation"]["clustering"],
        seed=SEED,
    log:
        log_of("validate_clustering"),
    benchmark:
        benchmark_of("validate_clustering")
    threads: 1
    resources:
        mem_mb=job_resource("validate_clustering", "mem_mb"),
        runtime=job_resource("validate_clustering", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/validate_clustering.py"


rule combine_delta_z:
    input:
        cosmos=[f"{R}/validation/delta_z.json"] if DEEP_REFERENCE else [],
        clustering=[f"{R}/validation/clustering_delta_z.json"] if CLUSTERING else [],
        truth=[f"{R}/validation/truth.json"] if TRUTH else [],
        edges=f"{R}/tomography/edges.json",
    output:
        table=f"{R}/validation/delta_z_table.json",
    params:
        tension_sigma=config["validation"]["tension_sigma"],
        combination=config["validation"]["combination"],
    log:
        log_of("combine_delta_z"),
    benchmark:
        benchmark_of("combine_delta_z")
    threads: 1
    resources:
        mem_mb=job_resource("combine_delta_z", "mem_mb"),
        runtime=job_resource("combine_delta_z", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/combine_delta_z.py"
