# Tomographic bins per shard, partial n(z) sums per shard, one reduce (zshard.tomography).


rule tomography_shard:
    input:
        calibrated=f"{R}/pdf/calibrated/{{shard}}.parquet",
        shard=lambda wc: shard_path(wc.shard),
    output:
        bins=f"{R}/tomography/bins/{{shard}}.parquet",
        partial=f"{R}/tomography/partials/{{shard}}.npz",
        sample=f"{R}/tomography/samples/{{shard}}.parquet",
    params:
        tomography=config["tomography"],
        bands=BANDS,
        seed=SEED,
    log:
        f"{R}/logs/tomography_shard/{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/tomography_shard/{{shard}}.tsv"
    threads: 1
    resources:
        mem_mb=res("tomography_shard", "mem_mb"),
        runtime=res("tomography_shard", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/tomography_shard.py"


rule reduce_nz:
    input:
        partials=per_shard(f"{R}/tomography/partials/{{shard}}.npz"),
        manifest=f"{R}/catalog/manifest.json",
    output:
        fits=f"{R}/nz/nz.fits",
        text=f"{R}/nz/nz.txt",
        summary=f"{R}/nz/nz.json",
    log:
        f"{R}/logs/reduce_nz.log",
    benchmark:
        f"{R}/benchmarks/reduce_nz.tsv"
    threads: 1
    resources:
        mem_mb=res("reduce_nz", "mem_mb"),
        runtime=res("reduce_nz", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/reduce_nz.py"
