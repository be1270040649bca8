# The embedded default: a generated mock survey (zshard.mock).


rule mock_survey:
    output:
        photometry=mock_photometry_files(config),  # never the user's files (source: files)
        specz=f"{MOCK_DIR}/specz.parquet",
        deep_reference=f"{MOCK_DIR}/deep_reference.parquet",
        clustering_reference=f"{MOCK_DIR}/clustering_reference.parquet",
        truth=f"{MOCK_DIR}/truth.parquet",
        summary=f"{MOCK_DIR}/summary.json",
    params:
        mock=config["mock"],
        bands=BANDS,
        seed=SEED,
    log:
        log_of("mock_survey"),
    benchmark:
        benchmark_of("mock_survey")
    threads: res("mock_survey", "threads")
    resources:
        mem_mb=job_resource("mock_survey", "mem_mb"),
        runtime=job_resource("mock_survey", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/mock_survey.py"
