# The fan-out: one job per shard predicts every object's p(z) (quantiles, z_phot, the coverage flag
# and weight), PIT-calibrates it, assigns its tomographic bin, and sums the shard's partial n(z)
# (zshard.fanout). One process instead of one per stage: it saves two interpreter start-ups and a
# write and read of the raw p(z) per shard (docs/scaling.md). The calibration (rule fit_calibration)
# and the bin edges (rule tomography_edges) are fitted once and read from one file each, so changing
# either reruns this job for every shard but never training.


rule fanout_shard:
    input:
        shard=lambda wc: shard_path(wc.shard),
        # the reduce's record of the shard (stats.json: SHA-256, bytes, rows), checked before the shard is read
        record=lambda wc: shard_path(wc.shard, root=f"{R}/partition/reduce", suffix=""),
        model=f"{R}/model/photoz_model.json",
        calibration=f"{R}/calibration/pit_calibration.json",
        edges=f"{R}/tomography/edges.json",
    output:
        pdf=f"{R}/pdf/calibrated/{{shard}}.parquet",
        bins=f"{R}/tomography/bins/{{shard}}.parquet",
        partial=f"{R}/tomography/partials/{{shard}}.npz",
        sample=f"{R}/tomography/samples/{{shard}}.parquet",
    params:
        tomography={k: TOMO[k] for k in ("point_estimate", "grid_step", "sample_fraction", "cuts")},
        bands=BANDS,
        seed=SEED,
    log:
        log_of("fanout_shard", "{shard}"),
    benchmark:
        benchmark_of("fanout_shard", "{shard}")
    # profiles/slurm batches several shards' jobs into one SLURM job (group-components)
    group:
        "shard_chain"
    threads: 1
    resources:
        mem_mb=job_resource("fanout_shard", "mem_mb"),
        runtime=job_resource("fanout_shard", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/fanout_shard.py"
