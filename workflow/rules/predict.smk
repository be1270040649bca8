# Fan-out: a p(z) (quantiles) and point estimates for every object of a shard.


rule predict_shard:
    input:
        shard=lambda wc: shard_path(wc.shard),
        model=f"{R}/model/photoz_model.json",
    output:
        f"{R}/pdf/raw/{{shard}}.parquet",
    log:
        log_of("predict_shard", "{shard}"),
    benchmark:
        benchmark_of("predict_shard", "{shard}")
    # one SLURM job runs a shard's predict -> calibrate -> tomography (profiles/slurm batches several)
    group:
        "shard_chain"
    threads: 1
    resources:
        mem_mb=job_resource("predict_shard", "mem_mb"),
        runtime=job_resource("predict_shard", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/predict_shard.py"
