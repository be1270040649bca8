"""Anomalous training examples: wrong spec-z, bad photometry, blends.

A wrong redshift (a misidentified line, a stellar spectrum, a swapped fibre) or corrupted
photometry puts a labelled object far from the colour–redshift relation the others trace. Hoyle
et al. (2015, MNRAS 452, 4183) showed that removing such anomalies from an SDSS training sample
improves machine-learning photo-z. Two detectors, each flagging a configured fraction:

* ``neighbour_redshift`` (conditional: "is this redshift plausible for this photometry?"): the
  object's ln(1 + z) against the median of its k nearest labelled neighbours in colour–magnitude
  space, in units of the neighbours' own robust spread (NMAD, floored at ``sigma_floor``). It targets wrong
  redshifts and leaves rare-but-valid objects (the brightest, the bluest) alone, because their
  neighbours, however far, agree with them (a kNN photo-z of the object, with the local scatter
  as its error).
* ``isolation_forest`` (joint: "is this object isolated in photometry and redshift?"): random
  axis-parallel cuts separate an isolated point in fewer cuts than a point of a dense region, so the
  mean path length over many random trees scores abnormality (Liu, Ting & Zhou 2008, ICDM, 413).
  It finds bad photometry and redshifts far from everything, but also the rare valid tails of the
  sample (on the mock and on BOSS it mostly flags the brightest galaxies), so it is off by default.

The stage measures, honestly, what removing the flagged objects does: the same quick model trained
with and without them is scored on the untouched validation sample (flagged objects are never
removed from a validation sample — that would flatter the metrics). Removal is a correction for
samples that need it: a fixed fraction is always flagged, and on a clean sample (exact redshifts)
removing it only cuts the tails that the p(z) must hold. So by default (``remove: auto``) the
objects are removed only where that measurement says it helps (:func:`removal_decision`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from zshard import metrics
from zshard.features import FeatureSpec, build_features
from zshard.representativeness import RobustScaling
from zshard.selection import quick_model

__all__ = ["AnomalyFlags", "flag_anomalies", "neighbour_redshift_scores", "isolation_forest_scores", "removal_effect",
           "removal_decision", "describe_flagged"]

#: The validation metrics of :func:`removal_effect` that :func:`removal_decision` compares (lower is better).
DECISION_METRICS = ("nmad", "outlier_fraction")


@dataclass
class AnomalyFlags:
    """Per labelled object: an abnormality score (higher = more anomalous) and the flag."""

    score: np.ndarray
    flagged: np.ndarray
    threshold: float

    @property
    def n_flagged(self) -> int:
        return int(self.flagged.sum())


def neighbour_redshift_scores(catalog: pd.DataFrame, space: FeatureSpec, *, n_neighbors: int, sigma_floor: float,
                              redshift_column: str = "z_spec") -> np.ndarray:
    """Abnormality of each object's redshift given its photometric neighbours' (higher = worse).

    |ln(1 + z) − median_nb| / max(NMAD_nb, sigma_floor) over the ``n_neighbors`` nearest labelled
    objects (itself excluded) in the robustly standardised ``space``.
    """
    from sklearn.neighbors import KDTree

    X = build_features(catalog, space)
    S = RobustScaling.fit(X).transform(X)
    k = int(min(n_neighbors, len(S) - 1))
    if k < 2:
        return np.zeros(len(S))
    neighbours = KDTree(S).query(S, k=k + 1)[1][:, 1:]
    lz = np.log1p(np.clip(catalog[redshift_column].to_numpy(dtype=np.float64), 0, None))
    nb = lz[neighbours]
    median = np.median(nb, axis=1)
    spread = metrics.NMAD_SCALE * np.median(np.abs(nb - median[:, None]), axis=1)
    return np.abs(lz - median) / np.maximum(spread, sigma_floor)


def isolation_forest_scores(catalog: pd.DataFrame, space: FeatureSpec, *, seed: int, n_estimators: int,
                            include_redshift: bool, redshift_column: str = "z_spec", threads: int = 1) -> np.ndarray:
    """Isolation-forest abnormality (higher = worse) in ``space`` and, optionally, ln(1 + z)."""
    X = build_features(catalog, space).astype(np.float64)
    if include_redshift:
        z = catalog[redshift_column].to_numpy(dtype=np.float64)
        X = np.column_stack([X, np.log1p(np.clip(z, 0, None))])
    S = RobustScaling.fit(X).transform(X)
    forest = IsolationForest(n_estimators=n_estimators, random_state=seed % (2**31), n_jobs=threads).fit(S)
    return -forest.score_samples(S)


def flag_anomalies(scores: np.ndarray, fraction: float) -> AnomalyFlags:
    """Flag the ``fraction`` of objects with the highest abnormality ``scores`` (0 flags nothing)."""
    scores = np.asarray(scores, dtype=np.float64)
    if fraction <= 0 or scores.size == 0:
        return AnomalyFlags(scores, np.zeros(scores.size, dtype=bool), float("inf"))
    threshold = float(np.quantile(scores, 1.0 - fraction))
    return AnomalyFlags(scores, scores >= threshold, threshold)


def removal_effect(train: pd.DataFrame, validation: pd.DataFrame, flagged: np.ndarray, features: FeatureSpec, *,
                   params: dict, seed: int, weights: np.ndarray | None = None, threads: int = 1,
                   redshift_column: str = "z_spec") -> dict:
    """Validation metrics of the quick model (:func:`zshard.selection.quick_model` with ``params``) trained
    with and without the flagged objects."""
    X = build_features(train, features)
    z = train[redshift_column].to_numpy(dtype=np.float64)
    Xv = build_features(validation, features)
    zv = validation[redshift_column].to_numpy(dtype=np.float64)
    w = np.ones(len(z)) if weights is None else np.asarray(weights, dtype=np.float64)
    out = {}
    for name, keep in (("all", np.ones(len(z), dtype=bool)), ("cleaned", ~flagged)):
        model = quick_model(params, seed, threads)
        model.fit(X[keep], z[keep], sample_weight=w[keep])
        out[name] = metrics.point_metrics(model.predict(Xv), zv) if len(zv) else {}
    out["n_removed"] = int(flagged.sum())
    return out


def removal_decision(effect: dict | None, setting: bool | str, min_improvement: float) -> dict:
    """Whether the flagged objects are removed from training, and the evidence (``anomalies.remove``).

    ``setting`` ``True`` or ``False`` decides alone. ``"auto"``: removed only when the quick model
    trained without them (``effect``, :func:`removal_effect`) is better on the validation sample —
    one of :data:`DECISION_METRICS` lower by at least the relative ``min_improvement`` and none
    higher. Without a measurement (no validation sample, nothing flagged) nothing is removed.
    """
    if setting is True or setting is False:
        return {"remove": setting, "reason": f"anomalies.remove is {str(setting).lower()}"}
    if setting != "auto":
        raise ValueError(f"anomalies.remove must be true, false or auto, not {setting!r}")
    if not effect:
        return {"remove": False, "reason": "auto: no validation measurement (no validation sample or nothing "
                                           "flagged), so nothing says removal helps"}
    before, after = effect["all"], effect["cleaned"]
    gains = {}
    for name in DECISION_METRICS:
        b, a = float(before[name]), float(after[name])
        gains[name] = (1.0 - a / b) if b > 0 else (0.0 if a <= b else -1.0)  # -1: it rises from 0
    worse = [name for name, gain in gains.items() if gain < 0]
    better = [name for name, gain in gains.items() if gain >= min_improvement]
    evidence = {"relative_improvement": gains, "min_improvement": float(min_improvement),
                "validation_all": {name: before[name] for name in DECISION_METRICS},
                "validation_cleaned": {name: after[name] for name in DECISION_METRICS}}
    if worse:
        return {"remove": False, "reason": f"auto: removal makes {', '.join(worse)} worse on the validation sample",
                **evidence}
    if not better:
        return {"remove": False, "reason": f"auto: removal improves no validation metric by {min_improvement:g} "
                                           "or more", **evidence}
    return {"remove": True, "reason": f"auto: removal improves {', '.join(better)} on the validation sample "
                                      f"by {min_improvement:g} or more, and none is worse", **evidence}


def describe_flagged(train: pd.DataFrame, flags: AnomalyFlags, bands, redshift_column: str = "z_spec") -> dict:
    """What is removed: counts and the redshift and magnitude distributions of the flagged objects."""
    z = train[redshift_column].to_numpy(dtype=np.float64)
    f = flags.flagged
    ref_band = bands[len(bands) // 2]
    mag = train[f"mag_{ref_band}"].to_numpy(dtype=np.float64)

    def quartiles(x):
        x = x[np.isfinite(x)]
        return [float(v) for v in np.percentile(x, [25, 50, 75])] if x.size else []

    missing_any = np.zeros(len(train), dtype=bool)
    for band in bands:
        missing_any |= ~np.isfinite(train[f"mag_{band}"].to_numpy(dtype=np.float64))
    return {"n": int(len(train)), "n_flagged": flags.n_flagged, "fraction_flagged": float(f.mean()) if len(f) else 0.0,
            "score_threshold": flags.threshold,
            "z_quartiles_flagged": quartiles(z[f]), "z_quartiles_all": quartiles(z),
            f"mag_{ref_band}_quartiles_flagged": quartiles(mag[f]), f"mag_{ref_band}_quartiles_all": quartiles(mag),
            "fraction_with_missing_band_flagged": float(missing_any[f].mean()) if f.any() else 0.0,
            "fraction_with_missing_band_all": float(missing_any.mean()) if len(f) else 0.0}
