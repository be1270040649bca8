"""Feature selection: tree importances and MINT (transductive mRMR), then a cross-validated size.

Three rankings of the candidate pool (:mod:`zshard.features`), reported side by side as in Hoyle
et al. (2015, MNRAS 449, 1275, "Feature importance for machine learning redshifts applied to SDSS
galaxies"):

* **gain**: the share of the total loss reduction of every split on a feature in a boosted-tree
  model (Chen & Guestrin 2016; Friedman 2001, Ann. Stat. 29, 1189). Cheap, but biased towards
  features with many distinct values and blind to redundancy.
* **permutation**: how much the NMAD of held-out predictions grows when a feature's values are
  shuffled (Breiman 2001, Mach. Learn. 45, 5; Fisher, Rudin & Dominici 2019, JMLR 20, 177).
  Measures what the fitted model relies on; two redundant copies share (and hide) their importance.
* **MINT** (He, Rish, Haws & Parida 2013, "MINT: mutual information based transductive feature
  selection for genetic trait prediction"): greedy minimum-redundancy maximum-relevance selection
  (Peng, Long & Ding 2005, IEEE TPAMI 27, 1226) where the relevance I(x_j; z) is estimated on the
  labelled sample and the redundancy I(x_j; x_s) with the already selected features on a sample of
  the *science* catalogue — the data the model will be applied to (transductive). Step by step,
  the feature maximising relevance − mean redundancy is added (Peng's MID criterion). Mutual
  information is estimated with the k-nearest-neighbour estimator of Kraskov, Stögbauer &
  Grassberger (2004, PRE 69, 066138) as implemented by scikit-learn (Ross 2014, PLoS ONE 9, e87357).
  A redundant copy of a selected feature has a large redundancy and drops down the ranking.

The feature set is the top ``k`` of the chosen ranking, with ``k`` chosen by cross-validation of a
quick boosted-tree model over a few candidate sizes: the smallest size whose CV metric is within
``tolerance`` (relative) of the best.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zshard import metrics

__all__ = ["gain_ranking", "permutation_ranking", "mutual_information", "mint_ranking", "size_scan",
           "choose_size", "quick_model"]


def quick_model(params: dict, seed: int, threads: int = 1):
    """The quick boosted-tree model the stage (and the anomaly stage) uses: an xgboost regressor with
    ``params`` (``selection.quick_model`` in the config)."""
    import xgboost as xgb

    return xgb.XGBRegressor(**{"tree_method": "hist", **params}, random_state=seed % (2**31), n_jobs=threads)


def gain_ranking(X: np.ndarray, z: np.ndarray, names: Sequence[str], *, params: dict, seed: int,
                 weights: np.ndarray | None = None, threads: int = 1) -> list[dict]:
    """Features ranked by their share of the total split gain of a boosted-tree model."""
    model = quick_model(params, seed, threads).fit(X, z, sample_weight=weights)
    scores = model.get_booster().get_score(importance_type="total_gain")
    booster_names = model.get_booster().feature_names or [f"f{j}" for j in range(X.shape[1])]
    gains = np.array([scores.get(booster_names[j], 0.0) for j in range(len(names))], dtype=np.float64)
    share = gains / gains.sum() if gains.sum() > 0 else gains
    order = np.argsort(-share, kind="stable")
    return [{"rank": r + 1, "feature": names[j], "gain_share": float(share[j])} for r, j in enumerate(order)]


def permutation_ranking(X: np.ndarray, z: np.ndarray, names: Sequence[str], *, params: dict, seed: int,
                        repeats: int, weights: np.ndarray | None = None, holdout_fraction: float = 0.25,
                        threads: int = 1) -> list[dict]:
    """Features ranked by the growth of held-out NMAD when each is shuffled (mean over ``repeats``)."""
    rng = np.random.default_rng(seed)
    n = len(z)
    test = np.zeros(n, dtype=bool)
    test[rng.permutation(n)[: max(1, int(round(holdout_fraction * n)))]] = True
    w = None if weights is None else np.asarray(weights)[~test]
    model = quick_model(params, seed, threads).fit(X[~test], z[~test], sample_weight=w)
    Xt, zt = X[test].copy(), z[test]
    base = metrics.nmad(model.predict(Xt), zt)
    growth = np.zeros(X.shape[1])
    for j in range(X.shape[1]):
        original = Xt[:, j].copy()
        for _ in range(repeats):
            Xt[:, j] = original[rng.permutation(len(original))]
            growth[j] += (metrics.nmad(model.predict(Xt), zt) - base) / repeats
        Xt[:, j] = original
    order = np.argsort(-growth, kind="stable")
    return [{"rank": r + 1, "feature": names[j], "nmad_increase": float(growth[j]), "nmad_base": float(base)}
            for r, j in enumerate(order)]


def mutual_information(x: np.ndarray, y: np.ndarray, *, n_neighbors: int, seed: int = 0) -> float:
    """I(x; y) in nats from the pairs where both are finite (Kraskov et al. 2004 estimator)."""
    from sklearn.feature_selection import mutual_info_regression

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() <= n_neighbors + 1 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return 0.0
    value = mutual_info_regression(x[ok, None], y[ok], n_neighbors=n_neighbors, random_state=seed % (2**31))
    return float(max(value[0], 0.0))


def mint_ranking(train_X: np.ndarray, z: np.ndarray, science_X: np.ndarray, names: Sequence[str], *,
                 n_neighbors: int, max_rows: int, seed: int = 0) -> list[dict]:
    """Greedy transductive mRMR (MINT): relevance on the labelled set, redundancy on the science set.

    Returns every pool feature in selection order with its relevance I(x; z), its mean redundancy
    with the features selected before it, and the criterion (relevance − redundancy) at its step.
    ``max_rows`` bounds the rows of each estimate (a seeded subsample), as the estimator is
    O(n log n) per pair and there are O(p²) pairs.
    """
    rng = np.random.default_rng(seed)

    def subsample(n):
        return np.sort(rng.permutation(n)[:max_rows]) if n > max_rows else np.arange(n)

    rows_t, rows_s = subsample(len(train_X)), subsample(len(science_X))
    Xt, zt, Xs = train_X[rows_t], np.asarray(z)[rows_t], science_X[rows_s]
    p = Xt.shape[1]
    relevance = np.array([mutual_information(Xt[:, j], zt, n_neighbors=n_neighbors, seed=seed) for j in range(p)])
    redundancy_sum = np.zeros(p)
    selected: list[int] = []
    out = []
    remaining = list(range(p))
    while remaining:
        if selected:
            last = selected[-1]
            for j in remaining:
                redundancy_sum[j] += mutual_information(Xs[:, j], Xs[:, last], n_neighbors=n_neighbors, seed=seed)
            redundancy = redundancy_sum[remaining] / len(selected)
        else:
            redundancy = np.zeros(len(remaining))
        criterion = relevance[remaining] - redundancy
        best = int(np.argmax(criterion))
        j = remaining.pop(best)
        selected.append(j)
        out.append({"rank": len(selected), "feature": names[j], "relevance": float(relevance[j]),
                    "redundancy": float(redundancy[best]), "criterion": float(criterion[best])})
    return out


def size_scan(X: np.ndarray, z: np.ndarray, names: Sequence[str], ranking: Sequence[str], sizes: Sequence[int], *,
              folds: np.ndarray, params: dict, seed: int, weights: np.ndarray | None = None,
              threads: int = 1) -> list[dict]:
    """CV metrics of the quick model on the top-``k`` features of ``ranking``, for each ``k``."""
    index = {name: j for j, name in enumerate(names)}
    rows = []
    for k in sizes:
        cols = [index[name] for name in ranking[:k]]
        oof = np.full(len(z), np.nan)
        for f in np.unique(folds):
            test = folds == f
            w = None if weights is None else np.asarray(weights)[~test]
            model = quick_model(params, seed, threads).fit(X[~test][:, cols], z[~test], sample_weight=w)
            oof[test] = model.predict(X[test][:, cols])
        rows.append({"n_features": int(k), "features": list(ranking[:k]),
                     **metrics.weighted_point_metrics(oof, z, weights)})
    return rows


def choose_size(scan: Sequence[dict], rank_by: str, tolerance: float) -> int:
    """The smallest size whose CV ``rank_by`` is within ``tolerance`` (relative) of the best."""
    best = min(row[rank_by] for row in scan)
    good = [row["n_features"] for row in scan if row[rank_by] <= best * (1.0 + tolerance)]
    return int(min(good))
