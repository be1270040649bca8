"""End-to-end: the training stages of the workflow on the tiny mock survey (the shared mock_run)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import dry_run_jobs as _jobs
from conftest import run_snakemake

pytestmark = pytest.mark.integration


def test_every_stage_writes_its_table_and_figure_and_the_summary_shows_them(mock_run):
    _, _, results = mock_run
    for path in ("representativeness/report.json", "representativeness/ks.csv", "representativeness/cells.csv",
                 "anomalies/report.json", "anomalies/flagged.csv", "features/summary.csv", "selection/rankings.csv",
                 "zoo/leaderboard.json", "zoo/draws.csv"):
        assert (results / path).stat().st_size > 0, path
    page = (results / "summary/summary.md").read_text()
    for stage in ("representativeness", "anomalies", "features", "selection", "zoo"):
        figure = results / f"{stage}/{stage}.png"
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](../{stage}/{stage}.png)" in page, stage  # shown on the page where the stage wrote it
    for heading in ("training: representativeness", "training: anomalies", "training: feature rankings",
                    "training: model zoo leaderboard (CV)", "training: model artefact"):
        assert f"## {heading}" in page, heading
    leaderboard = json.loads((results / "zoo/leaderboard.json").read_text())
    algorithms = {r["algorithm"] for r in leaderboard["ranking"]}
    assert {"xgboost_quantile", "xgboost", "random_forest", "adaboost", "knn", "mlp"} <= algorithms
    assert leaderboard["winner"]["algorithm"] in algorithms


def test_the_artefact_manifest_and_the_shards_carry_the_new_columns(mock_run):
    _, _, results = mock_run
    manifest = json.loads((results / "model/manifest.json").read_text())
    artefact = json.loads((results / "model/photoz_model.json").read_text())
    assert artefact["manifest"]["version"] == manifest["version"]
    for key in ("feature_names", "params", "point_estimate", "library_versions", "training_data_sha256", "zoo",
                "validation_metrics", "selection", "representativeness", "anomalies"):
        assert key in manifest, key
    weights = pd.read_parquet(results / "representativeness/train_weights.parquet")
    assert weights["weight"].mean() == pytest.approx(1.0)
    # the corrections' decisions, with their evidence, and the training sample they left
    anomalies, applied = manifest["anomalies"], manifest["representativeness"]["weights"]["applied"]
    assert anomalies["remove_setting"] == "auto" and anomalies["decision"]["remove"] == anomalies["remove"]
    assert "relative_improvement" in anomalies["decision"] and anomalies["n_flagged"] > 0
    assert manifest["n_train"] == len(weights) - anomalies["n_removed"]
    assert weights["enabled"].all() == applied and manifest["weighted"] == applied
    assert "auc_significance" in manifest["representativeness"]["weights"]["decision"]
    shard = sorted((results / "pdf/calibrated").glob("*.parquet"))[0]
    table = pq.read_table(shard).to_pandas()
    assert {"z_phot", "in_coverage", "coverage_weight"} <= set(table.columns)
    assert table["in_coverage"].dtype == bool and table["coverage_weight"].between(0, 1).all()
    assert 0.05 < table["in_coverage"].mean() <= 1.0
    assert np.isfinite(table["z_phot"]).all()


def test_a_zoo_change_retrains_but_does_not_redo_the_samples_or_the_partition(mock_run):
    workdir, config, _ = mock_run
    changed = json.loads(json.dumps(config))
    changed["zoo"]["n_draws"] = 2
    jobs = _jobs(run_snakemake(workdir, changed, "-n").stdout)
    assert "model_zoo" in jobs and "train_model" in jobs and "summary" in jobs
    for rule in ("science_sample", "representativeness", "anomalies", "features", "select_features",
                 "partition_split", "prepare_samples"):
        assert rule not in jobs, rule
