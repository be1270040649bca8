# PIT recalibration: fitted once on the validation sample, applied per shard as its own rule,
# so that refitting the calibration reruns calibration and what follows, not prediction.


rule fit_calibration:
    input:
        model=f"{R}/model/photoz_model.json",
        validation=f"{R}/samples/validation.parquet",
    output:
        calibration=f"{R}/calibration/pit_calibration.json",
    params:
        calibration=config["calibration"],
        weights=config["representativeness"]["weights"],
    log:
        log_of("fit_calibration"),
    benchmark:
        benchmark_of("fit_calibration")
    priority: TRAINING_PRIORITY
    threads: 1
    resources:
        mem_mb=job_resource("fit_calibration", "mem_mb"),
        runtime=job_resource("fit_calibration", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/fit_calibration.py"


rule calibrate_shard:
    input:
        raw=f"{R}/pdf/raw/{{shard}}.parquet",
        calibration=f"{R}/calibration/pit_calibration.json",
    output:
        f"{R}/pdf/calibrated/{{shard}}.parquet",
    log:
        log_of("calibrate_shard", "{shard}"),
    benchmark:
        benchmark_of("calibrate_shard", "{shard}")
    # one SLURM job runs a shard's predict -> calibrate -> tomography (profiles/slurm batches several)
    group:
        "shard_chain"
    threads: 1
    resources:
        mem_mb=job_resource("calibrate_shard", "mem_mb"),
        runtime=job_resource("calibrate_shard", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/calibrate_shard.py"
