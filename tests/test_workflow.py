"""End-to-end: the Snakemake workflow on a tiny mock survey (and on real DES data where present)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from astropy.io import fits
from conftest import ROOT, SHARED_DATA, SMALL_BINNED_PDZ, run_snakemake, tiny_config
from conftest import dry_run_jobs as _jobs

from zshard import partition
from zshard.io.pdf_table import read_pdf_table

pytestmark = pytest.mark.integration


def test_every_object_is_in_exactly_one_shard(mock_run):
    _, config, results = mock_run
    manifest = json.loads((results / "catalog/manifest.json").read_text())
    n = config["mock"]["n_objects"]
    assert manifest["totals"]["rows_in"] == n
    assert manifest["totals"]["rows_in_shards"] + manifest["totals"]["rows_rejected"] == n
    shard_files = sorted((results / "catalog/dataset").rglob("Npix=*.parquet"))
    assert len(shard_files) == len(manifest["shards"]) >= 3
    ids = np.concatenate([pq.read_table(f, columns=["id"]).column("id").to_numpy() for f in shard_files])
    assert len(ids) == len(np.unique(ids)) == manifest["totals"]["rows_in_shards"]
    info = pd.read_csv(results / "catalog/partition_info.csv")
    assert list(info.columns) == ["Norder", "Npix"] and len(info) == len(shard_files)
    for f in shard_files:
        assert pq.read_schema(f).names[0] == "_healpix_29"


def test_every_shard_has_calibrated_pdfs_and_bins(mock_run):
    _, config, results = mock_run
    manifest = json.loads((results / "catalog/manifest.json").read_text())
    levels = config["calibration"]["levels"]
    total = 0
    for shard in manifest["shards"]:
        key = f"o{shard['order']}_p{shard['pixel']}"
        table = pq.read_table(results / f"pdf/calibrated/{key}.parquet")
        assert table.num_rows == shard["rows"]
        pdfs = read_pdf_table(str(results / f"pdf/calibrated/{key}.parquet"))
        np.testing.assert_allclose(pdfs.levels, levels)
        assert pdfs.quantiles.shape == (shard["rows"], len(levels)) and np.all(np.diff(pdfs.quantiles, axis=1) > 0)
        bins = pd.read_parquet(results / f"tomography/bins/{key}.parquet")
        assert bins["id"].tolist() == table.column("id").to_pylist()
        assert set(bins["tomo_bin"].unique()) <= {-1, 0, 1, 2, 3}
        total += table.num_rows
    assert total == manifest["totals"]["rows_in_shards"]


def test_pit_values_and_metrics_are_sane(mock_run):
    _, _, results = mock_run
    predictions = pd.read_parquet(results / "validation/test_predictions.parquet")
    for column in ("pit_raw", "pit_calibrated"):
        assert predictions[column].between(0, 1).all()
    metrics = json.loads((results / "validation/photoz_metrics.json").read_text())
    assert 0 < metrics["point"]["nmad"] < 0.1
    assert metrics["point"]["outlier_fraction"] < 0.3
    assert metrics["n_test"] == len(predictions) > 100


def test_nz_is_normalised_and_readable(mock_run):
    _, config, results = mock_run
    text = np.loadtxt(results / "nz/nz.txt")
    step = config["tomography"]["grid_step"]
    assert text.shape[1] == 1 + len(config["tomography"]["edges"]) - 1
    np.testing.assert_allclose(text[:, 1:].sum(axis=0) * step, 1.0, rtol=1e-6)
    with fits.open(results / "nz/nz.fits") as hdul:
        assert hdul["NZ_SOURCE"].header["NBIN"] == 4
    summary = json.loads((results / "nz/nz.json").read_text())
    edges = config["tomography"]["edges"]
    for i, mean in enumerate(summary["mean_z"]):
        assert edges[i] - 0.3 < mean < edges[i + 1] + 0.3  # stacked PDFs spill over the edges, not far


def test_delta_z_and_truth_validation(mock_run):
    _, _, results = mock_run
    delta = json.loads((results / "validation/delta_z.json").read_text())
    truth = json.loads((results / "validation/truth.json").read_text())
    assert len(delta["bins"]) == len(truth["bins"]) == 4
    for est, true in zip(delta["bins"], truth["bins"]):
        assert np.isfinite(est["delta_z"]) and est["sigma_total"] > 0
        assert abs(true["delta_z_true"]) < 0.5
    assert truth["n_matched"] == truth["n_science"]


def test_summary_page_and_figures(mock_run):
    _, _, results = mock_run
    page = (results / "summary/summary.md").read_text()
    assert "nmad" in page and "Δz" in page and "clustering" in page
    for name in ("pit", "zphot_vs_zspec", "nz", "delta_z", "sky"):
        png = results / f"summary/figures/{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((results / "summary/metrics.json").read_text())
    assert metrics["objects_in"] == 20_000


def test_rerun_is_a_no_op_and_calibration_change_skips_training(mock_run):
    workdir, config, _ = mock_run
    assert "Nothing to be done" in run_snakemake(workdir, config, "-n").stdout
    changed = json.loads(json.dumps(config))
    changed["calibration"]["n_knots"] = 31
    jobs = _jobs(run_snakemake(workdir, changed, "-n").stdout)
    assert "fit_calibration" in jobs and "fanout_shard" in jobs and "reduce_nz" in jobs
    assert "train_model" not in jobs and "partition_split" not in jobs and "partition_reduce" not in jobs


def test_dry_run_lists_every_stage(tmp_path):
    jobs = _jobs(run_snakemake(tmp_path, tiny_config(tmp_path / "results"), "-n").stdout)
    for rule in ("mock_survey", "partition_split", "partition_plan", "partition_manifest",
                 "prepare_samples", "train_model", "fit_calibration", "validate_photoz", "reduce_nz",
                 "validate_delta_z", "validate_truth", "summary"):
        assert rule in jobs, rule
    assert jobs["partition_split"] == 3 and "partition_map" not in jobs  # one pass per input file


def test_lint_is_clean(tmp_path):
    result = run_snakemake(tmp_path, tiny_config(tmp_path / "results"), "--lint", check=False)
    assert result.returncode == 0 and "Lints for" not in result.stdout + result.stderr, result.stdout + result.stderr


def test_bad_config_fails_early_with_the_key(tmp_path):
    config = tiny_config(tmp_path / "results")
    config["partition"]["max_rows_per_shard"] = 0
    result = run_snakemake(tmp_path, config, "-n", check=False)
    assert result.returncode != 0 and "max_rows_per_shard" in result.stdout + result.stderr


@pytest.mark.skipif(not (SHARED_DATA / "des_specz").is_dir(),
                    reason="../shared/data/des_specz is absent: the real-data (DES) example cannot run here")
def test_des_example_config_runs_on_real_data(tmp_path):
    config = yaml.safe_load((ROOT / "config/des_specz.yaml").read_text())
    des_file = str(SHARED_DATA / "des_specz/des_specz_valid.fits")
    for name in ("photometry", "specz", "truth"):
        config["inputs"][name]["paths"] = [des_file]
    config["results"] = str(tmp_path / "results")
    config["model"]["xgboost"] = {"n_estimators": 80}
    config["model"]["xgboost_bins"] = dict(SMALL_BINNED_PDZ)
    config["zoo"] = {"n_draws": 1, "folds": 2, "spaces": {a: {"n_estimators": {"int": [20, 40]}} for a in
                                                          ("xgboost_quantile", "xgboost", "random_forest", "adaboost")}}
    run_snakemake(tmp_path, config)
    results = tmp_path / "results"
    manifest = json.loads((results / "catalog/manifest.json").read_text())
    totals = manifest["totals"]
    assert totals["rows_in"] == 30_000
    assert 14_000 < totals["rows_in_shards"] < 16_000  # the id-hashed science half
    assert totals["rows_in_shards"] + totals["rows_excluded_by_subset"] + totals["rows_rejected"] == 30_000
    samples = json.loads((results / "samples/summary.json").read_text())
    assert 14_000 < samples["n_input"] < 16_000
    truth = json.loads((results / "validation/truth.json").read_text())
    assert truth["n_matched"] == totals["rows_in_shards"]
    assert truth["point"]["nmad"] < 0.1
    assert not (results / "validation/delta_z.json").exists()
    assert "deep reference field: switched off" in (results / "summary/summary.md").read_text()


def test_catalogue_opens_in_hats_and_lsdb(mock_run):
    hats = pytest.importorskip("hats")
    lsdb = pytest.importorskip("lsdb")
    _, _, results = mock_run
    manifest = json.loads((results / "catalog/manifest.json").read_text())
    catalog = hats.read_hats(results / "catalog")
    assert catalog.catalog_info.total_rows == manifest["totals"]["rows_in_shards"]
    assert len(catalog.get_healpix_pixels()) == len(manifest["shards"])
    assert len(lsdb.read_hats(results / "catalog").compute()) == manifest["totals"]["rows_in_shards"]


def _executed(stdout: str) -> list[tuple[str, str]]:
    """(rule, output) of every job a Snakemake run executed, from its log."""
    jobs = re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):\n(?:    input: .*\n)?    output: ([^\n,]*)", stdout, re.M)
    return jobs


def test_editing_one_file_reruns_only_its_shards(mock_run, tmp_path):
    """Three spatially separate input files; editing one, or adding one, reruns its split and its shards
    only; a new plan reruns no split, only the reduces of its new shards."""
    _, base, mock_results = mock_run
    photometry = pd.concat([pd.read_parquet(p) for p in sorted((mock_results / "mock/photometry").glob("*.parquet"))],
                           ignore_index=True)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    ra = photometry["ra"].to_numpy()
    cuts = np.quantile(ra, [1 / 3, 2 / 3])
    parts = {"west": photometry[ra < cuts[0]], "middle": photometry[(ra >= cuts[0]) & (ra < cuts[1])],
             "east": photometry[ra >= cuts[1]]}
    for name, part in parts.items():
        part.to_parquet(inputs / f"{name}.parquet", index=False)
    config = json.loads(json.dumps(base))
    config.update(source="files", results=str(tmp_path / "results"))
    config["inputs"] = {"photometry": {"paths": [str(inputs / "*.parquet")], "sentinels": [99.0]},
                        "specz": {"paths": [str(mock_results / "mock/specz.parquet")], "sentinels": [99.0],
                                  "columns": {"redshift": "z_spec"}}}
    config["partition"]["max_rows_per_shard"] = 3000
    run_snakemake(tmp_path, config)
    plan = json.loads((tmp_path / "results/partition/plan.json").read_text())
    east_shards = {e["key"] for e in plan["shards"] if "east" in e["files"]}
    assert east_shards and len(east_shards) < len(plan["shards"])  # some shards have no east rows

    east = parts["east"].copy()
    east.loc[east.index[:10], "mag_r"] += 0.1  # a re-reduction of a few objects' photometry
    east.to_parquet(inputs / "east.parquet", index=False)
    dry = run_snakemake(tmp_path, config, "-n").stdout
    assert _jobs(dry).get("partition_split") == 1 and "train_model" not in _jobs(dry), dry[-3000:]
    jobs = _executed(run_snakemake(tmp_path, config).stderr)  # Snakemake logs jobs on stderr
    ran = {}
    for rule, output in jobs:
        ran.setdefault(rule, []).append(output)
    assert ran["partition_split"] == [str(tmp_path / "results/partition/split/east")]
    reduced = {re.search(r"Norder=(\d+)/Dir=\d+/Npix=(\d+)", o).expand(r"o\1_p\2") for o in ran["partition_reduce"]}
    assert reduced == east_shards
    predicted = {re.search(r"calibrated/(o\d+_p\d+)", o).group(1) for o in ran["fanout_shard"]}
    assert predicted == east_shards
    assert "train_model" not in ran and "fit_calibration" not in ran
    assert "partition_manifest" in ran and "reduce_nz" in ran

    # a new file (objects in the east third, new ids): only its split and the shards it touches
    extra = parts["east"].iloc[:50].copy()
    extra["id"] += 10**9
    extra.to_parquet(inputs / "extra.parquet", index=False)
    ran = {}
    for rule, output in _executed(run_snakemake(tmp_path, config).stderr):
        ran.setdefault(rule, []).append(output)
    assert ran["partition_split"] == [str(tmp_path / "results/partition/split/extra")]
    plan = json.loads((tmp_path / "results/partition/plan.json").read_text())
    extra_shards = {e["key"] for e in plan["shards"] if "extra" in e["files"]}
    reduced = {re.search(r"Norder=(\d+)/Dir=\d+/Npix=(\d+)", o).expand(r"o\1_p\2") for o in ran["partition_reduce"]}
    assert extra_shards and reduced == extra_shards <= east_shards
    assert "train_model" not in ran and "science_sample" not in ran, sorted(ran)
    manifest = json.loads((tmp_path / "results/catalog/manifest.json").read_text())
    assert manifest["totals"]["rows_in_shards"] == len(photometry) + 50

    # a new plan (smaller shards): no split runs again, only the reduces of the new shards; the
    # shard files the plan no longer has are removed (the limit is below the largest shard, so that the
    # plan changes whatever the mock's clustering: a fixed 2000 stopped changing it once no shard of
    # the tiny mock, as branch nz3 generates it, held more than 1980 rows)
    before = {e["key"] for e in plan["shards"]}
    config["partition"]["max_rows_per_shard"] = max(e["rows"] for e in plan["shards"]) - 1
    ran = {}
    for rule, output in _executed(run_snakemake(tmp_path, config).stderr):
        ran.setdefault(rule, []).append(output)
    after = {e["key"] for e in json.loads((tmp_path / "results/partition/plan.json").read_text())["shards"]}
    reduced = {re.search(r"Norder=(\d+)/Dir=\d+/Npix=(\d+)", o).expand(r"o\1_p\2") for o in ran["partition_reduce"]}
    assert after != before and reduced == after - before
    assert "partition_split" not in ran and "train_model" not in ran, sorted(ran)
    assert partition.existing_shards(str(tmp_path / "results/catalog")) == after
    manifest = json.loads((tmp_path / "results/catalog/manifest.json").read_text())
    assert manifest["totals"]["rows_in_shards"] == len(photometry) + 50
    assert sorted(manifest["removed_stale_shards"]) == sorted(before - after)


def test_split_runs_are_deleted_once_reduced_and_remade_when_a_reduce_needs_them(tmp_path):
    """partition.keep_runs: false: the sorted runs are temp(), deleted after the reduces (not before the
    plan checkpoint has made them); a second run has nothing to do; a new plan re-splits and reduces."""
    config = tiny_config(tmp_path / "results")
    config["partition"]["keep_runs"] = False
    target = str(tmp_path / "results/catalog/manifest.json")
    run_snakemake(tmp_path, config, target)
    results = tmp_path / "results"
    manifest = json.loads((results / "catalog/manifest.json").read_text())
    assert manifest["totals"]["rows_in_shards"] == config["mock"]["n_objects"]
    assert len(manifest["shards"]) >= 3
    assert sorted((results / "partition/split").iterdir()) and not list((results / "partition/runs").glob("*.arrow"))
    assert "Nothing to be done" in run_snakemake(tmp_path, config, target, "-n").stdout
    config["partition"]["max_rows_per_shard"] = 3000  # a new plan: its reduces need the runs again
    run_snakemake(tmp_path, config, target)
    manifest = json.loads((results / "catalog/manifest.json").read_text())
    assert manifest["totals"]["rows_in_shards"] == config["mock"]["n_objects"]
    assert max(shard["rows"] for shard in manifest["shards"]) <= 3000
    assert not list((results / "partition/runs").glob("*.arrow"))


def test_an_id_in_two_shards_stops_the_manifest_or_is_reported(tmp_path):
    """The same id at two far-apart positions (two files): the manifest fails, naming the id, and
    lists it beside its log; with partition.duplicate_ids: report it is listed and the run goes on."""
    rng = np.random.default_rng(5)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for k, ra in enumerate((20.0, 200.0)):
        n = 500
        frame = pd.DataFrame({"id": np.arange(n) + 1000 * k, "ra": rng.normal(ra, 1.0, n),
                              "dec": rng.normal(0.0, 1.0, n), **{f"mag_{b}": rng.uniform(20, 24, n) for b in "ugrizy"},
                              **{f"magerr_{b}": np.full(n, 0.05) for b in "ugrizy"}})
        if k == 1:
            frame.loc[3, "id"] = 7
        frame.to_parquet(inputs / f"part{k}.parquet")
    config = tiny_config(tmp_path / "results")  # id 7 is row 7 of part0 and row 3 of part1
    config.update(source="files")
    config["inputs"] = {"photometry": {"paths": [str(inputs / "*.parquet")]},
                        "specz": {"paths": [str(inputs / "part0.parquet")], "columns": {"redshift": "mag_u"}}}
    target = str(tmp_path / "results/catalog/manifest.json")
    failed = run_snakemake(tmp_path, config, target, check=False)
    assert failed.returncode != 0
    log = (tmp_path / "results/logs/partition_manifest.log").read_text()
    assert "1 ids are in more than one shard" in log and "'id': 7" in log, log[-2000:]
    listing = pd.read_parquet(tmp_path / "results/logs/partition_manifest.duplicate_ids.parquet")
    assert listing["id"].tolist() == [7, 7] and listing["shard"].nunique() == 2
    assert not (tmp_path / "results/catalog/manifest.json").exists()
    config["partition"]["duplicate_ids"] = "report"
    run_snakemake(tmp_path, config, target)
    manifest = json.loads((tmp_path / "results/catalog/manifest.json").read_text())
    assert manifest["ids_in_several_shards"] == 1 and manifest["totals"]["rows_in_shards"] == 1000
    assert pd.read_parquet(tmp_path / "results/catalog/duplicate_ids.parquet")["id"].tolist() == [7, 7]


def test_edges_change_reruns_the_fanout_only_and_outputs_load(mock_run):
    """One edges file for every binning job: new edges (fixed or equal-number) rerun the fan-out and
    what follows, never training or the calibration fit; the n(z) loads as SACC, the Δz errors are itemised."""
    workdir, config, results = mock_run
    edges = json.loads((results / "tomography/edges.json").read_text())
    assert edges["mode"] == "fixed" and edges["edges"] == config["tomography"]["edges"]
    for change in ({"edges": [0.2, 0.5, 0.9, 1.3]}, {"edges_mode": "equal_number"},
                   {"cuts": {"in_coverage": True, "mag_max": {"band": "i", "value": 24.0}}}):
        changed = json.loads(json.dumps(config))
        changed["tomography"].update(change)
        jobs = _jobs(run_snakemake(workdir, changed, "-n").stdout)
        assert "fanout_shard" in jobs and "reduce_nz" in jobs and "validate_delta_z" in jobs, (change, jobs)
        assert "fit_calibration" not in jobs and "train_model" not in jobs and "partition_reduce" not in jobs
    sacc = pytest.importorskip("sacc")
    s = sacc.Sacc.load_fits(str(results / "nz/nz.sacc.fits"))
    summary = json.loads((results / "nz/nz.json").read_text())
    for i, count in enumerate(summary["counts"]):
        assert s.tracers[f"source_{i}"].metadata["n_gal"] == count
    delta = json.loads((results / "validation/delta_z.json").read_text())
    for row in delta["bins"]:
        e = row["errors"]
        assert e["total"] == row["sigma_total"]
        assert e["total"] == pytest.approx(np.sqrt(e["bootstrap"] ** 2 + e["sample_variance"] ** 2
                                                   + e["zero_point"] ** 2))


def test_after_the_plan_a_slurm_dry_run_lists_every_shard_job_with_its_resources(tmp_path):
    """`make plan` then `make dry-run PROFILE=slurm`: the whole fan-out is visible before submitting."""
    config = tiny_config(tmp_path / "results")
    before = _jobs(run_snakemake(tmp_path, config, "-n").stdout)
    assert "fanout_shard" not in before  # the checkpoint hides the fan-out
    run_snakemake(tmp_path, config, "--profile", str(ROOT / "profiles" / "local"), "--until", "partition_plan")
    plan = json.loads((tmp_path / "results/partition/plan.json").read_text())
    rows = {entry["key"]: entry["rows"] for entry in plan["shards"]}
    dry = run_snakemake(tmp_path, config, "-n", "--profile", str(ROOT / "profiles" / "slurm")).stdout
    jobs = _jobs(dry)
    for rule in ("partition_reduce", "fanout_shard"):
        assert jobs[rule] == len(rows), rule
    assert jobs["train_model"] == 1 and "partition_split" not in jobs
    # each fan-out job asks for its rule's base plus its shard's rows times the cost per million rows
    # (the local dry run prints every job; the SLURM one does not print grouped jobs not yet ready)
    local = run_snakemake(tmp_path, config, "-n", "--profile", str(ROOT / "profiles" / "local")).stdout
    cost = config["resources"]["fanout_shard"]
    printed = r"rule fanout_shard:.*?wildcards: shard=(\w+)\n\s+resources: .*?mem_mb=(\d+)"
    asked = dict(re.findall(printed, local, re.S))
    assert asked == {key: str(math.ceil(cost["mem_mb"] + cost["mem_mb_per_million_rows"] * n / 1e6))
                     for key, n in rows.items()}
