# Tomographic bin edges, once; the bins and partial n(z) sums per shard (rule fanout_shard); one
# reduce (zshard.tomography). The edges are read from one file by every job that bins, so that
# changing them reruns the fan-out and what follows, never training.

TOMO = config["tomography"]
EQUAL_NUMBER = TOMO["edges_mode"] == "equal_number"
# What the edges depend on, and only that (a change elsewhere must not rewrite edges.json).
EDGES_PARAMS = ({k: TOMO[k] for k in ("edges_mode", "n_bins", "z_range", "point_estimate", "cuts")} if EQUAL_NUMBER
                else {k: TOMO[k] for k in ("edges_mode", "edges")})


rule tomography_edges:
    input:
        science=f"{R}/representativeness/science_sample.parquet" if EQUAL_NUMBER else [],
        model=f"{R}/model/photoz_model.json" if EQUAL_NUMBER else [],
        calibration=f"{R}/calibration/pit_calibration.json" if EQUAL_NUMBER else [],
    output:
        edges=f"{R}/tomography/edges.json",
    params:
        tomography=EDGES_PARAMS,
    log:
        log_of("tomography_edges"),
    benchmark:
        benchmark_of("tomography_edges")
    threads: 1
    resources:
        mem_mb=job_resource("tomography_edges", "mem_mb"),
        runtime=job_resource("tomography_edges", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/tomography_edges.py"


rule reduce_nz:
    input:
        partials=per_shard(f"{R}/tomography/partials/{{shard}}.npz"),
        manifest=f"{R}/catalog/manifest.json",
        edges=f"{R}/tomography/edges.json",
    output:
        fits=f"{R}/nz/nz.fits",
        text=f"{R}/nz/nz.txt",
        sacc=f"{R}/nz/nz.sacc.fits",
        summary=f"{R}/nz/nz.json",
    log:
        log_of("reduce_nz"),
    benchmark:
        benchmark_of("reduce_nz")
    threads: 1
    resources:
        mem_mb=job_resource("reduce_nz", "mem_mb"),
        runtime=job_resource("reduce_nz", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/reduce_nz.py"
