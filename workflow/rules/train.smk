# The labelled samples and the one model artefact (zshard.models).


rule prepare_samples:
    input:
        SPECZ_FILES,
    output:
        train=f"{R}/samples/train.parquet",
        validation=f"{R}/samples/validation.parquet",
        test=f"{R}/samples/test.parquet",
        summary=f"{R}/samples/summary.json",
    params:
        catalog=SOURCES["specz"],
        bands=BANDS,
        fractions=config["samples"]["fractions"],
        seed=SEED,
    log:
        f"{R}/logs/prepare_samples.log",
    benchmark:
        f"{R}/benchmarks/prepare_samples.tsv"
    threads: 1
    resources:
        mem_mb=res("prepare_samples", "mem_mb"),
        runtime=res("prepare_samples", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/prepare_samples.py"


rule train_model:
    input:
        train=f"{R}/samples/train.parquet",
    output:
        model=f"{R}/model/photoz_model.json",
        manifest=f"{R}/model/manifest.json",
    params:
        model=config["model"],
        bands=BANDS,
        seed=SEED,
    log:
        f"{R}/logs/train_model.log",
    benchmark:
        f"{R}/benchmarks/train_model.tsv"
    threads: res("train_model", "threads")
    resources:
        mem_mb=res("train_model", "mem_mb"),
        runtime=res("train_model", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/train_model.py"
