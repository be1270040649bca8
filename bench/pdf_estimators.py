"""The p(z) estimators side by side on the same objects: how ``model.xgboost_bins``'s defaults were chosen.

Run with ``.venv/bin/python bench/pdf_estimators.py SET VARIANT[,VARIANT...]`` (SET: des, deep2, boss or
mock; the data sets and splits of ``bench/photoz.py``). Each variant is trained on an id-hashed 80%
of the training objects (seed 42) with every magnitude and colour as features (no selection, no
weights, no anomaly removal, so that only the estimator differs), calibrated as the workflow does
(``calibration`` of ``config/config.yaml``) on the other 20%, and scored on the evaluation objects:
raw and calibrated CDE loss, calibrated PIT KS, catastrophic PIT fraction, CRPS, the NMAD and outlier
fraction of the p(z) median, the outlier weight ε and the fit and prediction times.

Variants: ``quantile`` (the xgboost multi-quantile booster, ``model.xgboost``) or
``bins[:key=value...]`` (:class:`zshard.models.BinnedSoftmaxModel` with ``model.xgboost_bins``
overridden by ``bins``, ``rounds``, ``eta``, ``depth``, ``mcw``), e.g.
``bins:mcw=5 bins:mcw=0.3 bins:bins=100``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import photoz as bench_photoz  # noqa: E402

from zshard import metrics  # noqa: E402
from zshard.calibration import apply_calibration, fit_calibration  # noqa: E402
from zshard.config import with_defaults  # noqa: E402
from zshard.features import FeatureSpec, build_features  # noqa: E402
from zshard.io.ids import subset_mask  # noqa: E402
from zshard.models import BinnedSoftmaxModel, train_quantile_model  # noqa: E402
from zshard.pdf.representation import sanitize_quantiles  # noqa: E402

KEYS = {"bins": "n_bins", "rounds": "n_estimators", "eta": "learning_rate", "depth": "max_depth",
        "mcw": "min_child_weight"}


def fit_variant(variant: str, model_cfg: dict, fit: pd.DataFrame, spec: FeatureSpec, z_max: float):
    """The variant fitted on ``fit``; returns a function from a feature matrix to raw quantiles (n, K)."""
    levels = np.asarray(model_cfg["quantile_levels"])
    if variant == "quantile":
        model = train_quantile_model(fit, spec, levels, z_min=model_cfg["z_min"], z_max=z_max,
                                     max_density=model_cfg["max_density"], multi_output_tree=True,
                                     params=model_cfg["xgboost"], seed=1)
        return lambda Xn: model.raw_quantiles(Xn).reshape(len(Xn), -1)
    name, *overrides = variant.split(":")
    if name != "bins":
        raise SystemExit(f"unknown variant {variant!r}")
    params = dict(model_cfg["xgboost_bins"])
    for item in overrides:
        key, value = item.split("=")
        params[KEYS[key]] = float(value) if key in ("eta", "mcw") else int(value)
    n_bins = params.pop("n_bins")
    X, z = build_features(fit, spec), fit["z_spec"].to_numpy()
    return BinnedSoftmaxModel(levels, model_cfg["z_min"], z_max, n_bins, params, seed=1).fit(X, z).predict


def main() -> None:
    key, variants = sys.argv[1], sys.argv[2].split(",")
    config = with_defaults(bench_photoz.load_config([ROOT / "bench" / "photoz.yaml"]))
    data = ROOT.parent / "shared" / "data"
    if key == "mock":
        train, evaluation, bands = bench_photoz.mock(data, config, ROOT / "bench" / "out" / "mock")
    else:
        loader = {"des": bench_photoz.des, "deep2": bench_photoz.deep2, "boss": bench_photoz.boss}[key]
        train, evaluation, bands = loader(data)
    model_cfg = config["model"]
    z_min, z_max = model_cfg["z_min"], bench_photoz.SET_OVERRIDES.get(key, {}).get("model", {}).get("z_max",
                                                                                                  model_cfg["z_max"])
    levels = np.asarray(model_cfg["quantile_levels"])
    cal = config["calibration"]
    spec = FeatureSpec(tuple(bands), "all")
    held = subset_mask(train["id"].to_numpy(), 0.2, 42, "below")
    fit, calibration_set = train[~held], train[held]
    Xc, zc = build_features(calibration_set, spec), calibration_set["z_spec"].to_numpy()
    Xe, ze = build_features(evaluation, spec), evaluation["z_spec"].to_numpy()
    print(f"{key}: {len(fit)} fit, {len(calibration_set)} calibration, {len(evaluation)} evaluation objects",
          flush=True)
    for variant in variants:
        start = time.perf_counter()
        predict = fit_variant(variant, model_cfg, fit, spec, z_max)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        raw = predict(Xe)
        predict_us = 1e6 * (time.perf_counter() - start) / len(Xe)
        clean = [sanitize_quantiles(np.asarray(q, dtype=np.float32), z_min, z_max, levels=levels,
                                    max_density=model_cfg["max_density"]) for q in (predict(Xc), raw)]
        calibration = fit_calibration(clean[0], levels, zc, z_min, z_max, n_knots=cal["n_knots"],
                                      outlier_floor=cal["outlier_floor"], outlier_shape=cal["outlier_shape"],
                                      local=cal["local"], output_levels=cal["levels"])
        calibrated = apply_calibration(clean[1], levels, calibration, z_min, z_max)
        m = metrics.pdf_metrics(calibrated, np.asarray(cal["levels"]), ze, z_min, z_max)
        point = metrics.point_metrics(clean[1][:, int(np.argmin(np.abs(levels - 0.5)))], ze)
        raw_cde = metrics.cde_loss(clean[1], levels, ze, z_min, z_max)
        print(f"{key} {variant:32s} raw CDE {raw_cde:8.3f}  calibrated CDE {m['cde_loss']:8.3f}  "
              f"KS {m['pit_ks_stat']:.4f}  catastrophic {m['pit_catastrophic_fraction']:.4f}  CRPS {m['crps']:.4f}  "
              f"median NMAD {point['nmad']:.4f} outliers {point['outlier_fraction']:.4f}  "
              f"eps {calibration.outlier_fraction:.4f}  fit {fit_s:5.1f} s  predict {predict_us:5.1f} µs/object",
              flush=True)


if __name__ == "__main__":
    main()
