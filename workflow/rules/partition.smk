# Partition the photometric catalogue into HEALPix shards (zshard.partition):
# split (per file: rows sorted by _healpix_29 + histogram) -> plan (checkpoint) -> reduce (per shard)
# -> manifest. The split does not depend on the plan: a new plan reruns only the reduces it changes.


rule partition_split:
    input:
        catalog=lambda wc: INPUTS[wc.file_id],
        script=f"{SCRIPTS}/partition_split.py",
    output:
        split=directory(f"{R}/partition/split/{{file_id}}"),
        rows=split_runs(f"{R}/partition/runs/{{file_id}}.arrow"),
    params:
        histogram_order=config["partition"]["histogram_order"],
        # a function: the column templates ("mag_{band}") are not wildcards
        reader=lambda wildcards: json.dumps(PHOTOMETRY_READER, sort_keys=True),
        bands=BANDS,
        chunk_rows=config["partition"]["chunk_rows"],
        ra_outside_range=config["partition"]["ra_outside_range"],
    log:
        log_of("partition_split", "{file_id}"),
    benchmark:
        benchmark_of("partition_split", "{file_id}")
    threads: 1
    resources:
        mem_mb=job_resource("partition_split", "mem_mb"),
        runtime=job_resource("partition_split", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    # shell, not script: see PARTITION_JOB_NOTE in common.smk
    shell:
        "python {input.script:q} --input {input.catalog:q} --file-id {wildcards.file_id}"
        " --reader {params.reader:q} --bands {params.bands} --histogram-order {params.histogram_order}"
        " --chunk-rows {params.chunk_rows} --ra-outside-range {params.ra_outside_range} --output {output.split:q} --rows {output.rows:q} > {log:q} 2>&1"


checkpoint partition_plan:
    input:
        splits=expand(f"{R}/partition/split/{{file_id}}", file_id=sorted(INPUTS)),
    output:
        plan=f"{R}/partition/plan.json",
        sky=f"{R}/partition/sky_histogram.npz",
    params:
        inputs=INPUTS,
        catalog_dir=f"{R}/catalog",
        max_rows=config["partition"]["max_rows_per_shard"],
        lowest_order=config["partition"]["lowest_order"],
    log:
        log_of("partition_plan"),
    benchmark:
        benchmark_of("partition_plan")
    threads: 1
    resources:
        mem_mb=job_resource("partition_plan", "mem_mb"),
        runtime=job_resource("partition_plan", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/partition_plan.py"


rule partition_reduce:
    input:
        splits=split_dirs_of_shard,
        rows=split_rows_of_shard,
        script=f"{SCRIPTS}/partition_reduce.py",
    output:
        shard=f"{R}/catalog/dataset/Norder={{order}}/Dir={{hatsdir}}/Npix={{pixel}}.parquet",
        # stats.json, rejects.parquet, ids.npy (zshard.partition.reduce_shard): one output, not three
        record=directory(f"{R}/partition/reduce/Norder={{order}}/Dir={{hatsdir}}/Npix={{pixel}}"),
    params:
        compression=config["partition"]["compression"],
        close_pair_arcsec=config["partition"]["close_pair_arcsec"],
    log:
        log_of("partition_reduce", "Norder={order}/Dir={hatsdir}/Npix={pixel}"),
    benchmark:
        benchmark_of("partition_reduce", "Norder={order}/Dir={hatsdir}/Npix={pixel}")
    # Not grouped: several reduces per job (group-components) made Snakemake's dry run loop forever
    # now and then, as the reduces come from the plan checkpoint (snakemake issues #1217, #4202).
    threads: 1
    resources:
        mem_mb=job_resource("partition_reduce", "mem_mb"),
        runtime=job_resource("partition_reduce", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    # shell, not script: see PARTITION_JOB_NOTE in common.smk
    shell:
        "python {input.script:q} --order {wildcards.order} --pixel {wildcards.pixel}"
        " --compression {params.compression} --close-pair-arcsec {params.close_pair_arcsec} --shard {output.shard:q} --record {output.record:q}"
        " {input.splits:q} --rows {input.rows:q} > {log:q} 2>&1"


rule partition_manifest:
    input:
        plan=f"{R}/partition/plan.json",
        splits=expand(f"{R}/partition/split/{{file_id}}", file_id=sorted(INPUTS)),
        shards=lambda wc: [shard_path(k) for k in shard_keys()],
        records=lambda wc: [shard_path(k, f"{R}/partition/reduce", "") for k in shard_keys()],
    output:
        manifest=f"{R}/catalog/manifest.json",
        rejects=f"{R}/catalog/rejects.parquet",
        duplicate_ids=f"{R}/catalog/duplicate_ids.parquet",
        close_pairs=f"{R}/catalog/close_pairs.parquet",
        partition_info=f"{R}/catalog/partition_info.csv",
        properties=f"{R}/catalog/properties",
        metadata=f"{R}/catalog/dataset/_metadata",
        common_metadata=f"{R}/catalog/dataset/_common_metadata",
    params:
        catalog_dir=lambda wildcards, output: os.path.dirname(output.manifest),
        catalog_name=config["partition"]["catalog_name"],
        duplicate_ids=config["partition"]["duplicate_ids"],
        close_pair_arcsec=config["partition"]["close_pair_arcsec"],
    log:
        log_of("partition_manifest"),
    benchmark:
        benchmark_of("partition_manifest")
    threads: 1
    resources:
        mem_mb=job_resource("partition_manifest", "mem_mb"),
        runtime=job_resource("partition_manifest", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/partition_manifest.py"
