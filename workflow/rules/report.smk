# The summary a person looks at: metrics JSON, figures, the report's tables and a Markdown page.
# What `snakemake --report` shows, and in which category: zshard.report.items (report_item, common.smk).

# The figures the summary draws: the clustering n(z) only where clustering redshifts ran.
SUMMARY_FIGURE_NAMES = [name for name in SUMMARY_FIGURES if name != "clustering_nz" or CLUSTERING]


rule summary:
    input:
        manifest=f"{R}/catalog/manifest.json",
        plan=f"{R}/partition/plan.json",
        sky=f"{R}/partition/sky_histogram.npz",
        samples=f"{R}/samples/summary.json",
        model_manifest=f"{R}/model/manifest.json",
        photoz=f"{R}/validation/photoz_metrics.json",
        predictions=f"{R}/validation/test_predictions.parquet",
        nz=f"{R}/nz/nz.json",
        nz_products=f"{R}/nz/nz_products.json",
        delta_z=[f"{R}/validation/delta_z.json"] if DEEP_REFERENCE else [],
        clustering=[f"{R}/validation/clustering_delta_z.json"] if CLUSTERING else [],
        delta_z_table=[f"{R}/validation/delta_z_table.json"] if DEEP_REFERENCE or CLUSTERING else [],
        truth=[f"{R}/validation/truth.json"] if TRUTH else [],
        representativeness=f"{R}/representativeness/report.json",
        anomalies=f"{R}/anomalies/report.json",
        selection=f"{R}/selection/report.json",
        leaderboard=[f"{R}/zoo/leaderboard.json"] if ZOO else [],
        training_figures=[path for name, path in TRAINING_FIGURE_PATHS.items() if name != "zoo" or ZOO],
    output:
        metrics=f"{R}/summary/metrics.json",
        markdown=f"{R}/summary/summary.md",
        figures=[report_item(f"{R}/summary/figures/{name}.png", name) for name in SUMMARY_FIGURE_NAMES],
        tables=[report_item(f"{R}/summary/tables/{name}.html", name) for name in SUMMARY_TABLES],
    params:
        source=config["source"],
    log:
        log_of("summary"),
    benchmark:
        benchmark_of("summary")
    threads: 1
    resources:
        mem_mb=job_resource("summary", "mem_mb"),
        runtime=job_resource("summary", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/summary.py"
