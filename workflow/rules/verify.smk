# Checksums and row counts of the per-shard tables (calibrated p(z), bins), for `make verify`
# (zshard.verify): the shards' are recorded by their reduces in catalog/manifest.json. The job fails
# if a table's rows differ from its shard's (conservation from the partition to the p(z) and bins).


rule pdf_manifest:
    input:
        catalog=f"{R}/catalog/manifest.json",
        pdf=per_shard(f"{R}/pdf/calibrated/{{shard}}.parquet"),
        bins=per_shard(f"{R}/tomography/bins/{{shard}}.parquet"),
    output:
        manifest=f"{R}/pdf/manifest.json",
    params:
        # <results>/pdf/manifest.json -> <results>: the tables are recorded relative to it
        results=lambda wildcards, output: os.path.dirname(os.path.dirname(output.manifest)),
    log:
        log_of("pdf_manifest"),
    benchmark:
        benchmark_of("pdf_manifest")
    threads: 1
    resources:
        mem_mb=job_resource("pdf_manifest", "mem_mb"),
        runtime=job_resource("pdf_manifest", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    # script, not shell: a command line listing every shard's tables outgrows the kernel's limit
    script:
        "../../scripts/pdf_manifest.py"
