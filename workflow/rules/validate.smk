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
    log:
        f"{R}/logs/validate_photoz.log",
    benchmark:
        f"{R}/benchmarks/validate_photoz.tsv"
    threads: 1
    resources:
        mem_mb=res("validate_photoz", "mem_mb"),
        runtime=res("validate_photoz", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/validate_photoz.py"


rule validate_delta_z:
    input:
        reference=source_files("deep_reference") if DEEP_REFERENCE else [],
        bins=per_shard(f"{R}/tomography/bins/{{shard}}.parquet"),
        samples=per_shard(f"{R}/tomography/samples/{{shard}}.parquet"),
    output:
        delta_z=f"{R}/validation/delta_z.json",
    params:
        catalog=SOURCES["deep_reference"],
        bands=BANDS,
        edges=config["tomography"]["edges"],
        deep_reference=config["validation"]["deep_reference"],
        seed=SEED,
    log:
        f"{R}/logs/validate_delta_z.log",
    benchmark:
        f"{R}/benchmarks/validate_delta_z.tsv"
    threads: 1
    resources:
        mem_mb=res("validate_delta_z", "mem_mb"),
        runtime=res("validate_delta_z", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/validate_delta_z.py"


rule validate_truth:
    input:
        truth=source_files("truth") if TRUTH else [],
        bins=per_shard(f"{R}/tomography/bins/{{shard}}.parquet"),
        nz=f"{R}/nz/nz.json",
    output:
        truth=f"{R}/validation/truth.json",
    params:
        catalog=SOURCES["truth"],
        edges=config["tomography"]["edges"],
        grid_step=config["tomography"]["grid_step"],
    log:
        f"{R}/logs/validate_truth.log",
    benchmark:
        f"{R}/benchmarks/validate_truth.tsv"
    threads: 1
    resources:
        mem_mb=res("validate_truth", "mem_mb"),
        runtime=res("validate_truth", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/validate_truth.py"
