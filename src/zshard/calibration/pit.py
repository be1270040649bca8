"""The PIT map of :mod:`zshard.calibration` (Bordoloi, Lilly & Amara 2010): :class:`PitCalibration`,
its fit after the outlier floor (:func:`fit_calibration`), its application to quantile p(z)
(:func:`apply_calibration`) and its JSON file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from zshard.calibration.local import LocalMaps, pdf_widths
from zshard.calibration.mixture import _MixturePpf, fit_outlier_fraction, fit_outlier_shape, medians, mixture_cdf
from zshard.io.atomic import write_json
from zshard.pdf import levelmajor
from zshard.pdf.levelmajor import blocks
from zshard.pdf.levelmajor import knots as knots_level_major
from zshard.pdf.population import OutlierShapes
from zshard.pdf.representation import (
    DEFAULT_Z_MAX,
    DEFAULT_Z_MIN,
    KNOT_MIN_SPACING,
    _check_range,
    check_levels,
    check_quantiles,
    enforce_spacing,
    float_dtype,
)

__all__ = ["PitCalibration", "fit_pit_calibration", "fit_calibration", "apply_calibration", "save_calibration",
           "load_calibration"]

#: Minimum separation between consecutive PIT knots (keeps G strictly monotone).
_KNOT_EPS: float = 1e-6
_FORMAT = "zshard.pit_calibration"
_VERSION = 3
#: Validation objects per cell of the conditional maps at least (fewer cells where there are fewer).
LOCAL_MIN_PER_CELL = 200


def _validate_knots(pit_knots: np.ndarray, level_knots: np.ndarray) -> None:
    if pit_knots.ndim != 1 or level_knots.ndim != 1 or pit_knots.size != level_knots.size:
        raise ValueError("pit_knots and level_knots must be 1-D arrays of equal length")
    if pit_knots.size < 2:
        raise ValueError("need at least 2 knots")
    for name, k in (("pit_knots", pit_knots), ("level_knots", level_knots)):
        if not np.all(np.isfinite(k)):
            raise ValueError(f"{name} must be finite")
        if k[0] != 0.0 or k[-1] != 1.0:
            raise ValueError(f"{name} must start at 0 and end at 1")
        if np.any(np.diff(k) <= 0.0):
            raise ValueError(f"{name} must be strictly increasing")


@dataclass(frozen=True)
class PitCalibration:
    """Monotone map ``G`` from PIT value to calibrated probability level.

    Attributes
    ----------
    pit_knots : ndarray, shape (M,)
        Strictly increasing PIT values, ``pit_knots[0] = 0``, ``pit_knots[-1] = 1``.
    level_knots : ndarray, shape (M,)
        Strictly increasing levels ``G(pit_knots)``, same endpoints.
    n_fit : int
        Number of PIT values the map was fitted on (0 for the identity).
    outlier_fraction : float
        Weight ``eps`` of the uniform outlier component mixed into every p(z) before
        the PIT map (0: none; see the module docstring).
    output_levels : ndarray or None
        Probability levels at which the calibrated quantiles are stored (None: the
        input levels).
    outlier_shape : OutlierShapes or None
        The shape of the outlier component (None: uniform over [z_min, z_max]); the PIT
        map then acts on PITs in ``t = U(z)`` (module docstring).
    local_maps : LocalMaps or None
        PIT maps per cell of the raw p(z) width (:mod:`zshard.calibration.local`), used
        instead of ``pit_knots``/``level_knots`` (then the global map, kept for reference).
    """

    pit_knots: np.ndarray
    level_knots: np.ndarray
    n_fit: int
    outlier_fraction: float = 0.0
    output_levels: np.ndarray | None = None
    outlier_shape: OutlierShapes | None = None
    local_maps: LocalMaps | None = None

    def __post_init__(self) -> None:
        p = np.array(self.pit_knots, dtype=np.float64)
        a = np.array(self.level_knots, dtype=np.float64)
        _validate_knots(p, a)
        p.setflags(write=False)
        a.setflags(write=False)
        object.__setattr__(self, "pit_knots", p)
        object.__setattr__(self, "level_knots", a)
        object.__setattr__(self, "n_fit", int(self.n_fit))
        eps = float(self.outlier_fraction)
        if not 0.0 <= eps < 1.0:
            raise ValueError(f"outlier_fraction must lie in [0, 1), got {eps}")
        object.__setattr__(self, "outlier_fraction", eps)
        if self.output_levels is not None:
            levels = check_levels(self.output_levels).copy()
            levels.setflags(write=False)
            object.__setattr__(self, "output_levels", levels)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PitCalibration):
            return NotImplemented
        levels = [None if c.output_levels is None else c.output_levels.tolist() for c in (self, other)]
        return (
            self.n_fit == other.n_fit
            and self.outlier_fraction == other.outlier_fraction
            and levels[0] == levels[1]
            and self.outlier_shape == other.outlier_shape
            and self.local_maps == other.local_maps
            and np.array_equal(self.pit_knots, other.pit_knots)
            and np.array_equal(self.level_knots, other.level_knots)
        )

    @classmethod
    def identity(cls) -> PitCalibration:
        """The identity map G(p) = p (leaves PDFs unchanged)."""
        return cls(np.array([0.0, 1.0]), np.array([0.0, 1.0]), 0)

    def levels_for(self, levels: ArrayLike) -> np.ndarray:
        """The levels of the calibrated quantiles, given the levels of the raw ones."""
        return np.asarray(levels if self.output_levels is None else self.output_levels, dtype=np.float64)

    def forward(self, p: ArrayLike) -> np.ndarray:
        """G(p): calibrated level for PIT / CDF value ``p`` in [0, 1] (clamped)."""
        return np.interp(np.asarray(p, dtype=np.float64), self.pit_knots, self.level_knots)

    def inverse(self, a: ArrayLike) -> np.ndarray:
        """G^{-1}(a): PIT / CDF value whose calibrated level is ``a`` in [0, 1]."""
        return np.interp(np.asarray(a, dtype=np.float64), self.level_knots, self.pit_knots)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable representation (lists of plain floats)."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "method": "Bordoloi, Lilly & Amara 2010 (MNRAS 406, 881) PIT recalibration",
            "pit_knots": [float(x) for x in self.pit_knots],
            "level_knots": [float(x) for x in self.level_knots],
            "n_fit": int(self.n_fit),
            "outlier_fraction": float(self.outlier_fraction),
            "output_levels": None if self.output_levels is None else [float(x) for x in self.output_levels],
            "outlier_shape": None if self.outlier_shape is None else self.outlier_shape.to_dict(),
            "local_maps": None if self.local_maps is None else self.local_maps.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PitCalibration:
        """Inverse of :meth:`to_dict` (validates the knots)."""
        try:
            return cls(
                np.asarray(d["pit_knots"], dtype=np.float64),
                np.asarray(d["level_knots"], dtype=np.float64),
                int(d["n_fit"]),
                float(d.get("outlier_fraction", 0.0)),
                None if d.get("output_levels") is None else np.asarray(d["output_levels"], dtype=np.float64),
                None if d.get("outlier_shape") is None else OutlierShapes.from_dict(d["outlier_shape"]),
                None if d.get("local_maps") is None else LocalMaps.from_dict(d["local_maps"]),
            )
        except KeyError as exc:
            raise ValueError(f"calibration dict lacks key {exc}") from exc


def _weighted_quantiles(x: np.ndarray, w: np.ndarray | None, levels: np.ndarray) -> np.ndarray:
    """Empirical quantiles with the midpoint (Hazen) plotting positions.

    Positions of the sorted values are ``(cumsum(w) - w / 2) / sum(w)``; with unit
    weights this is ``(i - 0.5) / n``.  Linear interpolation in between, constant
    beyond the extreme positions.
    """
    order = np.argsort(x, kind="stable")
    xs = x[order]
    if w is None:
        n = xs.size
        pos = (np.arange(n, dtype=np.float64) + 0.5) / n
    else:
        ws = w[order]
        cw = np.cumsum(ws)
        pos = (cw - 0.5 * ws) / cw[-1]
        keep = ws > 0  # zero-weight values must not act as interpolation nodes
        xs, pos = xs[keep], pos[keep]
    return np.interp(levels, pos, xs)


def fit_pit_calibration(
    pit: ArrayLike,
    n_knots: int,
    weights: ArrayLike | None = None,
    min_count: int = 50,
) -> PitCalibration:
    """Fit the PIT recalibration map of Bordoloi, Lilly & Amara (2010).

    Parameters
    ----------
    pit : array_like, shape (n,)
        PIT values ``F(z_true)`` of a validation sample (see
        :func:`zshard.metrics.pit_values`).  Non-finite values are ignored.
    n_knots : int
        Number of knots of G (including the pinned endpoints), at evenly spaced
        levels ``linspace(0, 1, n_knots)`` (``calibration.n_knots`` in the config).
    weights : array_like, shape (n,), optional
        Non-negative weights (e.g. to reweight a spectroscopic sample to the
        photometric one).
    min_count : int
        Minimum number of finite PIT values (with positive weight).

    Returns
    -------
    PitCalibration
        ``pit_knots`` are the empirical PIT quantiles at ``level_knots``, with the
        endpoints pinned to 0 and 1 and a minimum separation of 1e-6 enforced so
        that G is strictly increasing and invertible.

    Raises
    ------
    ValueError
        Too few finite PIT values, PIT values outside [0, 1], bad weights or
        ``n_knots < 2``.
    """
    p = np.asarray(pit, dtype=np.float64).ravel()
    n_knots = int(n_knots)
    if n_knots < 2:
        raise ValueError(f"n_knots must be >= 2, got {n_knots}")
    finite = np.isfinite(p)
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != p.shape:
            raise ValueError(f"weights must have shape {p.shape}, got {w.shape}")
        finite &= np.isfinite(w)
        if np.any(w[finite] < 0):
            raise ValueError("weights must be non-negative")
        finite &= w > 0
        w = w[finite]
    p = p[finite]
    if p.size < min_count:
        raise ValueError(
            f"need at least {min_count} finite PIT values to fit a calibration, got {p.size}"
        )
    tol = 1e-9
    if np.any(p < -tol) or np.any(p > 1.0 + tol):
        raise ValueError(
            "PIT values must lie in [0, 1]; got range "
            f"[{p.min():.6g}, {p.max():.6g}] (are these really CDF(z_true) values?)"
        )
    np.clip(p, 0.0, 1.0, out=p)
    levels = np.linspace(0.0, 1.0, n_knots)
    knots = _weighted_quantiles(p, w, levels)
    knots[0], knots[-1] = 0.0, 1.0
    np.clip(knots, 0.0, 1.0, out=knots)
    eps = min(_KNOT_EPS, 1.0 / (4 * (n_knots - 1)))
    knots = enforce_spacing(knots[None, :], 0.0, 1.0, eps)[0]
    knots[0], knots[-1] = 0.0, 1.0
    return PitCalibration(knots, levels, int(p.size))


def fit_calibration(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_true: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    *,
    n_knots: int,
    outlier_floor: bool,
    outlier_shape: dict[str, Any],
    local: dict[str, Any],
    weights: ArrayLike | None = None,
    output_levels: ArrayLike | None = None,
) -> PitCalibration:
    """Fit the outlier floor (its shape, then its weight), then the PIT map of the floored PDFs
    (module docstring).

    Parameters
    ----------
    quantiles : array_like, shape (n, K)
        The raw PDFs of the validation sample, as quantiles.
    levels : array_like, shape (K,)
        Their levels.
    z_true : array_like, shape (n,)
        Their spectroscopic redshifts.
    z_min, z_max : float
        Redshift range of the PDFs.
    n_knots : int
        Knots of the PIT map (:func:`fit_pit_calibration`).
    outlier_floor : bool
        Fit the outlier fraction ``eps`` (else 0).
    outlier_shape : dict
        ``{"kind": "uniform" | "nz", "bin_width": float, "cells": int}`` (``calibration.outlier_shape``
        in the config): the outlier component uniform over [z_min, z_max], or shaped like the n(z) of
        ``z_true`` (histogram bins of ``bin_width``) in each of ``cells`` equal-count cells of the raw
        p(z) median (:func:`fit_outlier_shape`).
    local : dict
        ``{"cells": int, "n_knots": int}`` (``calibration.local`` in the config): with ``cells`` > 1,
        one PIT map of ``n_knots`` knots per equal-count cell of the raw p(z) width
        (:mod:`zshard.calibration.local`; 1: the global map only), with at least
        :data:`LOCAL_MIN_PER_CELL` objects per cell (fewer cells otherwise).
    weights : array_like, shape (n,), optional
        Weights of the validation objects.
    output_levels : array_like, optional
        Levels of the stored calibrated quantiles (None: ``levels``).

    Returns
    -------
    PitCalibration
        The outlier fraction and the PIT map.
    """
    widths = pdf_widths(check_quantiles(quantiles), check_levels(levels), z_min, z_max) \
        if int(local["cells"]) > 1 else None  # of the raw p(z), before any change of variable
    kind = outlier_shape["kind"]
    if kind not in ("uniform", "nz"):
        raise ValueError(f"outlier_shape kind must be 'uniform' or 'nz', got {kind!r}")
    shape = None
    if outlier_floor and kind == "nz":
        shape = fit_outlier_shape(quantiles, levels, z_true, z_min, z_max, weights, outlier_shape["bin_width"],
                                  outlier_shape["cells"])
    if shape is not None:  # fitted in t = U(z), where the outlier component is uniform on [0, 1]
        cells = shape.cells(medians(check_quantiles(quantiles), check_levels(levels), z_min, z_max))
        t_q, t_z = shape.forward(quantiles, cells), shape.forward(z_true, cells)
        eps = fit_outlier_fraction(t_q, levels, t_z, 0.0, 1.0, weights)
        if eps > 0.0:
            quantiles, z_true, z_min, z_max = t_q, t_z, 0.0, 1.0
        else:  # no outliers: nothing to shape
            shape = None
    if shape is None:
        eps = fit_outlier_fraction(quantiles, levels, z_true, z_min, z_max, weights) if outlier_floor else 0.0
    pit = mixture_cdf(quantiles, levels, z_true, eps, z_min, z_max)
    g = fit_pit_calibration(pit, n_knots=n_knots, weights=weights)
    local_maps = None
    ok = np.isfinite(widths) if widths is not None else np.zeros(0, dtype=bool)
    n_cells = min(int(local["cells"]), int(ok.sum()) // LOCAL_MIN_PER_CELL)
    if n_cells > 1:
        edges = np.quantile(widths[ok], np.linspace(0.0, 1.0, n_cells + 1)[1:-1])
        cells = np.searchsorted(edges, widths, side="right")
        maps = [fit_pit_calibration(pit[cells == c], n_knots=local["n_knots"],
                                    weights=None if weights is None else np.asarray(weights)[cells == c])
                for c in range(edges.size + 1)]
        local_maps = LocalMaps(edges, tuple(m.pit_knots for m in maps), tuple(m.level_knots for m in maps),
                               tuple(m.n_fit for m in maps))
    return PitCalibration(g.pit_knots, g.level_knots, g.n_fit, eps, output_levels, shape, local_maps)


def apply_calibration(
    quantiles: ArrayLike,
    levels: ArrayLike,
    calibration: PitCalibration,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    min_spacing: float = 1e-4,
    extrapolate_tails: bool = True,
    tail_eps: float = 1e-4,
) -> np.ndarray:
    """Recalibrate quantile PDFs: new quantile at level a is Q(G^{-1}(a)).

    Bordoloi, Lilly & Amara (2010): ``F'(z) = G(F(z))``.  Since ``F' = 0`` wherever
    ``F = 0``, the plain map cannot move probability outside the original support
    ``[z_lo, z_hi]``; for over-confident PDFs a fraction ``p0`` of the PIT values
    is exactly 0 (or 1) and the calibrated quantiles at levels below ``G(0+) ~ p0``
    would all pile up at ``z_lo``.  With ``extrapolate_tails`` (default) the
    levels whose ``G^{-1}(a)`` falls within ``tail_eps`` of 0 (or 1) -- the PIT
    range that carries no information on the distance to the support -- are
    instead extrapolated linearly (in level) from the two nearest unaffected
    calibrated quantiles, i.e. with the same linear-tail convention that
    :mod:`zshard.pdf.representation` uses beyond the outermost quantiles.  Levels with
    ``tail_eps <= G^{-1}(a) <= 1 - tail_eps`` are never affected, so a map without
    PIT pile-ups (e.g. the identity) gives exactly ``Q(G^{-1}(a))``.

    Parameters
    ----------
    quantiles : array_like, shape (n, K)
        Uncalibrated quantiles at ``levels``.
    levels : array_like, shape (K,)
    calibration : PitCalibration
    z_min, z_max : float
        Physical redshift range.
    min_spacing : float
        Passed to :func:`zshard.pdf.representation.sanitize_quantiles`, which is applied to the
        result (clips to [z_min, z_max]; a no-op for valid, well-spaced output).
    extrapolate_tails : bool
        See above.
    tail_eps : float
        PIT distance from 0 / 1 below which calibrated levels are extrapolated.

    Returns
    -------
    ndarray, shape (n, L)
        Recalibrated quantiles at ``calibration.levels_for(levels)`` (the input
        levels unless the calibration has ``output_levels``); float32 input stays
        float32.  NaN rows stay NaN.  With an outlier floor (``outlier_fraction``
        > 0) the quantiles are those of the floored mixture, exact, and the tail
        extrapolation is not needed: no PIT is exactly 0 or 1.
    """
    q = check_quantiles(quantiles)
    a_in = check_levels(levels, q.shape[1])
    if calibration.local_maps is not None:
        return _apply_local(q, a_in, calibration, z_min, z_max, min_spacing, extrapolate_tails, tail_eps)
    if calibration.outlier_shape is not None:
        return _apply_shaped(q, a_in, calibration, z_min, z_max, min_spacing)
    a = calibration.levels_for(a_in)
    p = np.clip(calibration.inverse(a), 0.0, 1.0)
    eps = float(calibration.outlier_fraction)
    z_min, z_max = _check_range(z_min, z_max)
    lower = upper = None
    if extrapolate_tails and eps == 0.0:
        ok = np.flatnonzero((p >= tail_eps) & (p <= 1.0 - tail_eps))
        if ok.size >= 2:
            i0, i1 = ok[0], ok[1]
            if i0 > 0:
                lower = (i0, i1, a[i0] - a[:i0])
            j0, j1 = ok[-1], ok[-2]
            if j0 < a.size - 1:
                upper = (j0, j1, a[j0 + 1:] - a[j0])
    # mixture_ppf, the tails and sanitize_quantiles block by block on level-major arrays (the same
    # operations, element by element, as on the (n, L) arrays: the same bits), without the (n, L)
    # float64 intermediate and its second transposition
    dtype = float_dtype(q)
    spacing = np.full(a.size - 1, float(min_spacing))
    ppf = _MixturePpf(a_in, p, eps, z_min, z_max)
    out = np.empty((q.shape[0], a.size), dtype=dtype)
    for block in blocks(q.shape[0]):
        zk, _, bad = knots_level_major(q[block], a_in, z_min, z_max, KNOT_MIN_SPACING)
        res = ppf(zk)
        if bad.any():
            res[:, bad] = np.nan
        if lower is not None:
            i0, i1, da = lower
            slope = (res[i1] - res[i0]) / (a[i1] - a[i0])
            for lev in range(i0):
                np.subtract(res[i0], slope * da[lev], out=res[lev])
        if upper is not None:
            j0, j1, da = upper
            slope = (res[j0] - res[j1]) / (a[j0] - a[j1])
            for lev in range(j0 + 1, a.size):
                np.add(res[j0], slope * da[lev - j0 - 1], out=res[lev])
        x = res.astype(dtype, copy=False)
        levelmajor.repair(x, z_min, z_max, spacing)
        out[block] = x.T
    return out


def _apply_local(q: np.ndarray, levels: np.ndarray, calibration: PitCalibration, z_min: float, z_max: float,
                 min_spacing: float, extrapolate_tails: bool, tail_eps: float) -> np.ndarray:
    """:func:`apply_calibration` with one PIT map per cell of the raw p(z) width: each cell's objects
    with its map (the outlier component is the same for all)."""
    local = calibration.local_maps
    cells = local.cells(pdf_widths(q, levels, z_min, z_max))
    out = np.empty((q.shape[0], calibration.levels_for(levels).size), dtype=float_dtype(q))
    for c in range(len(local.n_fit)):
        rows = cells == c
        if rows.any():
            cell = PitCalibration(local.pit_knots[c], local.level_knots[c], local.n_fit[c],
                                  calibration.outlier_fraction, calibration.output_levels, calibration.outlier_shape)
            out[rows] = apply_calibration(q[rows], levels, cell, z_min, z_max, min_spacing, extrapolate_tails,
                                          tail_eps)
    return out


def _apply_shaped(q: np.ndarray, levels: np.ndarray, calibration: PitCalibration, z_min: float, z_max: float,
                  min_spacing: float) -> np.ndarray:
    """:func:`apply_calibration` with an n(z)-shaped outlier component: the same steps in ``t = U(z)``
    (where the component is uniform on [0, 1]), the quantiles mapped back and repaired in z."""
    shape = calibration.outlier_shape
    z_min, z_max = _check_range(z_min, z_max)
    if not (np.isclose(shape.z_min, z_min) and np.isclose(shape.z_max, z_max)):
        raise ValueError(f"the calibration's outlier shape spans [{shape.z_min}, {shape.z_max}], "
                         f"the p(z) [{z_min}, {z_max}]")
    inner = PitCalibration(calibration.pit_knots, calibration.level_knots, calibration.n_fit,
                           calibration.outlier_fraction, calibration.output_levels)
    cells = shape.cells(medians(q, levels, z_min, z_max))
    # in t the spacing only has to keep the knots ordered; it is enforced in z afterwards
    t = apply_calibration(shape.forward(q, cells), levels, inner, 0.0, 1.0, min_spacing=_KNOT_EPS)
    dtype = float_dtype(q)
    spacing = np.full(t.shape[1] - 1, float(min_spacing))
    out = np.empty(t.shape, dtype=dtype)
    for block in blocks(t.shape[0]):
        x = np.ascontiguousarray(shape.inverse(t[block], cells[block]).T, dtype=dtype)
        levelmajor.repair(x, z_min, z_max, spacing)
        out[block] = x.T
    return out


def save_calibration(
    path: str | os.PathLike[str],
    calibration: PitCalibration,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write a calibration as JSON, atomically (:func:`zshard.io.atomic.write_json`).

    The file holds ``{"calibration": calibration.to_dict(), "extra": extra}``;
    numpy scalars and arrays in ``extra`` are converted to plain Python, NaN to null.
    """
    write_json(path, {"calibration": calibration.to_dict(), "extra": dict(extra or {})})


def load_calibration(path: str | os.PathLike[str]) -> PitCalibration:
    """Read a calibration written by :func:`save_calibration`.

    Also accepts a bare :meth:`PitCalibration.to_dict` JSON object.  The ``extra``
    block is not returned; read it with ``json.load(open(path))["extra"]``.
    """
    with open(path, encoding="utf-8") as fh:
        d = json.load(fh)
    if "calibration" in d:
        d = d["calibration"]
    return PitCalibration.from_dict(d)
