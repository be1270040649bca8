"""Train once: the stages from the labelled sample to the one model artefact.

Hoyle's machine-learning workflow (e.g. Hoyle 2016, A&C 16, 34; Hoyle et al. 2015, MNRAS 449,
1275 and 452, 4183): examine the samples, generate features, pre-select them, try many algorithms
over random hyper-parameters with no favourite, keep one versioned model. Each stage is one
function here, called by its own Snakemake rule (``workflow/rules/train.smk``) and, in sequence,
by :func:`train_chain` (the benchmark, notebooks), so both run the same code:

1. :func:`stage_representativeness` — :mod:`zshard.representativeness`
2. :func:`stage_anomalies` — :mod:`zshard.anomalies`
3. :func:`stage_features` — :mod:`zshard.features`
4. :func:`stage_selection` — :mod:`zshard.selection`
5. :func:`stage_zoo` — :mod:`zshard.zoo`
6. :func:`build_model` — :mod:`zshard.models`

Every function takes its section of the workflow config (``config["representativeness"]`` …) as
a plain dict, the master seed, and derives its own seeds with :func:`zshard.io.ids.derive_seed`. The
section must be complete: the functions index it and have no defaults of their own. The workflow's
config is (its validation fills in the schema's defaults); elsewhere complete it with
:func:`zshard.config.with_defaults`.

Threads: the stages fit many small models. OpenMP threads that spin while waiting at a barrier (the
GNU OpenMP default) make xgboost's and scikit-learn's OpenMP code tens to hundreds of times slower
when the cores are oversubscribed — a shared 2-core machine running other jobs (measured: a 3-fold
CV of one xgboost draw on the demo sample took 266 s instead of 0.9 s). Importing this module sets
``OMP_WAIT_POLICY=PASSIVE`` unless it is already set; it takes effect because it is imported before
xgboost or scikit-learn load their OpenMP runtime.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from zshard import anomalies, metrics, representativeness, selection, zoo  # noqa: E402
from zshard.config import with_defaults  # noqa: E402
from zshard.features import FeatureSpec, build_features, build_pool, fit_pca, pool_summary  # noqa: E402
from zshard.io.ids import derive_seed, subset_mask  # noqa: E402
from zshard.models import BinnedSoftmaxModel, KnnQuantileModel, PhotozModel, library_versions, train_quantile_model  # noqa: E402
from zshard.pdf.summary import summaries  # noqa: E402

REDSHIFT = "z_spec"


# --------------------------------------------------------------------------------------------
# 1. Representativeness
# --------------------------------------------------------------------------------------------
def stage_representativeness(train: pd.DataFrame, science: pd.DataFrame, cfg: dict, bands, seed: int,
                             science_fraction: float | None = None) -> representativeness.Representativeness:
    """The labelled sample against the science sample: weights, coverage model, cell map.

    Parameters
    ----------
    train, science : pandas.DataFrame
        The training sample and the science sample (canonical columns).
    cfg : dict
        ``representativeness`` of the config, complete.
    bands : sequence of str
        The bands.
    seed : int
        The master seed.
    science_fraction : float, optional
        The fraction of the catalogue the science sample is (for the completeness per cell).

    Returns
    -------
    zshard.representativeness.Representativeness
        Every measurement of :func:`zshard.representativeness.assess`.
    """
    weights = cfg["weights"]
    return representativeness.assess(
        train, science, bands, seed=seed, colours=cfg["colours"], n_neighbors=int(cfg["n_neighbors"]),
        coverage_quantile=float(cfg["coverage_quantile"]), classifier_folds=int(cfg["classifier_folds"]),
        weights_enabled=bool(weights["enabled"]), weight_floor=float(weights["floor"]),
        weight_max=float(weights["max"]), weight_min_auc_sigma=float(weights["min_auc_sigma"]),
        n_cells=int(cfg["n_cells"]), science_fraction=science_fraction,
        emulator=cfg["coverage_emulator"])


# --------------------------------------------------------------------------------------------
# 2. Anomalies
# --------------------------------------------------------------------------------------------
def stage_anomalies(train: pd.DataFrame, validation: pd.DataFrame | None, cfg: dict, bands, seed: int, *,
                    quick_params: dict, weights: np.ndarray | None = None,
                    threads: int = 1) -> tuple[np.ndarray, pd.DataFrame, dict]:
    """Removal flags (bool per training row), a per-object table and the report (what, its effect, the decision).

    ``quick_params`` is ``selection.quick_model`` of the config: the model of the effect on the
    validation sample, which decides the removal when ``cfg["remove"]`` is ``auto``
    (:func:`zshard.anomalies.removal_decision`).
    """
    space = representativeness.comparison_space(bands, "adjacent")
    n = len(train)
    table = pd.DataFrame({"id": train["id"].to_numpy()})
    flagged = np.zeros(n, dtype=bool)
    methods = {}
    enabled = cfg["enabled"]
    nz = cfg["neighbour_redshift"]
    if enabled and nz["enabled"] and nz["fraction"] > 0:
        score = anomalies.neighbour_redshift_scores(train, space, n_neighbors=int(nz["n_neighbors"]),
                                                    sigma_floor=float(nz["sigma_floor"]))
        flags = anomalies.flag_anomalies(score, float(nz["fraction"]))
        table["neighbour_redshift_score"] = score
        flagged |= flags.flagged
        methods["neighbour_redshift"] = anomalies.describe_flagged(train, flags, bands)
    iso = cfg["isolation_forest"]
    if enabled and iso["enabled"] and iso["fraction"] > 0:
        score = anomalies.isolation_forest_scores(train, space, seed=derive_seed(seed, "anomalies.isolation_forest"),
                                                  n_estimators=int(iso["n_estimators"]),
                                                  include_redshift=bool(iso["include_redshift"]),
                                                  threads=threads)
        flags = anomalies.flag_anomalies(score, float(iso["fraction"]))
        table["isolation_forest_score"] = score
        flagged |= flags.flagged
        methods["isolation_forest"] = anomalies.describe_flagged(train, flags, bands)
    effect = None
    if validation is not None and len(validation) and flagged.any():
        effect = anomalies.removal_effect(
            train, validation, flagged, FeatureSpec(tuple(bands), "all"), params=quick_params,
            seed=derive_seed(seed, "anomalies.effect"), weights=weights, threads=threads)
    decision = (anomalies.removal_decision(effect, cfg["remove"], float(cfg["min_improvement"])) if enabled else
                {"remove": False, "reason": "anomalies.enabled is false"})
    remove = bool(decision["remove"])
    table["flagged"] = flagged
    table["removed"] = flagged & remove
    report = {"enabled": bool(enabled), "remove": remove, "remove_setting": cfg["remove"], "decision": decision,
              "n_train": int(n), "n_flagged": int(flagged.sum()), "n_removed": int((flagged & remove).sum()),
              "methods": methods}
    if effect is not None:
        report["effect_on_validation"] = effect
    return flagged & remove, table, report


# --------------------------------------------------------------------------------------------
# 3. Features
# --------------------------------------------------------------------------------------------
def stage_features(train: pd.DataFrame, science: pd.DataFrame | None, cfg: dict,
                   bands) -> tuple[FeatureSpec, list[dict]]:
    """The candidate pool (with the PCA fitted on the training sample) and a per-feature table."""
    spec = FeatureSpec(tuple(bands), cfg["colours"], errors=bool(cfg["errors"]))
    n_pca = int(cfg["pca_components"])
    if n_pca:
        spec = fit_pca(train, spec, n_pca)
    return spec, pool_summary(train, science, spec)


# --------------------------------------------------------------------------------------------
# 4. Selection
# --------------------------------------------------------------------------------------------
def candidate_sizes(n_pool: int, fractions: Sequence[float]) -> list[int]:
    """The feature-set sizes of the scan: ``fractions`` (``selection.size_fractions``) of the pool, distinct."""
    sizes = sorted({int(min(n_pool, max(1, round(f * n_pool)))) for f in fractions})
    return sizes or [n_pool]


def stage_selection(train: pd.DataFrame, weights: np.ndarray | None, science: pd.DataFrame | None, pool: FeatureSpec,
                    cfg: dict, seed: int, threads: int = 1) -> tuple[FeatureSpec, dict]:
    """Gain, permutation and MINT rankings; the top-k of the configured ranking, k by CV."""
    names = pool.pool_names
    X = build_pool(train, pool)
    z = train[REDSHIFT].to_numpy(dtype=np.float64)
    quick = dict(cfg["quick_model"])
    rankings = {
        "gain": selection.gain_ranking(X, z, names, params=quick, seed=derive_seed(seed, "selection.gain"),
                                       weights=weights, threads=threads),
        "permutation": selection.permutation_ranking(X, z, names, params=quick,
                                                     seed=derive_seed(seed, "selection.permutation"), weights=weights,
                                                     repeats=int(cfg["permutation_repeats"]), threads=threads),
    }
    mint_cfg = cfg["mint"]
    science_X = build_pool(science, pool) if science is not None and len(science) else X
    rankings["mint"] = selection.mint_ranking(X, z, science_X, names, n_neighbors=int(mint_cfg["n_neighbors"]),
                                              seed=derive_seed(seed, "selection.mint"),
                                              max_rows=int(mint_cfg["max_rows"]))
    used = cfg["ranking"]
    if not cfg["enabled"]:
        return pool.with_selection(None), {"enabled": False, "rankings": rankings, "chosen": names}
    order = [row["feature"] for row in rankings[used]]
    sizes = candidate_sizes(len(names), cfg["size_fractions"])
    folds = zoo.cv_folds(train["id"].to_numpy(), int(cfg["folds"]), derive_seed(seed, "selection.folds"))
    rank_by, tolerance = cfg["rank_by"], float(cfg["tolerance"])
    scan = selection.size_scan(X, z, names, order, sizes, folds=folds, params=quick,
                               seed=derive_seed(seed, "selection.scan"), weights=weights, threads=threads)
    k = selection.choose_size(scan, rank_by, tolerance)
    chosen = order[:k]
    report = {"enabled": True, "ranking_used": used, "rank_by": rank_by, "tolerance": tolerance,
              "pool": names, "rankings": rankings, "size_scan": scan, "chosen": chosen, "n_chosen": k}
    return pool.with_selection(chosen), report


# --------------------------------------------------------------------------------------------
# 5. The zoo
# --------------------------------------------------------------------------------------------
def stage_zoo(train: pd.DataFrame, weights: np.ndarray | None, spec: FeatureSpec, cfg: dict, seed: int,
              threads: int = 1, log: Callable[[str], object] = print) -> zoo.ZooResult:
    """The model zoo (:func:`zshard.zoo.run_zoo`) on the selected features of the training sample.

    Parameters
    ----------
    train : pandas.DataFrame
        The cleaned training sample.
    weights : ndarray, optional
        Its training weights.
    spec : FeatureSpec
        The selected features.
    cfg : dict
        ``zoo`` of the config, complete.
    seed : int
        The master seed.
    threads : int
        Threads of the learners.
    log : callable
        Called with one line per draw.

    Returns
    -------
    zshard.zoo.ZooResult
        The leaderboard and the out-of-fold predictions.
    """
    X = build_features(train, spec)
    z = train[REDSHIFT].to_numpy(dtype=np.float64)
    return zoo.run_zoo(X, z, train["id"].to_numpy(), cfg, seed=seed, weights=weights, threads=threads,
                       feature_names=spec.names, log=log)


# --------------------------------------------------------------------------------------------
# 6. The artefact
# --------------------------------------------------------------------------------------------
def quantile_params(model_cfg: dict, leaderboard: dict | None) -> tuple[dict, str]:
    """Parameters of the production quantile model: the zoo's best ``xgboost_quantile`` draw over
    ``model.xgboost``, or ``model.xgboost`` alone (and where they came from)."""
    base = dict(model_cfg["xgboost"])
    best = (leaderboard["algorithms"].get("xgboost_quantile") or {}).get("best") if leaderboard else None
    if best:
        return {**base, **best["params"]}, "zoo: best xgboost_quantile draw"
    return base, "config: model.xgboost"


def build_model(train: pd.DataFrame, weights: np.ndarray | None, spec: FeatureSpec, model_cfg: dict, seed: int, *,
                leaderboard: dict | None = None, coverage=None, threads: int = 1, extra_manifest: dict | None = None,
                validation: pd.DataFrame | None = None) -> PhotozModel:
    """Refit the production quantile model and the zoo's point winner on the whole training sample."""
    params, origin = quantile_params(model_cfg, leaderboard)
    model = train_quantile_model(train, spec, model_cfg["quantile_levels"], weights=weights, params=params,
                                 seed=derive_seed(seed, "model.quantile"), threads=threads,
                                 z_min=model_cfg["z_min"], z_max=model_cfg["z_max"],
                                 max_density=model_cfg["max_density"],
                                 multi_output_tree=bool(model_cfg["multi_output_tree"]))
    winner = (leaderboard or {}).get("winner")
    point = {"algorithm": "pdf_median", "source": "the p(z) median of the quantile model"}
    if winner is not None:
        X = build_features(train, spec)
        z = train[REDSHIFT].to_numpy(dtype=np.float64)
        model.point_model = zoo.fit_winner(winner, X, z, weights, seed, threads)
        point = {"algorithm": winner["algorithm"], "params": winner["params"],
                 "cv": {k: winner[k] for k in ("nmad", "sigma68", "bias_median", "outlier_fraction", "nmad_fold_std")},
                 "source": "the p(z) median of the quantile model" if model.point_model is None
                 else "refit of the zoo winner on the whole training sample"}
        if winner["algorithm"] == "stack":
            point["members"] = winner["members"]
    model.coverage = coverage
    model.recentre = bool(model_cfg["recentre_pdf"]) and model.point_model is not None
    budget = ((leaderboard or {}).get("fanout_budget_us") or {}).get("pdf")
    model.manifest["pdf_estimator"] = choose_pdf_estimator(model, train, weights, spec, model_cfg, validation,
                                                           derive_seed(seed, "model.pdf_estimator"), budget, threads,
                                                           rank_by=(leaderboard or {}).get("rank_by"))
    if winner is not None and model.point_model is None and winner["algorithm"] != "xgboost_quantile":
        point = {"algorithm": "pdf_median", "zoo_winner": point,
                 "source": "the chosen p(z)'s median, better than the zoo winner on the validation sample"}
    model.manifest.update({
        "quantile_model_params_from": origin,
        "point_estimate": point,
        "n_train": int(len(train)),
        "weighted": weights is not None,
        "library_versions": library_versions(),
        **(extra_manifest or {}),
    })
    if leaderboard is not None:
        model.manifest["zoo"] = {"rank_by": leaderboard["rank_by"], "folds": leaderboard["folds"],
                                 "ranking": [{"algorithm": r["algorithm"], "nmad": r["nmad"], "sigma68": r["sigma68"],
                                              "bias_median": r["bias_median"],
                                              "outlier_fraction": r["outlier_fraction"]}
                                             for r in leaderboard["ranking"]]}
    if validation is not None and len(validation):
        model.manifest["validation_metrics"] = evaluate(model, validation)
    return model


def _cross_fitted_calibrated_cde(quantiles: np.ndarray, levels: np.ndarray, z: np.ndarray, ids: np.ndarray,
                                  z_min: float, z_max: float, seed: int) -> float:
    """CDE loss after calibration, with the calibration fitted on one id-hashed half of the sample and
    scored on the other (and the other way round), so that no object scores a map fitted on itself.

    The calibration has the default settings of the config's ``calibration`` (the schema's), stored
    at the input levels.
    """
    from zshard.calibration import apply_calibration, fit_calibration

    settings = with_defaults({}, "calibration")
    half = subset_mask(ids, 0.5, seed, "below")
    total = 0.0
    for fit_part, score_part in ((half, ~half), (~half, half)):
        calibration = fit_calibration(quantiles[fit_part], levels, z[fit_part], z_min, z_max,
                                      n_knots=settings["n_knots"], outlier_floor=settings["outlier_floor"],
                                      outlier_shape=settings["outlier_shape"], local=settings["local"])
        calibrated = apply_calibration(quantiles[score_part], levels, calibration, z_min, z_max)
        total += metrics.cde_loss(calibrated, levels, z[score_part], z_min, z_max) * score_part.sum()
    return float(total / len(z))


def choose_pdf_estimator(model: PhotozModel, train: pd.DataFrame, weights: np.ndarray | None, spec: FeatureSpec,
                         model_cfg: dict, validation: pd.DataFrame | None, seed: int = 0,
                         budget_us: float | None = None, threads: int = 1, *, rank_by: str | None) -> dict:
    """Fit the configured p(z) estimators and keep the one with the lowest CDE loss on the validation sample.

    Candidates (``model.pdf_estimators``): ``xgboost_quantile`` (the booster already in ``model``),
    ``xgboost_bins`` (:class:`zshard.models.BinnedSoftmaxModel`, ``model.xgboost_bins``, its rounds cut to
    the fan-out budget as the zoo's boosters are) and ``knn_quantile``
    (:class:`zshard.models.KnnQuantileModel`). Each is scored on the validation
    sample as the fan-out will deliver it: its p(z) (re-centred on z_phot when the model re-centres)
    after a PIT calibration (:func:`zshard.calibration.fit_calibration`, the schema's default settings) that is
    cross-fitted on id-hashed halves; the CDE loss (Izbicki & Lee 2017) decides, as it rewards both
    sharpness and calibration (the raw p(z)'s CDE loss, PIT KS, catastrophic PIT fraction and CRPS
    are recorded beside it). Scoring the raw p(z) would favour an estimator that is calibrated by
    nature over a sharper one that the calibration fixes. With fewer than 200 validation objects
    the raw CDE loss decides. When the model re-centres its p(z) on the zoo winner's z_phot, each
    candidate is scored re-centred and as estimated, and keeps the better; when the chosen p(z) is not
    re-centred, z_phot becomes its median if that beats the zoo winner on the validation sample
    (``rank_by``, the zoo's metric; None without a zoo, where there is no point model). Sets
    ``model.pdf_model`` and returns the manifest entry. Without a validation sample a single
    configured estimator is used as is, and two are an error.
    ``budget_us`` (``zoo.fanout_budget_us.pdf``): ``knn_quantile`` (a k-d tree query per object,
    ~60 µs) is not a candidate when it would exceed it; the returned entry says so.
    """
    estimators = list(model_cfg["pdf_estimators"])
    skipped = {}
    knn_cost = zoo.predict_cost_us("knn", {})
    if budget_us and "knn_quantile" in estimators and knn_cost > budget_us:
        estimators.remove("knn_quantile")
        skipped["knn_quantile"] = (f"~{knn_cost:.0f} µs per object, over the fan-out budget "
                                   f"of {budget_us} µs (zoo.fanout_budget_us.pdf)")
    if not estimators:
        raise ValueError(f"no p(z) estimator within the fan-out budget: {skipped}")
    z_train = train[REDSHIFT].to_numpy(dtype=np.float64)
    candidates = {}
    for name in estimators:
        if name == "xgboost_quantile":
            candidates[name] = None  # the booster already in ``model``
            continue
        if name == "knn_quantile":
            candidates[name] = KnnQuantileModel(model.levels, int(model_cfg["knn_quantile"]["n_neighbors"]))
            own = spec
        else:
            bins_cfg = dict(model_cfg["xgboost_bins"])
            n_bins = bins_cfg.pop("n_bins")
            own = spec.with_selection(None) if bins_cfg.pop("features") == "pool" else spec
            candidates[name] = BinnedSoftmaxModel(model.levels, model.z_min, model.z_max, n_bins,
                                                  zoo.clamp_to_budget("xgboost_bins", bins_cfg, budget_us),
                                                  seed=derive_seed(seed, "model.xgboost_bins"), threads=threads,
                                                  features=None if own == spec else own)
        candidates[name].fit(build_features(train, own), z_train, weights)
    if validation is None or not len(validation):
        if len(candidates) > 1:
            raise ValueError(f"choosing between p(z) estimators {estimators} needs a validation sample")
        (name, chosen), = candidates.items()
        model.pdf_model = chosen
        return {"chosen": name, "candidates": {}, **({"skipped": skipped} if skipped else {})}
    z = validation[REDSHIFT].to_numpy(dtype=np.float64)
    ok = np.isfinite(z)
    sample, z = validation[ok], z[ok]
    cross_fit = len(z) >= 200
    key = "cde_loss_calibrated" if cross_fit else "cde_loss"
    # re-centring on the zoo winner's z_phot is a choice per candidate: it sharpens a unimodal p(z)'s
    # location, and moves a multimodal one's probability off its peaks
    recentre_options = [True, False] if model.recentre else [False]
    scores, recentre_of, by_recentre = {}, {}, {}
    for name, candidate in candidates.items():
        model.pdf_model = candidate
        for recentre in recentre_options:
            model.recentre = recentre
            quantiles = model.predict_quantiles(sample)
            m = metrics.pdf_metrics(quantiles, model.levels, z, model.z_min, model.z_max)
            score = {k: m[k] for k in ("cde_loss", "pit_ks_stat", "pit_catastrophic_fraction", "crps")}
            if cross_fit:
                score["cde_loss_calibrated"] = _cross_fitted_calibrated_cde(
                    quantiles, model.levels, z, sample["id"].to_numpy(), model.z_min, model.z_max, seed)
            if name not in scores or score[key] < scores[name][key]:
                scores[name], recentre_of[name] = score, recentre
            by_recentre.setdefault(name, {})[str(recentre).lower()] = score[key]
    best = min(scores, key=lambda name: scores[name][key])
    model.pdf_model, model.recentre = candidates[best], recentre_of[best]
    for name in scores:
        scores[name]["recentred"] = recentre_of[name]
        if len(recentre_options) > 1:
            scores[name][f"{key}_by_recentre"] = by_recentre[name]
    entry = {"chosen": best, "recentred": model.recentre, "rank_by": f"{key} on the validation sample",
             "n_validation": int(len(z)), "candidates": scores, **_estimator_params(candidates),
             **({"skipped": skipped} if skipped else {})}
    if model.point_model is not None and not model.recentre:
        entry["z_phot"] = _choose_point_source(model, sample, z, rank_by)
    return entry


def _choose_point_source(model: PhotozModel, sample: pd.DataFrame, z: np.ndarray, rank_by: str) -> dict:
    """z_phot from the zoo winner or from the chosen p(z)'s median, whichever has the better ``rank_by``
    (the zoo's ranking metric) on the validation sample; the median drops the point model."""
    winner = model.predict_point(sample)
    median = summaries(model.predict_quantiles(sample), model.levels, model.z_min, model.z_max)["z_median"]
    scores = {"zoo_winner": zoo.rank_metric(winner, z, rank_by), "pdf_median": zoo.rank_metric(median, z, rank_by)}
    chosen = min(scores, key=scores.get)
    if chosen == "pdf_median":
        model.point_model = None
    return {"chosen": chosen, "rank_by": f"{rank_by} on the validation sample", "scores": scores}


def _estimator_params(candidates: dict) -> dict:
    """The fitted parameters of the binned p(z) candidate (its rounds after the budget cut, its bins), if any."""
    binned = {name: c for name, c in candidates.items() if isinstance(c, BinnedSoftmaxModel)}
    return {"params": {name: {**c.params, "n_bins": int(c.edges_.size - 1), "seed": c.seed,
                              "features": (c.features.names if c.features is not None else "the model's")}
                       for name, c in binned.items()}} if binned else {}


def evaluate(model: PhotozModel, sample: pd.DataFrame) -> dict:
    """Point metrics of z_phot and of the p(z) median, and the raw p(z) metrics, on a labelled sample
    (with a re-centred p(z), also those of the quantile model as it came, for comparison)."""
    z = sample[REDSHIFT].to_numpy(dtype=np.float64)
    out = {"n": int(len(sample))}
    variants = [("", model.recentre)] + ([("quantile_model_alone_", False)] if model.recentre else [])
    for prefix, recentre in variants:
        saved, model.recentre = model.recentre, recentre
        try:
            quantiles = model.predict_quantiles(sample)
        finally:
            model.recentre = saved
        z_median = summaries(quantiles, model.levels, model.z_min, model.z_max)["z_median"]
        pdf_metrics = metrics.pdf_metrics(quantiles, model.levels, z, model.z_min, model.z_max)
        pdf_metrics.pop("pit_histogram", None)
        out[f"{prefix}pdf_median"] = metrics.point_metrics(z_median, z)
        out[f"{prefix}pdf_raw"] = pdf_metrics
    out["z_phot"] = metrics.point_metrics(model.predict_point(sample), z)
    return {"n": out.pop("n"), "z_phot": out.pop("z_phot"), **out}


# --------------------------------------------------------------------------------------------
# All stages in one call
# --------------------------------------------------------------------------------------------
@dataclass
class TrainingResult:
    model: PhotozModel
    reports: dict = field(default_factory=dict)


def train_chain(train: pd.DataFrame, science: pd.DataFrame, config: dict, *, validation: pd.DataFrame | None = None,
                science_fraction: float | None = None, threads: int = 1, log=print) -> TrainingResult:
    """Every stage in sequence on in-memory frames, with the workflow's config (a full config dict)."""
    bands, seed = list(config["bands"]), int(config["seed"])
    reports = {}
    rep = stage_representativeness(train, science, config["representativeness"], bands, seed, science_fraction)
    weights = rep.weights if rep.report["weights"]["applied"] else None
    reports["representativeness"] = rep.report
    log(f"representativeness: AUC {rep.report['classifier_two_sample_test']['auc']:.3f}, "
        f"in coverage {rep.report['coverage']['science_fraction_in_coverage']:.3f}; weights "
        f"{'applied' if weights is not None else 'not applied'} ({rep.report['weights']['decision']['reason']})")
    removed, _, reports["anomalies"] = stage_anomalies(train, validation, config["anomalies"], bands, seed,
                                                       weights=weights,
                                                       quick_params=config["selection"]["quick_model"],
                                                       threads=threads)
    keep = ~removed
    clean = train[keep].reset_index(drop=True)
    w = None if weights is None else weights[keep]
    log(f"anomalies: {int(removed.sum())} of {len(train)} removed")
    pool, reports["features"] = stage_features(clean, science, config["features"], bands)
    spec, reports["selection"] = stage_selection(clean, w, science, pool, config["selection"], seed, threads)
    log(f"selection: {len(spec.names)} of {len(pool.pool_names)} features: {spec.names}")
    leaderboard = None
    if config["zoo"]["enabled"]:
        result = stage_zoo(clean, w, spec, config["zoo"], seed, threads, log)
        leaderboard = result.leaderboard
        reports["zoo"] = leaderboard
        log(f"zoo: winner {leaderboard['winner']['algorithm']} (CV nmad {leaderboard['winner']['nmad']:.5f})")
    model = build_model(clean, w, spec, config["model"], seed, leaderboard=leaderboard, coverage=rep.coverage,
                        threads=threads, validation=validation)
    return TrainingResult(model, reports)


# --------------------------------------------------------------------------------------------
# Reading the stages' products back (the rule scripts)
# --------------------------------------------------------------------------------------------
def cleaned_training_sample(train: pd.DataFrame, anomalies_table: pd.DataFrame | None,
                            weights_table: pd.DataFrame | None) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The training sample without the removed anomalies, and its weights (None: unweighted).

    Both tables are matched to ``train`` by id; a mismatch is an error (a stale product).
    """
    ids = train["id"].to_numpy()
    keep = np.ones(len(train), dtype=bool)
    if anomalies_table is not None:
        if not np.array_equal(anomalies_table["id"].to_numpy(), ids):
            raise ValueError("the anomaly flags list other objects than the training sample (stale product?)")
        keep = ~anomalies_table["removed"].to_numpy(dtype=bool)
    weights = None
    if weights_table is not None and len(weights_table) and bool(weights_table["enabled"].iloc[0]):
        if not np.array_equal(weights_table["id"].to_numpy(), ids):
            raise ValueError("the training weights list other objects than the training sample (stale product?)")
        weights = weights_table["weight"].to_numpy(dtype=np.float64)[keep]
    return train[keep].reset_index(drop=True), weights
