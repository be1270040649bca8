"""Photo-z quality benchmark: zshard's trained model against plain xgboost and a kNN, on real data.

Run with ``make bench-photoz`` (or ``.venv/bin/python bench/photoz.py``). For each data set it
prints one table with the three methods side by side, evaluated on the same held-out objects:

* **zshard**: every training stage of the workflow (:func:`zshard.training.train_chain`:
  representativeness and weights, anomaly removal, feature pool and selection, the random-search
  model zoo, the refit), with ``config/config.yaml`` and ``bench/photoz.yaml`` merged and
  validated like a ``--configfile``. Its point estimate is the artefact's ``z_phot``. As in the
  workflow, the *science sample* is the photometry of the objects to predict (here the evaluation
  objects, without their redshifts): it is used for the training weights, MINT's redundancy and
  the coverage flags — never their redshifts.
* **xgboost**: ``xgboost.XGBRegressor(n_estimators=500, learning_rate=0.05, max_depth=6)`` on the
  magnitudes and adjacent colours (NaN left to xgboost).
* **kNN**: ``KNeighborsRegressor(n_neighbors=15, weights="distance")`` on the standardised adjacent
  colours (missing values median-imputed).

Data (``../shared/data``, see its MANIFEST.md; nothing is copied):

* SDSS-III BOSS DR10 (ANNZ examples): train on ``boss_dr10_{0,1,2,3,colorCuts}.csv`` (exact
  duplicate rows dropped), evaluate on ``boss_dr10_eval{0,1}.csv``. Bands ugriz, model magnitudes.
* DES (DNF examples): ``des_specz_valid.fits`` split by an id hash (seed 7) into halves, as in
  ``config/des_specz.yaml``: train on ``keep: above``, evaluate on ``keep: below``. Bands grizY,
  sentinels −9999, −9.999e9, 99, −99 (:data:`DES_SENTINELS`).
* DEEP2/3 + 3D-HST (photoz_template_learning): ``deep2_3dhst_ugrizy.fits`` split the same way
  (row numbers as ids, seed 7). Bands ugrizy (CFHTLS/Subaru; ``i2`` left out), sentinels 99, −99,
  z up to 3.3 (``model.z_max: 4`` for this set, :data:`SET_OVERRIDES`). The deep, LSST-like set.

Goal (issue 4): zshard's NMAD at least 10% lower than the plain xgboost's and its outlier fraction
no higher, on every set.

PDFs (issue 5): as in the workflow, zshard trains on an id-hashed 80% of the training objects and
fits its calibration (outlier floor + PIT map, :mod:`zshard.calibration`) on the other 20%; its
calibrated p(z) of the evaluation objects are compared with RAIL's FlexZBoost and KNN (RAIL 2.0
defaults, informed on all the training objects, run by ``bench/rail_peers.py`` in
``bench/out/rail-venv``, which ``make bench-photoz`` creates; ``--no-rail`` skips them) on CDE
loss, PIT KS / CvM, catastrophic PIT fraction (PIT < 1e-4 or > 1 - 1e-4), CRPS, NMAD, outliers,
stored bytes per object and p(z) throughput (objects/s, one process, on the evaluation objects repeated
to ``--throughput-rows``; zshard's includes the features, the p(z) model, the zoo winner's z_phot and
the calibration, on one thread, as FlexZBoost's estimate gives p(z) and a point estimate; the rate
of the whole fan-out, with the coverage flags, is printed beside it). The
physical floor of the PIT KS, the median KS of as many exactly uniform PITs, is printed with it.
RAIL's p(z) (301-point ``qp.interp`` grids) are scored on their grid: CDF by trapezoids, z_phot
the mode, as RAIL reports it. Goals (issue 14), per set: calibrated CDE loss below both FlexZBoost's
and RAIL KNN's; CRPS, NMAD and outlier fraction no worse than FlexZBoost's; PIT KS ≤ 1.5× the floor
overall and in each magnitude quartile; catastrophic PIT ≤ 0.5%; ≤ 40 bytes per object. The script
prints whether each goal is met, per set and in one table at the end, and exits non-zero only if
something crashes. ``--reuse-rail`` reads RAIL's p(z) back from an earlier run's ``--out``. Results
also go to ``bench/out/photoz/results.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from zshard import metrics, training  # noqa: E402
from zshard.calibration import apply_calibration, fit_calibration  # noqa: E402
from zshard.config import with_defaults  # noqa: E402
from zshard.features import FeatureSpec, build_features  # noqa: E402
from zshard.io.catalogs import CatalogSpec, read_catalog  # noqa: E402
from zshard.io.ids import subset_mask  # noqa: E402
from zshard.models import set_threads  # noqa: E402

GOAL_NMAD_GAIN = 0.10
GOAL_KS_OVER_FLOOR = 1.5
GOAL_CATASTROPHIC = 0.005
GOAL_BYTES = 40.0
RAIL_VENV = ROOT / "bench" / "out" / "rail-venv"
RAIL_METHODS = ("flexzboost", "knn")


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------
def read_annz_csv(path: Path, id_offset: int = 0) -> pd.DataFrame:
    """Read an ANNZ-style CSV into canonical columns.

    The first line is a header starting with ``#`` whose names may carry an ANNZ type prefix
    (``F:MAG_U;F:MAGERR_U;…;D:Z``) and may be separated by ``;`` or ``,``; the data rows use their
    own separator (``,`` in the BOSS files), detected from the first data line. ``MAG_X`` →
    ``mag_x``, ``MAGERR_X`` → ``magerr_x``, ``Z`` → ``z_spec``; ids are row numbers + ``id_offset``.
    """
    with open(path) as handle:
        header = handle.readline().strip()
        first = handle.readline()
    if not header.startswith("#"):
        raise ValueError(f"{path}: expected a '#' header line")
    header = header.lstrip("#").strip()
    names = [name.split(":", 1)[-1].strip() for name in header.replace(";", ",").split(",")]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    frame = pd.read_csv(path, sep=delimiter, skiprows=1, header=None, names=names, comment="#")
    rename = {name: (f"mag_{name[4:].lower()}" if name.startswith("MAG_") else
                     f"magerr_{name[7:].lower()}" if name.startswith("MAGERR_") else
                     "z_spec" if name == "Z" else name) for name in names}
    frame = frame.rename(columns=rename)
    frame.insert(0, "id", np.arange(len(frame), dtype=np.int64) + id_offset)
    return frame


def boss(data: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    folder = data / "sdss_boss_dr10"
    train_files = [folder / f"boss_dr10_{k}.csv" for k in ("0", "1", "2", "3", "colorCuts")]
    eval_files = [folder / f"boss_dr10_eval{k}.csv" for k in ("0", "1")]
    train = pd.concat([read_annz_csv(p, 1_000_000 * i) for i, p in enumerate(train_files)], ignore_index=True)
    measured = [c for c in train.columns if c != "id"]
    train = train.drop_duplicates(subset=measured).reset_index(drop=True)
    evaluation = pd.concat([read_annz_csv(p, 100_000_000 + 1_000_000 * i) for i, p in enumerate(eval_files)],
                           ignore_index=True)
    return train, evaluation, ["u", "g", "r", "i", "z"]


#: DES's missing magnitudes: −9999 (45 rows of des_specz_valid.fits, in every band) and −9.999e9 (one row),
#: as in config/des_specz.yaml; 99 and −99 for safety.
DES_SENTINELS = (-9999.0, -9.999e9, 99.0, -99.0)


def des(data: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    bands = ["g", "r", "i", "z", "y"]
    section = {"columns": {"id": "COADD_OBJECT_ID", "ra": "RA", "dec": "DEC", "magnitude": "MAG_{BAND}",
                           "error": "MAG_ERR_{BAND}", "redshift": "Z"}, "sentinels": list(DES_SENTINELS)}
    spec = CatalogSpec.from_config(with_defaults(section, "inputs.specz"), bands)
    frame = read_catalog([str(data / "des_specz/des_specz_valid.fits")], spec)
    frame = frame[np.isfinite(frame["z_spec"]) & (frame["z_spec"] >= 0)].reset_index(drop=True)
    train_half = subset_mask(frame["id"].to_numpy(), 0.5, 7, "above")
    return frame[train_half].reset_index(drop=True), frame[~train_half].reset_index(drop=True), bands


DEEP2_SENTINELS = (99.0, -99.0)


def deep2(data: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """DEEP2/3 + 3D-HST spectroscopic redshifts with CFHTLS/Subaru photometry (the compilation of
    Crenshaw & Connolly 2020, dirac-institute/photoz_template_learning; DEEP2: Newman et al. 2013,
    DEEP3: Cooper et al. 2012, 3D-HST: Momcheva et al. 2016), split like DES into id-hashed halves
    (seed 7) of the row numbers, which serve as ids (the file has no id or position columns).

    Bands u g r i z y. The file also holds ``i2`` (the replacement CFHT i filter, measured for 66% of
    the rows and 0.03 mag from ``i`` where both are): it is left out, ``i`` (99% of the rows) is the
    i band. Missing magnitudes are 99 or −99 (errors 99 or more there): both become NaN, in the
    magnitude and its error, as the workflow's readers do with a survey's sentinels.
    """
    from astropy.io import fits

    bands = ["u", "g", "r", "i", "z", "y"]
    with fits.open(data / "deep2_3dhst" / "deep2_3dhst_ugrizy.fits") as hdul:
        table = hdul[1].data
        frame = pd.DataFrame({"id": np.arange(len(table), dtype=np.int64)})
        for band in bands:
            mag = np.asarray(table[band], dtype=np.float64)
            err = np.asarray(table[f"{band}err"], dtype=np.float64)
            missing = np.isin(mag, DEEP2_SENTINELS) | ~np.isfinite(mag)
            frame[f"mag_{band}"] = np.where(missing, np.nan, mag)
            frame[f"magerr_{band}"] = np.where(missing | np.isin(err, DEEP2_SENTINELS), np.nan, err)
        frame["z_spec"] = np.asarray(table["redshift"], dtype=np.float64)
    frame = frame[np.isfinite(frame["z_spec"]) & (frame["z_spec"] >= 0)].reset_index(drop=True)
    train_half = subset_mask(frame["id"].to_numpy(), 0.5, 7, "above")
    return frame[train_half].reset_index(drop=True), frame[~train_half].reset_index(drop=True), bands


def mock(data: Path, config: dict, out: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The embedded demo's mock survey (``config``'s ``mock`` section, bands and seed; generated once into
    ``out/mock-seed<seed>/`` by :func:`zshard.mock.survey.generate_survey`, as rule mock_survey does):
    its spec-z sample split by :func:`zshard.samples.split_labelled` as the workflow splits it; the
    train and validation parts are the training objects, the test part the evaluation objects.
    ``data`` is not used."""
    from zshard.io.atomic import write_json
    from zshard.mock.config import MockConfig
    from zshard.mock.layout import photometry_paths
    from zshard.mock.survey import generate_survey
    from zshard.samples import split_labelled
    from zshard.sources import MOCK_SENTINELS

    bands = list(config["bands"])
    folder = out / f"mock-seed{config['seed']}"
    if not (folder / "summary.json").exists():
        cfg = MockConfig.from_dict({**config["mock"], "bands": bands, "seed": config["seed"]})
        folder.mkdir(parents=True, exist_ok=True)
        files = photometry_paths(str(folder / "photometry"), cfg.n_files, list(config["mock"]["formats"]))
        summary = generate_survey(cfg, files, str(folder / "specz.parquet"), str(folder / "deep_reference.parquet"),
                                  str(folder / "clustering_reference.parquet"), str(folder / "truth.parquet"))
        write_json(folder / "summary.json", summary)
    section = {"columns": {"redshift": "z_spec"}, "sentinels": MOCK_SENTINELS}
    specz = read_catalog([str(folder / "specz.parquet")], CatalogSpec.from_config(with_defaults(section,
                                                                                               "inputs.specz"), bands))
    splits, _, _ = split_labelled(specz, config["samples"]["fractions"], seed=int(config["seed"]),
                                  z_min=config["model"]["z_min"], z_max=config["model"]["z_max"],
                                  min_train=config["samples"]["min_train"])
    train = pd.concat([splits["train"], splits["validation"]], ignore_index=True)
    return train, splits["test"], bands


# Per-set settings merged over the benchmark's config: DEEP2/3D-HST reaches z = 3.3 (14 objects above
# the default z_max of 3), so its p(z) range is widened as config/des_specz.yaml does for DES.
SET_OVERRIDES = {"deep2": {"model": {"z_max": 4.0}}}


# --------------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------------
def plain_xgboost(train, evaluation, bands, threads):
    import xgboost as xgb

    spec = FeatureSpec(tuple(bands), "adjacent")
    model = xgb.XGBRegressor(n_estimators=500, learning_rate=0.05, max_depth=6, n_jobs=threads, random_state=0)
    model.fit(build_features(train, spec), train["z_spec"])
    return model.predict(build_features(evaluation, spec))


def knn_colours(train, evaluation, bands, threads):
    from sklearn.impute import SimpleImputer
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    spec = FeatureSpec(tuple(bands), "adjacent").with_selection(
        [f"{a}-{b}" for a, b in zip(bands[:-1], bands[1:])])
    model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                          KNeighborsRegressor(n_neighbors=15, weights="distance", n_jobs=threads))
    model.fit(build_features(train, spec), train["z_spec"])
    return model.predict(build_features(evaluation, spec))


def zshard_model(train, evaluation, bands, threads, config, log, shapes=()):
    """Train on 80% of ``train`` (id-hashed), fit the calibration on the other 20%, as the workflow does.

    Returns z_phot of ``evaluation``, the training result and the calibrations: the config's first, then
    one per other outlier component in ``shapes`` (same model, same validation objects): ``uniform``,
    ``nz`` (the config's cells) or ``nz<C>`` (C cells)."""
    config = json.loads(json.dumps(config))
    config["bands"] = list(bands)
    science = evaluation.drop(columns=["z_spec"])
    held_out = subset_mask(train["id"].to_numpy(), 0.2, int(config["seed"]), "below")
    fit, calibration_set = train[~held_out].reset_index(drop=True), train[held_out].reset_index(drop=True)
    result = training.train_chain(fit, science, config, validation=calibration_set, threads=threads, log=log)
    model, cal_cfg = result.model, config["calibration"]
    weights = None
    if cal_cfg["weighted"] and model.coverage is not None:
        w_cfg = config["representativeness"]["weights"]
        weights = model.coverage.density_ratio_weights(calibration_set, w_cfg["floor"], w_cfg["max"])
    quantiles = model.predict_quantiles(calibration_set)
    calibrations = {}
    own = cal_cfg["outlier_shape"]
    own_local = cal_cfg["local"]
    own_name = (own["kind"] if own["kind"] == "uniform" else f"nz{own['cells']}") + (
        f"+local{own_local['cells']}" if own_local["cells"] > 1 else "")
    names = [own_name, *(v.replace("nz+", f"nz{own['cells']}+") if v.startswith("nz+") else
                         f"nz{own['cells']}" if v == "nz" else v for v in shapes)]
    for name in dict.fromkeys(names):
        kind, _, local = name.partition("+")
        shape = {**own, "kind": "uniform"} if kind == "uniform" else {**own, "kind": "nz", "cells": int(kind[2:])}
        local = {**own_local, "cells": int(local[5:]) if local else 1}
        calibrations[name] = fit_calibration(quantiles, model.levels, calibration_set["z_spec"].to_numpy(),
                                             model.z_min, model.z_max, n_knots=cal_cfg["n_knots"], weights=weights,
                                             outlier_floor=cal_cfg["outlier_floor"], outlier_shape=shape,
                                             local=local, output_levels=cal_cfg["levels"])
    return model.predict_point(evaluation), result, calibrations


def zshard_pdfs(model, calibration, frame, coverage=False):
    """What the fan-out does per object (rule fanout_shard, before binning): p(z) quantiles and z_phot, the
    calibration, and with ``coverage`` the coverage flags too (the coverage emulator, or the kNN search
    without one; not part of the p(z))."""
    raw, z_phot = model.predict(frame)
    if coverage:
        model.assess_coverage(frame)
    return raw, apply_calibration(raw, model.levels, calibration, model.z_min, model.z_max), z_phot


def grid_pdf_metrics(grid: np.ndarray, pdfs: np.ndarray, z: np.ndarray) -> dict:
    """PDF and point metrics of p(z) tabulated on a grid (linear in between), as qp.interp holds them."""
    from scipy.integrate import cumulative_trapezoid, trapezoid

    p = np.clip(np.asarray(pdfs, dtype=np.float64), 0.0, None)
    norm = trapezoid(p, grid, axis=1)
    p = p / np.where(norm > 0, norm, 1.0)[:, None]
    cdf = cumulative_trapezoid(p, grid, axis=1, initial=0.0)
    cdf /= np.where(cdf[:, -1:] > 0, cdf[:, -1:], 1.0)
    rows = np.arange(len(z))
    j = np.clip(np.searchsorted(grid, z) - 1, 0, grid.size - 2)
    w = np.clip((z - grid[j]) / (grid[j + 1] - grid[j]), 0.0, 1.0)
    pit = np.where(z <= grid[0], 0.0,
                   np.where(z >= grid[-1], 1.0, cdf[rows, j] + w * (cdf[rows, j + 1] - cdf[rows, j])))
    p_true = np.where((z < grid[0]) | (z > grid[-1]), 0.0, p[rows, j] + w * (p[rows, j + 1] - p[rows, j]))
    fine = np.linspace(grid[0], grid[-1], 10 * (grid.size - 1) + 1)
    crps = np.empty(len(z))
    for start in range(0, len(z), 2000):
        part = slice(start, start + 2000)
        f = np.array([np.interp(fine, grid, c) for c in cdf[part]])
        crps[part] = trapezoid((f - (fine[None, :] >= z[part, None])) ** 2, fine, axis=1)
    mode = grid[np.argmax(p, axis=1)]
    return {"cde_loss": float(trapezoid(p * p, grid, axis=1).mean() - 2.0 * p_true.mean()),
            "pit_ks_stat": metrics.pit_ks(pit)[0], "pit_cvm_stat": metrics.pit_cvm(pit)[0],
            "pit_catastrophic_fraction": metrics.catastrophic_pit_fraction(pit), "crps": float(crps.mean()),
            "z_phot": mode, "pit": pit, "z_mean": trapezoid(p * grid[None, :], grid, axis=1)}


def uniform_ks_floor(n: int, seed: int = 0, draws: int = 200) -> float:
    """Median PIT KS statistic of ``n`` exactly uniform values: the noise floor of a calibrated sample."""
    rng = np.random.default_rng(seed)
    return float(np.median([metrics.pit_ks(rng.uniform(size=n))[0] for _ in range(draws)]))


def calibrated_ks_floor(n_eval: int, n_fit: int, n_knots: int, seed: int = 0, draws: int = 200) -> float:
    """Median PIT KS of ``n_eval`` uniform PITs passed through a PIT map fitted on ``n_fit`` other
    uniform PITs (``n_knots`` knots at their quantiles, as :func:`zshard.calibration.fit_pit_calibration`
    builds it): the floor of a calibration that is exact but fitted on a finite sample. The map's own
    noise (~1/sqrt(n_fit)) adds to the evaluation sample's, so no calibration fitted on ``n_fit``
    objects can be expected below it."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 1.0, n_knots)
    values = []
    for _ in range(draws):
        knots = np.quantile(rng.uniform(size=n_fit), grid)
        knots[0], knots[-1] = 0.0, 1.0
        values.append(metrics.pit_ks(np.interp(rng.uniform(size=n_eval), knots, grid))[0])
    return float(np.median(values))


def run_rail(train, evaluation, throughput, bands, out, key, z_max, reuse=False):
    """RAIL's FlexZBoost and KNN in their own venv; {method: (grid, pdfs, timing)}. With ``reuse``, the
    p(z) an earlier run left in ``out`` are read back when they are for as many evaluation objects."""
    if reuse and all((out / f"{key}_{m}.npz").exists() for m in RAIL_METHODS):
        results = read_rail(out, key)
        if all(len(pdfs) == len(evaluation) for _, pdfs, _ in results.values()):
            print(f"  [rail] reusing the FlexZBoost and KNN p(z) in {out}", flush=True)
            return results
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in (("train", train), ("eval", evaluation), ("throughput", throughput)):
        columns = [c for c in frame.columns if c.startswith(("mag_", "magerr_")) or c == "z_spec"]
        paths[name] = out / f"{key}_{name}.parquet"
        frame[columns].to_parquet(paths[name])
    command = [str(RAIL_VENV / "bin" / "python"), str(ROOT / "bench" / "rail_peers.py"), "--train", str(paths["train"]),
               "--eval", str(paths["eval"]), "--throughput", str(paths["throughput"]), "--bands", ",".join(bands),
               "--z-max", str(z_max), "--out", str(out / key)]
    log_path = out / f"{key}_rail.log"
    with open(log_path, "w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"RAIL peers failed (exit {done.returncode}); see {log_path}")
    return read_rail(out, key)


def read_rail(out, key):
    """The p(z) ``bench/rail_peers.py`` wrote for set ``key`` in ``out``: {method: (grid, pdfs, timing)}."""
    results = {}
    for method in RAIL_METHODS:
        with np.load(out / f"{key}_{method}.npz") as data:
            results[method] = (data["grid"], data["pdfs"], json.loads(str(data["timing"])))
    return results


def merge(base: dict, update: dict) -> dict:
    """``update`` merged into ``base`` (in place, nested mappings key by key), as --configfile does."""
    for key, value in update.items():
        base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) and isinstance(base.get(key), dict) \
            else value
    return base


def load_config(paths: list[Path]) -> dict:
    """config/config.yaml with ``paths`` merged over it in order (as --configfile), validated with the
    schema's defaults filled in, as the workflow does (:func:`zshard.config.with_defaults`)."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for path in paths:
        config = merge(config, yaml.safe_load(path.read_text()) or {})
    return with_defaults(config)


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------
def run(name, key, loader, data, threads, config, out, rail, throughput_rows, shapes=()):
    train, evaluation, bands = loader(data)
    z = evaluation["z_spec"].to_numpy(dtype=np.float64)
    print(f"\n== {name}: {len(train)} training, {len(evaluation)} evaluation objects, bands {''.join(bands)} ==",
          flush=True)
    rows, extra = [], {}
    for method, function in (("zshard", None), ("xgboost (plain)", plain_xgboost), ("kNN (colours)", knn_colours)):
        start = time.perf_counter()
        if function is None:
            prediction, result, calibrations = zshard_model(train, evaluation, bands, threads, config,
                                                            log=lambda m: print(f"  [zshard] {m}", flush=True)
                                                            if "draw" not in m else None, shapes=shapes)
            manifest = result.model.manifest_payload()
            extra = {"winner": manifest["point_estimate"]["algorithm"], "features": manifest["feature_names"],
                     "zoo": [{k: r[k] for k in ("algorithm", "nmad", "outlier_fraction")}
                             for r in result.reports["zoo"]["ranking"]],
                     "anomalies_removed": result.reports["anomalies"]["n_removed"],
                     "anomalies_decision": result.reports["anomalies"]["decision"],
                     "weights_decision": result.reports["representativeness"]["weights"]["decision"],
                     "science_in_coverage": result.reports["representativeness"]["coverage"][
                         "science_fraction_in_coverage"]}
        else:
            prediction = function(train, evaluation, bands, threads)
        seconds = time.perf_counter() - start
        m = metrics.point_metrics(prediction, z)
        rows.append({"method": method, "nmad": m["nmad"], "sigma68": m["sigma68"], "bias": m["bias_median"],
                     "outlier_fraction": m["outlier_fraction"], "n": m["n"], "seconds": seconds})
    table = pd.DataFrame(rows)
    print(f"\n{name}  (evaluation: {len(evaluation)} objects; Δz = (z_phot − z_spec)/(1 + z_spec); "
          f"outlier |Δz| > {metrics.OUTLIER_THRESHOLD})")
    print("zshard trains on 80% of the training objects (the other 20% fit its PDF calibration)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    ours, plain = rows[0], rows[1]
    gain = 1.0 - ours["nmad"] / plain["nmad"]
    goals = {"nmad_gain": gain, "nmad_goal_met": bool(gain >= GOAL_NMAD_GAIN),
             "outlier_goal_met": bool(ours["outlier_fraction"] <= plain["outlier_fraction"])}
    print(f"goal NMAD ≥ {100 * GOAL_NMAD_GAIN:.0f}% below plain xgboost: "
          f"{'MET' if goals['nmad_goal_met'] else 'NOT MET'} "
          f"({100 * gain:+.1f}%: {ours['nmad']:.4f} vs {plain['nmad']:.4f})")
    print(f"goal outlier fraction no higher than plain xgboost: {'MET' if goals['outlier_goal_met'] else 'NOT MET'} "
          f"({ours['outlier_fraction']:.4f} vs {plain['outlier_fraction']:.4f})")
    print(f"zshard: z_phot from {extra['winner']}; {len(extra['features'])} features {extra['features']}; "
          f"{extra['anomalies_removed']} training anomalies removed; "
          f"{100 * extra['science_in_coverage']:.1f}% of the evaluation objects in coverage")
    weights = extra["weights_decision"]
    print(f"zshard corrections: anomalies {extra['anomalies_decision']['reason']}; Lima weights "
          f"{'applied' if weights['applied'] else 'not applied'}: {weights['reason']}")
    print("zshard zoo (CV): " + ", ".join(f"{r['algorithm']} {r['nmad']:.4f}" for r in extra["zoo"]))
    choice = manifest.get("pdf_estimator", {})
    extra["pdf_estimator"] = choice
    print(f"zshard p(z) estimator: {choice.get('chosen')} (validation: " + ", ".join(
        f"{name} raw CDE {c['cde_loss']:.3f} KS {c['pit_ks_stat']:.3f}, calibrated CDE "
        f"{c.get('cde_loss_calibrated', float('nan')):.3f}" for name, c in choice.get("candidates", {}).items())
        + ")")
    pdf_rows, pdf_goals = pdf_table(name, key, result.model, calibrations, train, evaluation, bands, out, rail,
                                    throughput_rows, config["tomography"]["edges"])
    goals.update(pdf_goals)
    return {"rows": rows, "pdf_rows": pdf_rows, "goals": goals, "zshard": extra, "n_train": len(train),
            "n_eval": len(evaluation),
            "outlier_floor": {kind: c.outlier_fraction for kind, c in calibrations.items()},
            "outlier_uniform_fraction": {kind: None if c.outlier_shape is None else c.outlier_shape.uniform_fraction
                                         for kind, c in calibrations.items()}}


def magnitude_band(bands) -> str:
    """The band of the magnitude quartiles: i where there is one, else the middle band (as validate_photoz)."""
    return "i" if "i" in bands else bands[len(bands) // 2]


def pit_ks_by_quartile(pit: np.ndarray, magnitude: np.ndarray) -> list[dict]:
    """PIT KS in the four equal-count quartiles of ``magnitude`` (objects without one left out), with
    the floor of as many exactly uniform PITs."""
    ok = np.isfinite(magnitude)
    edges = np.quantile(magnitude[ok], [0.0, 0.25, 0.5, 0.75, 1.0])
    which = np.clip(np.searchsorted(edges, magnitude, side="right") - 1, 0, 3)
    out = []
    for b in range(4):
        sel = ok & (which == b)
        out.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": int(sel.sum()),
                    "pit_ks": metrics.pit_ks(pit[sel])[0], "floor": uniform_ks_floor(int(sel.sum()), draws=50)})
    return out


def nz_mean_shifts(z_mean: np.ndarray, z: np.ndarray, z_phot: np.ndarray, edges) -> list[float]:
    """Per tomographic bin (objects binned by ``z_phot`` on ``edges``): the mean of the stacked p(z)
    (the mean of the objects' p(z) means) minus the mean true redshift."""
    which = np.searchsorted(np.asarray(edges, dtype=np.float64), z_phot, side="right") - 1
    return [float(np.mean(z_mean[which == b]) - np.mean(z[which == b])) if np.any(which == b) else float("nan")
            for b in range(len(edges) - 1)]


def pdf_table(name, key, model, calibrations, train, evaluation, bands, out, rail, throughput_rows, edges):
    """The PDF comparison of issue 5: zshard raw / calibrated (one row per calibration in ``calibrations``,
    the config's first) vs RAIL's FlexZBoost and KNN; with the PIT KS per magnitude quartile and the
    shift of the n(z) mean per tomographic bin (``edges``, objects binned by zshard's z_phot)."""
    from zshard.pdf.summary import summaries

    z = evaluation["z_spec"].to_numpy(dtype=np.float64)
    band = magnitude_band(bands)
    magnitude = evaluation[f"mag_{band}"].to_numpy(dtype=np.float64)
    repeats = max(1, int(np.ceil(throughput_rows / len(evaluation))))
    throughput = pd.concat([evaluation] * repeats, ignore_index=True).iloc[:throughput_rows]
    kinds = list(calibrations)
    calibration = calibrations[kinds[0]]
    raw, calibrated, z_phot = zshard_pdfs(model, calibration, evaluation)
    model.booster.set_param({"nthread": 1})       # one thread, as one fan-out job
    if model.point_model is not None:
        set_threads(model.point_model, 1)
    start = time.perf_counter()
    zshard_pdfs(model, calibration, throughput)
    zshard_rate = len(throughput) / (time.perf_counter() - start)
    start = time.perf_counter()
    zshard_pdfs(model, calibration, throughput, coverage=True)
    fanout_rate = len(throughput) / (time.perf_counter() - start)
    variants = [("zshard raw", raw, model.levels, float("nan"))]
    raw_throughput = model.predict_quantiles(throughput)
    for kind in kinds:
        c = calibrations[kind]
        q = calibrated if kind == kinds[0] else apply_calibration(raw, model.levels, c, model.z_min, model.z_max)
        label = "zshard calibrated" if len(kinds) == 1 else f"zshard calibrated ({kind})"
        start = time.perf_counter()   # the calibration alone, on the throughput objects
        apply_calibration(raw_throughput, model.levels, c, model.z_min, model.z_max)
        cal_us = 1e6 * (time.perf_counter() - start) / len(throughput)
        variants.append((label, q, c.levels_for(model.levels), cal_us))
    rows, quartiles, shifts = [], {}, {}
    for label, q, levels, cal_us in variants:
        m = metrics.pdf_metrics(q, levels, z, model.z_min, model.z_max)
        point = metrics.point_metrics(z_phot, z)
        quartiles[label] = pit_ks_by_quartile(metrics.pit_values(q, levels, z, model.z_min, model.z_max), magnitude)
        shifts[label] = nz_mean_shifts(summaries(q, levels, model.z_min, model.z_max)["z_mean"], z, z_phot, edges)
        rows.append({"method": label, "cde_loss": m["cde_loss"], "pit_ks": m["pit_ks_stat"],
                     "pit_cvm": m["pit_cvm_stat"],
                     "pit_catastrophic": m["pit_catastrophic_fraction"], "crps": m["crps"], "nmad": point["nmad"],
                     "outliers": point["outlier_fraction"],
                     "pit_ks_mag_max": max(b["pit_ks"] for b in quartiles[label]),
                     "nz_mean_shift": float(np.nanmean(np.abs(shifts[label]))),
                     "bytes_per_object": 2.0 * len(levels), "objects_per_s": zshard_rate,
                     "calibrate_us": cal_us})
    if rail:
        print(f"  [rail] informing FlexZBoost and KNN (RAIL 2.0 defaults) on {len(train)} objects ...", flush=True)
        peers = run_rail(train, evaluation, throughput, bands, out, key, model.z_max, reuse=rail == "reuse")
        for method, (grid, pdfs, timing) in peers.items():
            m = grid_pdf_metrics(grid, pdfs, z)
            point = metrics.point_metrics(m.pop("z_phot"), z)
            label = f"RAIL {'FlexZBoost' if method == 'flexzboost' else 'KNN'}"
            quartiles[label] = pit_ks_by_quartile(m.pop("pit"), magnitude)
            shifts[label] = nz_mean_shifts(m.pop("z_mean"), z, z_phot, edges)
            rows.append({"method": label,
                         "cde_loss": m["cde_loss"],
                         "pit_ks": m["pit_ks_stat"], "pit_cvm": m["pit_cvm_stat"],
                         "pit_catastrophic": m["pit_catastrophic_fraction"], "crps": m["crps"], "nmad": point["nmad"],
                         "outliers": point["outlier_fraction"],
                         "pit_ks_mag_max": max(b["pit_ks"] for b in quartiles[label]),
                         "nz_mean_shift": float(np.nanmean(np.abs(shifts[label]))),
                         "bytes_per_object": 4.0 * grid.size,
                         "objects_per_s": timing["n_throughput"] / timing["estimate_throughput_s"],
                         "inform_s": timing["inform_s"]})
    floor = uniform_ks_floor(len(z))
    print(f"\nzshard fan-out with the coverage flags too: {fanout_rate:,.0f} objects/s; p(z) estimator "
          f"{model.manifest.get('pdf_estimator', {}).get('chosen')}, point model "
          f"{model.manifest['point_estimate']['algorithm']}")
    floors = ", ".join(f"{kind} eps = {c.outlier_fraction:.4f}" + (
        "" if c.outlier_shape is None else f" (n(z)-shaped, {len(c.outlier_shape.shapes)} cells, uniform fraction "
                                           f"{c.outlier_shape.uniform_fraction:g})")
        for kind, c in calibrations.items())
    print(f"\n{name}: p(z) of the {len(z)} evaluation objects (throughput on {len(throughput)} objects, one process; "
          f"PIT KS floor for {len(z)} exactly uniform PITs: {floor:.4f}; outlier floor {floors})")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}" if abs(v) < 100 else f"{v:.0f}"))
    print(f"pit_ks_mag_max: the largest PIT KS of the four mag_{band} quartiles; nz_mean_shift: mean over the "
          f"tomographic bins {list(edges)} (by zshard's z_phot) of |mean of the stacked p(z) - mean z_spec|; "
          f"calibrate_us: apply_calibration alone, µs per object, on the throughput objects")
    bounds = quartiles["zshard raw"]
    print(f"PIT KS per mag_{band} quartile (" + ", ".join(f"{b['lo']:.2f}-{b['hi']:.2f}: n {b['n']}, floor "
                                                           f"{b['floor']:.4f}" for b in bounds) + "):")
    for label, bins in quartiles.items():
        print(f"  {label:28s} " + "  ".join(f"{b['pit_ks']:.4f}" for b in bins)
              + "   n(z) mean shift per bin: " + " ".join(f"{v:+.4f}" for v in shifts[label]))
    ours = rows[1]
    goals = {"pit_ks_floor": floor, "pit_ks_by_magnitude_quartile": quartiles, "nz_mean_shift_by_bin": shifts,
             "checks": pdf_goal_checks(ours, quartiles[ours["method"]], floor, rows, calibration.n_fit,
                                       calibrated_ks_floor(len(z), calibration.n_fit, len(calibration.pit_knots)))}
    for check in goals["checks"]:
        goals[f"{check['goal_key']}_goal_met"] = check["met"]
        print(f"goal {check['goal']}: {'MET' if check['met'] else 'NOT MET'} ({check['detail']})")
    flex = next((r for r in rows if r["method"] == "RAIL FlexZBoost"), None)
    if flex is not None:
        goals["speedup_vs_flexzboost"] = ours["objects_per_s"] / flex["objects_per_s"]
    goals["fanout_objects_per_s"] = fanout_rate
    return rows, goals


def pdf_goal_checks(ours: dict, our_quartiles: list[dict], floor: float, rows: list[dict], n_fit: int,
                    fit_floor: float) -> list[dict]:
    """Issue 14's goals for one set: zshard's calibrated p(z) (``ours``) against RAIL's FlexZBoost and
    KNN (when they ran), the PIT KS floor overall and per magnitude quartile, the catastrophic PIT
    fraction and the storage. Each check: ``goal``, ``goal_key``, ``met``, ``detail``. ``fit_floor``
    (:func:`calibrated_ks_floor` for the ``n_fit`` calibration objects) is printed beside the KS goal."""
    checks = []

    def add(goal, key, met, detail):
        checks.append({"goal": goal, "goal_key": key, "met": bool(met), "detail": detail})

    peers = {r["method"]: r for r in rows if r["method"].startswith("RAIL")}
    flex, knn = peers.get("RAIL FlexZBoost"), peers.get("RAIL KNN")
    if flex is not None:
        add("CDE loss below FlexZBoost's", "cde_vs_flexzboost", ours["cde_loss"] < flex["cde_loss"],
            f"{ours['cde_loss']:.3f} vs {flex['cde_loss']:.3f}")
    if knn is not None:
        add("CDE loss below RAIL KNN's", "cde_vs_knn", ours["cde_loss"] < knn["cde_loss"],
            f"{ours['cde_loss']:.3f} vs {knn['cde_loss']:.3f}")
    if flex is not None:
        add("CRPS no worse than FlexZBoost's", "crps", ours["crps"] <= flex["crps"],
            f"{ours['crps']:.4f} vs {flex['crps']:.4f}")
        add("NMAD no worse than FlexZBoost's", "nmad", ours["nmad"] <= flex["nmad"],
            f"{ours['nmad']:.4f} vs {flex['nmad']:.4f}")
        add("outliers no higher than FlexZBoost's", "outliers", ours["outliers"] <= flex["outliers"],
            f"{ours['outliers']:.4f} vs {flex['outliers']:.4f}")
    add(f"PIT KS ≤ {GOAL_KS_OVER_FLOOR}× the floor", "pit_ks", ours["pit_ks"] <= GOAL_KS_OVER_FLOOR * floor,
        f"{ours['pit_ks']:.4f} = {ours['pit_ks'] / floor:.2f}× {floor:.4f}; an exact map fitted on the "
        f"{n_fit} calibration objects: {fit_floor:.4f}")
    worst = max(our_quartiles, key=lambda b: b["pit_ks"] / b["floor"])
    add(f"PIT KS ≤ {GOAL_KS_OVER_FLOOR}× the floor in each magnitude quartile", "pit_ks_quartiles",
        all(b["pit_ks"] <= GOAL_KS_OVER_FLOOR * b["floor"] for b in our_quartiles),
        f"worst {worst['lo']:.2f}-{worst['hi']:.2f}: {worst['pit_ks']:.4f} = "
        f"{worst['pit_ks'] / worst['floor']:.2f}×")
    add(f"catastrophic PIT ≤ {GOAL_CATASTROPHIC:.1%}", "catastrophic",
        ours["pit_catastrophic"] <= GOAL_CATASTROPHIC, f"{ours['pit_catastrophic']:.4f}")
    add(f"≤ {GOAL_BYTES:.0f} bytes per object", "bytes", ours["bytes_per_object"] <= GOAL_BYTES,
        f"{ours['bytes_per_object']:.0f}")
    return checks


def print_goal_table(results: dict) -> None:
    """Issue 14's goals, one row per goal and one column per set: MET / NOT MET with the figures."""
    sets = [key for key in results if results[key]["goals"].get("checks")]
    goals = list(dict.fromkeys(c["goal"] for key in sets for c in results[key]["goals"]["checks"]))
    rows = []
    for goal in goals:
        row = {"goal": goal}
        for key in sets:
            check = next((c for c in results[key]["goals"]["checks"] if c["goal"] == goal), None)
            row[key] = "–" if check is None else f"{'MET' if check['met'] else 'NOT MET'}: {check['detail']}"
        rows.append(row)
    print("\nGoals of issue 14 (zshard calibrated p(z); peers: RAIL 2.0 defaults, same evaluation objects)")
    print(pd.DataFrame(rows).to_string(index=False))


def outlier_shape_name(value: str) -> str:
    """An ``--outlier-shapes`` entry, checked: ``<shape>[+local<C>]``, the shape ``uniform``, ``nz`` or
    ``nz<cells>``, with ``+local<C>`` the conditional PIT maps in C cells (calibration.local)."""
    kind, _, local = value.partition("+")
    if (kind in ("uniform", "nz") or (kind.startswith("nz") and kind[2:].isdigit() and int(kind[2:]) >= 1)) and (
            not local or (local.startswith("local") and local[5:].isdigit() and int(local[5:]) >= 1)):
        return value
    raise argparse.ArgumentTypeError(f"{value!r}: expected uniform, nz or nz<cells>, then optionally +local<cells>")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--config", type=Path, nargs="+", default=[ROOT / "bench" / "photoz.yaml"],
                        help="zshard settings merged over config/config.yaml, in order")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sets", nargs="+", default=["boss", "des", "deep2"],
                        choices=["boss", "des", "deep2", "mock"], help="mock: the embedded demo's mock survey")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "photoz")
    parser.add_argument("--no-rail", action="store_true", help="skip RAIL's FlexZBoost and KNN")
    parser.add_argument("--reuse-rail", action="store_true",
                        help="read RAIL's p(z) back from an earlier run's --out where they exist (they take minutes)")
    parser.add_argument("--throughput-rows", type=int, default=20000)
    parser.add_argument("--outlier-shapes", nargs="*", default=[], type=outlier_shape_name,
                        help="also calibrate the same model with these outlier components, one row each: uniform, "
                             "nz (calibration.outlier_shape's cells) or nz<C> (C cells of the p(z) median), each "
                             "optionally +local<C> (C conditional PIT maps, calibration.local)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    loaders = {"boss": ("SDSS BOSS DR10", boss), "des": ("DES spec-z (id-hashed halves)", des),
               "deep2": ("DEEP2/3 + 3D-HST (id-hashed halves)", deep2),
               "mock": ("the demo's mock survey (its spec-z sample's train+validation vs test)",
                        functools.partial(mock, config=config, out=args.out.parent / "mock"))}
    results = {}
    start = time.perf_counter()
    for key in args.sets:
        label, loader = loaders[key]
        set_config = with_defaults(merge(json.loads(json.dumps(config)), SET_OVERRIDES.get(key, {})))
        rail = False if args.no_rail else ("reuse" if args.reuse_rail else True)
        results[key] = run(label, key, loader, args.data, args.threads, set_config, args.out, rail,
                           args.throughput_rows, args.outlier_shapes)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=float))
    print_goal_table(results)
    met = all(v for r in results.values() for k, v in r["goals"].items() if k.endswith("_goal_met"))
    print(f"\nall goals met: {'yes' if met else 'no'}   (total {time.perf_counter() - start:.0f} s; "
          f"results in {args.out / 'results.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
