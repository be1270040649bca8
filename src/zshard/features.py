"""Features for photo-z learning: magnitudes, colours, optional errors and PCA components.

The *pool* of candidate features is the magnitudes, the colours (adjacent bands, or every pair
of bands), optionally the magnitude errors and optionally the first principal components of the
standardised magnitudes and colours. Feature selection (:mod:`zshard.selection`) then keeps a
subset, in a fixed order; the :class:`FeatureSpec` stores the pool definition, the fitted PCA and
the selected names, so that prediction rebuilds exactly the matrix the model was trained on.

Missing photometry (non-detections, survey sentinels) stays NaN, and every colour with a missing
magnitude is NaN too. xgboost and scikit-learn's random forest learn where to send missing values
at every split (Chen & Guestrin 2016, KDD, 785), which is better than imputing a fake magnitude.
Learners that cannot take NaN (AdaBoost, kNN, MLP; see :mod:`zshard.zoo`) get a median imputation
plus one missing-value indicator column per feature that has missing values in training
(:class:`sklearn.impute.SimpleImputer` with ``add_indicator=True``), so a non-detection is still
visible to them. The PCA components are computed on median-imputed, standardised features (the
imputation is used for the projection only; the component of an object with a missing band is
therefore the projection of its other bands, documented in :func:`fit_pca`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

COLOUR_MODES = ("adjacent", "all", "none")


@dataclass(frozen=True)
class FeatureSpec:
    """Which features a model uses; stored in the model manifest so prediction rebuilds them exactly.

    Attributes
    ----------
    bands : band names in wavelength order (canonical columns ``mag_<band>``, ``magerr_<band>``)
    colours : ``"adjacent"`` (u−g, g−r, …), ``"all"`` (every pair) or ``"none"``
    errors : add the magnitude errors ``magerr_<band>`` to the pool
    pca_components : number of principal components of the standardised magnitudes and colours
        added to the pool (0: none); their parameters are ``pca_*`` (fitted by :func:`fit_pca`)
    selected : the names kept, in order (``None``: the whole pool)
    """

    bands: tuple[str, ...]
    colours: str = "adjacent"
    errors: bool = False
    pca_components: int = 0
    pca_centre: tuple[float, ...] = ()
    pca_scale: tuple[float, ...] = ()
    pca_axes: tuple[tuple[float, ...], ...] = ()
    selected: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.colours not in COLOUR_MODES:
            raise ValueError(f"colours must be one of {COLOUR_MODES}, not {self.colours!r}")
        if self.pca_components < 0:
            raise ValueError("pca_components must be >= 0")
        if self.pca_components and len(self.pca_axes) != self.pca_components:
            raise ValueError("pca_components > 0 needs fitted PCA axes (use fit_pca)")
        if self.selected is not None:
            unknown = [n for n in self.selected if n not in self.pool_names]
            if unknown:
                raise ValueError(f"selected feature(s) {unknown} are not in the pool {self.pool_names}")

    def colour_pairs(self) -> list[tuple[str, str]]:
        if self.colours == "none":
            return []
        if self.colours == "adjacent":
            return list(zip(self.bands[:-1], self.bands[1:]))
        return [(a, b) for i, a in enumerate(self.bands) for b in self.bands[i + 1:]]

    @property
    def base_names(self) -> list[str]:
        """Magnitudes and colours: the space the PCA is computed in."""
        return [f"mag_{b}" for b in self.bands] + [f"{a}-{b}" for a, b in self.colour_pairs()]

    @property
    def pool_names(self) -> list[str]:
        """Every candidate feature, before selection."""
        names = self.base_names
        if self.errors:
            names = names + [f"magerr_{b}" for b in self.bands]
        return names + [f"pca_{k + 1}" for k in range(self.pca_components)]

    @property
    def names(self) -> list[str]:
        """The features the model sees, in order."""
        return list(self.selected) if self.selected is not None else self.pool_names

    def with_selection(self, selected: Sequence[str] | None) -> FeatureSpec:
        return replace(self, selected=None if selected is None else tuple(selected))

    def to_dict(self) -> dict:
        payload = {"bands": list(self.bands), "colours": self.colours, "errors": self.errors,
                   "pca_components": self.pca_components}
        if self.pca_components:
            payload.update(pca_centre=list(self.pca_centre), pca_scale=list(self.pca_scale),
                           pca_axes=[list(a) for a in self.pca_axes])
        payload["selected"] = None if self.selected is None else list(self.selected)
        return payload

    @classmethod
    def from_dict(cls, payload: dict) -> FeatureSpec:
        return cls(bands=tuple(payload["bands"]), colours=payload.get("colours", "adjacent"),
                   errors=bool(payload.get("errors", False)),
                   pca_components=int(payload.get("pca_components", 0)),
                   pca_centre=tuple(float(v) for v in payload.get("pca_centre", ())),
                   pca_scale=tuple(float(v) for v in payload.get("pca_scale", ())),
                   pca_axes=tuple(tuple(float(v) for v in axis) for axis in payload.get("pca_axes", ())),
                   selected=None if payload.get("selected") is None else tuple(payload["selected"]))


def _base_matrix(catalog: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    missing = [f"mag_{b}" for b in spec.bands if f"mag_{b}" not in catalog.columns]
    if missing:
        raise KeyError(f"catalogue lacks magnitude column(s) {missing}")
    mags = magnitude_matrix(catalog, spec.bands)
    index = {b: i for i, b in enumerate(spec.bands)}
    colours = [mags[:, index[a]] - mags[:, index[b]] for a, b in spec.colour_pairs()]
    return np.column_stack([mags, *colours]).astype(np.float32) if colours else mags


def _project(base: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    centre = np.asarray(spec.pca_centre, dtype=np.float64)
    scale = np.asarray(spec.pca_scale, dtype=np.float64)
    standard = (base.astype(np.float64) - centre) / scale
    standard[~np.isfinite(standard)] = 0.0  # the median, i.e. imputed (see fit_pca)
    return (standard @ np.asarray(spec.pca_axes, dtype=np.float64).T).astype(np.float32)


def build_pool(catalog: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """The whole candidate pool (n, len(spec.pool_names)), float32, NaN where photometry is missing."""
    base = _base_matrix(catalog, spec)
    parts = [base]
    if spec.errors:
        missing = [f"magerr_{b}" for b in spec.bands if f"magerr_{b}" not in catalog.columns]
        if missing:
            raise KeyError(f"catalogue lacks magnitude-error column(s) {missing}")
        parts.append(np.column_stack([catalog[f"magerr_{b}"].to_numpy(dtype=np.float32) for b in spec.bands]))
    if spec.pca_components:
        parts.append(_project(base, spec))
    return np.column_stack(parts).astype(np.float32, copy=False) if len(parts) > 1 else base


def build_features(catalog: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """Feature matrix (n, len(spec.names)), float32, NaN where photometry is missing.

    ``catalog`` has canonical ``mag_<band>`` (and, with ``spec.errors``, ``magerr_<band>``) columns.
    Without PCA components among the features, only the selected columns are computed, straight
    into the (C-contiguous) matrix: the same float32 values as :func:`build_pool` and a selection.
    """
    names = spec.names
    if spec.pca_components and any(name.startswith("pca_") for name in names):
        pool = build_pool(catalog, spec)
        if spec.selected is None:
            return pool
        index = {name: i for i, name in enumerate(spec.pool_names)}
        return np.ascontiguousarray(pool[:, [index[name] for name in spec.selected]])
    missing = [f"mag_{b}" for b in spec.bands if f"mag_{b}" not in catalog.columns]
    if missing:
        raise KeyError(f"catalogue lacks magnitude column(s) {missing}")
    if spec.errors:
        missing = [f"magerr_{b}" for b in spec.bands if f"magerr_{b}" not in catalog.columns]
        if missing:
            raise KeyError(f"catalogue lacks magnitude-error column(s) {missing}")
    colours = {f"{a}-{b}": (a, b) for a, b in spec.colour_pairs()}
    columns: dict[str, np.ndarray] = {}

    def column(name: str) -> np.ndarray:  # a catalogue column as float32, converted once
        if name not in columns:
            columns[name] = catalog[name].to_numpy(dtype=np.float32)
        return columns[name]

    out = np.empty((len(catalog), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        if name in colours:
            a, b = colours[name]
            out[:, j] = np.subtract(column(f"mag_{a}"), column(f"mag_{b}"))  # float32 - float32, as in the pool
        else:  # mag_<band> or magerr_<band>
            out[:, j] = column(name)
    return out


def fit_pca(catalog: pd.DataFrame, spec: FeatureSpec, n_components: int) -> FeatureSpec:
    """Return ``spec`` with ``n_components`` principal components of its magnitudes and colours.

    The components are the leading right-singular vectors of the training features standardised
    by their median and inter-quartile range (robust to the faint tail), with missing values set
    to the median before the decomposition and before every projection (Jolliffe 2002, Principal
    Component Analysis, 2nd ed., Springer). Colours are linear in the magnitudes, so the components
    mix the information of all bands into few decorrelated axes: useful for kNN and neural networks,
    redundant for trees (selection decides).
    """
    if n_components <= 0:
        return replace(spec, pca_components=0, pca_centre=(), pca_scale=(), pca_axes=())
    base = _base_matrix(catalog, replace(spec, pca_components=0, selected=None)).astype(np.float64)
    n_components = min(int(n_components), base.shape[1])
    centre = np.nanmedian(base, axis=0)
    q75, q25 = np.nanpercentile(base, [75, 25], axis=0)
    scale = (q75 - q25) / 1.349  # the σ of a Gaussian with that IQR
    scale[~np.isfinite(scale) | (scale <= 0)] = 1.0
    centre[~np.isfinite(centre)] = 0.0
    standard = (base - centre) / scale
    standard[~np.isfinite(standard)] = 0.0
    _, _, vt = np.linalg.svd(standard - standard.mean(axis=0), full_matrices=False)
    axes = vt[:n_components]
    # a deterministic sign: the largest loading of each axis is positive
    signs = np.sign(axes[np.arange(n_components), np.argmax(np.abs(axes), axis=1)])
    axes = axes * signs[:, None]
    return replace(spec, pca_components=n_components, pca_centre=tuple(map(float, centre)),
                   pca_scale=tuple(map(float, scale)), pca_axes=tuple(tuple(map(float, a)) for a in axes),
                   selected=None)


def pool_summary(train: pd.DataFrame, science: pd.DataFrame | None, spec: FeatureSpec,
                 redshift_column: str = "z_spec") -> list[dict]:
    """Per pool feature: missing fractions, medians (training and science) and Spearman ρ with z."""
    from scipy import stats

    X = build_pool(train, spec)
    S = build_pool(science, spec) if science is not None and len(science) else None
    z = train[redshift_column].to_numpy(dtype=np.float64)
    rows = []
    for j, name in enumerate(spec.pool_names):
        x = X[:, j].astype(np.float64)
        ok = np.isfinite(x) & np.isfinite(z)
        rho = float(stats.spearmanr(x[ok], z[ok]).statistic) if ok.sum() > 2 and np.ptp(x[ok]) > 0 else float("nan")
        row = {"feature": name, "missing_train": float(np.mean(~np.isfinite(x))),
               "median_train": float(np.nanmedian(x)) if np.isfinite(x).any() else float("nan"),
               "spearman_z": rho}
        if S is not None:
            s = S[:, j].astype(np.float64)
            row.update(missing_science=float(np.mean(~np.isfinite(s))),
                       median_science=float(np.nanmedian(s)) if np.isfinite(s).any() else float("nan"))
        rows.append(row)
    return rows


def magnitude_matrix(catalog: pd.DataFrame, bands: Sequence[str]) -> np.ndarray:
    """Magnitudes only, (n, n_bands) float32."""
    return np.column_stack([catalog[f"mag_{b}"].to_numpy(dtype=np.float32) for b in bands])
