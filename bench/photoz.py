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
  sentinels −9.999e9, 99, −99.

Goal (issue 4): zshard's NMAD at least 10% lower than the plain xgboost's and its outlier fraction
no higher, on both sets. The script prints whether each goal is met and exits non-zero only if
something crashes. Results also go to ``bench/out/photoz/results.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from zshard import metrics, training  # noqa: E402
from zshard.features import FeatureSpec, build_features  # noqa: E402
from zshard.io import CatalogSpec, read_catalog, subset_mask  # noqa: E402

GOAL_NMAD_GAIN = 0.10


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


def des(data: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    bands = ["g", "r", "i", "z", "y"]
    spec = CatalogSpec.from_config({"columns": {"id": "COADD_OBJECT_ID", "ra": "RA", "dec": "DEC",
                                                "magnitude": "MAG_{BAND}", "error": "MAG_ERR_{BAND}",
                                                "redshift": "Z"},
                                    "sentinels": [-9.999e9, 99.0, -99.0]}, bands)
    frame = read_catalog([str(data / "des_specz/des_specz_valid.fits")], spec)
    frame = frame[np.isfinite(frame["z_spec"]) & (frame["z_spec"] >= 0)].reset_index(drop=True)
    train_half = subset_mask(frame["id"].to_numpy(), 0.5, 7, "above")
    return frame[train_half].reset_index(drop=True), frame[~train_half].reset_index(drop=True), bands


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


def zshard_model(train, evaluation, bands, threads, config, log):
    config = json.loads(json.dumps(config))
    config["bands"] = list(bands)
    science = evaluation.drop(columns=["z_spec"])
    result = training.train_chain(train, science, config, threads=threads, log=log)
    return result.model.predict_point(evaluation), result


def load_config(paths: list[Path]) -> dict:
    """config/config.yaml with ``paths`` merged over it in order (as --configfile), validated."""
    from snakemake.utils import validate

    def merge(base, update):
        for key, value in update.items():
            base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) and isinstance(base.get(key), dict) \
                else value
        return base

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for path in paths:
        config = merge(config, yaml.safe_load(path.read_text()) or {})
    validate(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    return config


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------
def run(name, loader, data, threads, config, out):
    train, evaluation, bands = loader(data)
    z = evaluation["z_spec"].to_numpy(dtype=np.float64)
    print(f"\n== {name}: {len(train)} training, {len(evaluation)} evaluation objects, bands {''.join(bands)} ==",
          flush=True)
    rows, extra = [], {}
    for method, function in (("zshard", None), ("xgboost (plain)", plain_xgboost), ("kNN (colours)", knn_colours)):
        start = time.perf_counter()
        if function is None:
            prediction, result = zshard_model(train, evaluation, bands, threads, config,
                                              log=lambda m: print(f"  [zshard] {m}", flush=True)
                                              if "draw" not in m else None)
            manifest = result.model.manifest_payload()
            extra = {"winner": manifest["point_estimate"]["algorithm"], "features": manifest["feature_names"],
                     "zoo": [{k: r[k] for k in ("algorithm", "nmad", "outlier_fraction")}
                             for r in result.reports["zoo"]["ranking"]],
                     "anomalies_removed": result.reports["anomalies"]["n_removed"],
                     "science_in_coverage": result.reports["representativeness"]["coverage"][
                         "science_fraction_in_coverage"]}
        else:
            prediction = function(train, evaluation, bands, threads)
        seconds = time.perf_counter() - start
        m = metrics.point_metrics(prediction, z)
        rows.append({"method": method, "nmad": m["nmad"], "sigma68": m["sigma68"], "bias": m["bias_median"],
                     "outlier_fraction": m["outlier_fraction"], "n": m["n"], "seconds": seconds})
    table = pd.DataFrame(rows)
    print(f"\n{name}  (evaluation: {len(evaluation)} objects; Δz = (z_phot − z_spec)/(1 + z_spec); outlier |Δz| > 0.15)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    ours, plain = rows[0], rows[1]
    gain = 1.0 - ours["nmad"] / plain["nmad"]
    goals = {"nmad_gain": gain, "nmad_goal_met": bool(gain >= GOAL_NMAD_GAIN),
             "outlier_goal_met": bool(ours["outlier_fraction"] <= plain["outlier_fraction"])}
    print(f"goal NMAD ≥ {100 * GOAL_NMAD_GAIN:.0f}% below plain xgboost: {'MET' if goals['nmad_goal_met'] else 'NOT MET'} "
          f"({100 * gain:+.1f}%: {ours['nmad']:.4f} vs {plain['nmad']:.4f})")
    print(f"goal outlier fraction no higher than plain xgboost: {'MET' if goals['outlier_goal_met'] else 'NOT MET'} "
          f"({ours['outlier_fraction']:.4f} vs {plain['outlier_fraction']:.4f})")
    print(f"zshard: z_phot from {extra['winner']}; {len(extra['features'])} features {extra['features']}; "
          f"{extra['anomalies_removed']} training anomalies removed; "
          f"{100 * extra['science_in_coverage']:.1f}% of the evaluation objects in coverage")
    print("zshard zoo (CV): " + ", ".join(f"{r['algorithm']} {r['nmad']:.4f}" for r in extra["zoo"]))
    return {"rows": rows, "goals": goals, "zshard": extra, "n_train": len(train), "n_eval": len(evaluation)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--config", type=Path, nargs="+", default=[ROOT / "bench" / "photoz.yaml"],
                        help="zshard settings merged over config/config.yaml, in order")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sets", nargs="+", default=["boss", "des"], choices=["boss", "des"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "photoz")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    loaders = {"boss": ("SDSS BOSS DR10", boss), "des": ("DES spec-z (id-hashed halves)", des)}
    results = {}
    start = time.perf_counter()
    for key in args.sets:
        label, loader = loaders[key]
        results[key] = run(label, loader, args.data, args.threads, config, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=float))
    met = all(r["goals"]["nmad_goal_met"] and r["goals"]["outlier_goal_met"] for r in results.values())
    print(f"\nall goals met: {'yes' if met else 'no'}   (total {time.perf_counter() - start:.0f} s; "
          f"results in {args.out / 'results.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
