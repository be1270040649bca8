# The labelled samples, the training stages and the one model artefact (zshard.training):
# science_sample -> representativeness -> anomalies -> features -> select_features -> model_zoo
# -> train_model. Training happens once; the fan-out (predict.smk) only reads the artefact.

# Each stage's figure, flagged for the report by its rule (report_item) and shown on the summary page.
TRAINING_FIGURE_PATHS = {
    "representativeness": f"{R}/representativeness/representativeness.png",
    "anomalies": f"{R}/anomalies/anomalies.png",
    "features": f"{R}/features/features.png",
    "selection": f"{R}/selection/selection.png",
    "zoo": f"{R}/zoo/zoo.png",
}


rule prepare_samples:
    input:
        SPECZ_FILES,
    output:
        train=f"{R}/samples/train.parquet",
        validation=f"{R}/samples/validation.parquet",
        test=f"{R}/samples/test.parquet",
        summary=f"{R}/samples/summary.json",
        rejects=f"{R}/samples/rejects.parquet",
    params:
        catalog=SOURCES["specz"],
        bands=BANDS,
        fractions=config["samples"]["fractions"],
        min_train=config["samples"]["min_train"],
        z_min=config["model"]["z_min"],
        z_max=config["model"]["z_max"],
        seed=SEED,
    log:
        log_of("prepare_samples"),
    benchmark:
        benchmark_of("prepare_samples")
    priority: TRAINING_PRIORITY
    threads: 1
    resources:
        mem_mb=job_resource("prepare_samples", "mem_mb"),
        runtime=job_resource("prepare_samples", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/prepare_samples.py"


rule science_sample:
    # A snapshot taken when the model is trained ("train once"): neither a re-reduced nor an added
    # photometry file retrains (science_sample_files). Delete the output (or -R science_sample) to refresh.
    input:
        science_sample_files,
    output:
        sample=f"{R}/representativeness/science_sample.parquet",
        summary=f"{R}/representativeness/science_sample.json",
    params:
        catalog=PHOTOMETRY_READER,
        bands=BANDS,
        size=config["representativeness"]["science_sample_size"],
        chunk_rows=config["representativeness"]["chunk_rows"],
        seed=SEED,
    log:
        log_of("science_sample"),
    benchmark:
        benchmark_of("science_sample")
    priority: TRAINING_PRIORITY
    threads: 1
    resources:
        mem_mb=job_resource("science_sample", "mem_mb"),
        runtime=job_resource("science_sample", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/science_sample.py"


rule representativeness:
    input:
        train=f"{R}/samples/train.parquet",
        science=f"{R}/representativeness/science_sample.parquet",
        science_summary=f"{R}/representativeness/science_sample.json",
    output:
        report=f"{R}/representativeness/report.json",
        ks=f"{R}/representativeness/ks.csv",
        cells=f"{R}/representativeness/cells.csv",
        weights=f"{R}/representativeness/train_weights.parquet",
        coverage=f"{R}/representativeness/coverage.npz",
        figure=report_item(TRAINING_FIGURE_PATHS["representativeness"], "representativeness"),
    params:
        cfg={k: v for k, v in config["representativeness"].items() if k not in ("science_sample_size", "chunk_rows")},
        bands=BANDS,
        source=config["source"],
        seed=SEED,
    log:
        log_of("representativeness"),
    benchmark:
        benchmark_of("representativeness")
    priority: TRAINING_PRIORITY
    threads: 1
    resources:
        mem_mb=job_resource("representativeness", "mem_mb"),
        runtime=job_resource("representativeness", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/representativeness.py"


rule anomalies:
    input:
        train=f"{R}/samples/train.parquet",
        validation=f"{R}/samples/validation.parquet",
        weights=f"{R}/representativeness/train_weights.parquet",
    output:
        flags=f"{R}/anomalies/flags.parquet",
        report=f"{R}/anomalies/report.json",
        table=f"{R}/anomalies/flagged.csv",
        figure=report_item(TRAINING_FIGURE_PATHS["anomalies"], "anomalies"),
    params:
        cfg=config["anomalies"],
        quick_model=config["selection"]["quick_model"],
        bands=BANDS,
        seed=SEED,
    log:
        log_of("anomalies"),
    benchmark:
        benchmark_of("anomalies")
    priority: TRAINING_PRIORITY
    threads: res("anomalies", "threads")
    resources:
        mem_mb=job_resource("anomalies", "mem_mb"),
        runtime=job_resource("anomalies", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/anomalies.py"


rule features:
    input:
        train=f"{R}/samples/train.parquet",
        anomalies=f"{R}/anomalies/flags.parquet",
        science=f"{R}/representativeness/science_sample.parquet",
    output:
        pool=f"{R}/features/pool.json",
        table=f"{R}/features/summary.csv",
        figure=report_item(TRAINING_FIGURE_PATHS["features"], "features"),
    params:
        cfg=config["features"],
        bands=BANDS,
    log:
        log_of("features"),
    benchmark:
        benchmark_of("features")
    priority: TRAINING_PRIORITY
    threads: 1
    resources:
        mem_mb=job_resource("features", "mem_mb"),
        runtime=job_resource("features", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/features.py"


rule select_features:
    input:
        train=f"{R}/samples/train.parquet",
        anomalies=f"{R}/anomalies/flags.parquet",
        weights=f"{R}/representativeness/train_weights.parquet",
        science=f"{R}/representativeness/science_sample.parquet",
        pool=f"{R}/features/pool.json",
    output:
        report=f"{R}/selection/report.json",
        feature_set=f"{R}/selection/feature_set.json",
        table=f"{R}/selection/rankings.csv",
        figure=report_item(TRAINING_FIGURE_PATHS["selection"], "selection"),
    params:
        cfg=config["selection"],
        seed=SEED,
    log:
        log_of("select_features"),
    benchmark:
        benchmark_of("select_features")
    priority: TRAINING_PRIORITY
    threads: res("select_features", "threads")
    resources:
        mem_mb=job_resource("select_features", "mem_mb"),
        runtime=job_resource("select_features", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/select_features.py"


rule model_zoo:
    input:
        train=f"{R}/samples/train.parquet",
        anomalies=f"{R}/anomalies/flags.parquet",
        weights=f"{R}/representativeness/train_weights.parquet",
        feature_set=f"{R}/selection/feature_set.json",
    output:
        leaderboard=f"{R}/zoo/leaderboard.json",
        table=f"{R}/zoo/draws.csv",
        oof=f"{R}/zoo/out_of_fold.parquet",
        figure=report_item(TRAINING_FIGURE_PATHS["zoo"], "zoo"),
    params:
        cfg=config["zoo"],
        seed=SEED,
    log:
        log_of("model_zoo"),
    benchmark:
        benchmark_of("model_zoo")
    priority: TRAINING_PRIORITY
    threads: res("model_zoo", "threads")
    resources:
        mem_mb=job_resource("model_zoo", "mem_mb"),
        runtime=job_resource("model_zoo", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/model_zoo.py"


rule train_model:
    input:
        train=f"{R}/samples/train.parquet",
        validation=f"{R}/samples/validation.parquet",
        anomalies=f"{R}/anomalies/flags.parquet",
        anomalies_report=f"{R}/anomalies/report.json",
        weights=f"{R}/representativeness/train_weights.parquet",
        coverage=f"{R}/representativeness/coverage.npz",
        representativeness=f"{R}/representativeness/report.json",
        feature_set=f"{R}/selection/feature_set.json",
        selection=f"{R}/selection/report.json",
        leaderboard=[f"{R}/zoo/leaderboard.json"] if ZOO else [],
    output:
        model=f"{R}/model/photoz_model.json",
        manifest=f"{R}/model/manifest.json",
    params:
        model=config["model"],
        seed=SEED,
    log:
        log_of("train_model"),
    benchmark:
        benchmark_of("train_model")
    priority: TRAINING_PRIORITY
    threads: res("train_model", "threads")
    resources:
        mem_mb=job_resource("train_model", "mem_mb"),
        runtime=job_resource("train_model", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/train_model.py"
