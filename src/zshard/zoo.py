"""The model zoo: many learners, random hyper-parameters, k-fold cross-validation, one leaderboard.

No favourite: every algorithm gets the same folds, the same number of random draws from its search
space (random search beats a grid for the same budget when few parameters matter, Bergstra &
Bengio 2012, JMLR 13, 281) and the same metrics, computed on its out-of-fold predictions:

==================  ===========================================================================
``xgboost_quantile`` gradient-boosted trees with the pinball loss at α = 0.5 (Koenker & Bassett
                     1978): the median of the production model. Its best hyper-parameters train
                     the production multi-quantile p(z) model (:mod:`zshard.models`).
``xgboost``          gradient-boosted trees, squared or absolute error (Chen & Guestrin 2016)
``random_forest``    Breiman (2001, Mach. Learn. 45, 5); NaN-aware splits in scikit-learn
``adaboost``         AdaBoost.R2 of regression trees (Drucker 1997, ICML; Freund & Schapire 1997),
                     the machine-learning photo-z benchmark of Hoyle et al.
``knn``              k nearest neighbours in standardised features (e.g. Ball et al. 2008, ApJ
                     683, 12)
``mlp``              a multi-layer perceptron (as ANNz, Collister & Lahav 2004, PASP 116, 345)
==================  ===========================================================================

Learners that cannot take NaN (AdaBoost, kNN, MLP) see median-imputed features plus missing-value
indicators (:mod:`zshard.features`). Training weights (the representativeness weights) are passed
to every learner that accepts them (all but kNN) and the CV metrics are weighted by them too:
importance-weighted cross-validation (Sugiyama, Krauledat & Müller 2007, JMLR 8, 985) estimates the
metrics on the science sample rather than on the labelled one.

A stacked ensemble (Wolpert 1992, Neural Netw. 5, 241) of the best draw of each algorithm is also
scored: convex weights of their out-of-fold predictions that minimise the ranking metric (after
Breiman 1996, Mach. Learn. 24, 49, who minimised squared error; see :func:`_stack_weights`),
themselves cross-validated over the same folds. It wins only if it beats the
best single learner by ``stack_min_improvement`` (relative): a stack is heavier to store and apply,
and its CV score is slightly optimistic (its members were picked on the same folds).

**The fan-out's budget.** The winner is applied to every object of the catalogue (hundreds of
millions), so its prediction cost is part of the choice: every draw gets an estimate of its cost
in µs per object on one core (:func:`predict_cost_us`, from the model's structure). A tree
ensemble's draw is clamped to the trees its depth allows within ``zoo.fanout_budget_us``
(``pdf`` for ``xgboost_quantile``, whose parameters train the 15-output p(z) model; ``point`` for
the others), and only draws within the budget can win (a stack: the sum of its members). The
others (kNN, large MLPs) stay on the leaderboard, marked. When no draw fits, z_phot is the p(z)
median (no point model).

The folds come from a hash of the object id (:func:`zshard.io.ids.id_hash_unit`), every draw from a
generator seeded with ``derive_seed(seed, "zoo.<algorithm>")``. A time budget per algorithm stops
drawing once spent (the draws already made are kept; at least one is always evaluated): with a
binding budget the number of draws depends on the machine, and the leaderboard says how many ran.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zshard import metrics
from zshard.io.ids import derive_seed, id_hash_unit

__all__ = ["ALGORITHMS", "DEFAULT_SPACES", "predict_cost_us", "clamp_to_budget", "draw_params", "make_estimator",
           "fit_estimator", "cv_folds",
           "run_zoo", "StackedPoint", "fit_winner", "RANK_METRICS"]

ALGORITHMS = ("xgboost_quantile", "xgboost", "random_forest", "adaboost", "knn", "mlp")
RANK_METRICS = ("nmad", "sigma68", "outlier_fraction")

_XGB_SPACE: dict[str, Any] = {
    "n_estimators": {"int": [100, 500]},
    "learning_rate": {"loguniform": [0.02, 0.2]},
    "max_depth": {"int": [3, 9]},
    "min_child_weight": {"loguniform": [1.0, 30.0]},
    "subsample": {"uniform": [0.6, 1.0]},
    "colsample_bytree": {"uniform": [0.5, 1.0]},
    "reg_lambda": {"loguniform": [0.1, 10.0]},
}
#: Search spaces: per parameter a distribution ``{int: [lo, hi]}`` (inclusive), ``{uniform: [lo, hi]}``,
#: ``{loguniform: [lo, hi]}``, ``{choice: [values]}``, or a fixed value. ``zoo.spaces`` in the
#: config overrides entries per algorithm and parameter.
DEFAULT_SPACES: dict[str, dict[str, Any]] = {
    "xgboost_quantile": dict(_XGB_SPACE),
    "xgboost": {**_XGB_SPACE, "objective": {"choice": ["reg:squarederror", "reg:absoluteerror"]}},
    "random_forest": {"n_estimators": {"int": [50, 200]}, "max_features": {"uniform": [0.3, 1.0]},
                      "min_samples_leaf": {"int": [1, 10]}, "max_depth": {"choice": [None, 12, 20]}},
    "adaboost": {"n_estimators": {"int": [20, 100]}, "learning_rate": {"loguniform": [0.05, 1.0]},
                 "loss": {"choice": ["linear", "square", "exponential"]}, "max_depth": {"int": [3, 8]}},
    "knn": {"n_neighbors": {"int": [5, 50]}, "weights": {"choice": ["uniform", "distance"]}, "p": {"choice": [1, 2]}},
    "mlp": {"hidden_layer_sizes": {"choice": [[64], [64, 64], [128, 64]]}, "alpha": {"loguniform": [1e-5, 1e-2]},
            "learning_rate_init": {"loguniform": [5e-4, 5e-3]}, "batch_size": {"choice": [128, 256]},
            "max_iter": 200},
}


#: Prediction cost per tree level and object [µs], on one core of the development machine (xgboost
#: 3.2 inplace predict with 15 outputs: 4.6 s for 1M objects × 203 trees of depth 6; scikit-learn
#: 1.9's random forest: 6.9 s for 1M × 119 trees of depth 12).
#: The binned p(z) booster (zshard.models.BinnedSoftmaxModel, 50 classes per leaf) costs about as much per
#: level: 3.4 µs per object for 150 trees of depth 6 against 5.5 µs for 300 quantile trees (DES, loaded machine).
_US_PER_TREE_LEVEL = {"xgboost": 0.0038, "xgboost_quantile": 0.0038, "xgboost_bins": 0.0038, "random_forest": 0.0049,
                      "adaboost": 0.0049}
#: xgboost's cost per level grows with the depth: measured 2.3 µs per object for 65 trees of depth
#: 6 and 6.4 µs for 73 trees of depth 9 (the 100M run of make bench-scale), i.e. (9/6)^1.3 more per level.
_XGB_DEPTH_EXPONENT = 1.3
#: Depth assumed for a random forest grown without a depth limit.
_UNLIMITED_DEPTH = 25
#: The learners' own defaults (xgboost, scikit-learn; AdaBoost's base tree as make_estimator builds it),
#: for a search space that leaves the size of the ensemble unset.
_ENSEMBLE_DEFAULTS = {"xgboost": {"n_estimators": 100, "max_depth": 6},
                      "xgboost_quantile": {"n_estimators": 100, "max_depth": 6},
                      "xgboost_bins": {"n_estimators": 100, "max_depth": 6},
                      "random_forest": {"n_estimators": 100, "max_depth": None},
                      "adaboost": {"n_estimators": 50, "max_depth": 3}}
#: kNN: a k-d tree query in ~10 dimensions against a few thousand labelled objects (~60 µs measured).
_KNN_US = 60.0
#: MLP: per weight (float64 matrix products, ~4 multiply-adds per ns), plus the imputer and scaler.
_MLP_US_PER_WEIGHT, _MLP_US_FIXED = 0.00025, 0.5


def clamp_to_budget(algorithm: str, params: Mapping[str, Any], budget_us: float | None) -> dict[str, Any]:
    """A tree ensemble's draw cut to at most the trees that fit ``budget_us`` at its depth (at least
    one); other draws unchanged. The rest of the draw is kept: the cross-validation then scores the
    ensemble as the fan-out will apply it, and a draw whose learning rate is too low for its cut
    loses on the leaderboard. (Raising the learning rate to keep trees × rate, tried on the demo,
    gave a rougher p(z): raw CDE loss −2.5 against −8.0 for the plain cut at 65 trees.)"""
    out = dict(params)
    if not budget_us or algorithm not in _US_PER_TREE_LEVEL:
        return out
    per_tree = predict_cost_us(algorithm, {**out, "n_estimators": 1})
    allowed = max(1, int(budget_us / per_tree))
    drawn = int({**_ENSEMBLE_DEFAULTS[algorithm], **out}["n_estimators"])
    if drawn > allowed:
        out["n_estimators"] = allowed
    return out


def predict_cost_us(algorithm: str, params: Mapping[str, Any], n_features: int = 10) -> float:
    """Estimated prediction cost of a learner in µs per object on one core, from its structure.

    Tree ensembles: trees × depth × a per-level cost measured here; kNN: a measured constant; MLP:
    its weights; a stack: the sum of its members. An estimate for ranking draws against the
    fan-out's budget, not a benchmark (``make bench-scale`` measures the real chain).
    """
    if algorithm == "stack":
        return float(sum(predict_cost_us(m["algorithm"], m["params"], n_features) for m in params["members"]))
    if algorithm in _US_PER_TREE_LEVEL:
        size = {**_ENSEMBLE_DEFAULTS[algorithm], **params}
        depth = _UNLIMITED_DEPTH if size["max_depth"] is None else int(size["max_depth"])
        n_trees = int(size["n_estimators"])
        per_level = _US_PER_TREE_LEVEL[algorithm]
        if algorithm.startswith("xgboost"):
            per_level *= (depth / 6.0) ** _XGB_DEPTH_EXPONENT  # deeper trees: bigger, colder in cache
        return float(per_level * n_trees * depth)
    if algorithm == "knn":
        return _KNN_US
    if algorithm == "mlp":
        sizes = [int(n_features) + 1, *(int(v) for v in params.get("hidden_layer_sizes", (64,))), 1]
        return float(_MLP_US_FIXED + _MLP_US_PER_WEIGHT * sum(a * b for a, b in zip(sizes[:-1], sizes[1:])))
    raise ValueError(f"unknown algorithm {algorithm!r}; known: {ALGORITHMS}")


# --------------------------------------------------------------------------------------------
# Random draws
# --------------------------------------------------------------------------------------------
def _draw_one(spec: Any, rng: np.random.Generator) -> Any:
    if not isinstance(spec, Mapping):
        return copy.deepcopy(spec)
    if len(spec) != 1:
        raise ValueError(f"a search distribution has one key (int, uniform, loguniform, choice), got {dict(spec)}")
    kind, args = next(iter(spec.items()))
    if kind == "int":
        lo, hi = int(args[0]), int(args[1])
        return int(rng.integers(lo, hi + 1))
    if kind == "uniform":
        return float(rng.uniform(float(args[0]), float(args[1])))
    if kind == "loguniform":
        lo, hi = float(args[0]), float(args[1])
        if lo <= 0 or hi < lo:
            raise ValueError(f"loguniform needs 0 < low <= high, got {args}")
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    if kind == "choice":
        return copy.deepcopy(args[int(rng.integers(len(args)))])
    raise ValueError(f"unknown search distribution {kind!r} (int, uniform, loguniform, choice)")


def merged_space(algorithm: str, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The search space of ``algorithm``: :data:`DEFAULT_SPACES` with ``overrides[algorithm]`` over it.

    Parameters
    ----------
    algorithm : str
        One of :data:`ALGORITHMS`.
    overrides : mapping, optional
        ``zoo.spaces`` of the config: per algorithm, per parameter a distribution or a fixed value.

    Returns
    -------
    dict
        Parameter name to distribution (or fixed value).
    """
    if algorithm not in DEFAULT_SPACES:
        raise ValueError(f"unknown algorithm {algorithm!r}; known: {ALGORITHMS}")
    return {**DEFAULT_SPACES[algorithm], **dict((overrides or {}).get(algorithm, {}))}


def draw_params(space: Mapping[str, Any], n: int, seed: int) -> list[dict[str, Any]]:
    """Random parameter sets from a search space.

    Parameters
    ----------
    space : mapping
        Parameter name to ``{int: [lo, hi]}``, ``{uniform: [lo, hi]}``, ``{loguniform: [lo, hi]}``,
        ``{choice: [...]}`` or a fixed value.
    n : int
        Number of sets.
    seed : int
        Seed of the generator; the parameters are drawn in sorted order of their names.

    Returns
    -------
    list of dict
        ``n`` parameter sets.
    """
    rng = np.random.default_rng(seed)
    return [{name: _draw_one(space[name], rng) for name in sorted(space)} for _ in range(n)]


# --------------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------------
def make_estimator(algorithm: str, params: Mapping[str, Any], seed: int, threads: int = 1) -> Any:
    """A scikit-learn-compatible regressor.

    Parameters
    ----------
    algorithm : str
        One of :data:`ALGORITHMS`.
    params : mapping
        Its parameters (a draw of :func:`draw_params`).
    seed : int
        Seed of the learner's own randomness.
    threads : int
        Threads of the learners that use them.

    Returns
    -------
    estimator
        Unfitted; learners that cannot take NaN come in a pipeline with a median imputer.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rs = int(seed % (2**31))
    p = dict(params)

    def imputer() -> Any:
        return SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)

    if algorithm in ("xgboost_quantile", "xgboost"):
        import xgboost as xgb

        fixed = {"objective": "reg:quantileerror", "quantile_alpha": 0.5} if algorithm == "xgboost_quantile" else {}
        return xgb.XGBRegressor(tree_method="hist", random_state=rs, n_jobs=threads, **{**p, **fixed})
    if algorithm == "random_forest":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(random_state=rs, n_jobs=threads, **p)
    if algorithm == "adaboost":
        from sklearn.ensemble import AdaBoostRegressor
        from sklearn.tree import DecisionTreeRegressor

        depth = p.pop("max_depth", 3)
        return make_pipeline(imputer(), AdaBoostRegressor(DecisionTreeRegressor(max_depth=depth, random_state=rs),
                                                          random_state=rs, **p))
    if algorithm == "knn":
        from sklearn.neighbors import KNeighborsRegressor

        return make_pipeline(imputer(), StandardScaler(), KNeighborsRegressor(n_jobs=threads, **p))
    if algorithm == "mlp":
        from sklearn.neural_network import MLPRegressor

        p["hidden_layer_sizes"] = tuple(int(v) for v in p.get("hidden_layer_sizes", (64,)))
        p.setdefault("early_stopping", True)
        return make_pipeline(imputer(), StandardScaler(), MLPRegressor(random_state=rs, **p))
    raise ValueError(f"unknown algorithm {algorithm!r}; known: {ALGORITHMS}")


def fit_estimator(algorithm: str, estimator: Any, X: np.ndarray, z: np.ndarray, weights: np.ndarray | None) -> Any:
    """Fit an estimator of :func:`make_estimator`, with sample weights where the learner takes them (all but kNN).

    Returns
    -------
    estimator
        ``estimator``, fitted.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if weights is None or algorithm == "knn":
            return estimator.fit(X, z)
        if hasattr(estimator, "steps"):
            return estimator.fit(X, z, **{f"{estimator.steps[-1][0]}__sample_weight": weights})
        return estimator.fit(X, z, sample_weight=weights)


def cv_folds(ids: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cross-validation folds from a hash of the object ids (stable when the sample grows).

    Returns
    -------
    ndarray of int64
        The fold, 0 … k − 1, of every object.
    """
    return np.minimum((id_hash_unit(np.asarray(ids), seed) * k).astype(np.int64), k - 1)


def _oof(algorithm: str, params: Mapping[str, Any], X: np.ndarray, z: np.ndarray, weights: np.ndarray | None,
         folds: np.ndarray, seed: int, threads: int) -> np.ndarray:
    """Out-of-fold predictions of one draw. The folds are fitted side by side, ``threads`` at a time,
    each learner on ``threads // workers`` threads: AdaBoost, the MLP and kNN fit on one thread only,
    and at 100M objects the zoo ran ~500 s on one of its two cores (make bench-scale). The learners
    release the GIL while they fit; each fold's learner has its own seed, so the order does not matter.
    """
    oof = np.full(len(z), np.nan)
    fold_ids = np.unique(folds)
    workers = max(1, min(int(threads), len(fold_ids)))
    learner_threads = max(1, int(threads) // workers)

    def fit_fold(f: int) -> tuple[np.ndarray, np.ndarray]:
        test = folds == f
        w = None if weights is None else weights[~test]
        with _thread_limit(learner_threads):  # OpenMP's thread count is per thread: set it in this one
            estimator = fit_estimator(algorithm, make_estimator(algorithm, params, seed, learner_threads), X[~test],
                                      z[~test], w)
            return test, estimator.predict(X[test])

    with ThreadPoolExecutor(workers) as pool:
        for test, predicted in pool.map(fit_fold, fold_ids):
            oof[test] = predicted
    return oof


def _scores(oof: np.ndarray, z: np.ndarray, weights: np.ndarray | None, folds: np.ndarray) -> dict[str, Any]:
    weighted = metrics.weighted_point_metrics(oof, z, weights)
    fold_nmad = [metrics.weighted_point_metrics(oof[folds == f], z[folds == f],
                                                None if weights is None else weights[folds == f])["nmad"]
                 for f in np.unique(folds)]
    unweighted = metrics.point_metrics(oof, z)
    return {**{k: weighted[k] for k in ("nmad", "sigma68", "bias_median", "bias_mean", "outlier_fraction")},
            "nmad_fold_std": float(np.std(fold_nmad)),
            "unweighted": {k: unweighted[k] for k in ("nmad", "sigma68", "bias_median", "outlier_fraction")}}


# --------------------------------------------------------------------------------------------
# Stacking
# --------------------------------------------------------------------------------------------
_UNWEIGHTED_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "nmad": metrics.nmad, "sigma68": metrics.sigma68, "outlier_fraction": metrics.outlier_fraction}


def rank_metric(prediction: np.ndarray, z: np.ndarray, rank_by: str) -> float:
    """The unweighted ranking metric ``rank_by`` (one of :data:`RANK_METRICS`) of point predictions."""
    return _metric(prediction, z, None, rank_by)


def _metric(prediction: np.ndarray, z: np.ndarray, weights: np.ndarray | None, rank_by: str) -> float:
    """The ranking metric ``rank_by`` (one of :data:`RANK_METRICS`) of predictions, by :mod:`zshard.metrics`."""
    if weights is None:
        return _UNWEIGHTED_METRICS[rank_by](prediction, z)
    return float(metrics.weighted_point_metrics(prediction, z, weights)[rank_by])


def _lad_weights(P: np.ndarray, z: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Non-negative least-absolute-deviation weights of the columns of ``P`` (a linear programme;
    L1 regression, Koenker & Bassett 1978, Econometrica 46, 33)."""
    from scipy import sparse
    from scipy.optimize import linprog

    n, m = P.shape
    w = np.ones(n) if weights is None else weights
    identity = sparse.identity(n, format="csr")
    constraints = sparse.hstack([sparse.csr_matrix(P), identity, -identity], format="csr")
    solution = linprog(np.concatenate([np.zeros(m), w, w]), A_eq=constraints, b_eq=z,
                       bounds=[(0, None)] * (m + 2 * n), method="highs")
    if not solution.success or solution.x[:m].sum() <= 0:
        return np.full(m, 1.0 / m)
    return solution.x[:m]


def _stack_weights(P: np.ndarray, z: np.ndarray, weights: np.ndarray | None, rank_by: str) -> np.ndarray:
    """Convex weights (≥ 0, summing to 1) of the columns of ``P`` that minimise the ranking metric.

    Breiman (1996) fits non-negative least squares; here the ranking metric itself (NMAD by
    usually) is minimised, because squared and even absolute losses let a member's few
    catastrophic predictions (leverage points) decide its weight. Softmax-parametrised weights,
    Nelder–Mead (Nelder & Mead 1965, Comput. J. 7, 308) from equal weights, from each member alone
    and from the (normalised) least-absolute-deviation weights; the best optimum is kept.
    """
    from scipy.optimize import minimize

    m = P.shape[1]
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    keep = np.isfinite(P).all(axis=1) & np.isfinite(z) & (True if w is None else (w > 0))
    P, z = P[keep], z[keep]
    w = None if w is None else w[keep]
    if len(z) == 0 or m == 1:
        return np.full(m, 1.0 / m)

    def convex(theta: np.ndarray) -> np.ndarray:
        e = np.exp(theta - theta.max())
        return e / e.sum()

    def objective(theta: np.ndarray) -> float:
        return _metric(P @ convex(theta), z, w, rank_by)

    lad = _lad_weights(P, z, w)
    lad = np.clip(lad / lad.sum(), 1e-4, None)
    starts = [np.zeros(m), np.log(lad)] + [np.where(np.arange(m) == j, 6.0, 0.0) for j in range(m)]
    best_theta, best_value = starts[0], objective(starts[0])
    for theta0 in starts:
        result = minimize(objective, theta0, method="Nelder-Mead",
                          options={"xatol": 1e-3, "fatol": 1e-7, "maxiter": 150 * m})
        if result.fun < best_value:
            best_theta, best_value = result.x, float(result.fun)
    return convex(best_theta)


@dataclass
class StackedPoint:
    """A non-negative linear combination of fitted learners' predictions."""

    algorithms: list[str]
    members: list[Any]
    coefficients: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.column_stack([m.predict(X) for m in self.members]) @ self.coefficients


# --------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------
@dataclass
class ZooResult:
    leaderboard: dict
    oof: dict[str, np.ndarray] = field(default_factory=dict)  # best draw per algorithm (and the stack)


def _thread_limit(threads: int) -> contextlib.AbstractContextManager[Any]:
    """OpenMP threads capped at the job's threads; BLAS single-threaded.

    The learners' BLAS calls (the MLP's small matrix products, kNN's distances) gain nothing from
    threads at these sizes, and busy-waiting BLAS threads on an oversubscribed machine made one
    MLP draw take 48 s instead of 2 s (measured on the 2-core demo machine with other jobs running).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a scikit-learn dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits={"openmp": max(1, int(threads)), "blas": 1})


def run_zoo(X: np.ndarray, z: np.ndarray, ids: np.ndarray, cfg: Mapping[str, Any], *, seed: int,
            weights: np.ndarray | None = None, threads: int = 1, feature_names: Sequence[str] = (),
            log: Callable[[str], object] = print) -> ZooResult:
    """Random search over every algorithm with k-fold CV; the leaderboard and the winner.

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Features of the training sample.
    z : ndarray, shape (n,)
        Its redshifts.
    ids : ndarray, shape (n,)
        Its object ids (the folds are a hash of them).
    cfg : mapping
        The ``zoo`` section of the config, complete (``algorithms``, ``n_draws``, ``folds``,
        ``rank_by``, ``time_budget_s``, ``fanout_budget_us``, ``spaces``, ``stack``,
        ``stack_min_improvement``; outside
        the workflow, :func:`zshard.config.with_defaults` completes it).
    seed : int
        The master seed: the folds use ``derive_seed(seed, "zoo.folds")``, the draws of an
        algorithm ``derive_seed(seed, "zoo.<algorithm>")`` and the learner's own randomness
        ``derive_seed(seed, "zoo.<algorithm>.fit")``.
    weights : ndarray, optional
        Training weights (the learners' sample weights and the CV metrics' weights).
    threads : int
        Threads of the learners.
    feature_names : sequence of str
        Recorded in the leaderboard.
    log : callable
        Called with one line per draw.

    Returns
    -------
    ZooResult
        The leaderboard (every draw, the best per algorithm, the stack, the winner) and the
        out-of-fold predictions of each algorithm's best draw.
    """
    if cfg["rank_by"] not in RANK_METRICS:
        raise ValueError(f"rank_by must be one of {RANK_METRICS}")
    with _thread_limit(threads):
        return _run_zoo(X, z, ids, algorithms=cfg["algorithms"], n_draws=cfg["n_draws"], folds=int(cfg["folds"]),
                        seed=seed, weights=weights, rank_by=cfg["rank_by"], time_budget_s=float(cfg["time_budget_s"]),
                        spaces=cfg["spaces"], stack=bool(cfg["stack"]),
                        stack_min_improvement=float(cfg["stack_min_improvement"]), threads=threads,
                        feature_names=feature_names, log=log,
                        budget_us=cfg["fanout_budget_us"])


def _run_zoo(X: np.ndarray, z: np.ndarray, ids: np.ndarray, *, algorithms: Sequence[str],
             n_draws: int | Mapping[str, int], folds: int, seed: int, weights: np.ndarray | None, rank_by: str,
             time_budget_s: float, spaces: Mapping[str, Mapping[str, Any]] | None, stack: bool,
             stack_min_improvement: float, threads: int, feature_names: Sequence[str],
             log: Callable[[str], object], budget_us: Mapping[str, float] | None = None) -> ZooResult:
    def budget(algorithm: str) -> float | None:
        return (budget_us or {}).get("pdf" if algorithm == "xgboost_quantile" else "point")

    def fits(row: Mapping[str, Any]) -> bool:
        limit = budget(row["algorithm"])
        return not limit or row["predict_cost_us"] <= limit

    z = np.asarray(z, dtype=np.float64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    fold = cv_folds(ids, folds, derive_seed(seed, "zoo.folds"))
    draws: list[dict[str, Any]] = []
    per_algorithm: dict[str, dict[str, Any]] = {}
    oofs: dict[str, np.ndarray] = {}
    for algorithm in algorithms:
        space = merged_space(algorithm, spaces)
        n = int(n_draws.get(algorithm, 0) if isinstance(n_draws, Mapping) else n_draws)
        if n <= 0:
            continue
        drawn = draw_params(space, n, derive_seed(seed, f"zoo.{algorithm}"))
        candidates = [clamp_to_budget(algorithm, params, budget(algorithm)) for params in drawn]
        fit_seed = derive_seed(seed, f"zoo.{algorithm}.fit")
        start = time.perf_counter()
        best = None
        stopped_by = "n_draws"
        for i, params in enumerate(candidates):
            if i > 0 and time_budget_s and time.perf_counter() - start > time_budget_s:
                log(f"{algorithm}: time budget of {time_budget_s} s spent after {i} of {n} draws")
                stopped_by = "time_budget_s"
                break
            t0 = time.perf_counter()
            oof = _oof(algorithm, params, X, z, w, fold, fit_seed, threads)
            row = {"algorithm": algorithm, "draw": i, "params": params, **_scores(oof, z, w, fold),
                   "seconds": round(time.perf_counter() - t0, 3),
                   "predict_cost_us": round(predict_cost_us(algorithm, params, X.shape[1]), 3)}
            if params != drawn[i]:
                row["drawn_params"] = drawn[i]  # before clamp_to_budget
            row["within_budget"] = fits(row)
            draws.append(row)
            log(f"{algorithm} draw {i}: nmad {row['nmad']:.5f} sigma68 {row['sigma68']:.5f} "
                f"outliers {row['outlier_fraction']:.4f} ({row['seconds']:.1f} s, "
                f"~{row['predict_cost_us']:.2f} µs/object{'' if row['within_budget'] else ', over budget'}) {params}")
            # the best draw within the budget; the best over it only while none fits
            if best is None or (fits(row), -row[rank_by]) > (fits(best), -best[rank_by]):
                best, oofs[algorithm] = row, oof
        # the draws are a fixed sequence (draw_params), so the budget only decides how many of them ran
        per_algorithm[algorithm] = {"n_draws": n, "n_evaluated": sum(1 for d in draws if d["algorithm"] == algorithm),
                                    "stopped_by": stopped_by, "seconds": round(time.perf_counter() - start, 3),
                                    "best": best}

    ranking = sorted((entry["best"] for entry in per_algorithm.values()), key=lambda r: r[rank_by])
    result = {"rank_by": rank_by, "folds": int(folds), "time_budget_s": time_budget_s, "n_train": int(len(z)),
              "weighted": w is not None,
              "features": list(feature_names), "algorithms": per_algorithm, "draws": draws}
    eligible = [r for r in ranking if fits(r)]
    winner = dict(eligible[0]) if eligible else None
    stack_row = None
    if stack and len(oofs) >= 2:
        names = [r["algorithm"] for r in ranking]
        P = np.column_stack([oofs[a] for a in names])
        stack_oof = np.full(len(z), np.nan)
        for f in np.unique(fold):
            test = fold == f
            coefficients = _stack_weights(P[~test], z[~test], None if w is None else w[~test], rank_by)
            stack_oof[test] = P[test] @ coefficients
        coefficients = _stack_weights(P, z, w, rank_by)
        used = [j for j, c in enumerate(coefficients) if c > 1e-9]
        stack_row = {"algorithm": "stack", "draw": None,
                     "params": {"members": names, "coefficients": [float(c) for c in coefficients]},
                     **_scores(stack_oof, z, w, fold), "seconds": 0.0,
                     "predict_cost_us": round(sum(per_algorithm[names[j]]["best"]["predict_cost_us"] for j in used), 3)}
        stack_row["within_budget"] = fits(stack_row)
        oofs["stack"] = stack_oof
        result["stack"] = stack_row
        if (winner is not None and fits(stack_row)
                and stack_row[rank_by] < winner[rank_by] * (1.0 - stack_min_improvement)):
            # members with a zero weight are not refit nor stored
            winner = dict(stack_row)
            winner["params"] = {"members": [names[j] for j in used],
                                "coefficients": [float(coefficients[j]) for j in used]}
            winner["members"] = [{"algorithm": names[j], "params": per_algorithm[names[j]]["best"]["params"]}
                                 for j in used]
    result["ranking"] = ranking + ([stack_row] if stack_row else [])
    result["ranking"] = sorted(result["ranking"], key=lambda r: r[rank_by])
    result["winner"] = winner
    result["stack_min_improvement"] = stack_min_improvement
    result["fanout_budget_us"] = dict(budget_us) if budget_us else None
    return ZooResult(result, oofs)


def fit_winner(winner: Mapping[str, Any], X: np.ndarray, z: np.ndarray, weights: np.ndarray | None, seed: int,
               threads: int = 1) -> Any:
    """Refit the zoo's winner on the whole training sample.

    Parameters
    ----------
    winner : mapping
        The leaderboard's ``winner``.
    X, z, weights
        The whole training sample, its redshifts and its weights (or None).
    seed : int
        The master seed (the learners' seeds derive from it as in :func:`run_zoo`).
    threads : int
        Threads of the learners.

    Returns
    -------
    estimator, StackedPoint or None
        A fitted estimator, a :class:`StackedPoint`, or None when the winner is
        ``xgboost_quantile`` (its median is the production model's PDF median).
    """
    with _thread_limit(threads):
        return _fit_winner(winner, X, z, weights, seed, threads)


def _fit_winner(winner: Mapping[str, Any], X: np.ndarray, z: np.ndarray, weights: np.ndarray | None, seed: int,
                threads: int) -> Any:
    algorithm = winner["algorithm"]
    if algorithm == "xgboost_quantile":
        return None
    if algorithm == "stack":
        members = []
        for member in winner["members"]:
            name = member["algorithm"]
            estimator = make_estimator(name, member["params"], derive_seed(seed, f"zoo.{name}.fit"), threads)
            members.append(fit_estimator(name, estimator, X, z, weights))
        return StackedPoint([m["algorithm"] for m in winner["members"]], members,
                            np.asarray(winner["params"]["coefficients"], dtype=np.float64))
    estimator = make_estimator(algorithm, winner["params"], derive_seed(seed, f"zoo.{algorithm}.fit"), threads)
    return fit_estimator(algorithm, estimator, X, z, weights)
