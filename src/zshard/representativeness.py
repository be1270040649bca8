"""How well the labelled (spec-z) sample represents the science sample, in colour–magnitude space.

Spectroscopic samples are bright, colour-selected and incomplete; an empirical photo-z learns
p(z | photometry) only where the labelled sample has objects (e.g. Newman et al. 2015, APh 63, 81).
This module measures the mismatch and corrects for what can be corrected:

* **per-feature distances**: the two-sample Kolmogorov–Smirnov statistic of every feature, before
  and after reweighting the labelled sample;
* **a classifier two-sample test**: a gradient-boosted classifier tries to tell labelled from
  science objects; the cross-validated ROC AUC is 0.5 when it cannot (Friedman 2003, PHYSTAT;
  Lopez-Paz & Oquab 2017, ICLR). The AUC of the same scores with the training weights applied
  measures what the reweighting leaves;
* **training weights**: the nearest-neighbour density ratio of Lima et al. (2008, MNRAS 390,
  118): for each labelled object, the number of science objects inside the sphere that holds its
  k nearest labelled neighbours, w = (n_sci / N_sci) / (k / N_train). Weighted, the labelled
  sample has the science sample's distribution in feature space (and its weighted n(z) estimates
  the science n(z) where the mapping colour → z is unique). Used as importance weights in training
  and validation they correct for covariate shift (Shimodaira 2000, JSPI 90, 227; Sugiyama,
  Krauledat & Müller 2007, JMLR 8, 985). Importance weights have a heavy tail, so they are
  clipped to ``[floor, max]`` times their mean (Cortes, Mansour & Mohri 2010, NeurIPS) and
  renormalised to mean 1. They are a correction for samples that need one: when the classifier
  cannot tell the samples apart (AUC within ``min_auc_sigma`` standard errors of 0.5) or the weights
  do not bring the AUC closer to 0.5, every object weighs 1 (:func:`weights_decision`), since
  importance weights only add variance where there is no shift to correct;
* **coverage of each science object**: its distance to the k-th nearest labelled object, against
  the same distance of labelled objects among themselves (leave-one-out); beyond the
  ``coverage_quantile`` of the latter the object is outside the labelled sample's coverage (the
  model extrapolates). ``coverage_weight`` is the labelled-to-science density ratio at the object,
  normalised by the sample sizes and capped at 1: 1 where the labelled sample samples the
  neighbourhood at least as densely as on average, 0 where it has nothing. Three k-d tree queries
  cost ~60 µs per object, far over the fan-out's budget (~5 µs for the whole chain), so the fan-out
  evaluates an **emulator** instead: a small multi-output boosted-tree regression of the log
  coverage distance and the weight, fitted on the exact values at the science sample's objects
  (model distillation, Buciluǎ, Caruana & Niculescu-Mizil 2006, KDD; Hinton, Vinyals & Dean 2015).
  Its agreement with the exact flags on held-out science objects is measured at fit time and
  recorded in the model's manifest;
* **a cell map of spectroscopic completeness**: k-means cells of the science sample in
  colour–magnitude space, with the labelled and science counts per cell (the colour-space cells of
  Masters et al. 2015, ApJ 813, 53, with k-means instead of a self-organising map, in the spirit
  of the colour–magnitude completeness maps of Bonnett et al. 2015). The fraction of science objects
  in cells with no labelled object is the part of the survey no empirical method can calibrate.

Distances are Euclidean in a robustly standardised space (median / IQR of the science sample);
missing features are set to the median there (they add no distance along that axis).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy import stats
from sklearn.neighbors import KDTree

from zshard.features import FeatureSpec, build_features

__all__ = [
    "RobustScaling",
    "CoverageModel",
    "comparison_space",
    "ks_table",
    "weighted_ks",
    "classifier_auc",
    "lima_weights",
    "normalise_weights",
    "auc_null_sigma",
    "weights_decision",
    "fit_coverage",
    "completeness_cells",
    "assess",
]


def comparison_space(bands, colours: str) -> FeatureSpec:
    """The feature space of the comparison: magnitudes and colours (no selection, no PCA)."""
    return FeatureSpec(tuple(bands), colours)


@dataclass(frozen=True)
class RobustScaling:
    """x → (x − median) / (IQR / 1.349); NaN → 0 (the median)."""

    centre: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> RobustScaling:
        X = np.asarray(X, dtype=np.float64)
        centre = np.nanmedian(X, axis=0)
        q75, q25 = np.nanpercentile(X, [75, 25], axis=0)
        scale = (q75 - q25) / 1.349
        centre[~np.isfinite(centre)] = 0.0
        scale[~np.isfinite(scale) | (scale <= 0)] = 1.0
        return cls(centre, scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        out = (np.asarray(X, dtype=np.float64) - self.centre) / self.scale
        out[~np.isfinite(out)] = 0.0
        return out


# --------------------------------------------------------------------------------------------
# Distances between the samples
# --------------------------------------------------------------------------------------------
def weighted_ks(x: np.ndarray, y: np.ndarray, wx: np.ndarray | None = None) -> float:
    """sup |F_x,w − F_y|: the KS statistic between a weighted sample x and an unweighted sample y."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    wx = np.ones_like(x) if wx is None else np.asarray(wx, dtype=np.float64)
    okx, oky = np.isfinite(x) & (wx > 0), np.isfinite(y)
    x, wx, y = x[okx], wx[okx], np.sort(y[oky])
    if not x.size or not y.size:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, wx = x[order], wx[order]
    grid = np.concatenate([x, y])
    fx = np.concatenate([[0.0], np.cumsum(wx)])[np.searchsorted(x, grid, side="right")] / wx.sum()
    fy = np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(fx - fy)))


def ks_table(train_X: np.ndarray, science_X: np.ndarray, names, train_weights: np.ndarray | None = None) -> list[dict]:
    """Per feature: KS statistic and p-value (unweighted) and the KS statistic after reweighting."""
    rows = []
    for j, name in enumerate(names):
        a, b = train_X[:, j].astype(np.float64), science_X[:, j].astype(np.float64)
        a_ok, b_ok = a[np.isfinite(a)], b[np.isfinite(b)]
        if a_ok.size and b_ok.size:
            result = stats.ks_2samp(a_ok, b_ok)
            stat, p = float(result.statistic), float(result.pvalue)
        else:
            stat, p = float("nan"), float("nan")
        row = {"feature": name, "ks": stat, "ks_pvalue": p,
               "median_train": float(np.median(a_ok)) if a_ok.size else float("nan"),
               "median_science": float(np.median(b_ok)) if b_ok.size else float("nan")}
        if train_weights is not None:
            row["ks_weighted"] = weighted_ks(a, b, train_weights)
        rows.append(row)
    return rows


def classifier_auc(train_X: np.ndarray, science_X: np.ndarray, seed: int, folds: int,
                   weights: dict[str, np.ndarray] | None = None) -> dict:
    """Cross-validated ROC AUC of a classifier telling labelled (1) from science (0) objects.

    A histogram gradient-boosting classifier (NaN-aware) gives out-of-fold scores; AUC = 0.5 means
    the samples are indistinguishable in these features. For every entry ``name`` of ``weights``,
    ``auc_weighted_<name>`` is the AUC of the same scores with the labelled objects weighted: if
    the weights made the two distributions equal it would be 0.5 for any classifier.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X = np.vstack([train_X, science_X]).astype(np.float64)
    y = np.concatenate([np.ones(len(train_X), dtype=int), np.zeros(len(science_X), dtype=int)])
    classifier = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=31,
                                                random_state=seed % (2**31))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed % (2**31))
    score = cross_val_predict(classifier, X, y, cv=cv, method="predict_proba")[:, 1]
    out = {"auc": float(roc_auc_score(y, score)), "n_train": int(len(train_X)), "n_science": int(len(science_X)),
           "folds": int(folds)}
    for name, train_weights in (weights or {}).items():
        w = np.concatenate([np.asarray(train_weights, dtype=np.float64), np.ones(len(science_X))])
        keep = w > 0
        out[f"auc_weighted_{name}"] = float(roc_auc_score(y[keep], score[keep], sample_weight=w[keep]))
    return out


# --------------------------------------------------------------------------------------------
# Weights and coverage
# --------------------------------------------------------------------------------------------
def lima_weights(train_S: np.ndarray, science_S: np.ndarray, k: int) -> np.ndarray:
    """Nearest-neighbour density-ratio weights of the labelled objects (Lima et al. 2008, eq. 24).

    ``train_S``, ``science_S``: standardised features. For each labelled object the radius of its
    k nearest labelled neighbours (itself excluded) and the number of science objects inside it:
    w = (n_sci / N_sci) / (k / N_train). Mean ≈ 1 when the samples overlap; 0 where no science
    object is near.
    """
    n_train, n_sci = len(train_S), len(science_S)
    k = int(min(k, n_train - 1))
    if k < 1 or n_sci == 0:
        return np.ones(n_train)
    dist, _ = KDTree(train_S).query(train_S, k=k + 1)
    radius = np.maximum(dist[:, -1], 1e-12)
    counts = KDTree(science_S).query_radius(train_S, radius, count_only=True)
    return (counts / n_sci) / (k / n_train)


def normalise_weights(raw: np.ndarray, floor: float, maximum: float | None) -> np.ndarray:
    """Weights with mean 1, clipped to [floor, maximum] × mean (None: no maximum), then renormalised to mean 1."""
    w = np.asarray(raw, dtype=np.float64).copy()
    w[~np.isfinite(w) | (w < 0)] = 0.0
    mean = w.mean() if w.size else 0.0
    if mean <= 0:
        return np.ones_like(w)
    w /= mean
    w = np.clip(w, floor, maximum if maximum else np.inf)
    return w / w.mean()


def auc_null_sigma(n_labelled: int, n_science: int) -> float:
    """Standard deviation of the ROC AUC of two samples drawn from one distribution.

    The AUC is the Mann–Whitney U statistic over n₁n₀ (Mann & Whitney 1947; Hanley & McNeil 1982,
    Radiology 143, 29); under the null hypothesis its variance is (n₁ + n₀ + 1) / (12 n₁ n₀).
    """
    n1, n0 = int(n_labelled), int(n_science)
    if n1 < 1 or n0 < 1:
        return float("inf")
    return float(np.sqrt((n1 + n0 + 1) / (12.0 * n1 * n0)))


def weights_decision(auc: dict, min_auc_sigma: float) -> dict:
    """Whether the Lima weights are applied, and the evidence (``representativeness.weights.min_auc_sigma``).

    ``auc`` is :func:`classifier_auc`'s result with ``auc_weighted_lima`` (the AUC of the same
    scores with the clipped weights). The weights are applied when the samples differ — the AUC
    exceeds 0.5 by more than ``min_auc_sigma`` times :func:`auc_null_sigma` — and the weights make
    them less distinguishable (the weighted AUC is closer to 0.5 than the unweighted one). Otherwise
    every object weighs 1: importance weights correct a covariate shift (Shimodaira 2000) but add
    variance (Cortes, Mansour & Mohri 2010), so without a shift they can only do harm.
    ``min_auc_sigma`` 0 applies them always.
    """
    sigma = auc_null_sigma(auc["n_train"], auc["n_science"])
    significance = (auc["auc"] - 0.5) / sigma
    weighted = auc["auc_weighted_lima"]
    evidence = {"auc": auc["auc"], "auc_null_sigma": sigma, "auc_significance": float(significance),
                "auc_weighted": weighted, "min_auc_sigma": float(min_auc_sigma)}
    if min_auc_sigma <= 0:
        return {"applied": True, "reason": "min_auc_sigma is 0: always applied", **evidence}
    if significance <= min_auc_sigma:
        return {"applied": False, "reason": f"AUC {auc['auc']:.3f} is within {min_auc_sigma:g} sigma "
                                            f"({sigma:.4f}) of 0.5: the samples agree", **evidence}
    if abs(weighted - 0.5) >= abs(auc["auc"] - 0.5):
        return {"applied": False, "reason": f"the weights do not bring the AUC closer to 0.5 "
                                            f"({auc['auc']:.3f} -> {weighted:.3f})", **evidence}
    return {"applied": True, "reason": f"AUC {auc['auc']:.3f} is {significance:.1f} sigma above 0.5 and "
                                       f"{weighted:.3f} weighted", **evidence}


@dataclass
class CoverageModel:
    """What the fan-out needs to flag each object's coverage by the labelled sample.

    ``train`` and ``science`` are the standardised labelled sample and science reference sample
    (float32), ``threshold`` the coverage distance, ``k`` the neighbour count. ``emulator`` (raw
    xgboost model bytes, see :meth:`fit_emulator`), when set, makes :meth:`assess` fast;
    :meth:`assess_exact` is the k-d tree computation it emulates.
    """

    space: FeatureSpec
    scaling: RobustScaling
    train: np.ndarray
    science: np.ndarray
    k: int
    threshold: float
    quantile: float
    emulator: bytes | None = None
    emulator_report: dict = field(default_factory=dict)
    _trees: dict = field(default_factory=dict, repr=False, compare=False)

    def standardise(self, catalog: pd.DataFrame) -> np.ndarray:
        return self.scaling.transform(build_features(catalog, self.space))

    def _tree(self, name: str) -> KDTree:
        if name not in self._trees:
            self._trees[name] = KDTree(getattr(self, name).astype(np.float64))
        return self._trees[name]

    def _booster(self) -> xgb.Booster:
        if "emulator" not in self._trees:
            booster = xgb.Booster()
            booster.load_model(bytearray(self.emulator))
            booster.set_param({"nthread": 1})
            self._trees["emulator"] = booster
        return self._trees["emulator"]

    def set_threads(self, threads: int) -> None:
        if self.emulator is not None:
            self._booster().set_param({"nthread": int(threads)})

    def assess(self, catalog: pd.DataFrame, batch_rows: int = 500_000) -> dict[str, np.ndarray]:
        """``in_coverage`` (bool), ``coverage_weight`` (float32 in [0, 1]) and ``coverage_distance``:
        the emulator's values when the model has one, else :meth:`assess_exact`'s."""
        if self.emulator is None:
            return self.assess_exact(catalog)
        n = len(catalog)
        distance = np.empty(n, dtype=np.float32)
        weight = np.empty(n, dtype=np.float32)
        for start in range(0, n, batch_rows):
            part = slice(start, min(n, start + batch_rows))
            S = np.ascontiguousarray(self.standardise(catalog.iloc[part]), dtype=np.float32)
            predicted = self._booster().inplace_predict(S)
            distance[part] = np.exp(predicted[:, 0])
            weight[part] = np.clip(predicted[:, 1], 0.0, 1.0)
        return {"in_coverage": distance <= self.threshold, "coverage_weight": weight, "coverage_distance": distance}

    def assess_exact(self, catalog: pd.DataFrame, batch_rows: int = 200_000) -> dict[str, np.ndarray]:
        """The k-d tree values of :meth:`assess` (~60 µs per object)."""
        n = len(catalog)
        out = {"in_coverage": np.zeros(n, dtype=bool), "coverage_weight": np.zeros(n, dtype=np.float32),
               "coverage_distance": np.zeros(n, dtype=np.float32)}
        for start in range(0, n, batch_rows):
            part = slice(start, min(n, start + batch_rows))
            distance, weight = self._exact_standardised(self.standardise(catalog.iloc[part]))
            out["in_coverage"][part] = distance <= self.threshold
            out["coverage_weight"][part] = weight
            out["coverage_distance"][part] = distance
        return out

    def _exact_standardised(self, S: np.ndarray, exclude_self_in_science: bool = False
                            ) -> tuple[np.ndarray, np.ndarray]:
        """Distance to the k-th labelled neighbour and the capped density ratio, for standardised rows.

        ``exclude_self_in_science``: the rows are the science reference's own objects, whose nearest
        science neighbour is themselves (distance 0), so one more neighbour is taken.
        """
        n_train, n_sci = len(self.train), len(self.science)
        k_train, k_sci = min(self.k, n_train), min(self.k, n_sci - int(exclude_self_in_science))
        distance = self._tree("train").query(S, k=k_train)[0][:, -1]
        radius = np.maximum(self._tree("science").query(S, k=k_sci + int(exclude_self_in_science))[0][:, -1], 1e-12)
        n_in = self._tree("train").query_radius(S, radius, count_only=True)
        ratio = (n_in / n_train) / (k_sci / n_sci)
        return distance, np.minimum(ratio, 1.0)

    def fit_emulator(self, seed: int, n_estimators: int, max_depth: int, learning_rate: float,
                     holdout_fraction: float = 0.2, threads: int = 1) -> dict:
        """Fit the emulator on the exact values at the science reference's objects (themselves
        excluded from their own neighbourhoods); ``holdout_fraction`` of them, drawn with ``seed``,
        are kept out to measure how often its ``in_coverage`` flag agrees with the exact one, and
        its mean absolute error on the weight. Returns (and keeps in ``emulator_report``) those figures.
        """
        S = self.science.astype(np.float64)
        distance, weight = self._exact_standardised(S, exclude_self_in_science=True)
        target = np.column_stack([np.log(np.maximum(distance, 1e-12)), weight])
        order = np.random.default_rng(seed).permutation(len(S))
        n_out = int(round(holdout_fraction * len(S)))
        held, used = order[:n_out], order[n_out:]
        model = xgb.XGBRegressor(n_estimators=int(n_estimators), max_depth=int(max_depth),
                                 learning_rate=float(learning_rate), tree_method="hist",
                                 multi_strategy="multi_output_tree", random_state=int(seed) % (2**31),
                                 n_jobs=int(threads))
        model.fit(S[used].astype(np.float32), target[used])
        self.emulator = bytes(model.get_booster().save_raw(raw_format="ubj"))
        self._trees.pop("emulator", None)
        report = {"method": "boosted-tree emulator of the kNN coverage (distillation)",
                  "n_estimators": int(n_estimators), "max_depth": int(max_depth), "learning_rate": float(learning_rate),
                  "n_fit": int(len(used)), "n_holdout": int(n_out)}
        if n_out:
            predicted = self._booster().inplace_predict(np.ascontiguousarray(S[held], dtype=np.float32))
            exact_flag = distance[held] <= self.threshold
            emulated_flag = np.exp(predicted[:, 0]) <= self.threshold
            report.update({"holdout_flag_agreement": float(np.mean(exact_flag == emulated_flag)),
                           "holdout_in_coverage_exact": float(exact_flag.mean()),
                           "holdout_in_coverage_emulated": float(emulated_flag.mean()),
                           "holdout_weight_mae": float(np.mean(np.abs(np.clip(predicted[:, 1], 0, 1) - weight[held]))),
                           "holdout_weight_mean_exact": float(weight[held].mean())})
        self.emulator_report = report
        return report

    def density_ratio_weights(self, labelled: pd.DataFrame, floor: float, maximum: float | None) -> np.ndarray:
        """Lima et al. (2008) weights that make a labelled sample (e.g. the validation sample that the
        PIT calibration is fitted on) look like this model's science sample; mean 1, clipped as
        :func:`normalise_weights` (``representativeness.weights`` in the config)."""
        raw = lima_weights(self.standardise(labelled).astype(np.float64), self.science.astype(np.float64), self.k)
        return normalise_weights(raw, floor, maximum)

    # serialisation: one npz (embedded in the model artefact)
    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        meta = {"k": self.k, "threshold": self.threshold, "quantile": self.quantile, "space": self.space.to_dict(),
                "emulator_report": self.emulator_report}
        arrays = {}
        if self.emulator is not None:
            arrays["emulator"] = np.frombuffer(self.emulator, dtype=np.uint8)
        np.savez_compressed(buffer, train=self.train.astype(np.float32), science=self.science.astype(np.float32),
                            centre=self.scaling.centre, scale=self.scaling.scale,
                            meta=np.frombuffer(repr(meta).encode(), dtype=np.uint8), **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes) -> CoverageModel:
        import ast

        with np.load(io.BytesIO(payload)) as data:
            meta = ast.literal_eval(bytes(data["meta"]).decode())
            return cls(space=FeatureSpec.from_dict(meta["space"]),
                       scaling=RobustScaling(data["centre"], data["scale"]), train=data["train"],
                       science=data["science"], k=int(meta["k"]), threshold=float(meta["threshold"]),
                       quantile=float(meta["quantile"]),
                       emulator=bytes(data["emulator"]) if "emulator" in data.files else None,
                       emulator_report=meta.get("emulator_report", {}))

    def summary(self) -> dict:
        return {"space": self.space.names, "k": self.k, "threshold": self.threshold, "quantile": self.quantile,
                "n_train": int(len(self.train)), "n_science_reference": int(len(self.science)),
                "emulator": self.emulator_report or None}


def fit_coverage(train_S: np.ndarray, science_S: np.ndarray, space: FeatureSpec, scaling: RobustScaling,
                 k: int, quantile: float) -> tuple[CoverageModel, np.ndarray]:
    """The coverage model and the labelled objects' own leave-one-out k-NN distances."""
    k = int(max(1, min(k, len(train_S) - 1)))
    loo = KDTree(train_S).query(train_S, k=k + 1)[0][:, -1]
    threshold = float(np.quantile(loo, quantile))
    model = CoverageModel(space, scaling, train_S.astype(np.float32), science_S.astype(np.float32), k, threshold,
                          float(quantile))
    return model, loo


# --------------------------------------------------------------------------------------------
# Colour–magnitude cells
# --------------------------------------------------------------------------------------------
def completeness_cells(train_S: np.ndarray, science_S: np.ndarray, n_cells: int, seed: int,
                       train_z: np.ndarray | None = None, science_fraction: float | None = None
                       ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """k-means cells of the science sample and the labelled / science counts per cell.

    Returns the per-cell table, the cell of every labelled and science object, and the cell
    centres (standardised space). ``density_ratio`` = (n_train / N_train) / (n_science / N_science);
    ``completeness`` = n_train / (n_science / science_fraction), the fraction of the cell's
    catalogue objects with a spec-z, when the science sample is a known fraction of the catalogue
    and the labelled objects belong to the same catalogue.
    """
    from sklearn.cluster import KMeans

    n_cells = int(max(2, min(n_cells, len(science_S) // 5)))
    kmeans = KMeans(n_clusters=n_cells, n_init=2, random_state=seed % (2**31)).fit(science_S)
    sci_cell = kmeans.labels_.astype(np.int32)
    train_cell = kmeans.predict(train_S).astype(np.int32)
    n_sci = np.bincount(sci_cell, minlength=n_cells)
    n_tr = np.bincount(train_cell, minlength=n_cells)
    table = pd.DataFrame({"cell": np.arange(n_cells), "n_science": n_sci, "n_train": n_tr})
    with np.errstate(divide="ignore", invalid="ignore"):
        table["density_ratio"] = (n_tr / max(len(train_S), 1)) / (n_sci / max(len(science_S), 1))
        if science_fraction:
            table["completeness"] = n_tr / (n_sci / science_fraction)
    if train_z is not None:
        z = np.asarray(train_z, dtype=np.float64)
        sums = np.bincount(train_cell, weights=z, minlength=n_cells)
        table["mean_z_train"] = np.where(n_tr > 0, sums / np.maximum(n_tr, 1), np.nan)
    return table, train_cell, sci_cell, kmeans.cluster_centers_


# --------------------------------------------------------------------------------------------
# The whole stage
# --------------------------------------------------------------------------------------------
@dataclass
class Representativeness:
    report: dict
    ks: list[dict]
    weights: np.ndarray
    weights_raw: np.ndarray
    coverage: CoverageModel
    train_distance: np.ndarray
    science_assessment: dict
    cells: pd.DataFrame
    cell_centres: np.ndarray
    space: FeatureSpec
    scaling: RobustScaling


def assess(train: pd.DataFrame, science: pd.DataFrame, bands, *, seed: int, colours: str, n_neighbors: int,
           coverage_quantile: float, classifier_folds: int, weights_enabled: bool, weight_floor: float,
           weight_max: float | None, weight_min_auc_sigma: float, n_cells: int, science_fraction: float | None = None,
           redshift_column: str = "z_spec", emulator: dict | None = None) -> Representativeness:
    """Every measurement of the stage for one labelled and one science sample (canonical frames).

    The settings are those of ``representativeness`` in the config (``weights.floor``,
    ``weights.max`` and ``weights.min_auc_sigma`` as ``weight_floor``, ``weight_max`` and
    ``weight_min_auc_sigma``: :func:`weights_decision`); :func:`zshard.training.stage_representativeness`
    passes them. Seeds (``seed`` is the master seed): the classifier folds and k-means derive their own.
    ``emulator``: ``representativeness.coverage_emulator`` (``enabled``, ``n_estimators``,
    ``max_depth``, ``learning_rate``); enabled, the coverage model gets its fast emulator
    (:meth:`CoverageModel.fit_emulator`), with its own derived seed.
    """
    from zshard.io.ids import derive_seed

    space = comparison_space(bands, colours)
    train_X = build_features(train, space)
    science_X = build_features(science, space)
    scaling = RobustScaling.fit(science_X)
    train_S, science_S = scaling.transform(train_X), scaling.transform(science_X)

    raw = lima_weights(train_S, science_S, n_neighbors)
    lima = normalise_weights(raw, weight_floor, weight_max)
    auc = classifier_auc(train_X, science_X, derive_seed(seed, "representativeness.classifier"), classifier_folds,
                         {"raw": raw, "lima": lima} if weights_enabled else None)
    decision = (weights_decision(auc, weight_min_auc_sigma) if weights_enabled else
                {"applied": False, "reason": "representativeness.weights.enabled is false"})
    weights = lima if decision["applied"] else np.ones(len(train))
    if weights_enabled:
        auc["auc_weighted_used"] = auc["auc_weighted_lima"] if decision["applied"] else auc["auc"]
    ks = ks_table(train_X, science_X, space.names, weights)
    coverage, train_distance = fit_coverage(train_S, science_S, space, scaling, n_neighbors, coverage_quantile)
    science_assessment = coverage.assess_exact(science)
    if emulator and emulator["enabled"]:
        coverage.fit_emulator(derive_seed(seed, "representativeness.coverage_emulator"),
                              n_estimators=int(emulator["n_estimators"]), max_depth=int(emulator["max_depth"]),
                              learning_rate=float(emulator["learning_rate"]))
    z = train[redshift_column].to_numpy(dtype=np.float64)
    cells, _, _, centres = completeness_cells(
        train_S, science_S, n_cells, derive_seed(seed, "representativeness.cells"), z, science_fraction)
    empty = cells["n_train"].to_numpy() == 0
    in_empty = float(cells.loc[empty, "n_science"].sum() / max(len(science), 1))
    w = weights
    report = {
        "n_train": int(len(train)), "n_science_sample": int(len(science)), "space": space.names,
        "classifier_two_sample_test": auc,
        "ks_max": float(np.nanmax([r["ks"] for r in ks])) if ks else float("nan"),
        "ks_weighted_max": float(np.nanmax([r.get("ks_weighted", np.nan) for r in ks])) if ks else float("nan"),
        "coverage": {**coverage.summary(),
                     "science_fraction_in_coverage": float(science_assessment["in_coverage"].mean()),
                     "science_mean_coverage_weight": float(science_assessment["coverage_weight"].mean())},
        "weights": {"enabled": bool(weights_enabled), "applied": bool(decision["applied"]), "decision": decision,
                    "method": "kNN density ratio (Lima et al. 2008)",
                    "k": int(n_neighbors), "floor": weight_floor, "max": weight_max,
                    "fraction_zero_raw": float(np.mean(raw == 0)),
                    "effective_sample_size": float(w.sum() ** 2 / np.sum(w * w)),
                    "min": float(w.min()), "max_value": float(w.max()),
                    "mean_z_unweighted": float(np.mean(z)), "mean_z_weighted": float(np.average(z, weights=w))},
        "cells": {"n_cells": int(len(cells)), "cells_without_specz": int(empty.sum()),
                  "science_fraction_in_cells_without_specz": in_empty,
                  "science_fraction_of_catalogue": science_fraction},
    }
    return Representativeness(report, ks, weights, raw, coverage, train_distance, science_assessment, cells,
                              centres, space, scaling)
