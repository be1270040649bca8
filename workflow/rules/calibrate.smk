# PIT recalibration: fitted once on the validation sample, applied per shard by rule fanout_shard.


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

