# The summary a person looks at: metrics JSON, figures and a Markdown page (also in --report).

SUMMARY_FIGURES = {
    "pit": "PIT histograms before and after calibration (test sample)",
    "zphot_vs_zspec": "z_phot against z_spec (test sample)",
    "nz": "n(z) per tomographic bin",
    "delta_z": "Δz per tomographic bin",
    "sky": "Objects per HEALPix pixel",
}


rule summary:
    input:
        manifest=f"{R}/catalog/manifest.json",
        sky=f"{R}/partition/sky_histogram.npz",
        samples=f"{R}/samples/summary.json",
        model_manifest=f"{R}/model/manifest.json",
        photoz=f"{R}/validation/photoz_metrics.json",
        predictions=f"{R}/validation/test_predictions.parquet",
        nz=f"{R}/nz/nz.json",
        nz_text=f"{R}/nz/nz.txt",
        delta_z=[f"{R}/validation/delta_z.json"] if DEEP_REFERENCE else [],
        delta_z_table=[f"{R}/validation/delta_z_table.json"] if DEEP_REFERENCE or CLUSTERING else [],
        truth=[f"{R}/validation/truth.json"] if TRUTH else [],
        representativeness=f"{R}/representativeness/report.json",
        anomalies=f"{R}/anomalies/report.json",
        selection=f"{R}/selection/report.json",
        leaderboard=[f"{R}/zoo/leaderboard.json"] if config["zoo"]["enabled"] else [],
        training_figures=[path for path, _ in TRAINING_FIGURES.values()],
    output:
        metrics=f"{R}/summary/metrics.json",
        markdown=f"{R}/summary/summary.md",
        figures=[
            report(f"{R}/summary/figures/{name}.png", caption="../report/figure.rst", category="Summary",
                   labels={"figure": title})
            for name, title in SUMMARY_FIGURES.items()
        ],
        training_figures=[
            report(f"{R}/summary/figures/{name}.png", caption="../report/figure.rst", category="Training",
                   labels={"figure": title})
            for name, (_, title) in TRAINING_FIGURES.items()
        ],
    params:
        config=config,
        training_captions=[title for _, title in TRAINING_FIGURES.values()],
        deep_reference=DEEP_REFERENCE,
        clustering=CLUSTERING,
        truth=TRUTH,
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
