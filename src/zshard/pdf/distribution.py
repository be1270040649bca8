"""The CDF, its inverse (PPF) and the density of quantile p(z), from the knots of
:mod:`zshard.pdf.representation` (piecewise-linear CDF, piecewise-constant density)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from zshard.pdf.representation import (
    DEFAULT_Z_MAX,
    DEFAULT_Z_MIN,
    check_quantiles,
    float_dtype,
    knots_with_invalid_rows,
)

__all__ = [
    "cdf",
    "ppf",
    "density",
    # building blocks, shared with the other zshard.pdf modules, zshard.metrics and zshard.calibration
    "cdf_from_knots",
    "ppf_from_knots",
]

# Target number of float64 elements per chunk in the (n, m) grid evaluations.
_CHUNK_ELEMENTS: int = 2_000_000


def cdf_from_knots(
    zk: np.ndarray, ck: np.ndarray, z: np.ndarray, idx: np.ndarray
) -> np.ndarray:
    """CDF at ``z`` (2-D, one row per object) of the piecewise-linear CDFs with knots ``zk``
    (n, K + 2) at levels ``ck``, given ``idx`` = number of knots <= z (same shape as z)."""
    nk = zk.shape[1]
    j = np.clip(idx - 1, 0, nk - 2)
    x0 = np.take_along_axis(zk, j, axis=1)
    x1 = np.take_along_axis(zk, j + 1, axis=1)
    c0 = ck[j]
    c1 = ck[j + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = c0 + (c1 - c0) * ((z - x0) / (x1 - x0))
    f[idx <= 0] = 0.0
    f[idx >= nk] = 1.0
    np.clip(f, 0.0, 1.0, out=f)
    return f


def _cdf_grid(zk: np.ndarray, ck: np.ndarray, grid_sorted: np.ndarray) -> np.ndarray:
    """CDF of every row of ``zk`` at a common sorted grid -> (n, m).

    The segment index of every (object, grid point) pair is obtained without a
    per-row searchsorted: one searchsorted of all knots into the grid, a
    ``bincount`` of those positions per row and a cumulative sum along the grid.
    Within segment j the CDF is ``c_j + s_j * (z - x_j)``.
    """
    n, nk = zk.shape
    nseg = nk - 1
    m = grid_sorted.size
    out = np.empty((n, m), dtype=np.float64)
    chunk = max(1, _CHUNK_ELEMENTS // max(m, nk))
    # segment nseg (beyond z_hi) has slope 0 and value 1; "segment -1" (below
    # z_lo) is mapped to segment 0 whose line is 0 at z_lo and clipped below.
    for s in range(0, n, chunk):
        zc = zk[s : s + chunk]
        nc = zc.shape[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.diff(ck) / np.diff(zc, axis=1)  # (nc, nseg)
        lines = np.empty((nc, nseg + 1, 3))  # (c_j, s_j, x_j) per segment
        lines[:, :nseg, 0] = ck[:-1]
        lines[:, :nseg, 1] = slope
        lines[:, :nseg, 2] = zc[:, :-1]
        lines[:, nseg, 0] = 1.0
        lines[:, nseg, 1] = 0.0
        lines[:, nseg, 2] = 0.0
        # knot j counts for all grid points g >= first index with grid[g] >= x_j
        pos = np.searchsorted(grid_sorted, zc, side="left")
        rows = np.arange(nc, dtype=np.int64)[:, None]
        cnt = np.bincount((rows * (m + 1) + pos).ravel(), minlength=nc * (m + 1))
        idx = np.cumsum(cnt.reshape(nc, m + 1)[:, :m], axis=1)
        np.subtract(idx, 1, out=idx)
        np.clip(idx, 0, nseg, out=idx)
        idx += rows * (nseg + 1)
        flat = lines.reshape(-1, 3)[idx.ravel()]
        f = flat[:, 0] + flat[:, 1] * (np.tile(grid_sorted, nc) - flat[:, 2])
        np.clip(f, 0.0, 1.0, out=f)
        out[s : s + nc] = f.reshape(nc, m)
    return out


def cdf(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    grid: bool = False,
) -> np.ndarray:
    """Cumulative distribution function of each object's PDF.

    Parameters
    ----------
    quantiles : array_like, shape (n, K)
    levels : array_like, shape (K,)
    z : array_like
        ``grid=False``: shape (n,), one redshift per object (with ``z = z_true``
        this is the probability integral transform, PIT).
        ``grid=True``: shape (m,), a common grid (any order) evaluated for every
        object.
    z_min, z_max : float
        Physical redshift range.
    grid : bool
        See ``z``.

    Returns
    -------
    ndarray, float64
        Shape (n,) or (n, m); values in [0, 1] (0 below ``z_lo``, 1 at or above
        ``z_hi``).  NaN for rows without a valid PDF or non-finite ``z``.
    """
    zk, ck, bad = knots_with_invalid_rows(quantiles, levels, z_min, z_max)
    n = zk.shape[0]
    zz = np.asarray(z, dtype=np.float64)
    if zz.ndim != 1:
        raise ValueError(f"z must be 1-D, got shape {zz.shape}")
    if grid:
        if np.all(np.isfinite(zz)) and np.all(zz[1:] >= zz[:-1]):
            out = _cdf_grid(zk, ck, zz)
            out[bad] = np.nan
            return out
        order = np.argsort(zz, kind="stable")
        zs = zz[order]
        finite = np.isfinite(zs)
        out_s = np.full((n, zs.size), np.nan)
        if finite.any():
            out_s[:, finite] = _cdf_grid(zk, ck, zs[finite])
        out = np.empty_like(out_s)
        out[:, order] = out_s
        out[bad] = np.nan
        return out
    if zz.shape[0] != n:
        raise ValueError(f"z has {zz.shape[0]} entries for {n} objects (use grid=True for a grid)")
    zc = zz[:, None]
    idx = (zc >= zk).sum(axis=1, dtype=np.int64)[:, None]
    out = cdf_from_knots(zk, ck, zc, idx)[:, 0]
    out[bad | ~np.isfinite(zz)] = np.nan
    return out


def ppf(
    quantiles: ArrayLike,
    levels: ArrayLike,
    new_levels: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
) -> np.ndarray:
    """Inverse CDF (percent-point function) at arbitrary levels.

    Linear interpolation of the same knots as :func:`cdf`, so
    ``cdf(ppf(a)) == a`` up to rounding.  Because the CDF levels are common to all
    objects this costs O(n * len(new_levels)).

    Parameters
    ----------
    quantiles : array_like, shape (n, K)
    levels : array_like, shape (K,)
    new_levels : array_like, shape (L,)
        Probability levels in [0, 1] (0 gives ``z_lo``, 1 gives ``z_hi``).
    z_min, z_max : float

    Returns
    -------
    ndarray, shape (n, L)
        Redshifts; float32 input quantiles give float32, otherwise float64.
    """
    q = check_quantiles(quantiles)
    zk, ck, _ = knots_with_invalid_rows(q, levels, z_min, z_max)
    a = np.atleast_1d(np.asarray(new_levels, dtype=np.float64))
    if a.ndim != 1:
        raise ValueError("new_levels must be 1-D")
    if not np.all(np.isfinite(a)) or np.any(a < 0.0) or np.any(a > 1.0):
        raise ValueError("new_levels must lie in [0, 1]")
    return ppf_from_knots(zk, ck, a).astype(float_dtype(q), copy=False)


def ppf_from_knots(zk: np.ndarray, ck: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Inverse CDF at levels ``a`` (L,) of the piecewise-linear CDFs with knots ``zk`` (n, K + 2)
    at levels ``ck`` (:func:`zshard.pdf.representation.knots`) -> (n, L)."""
    j = np.clip(np.searchsorted(ck, a, side="right") - 1, 0, ck.size - 2)
    w = (a - ck[j]) / (ck[j + 1] - ck[j])
    x0 = zk[:, j]
    return x0 + (zk[:, j + 1] - x0) * w


def density(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
) -> np.ndarray:
    """Value of the piecewise-constant density p(z) at one redshift per object.

    Parameters
    ----------
    quantiles : array_like, shape (n, K)
    levels : array_like, shape (K,)
    z : array_like, shape (n,)
    z_min, z_max : float

    Returns
    -------
    ndarray, shape (n,), float64
        ``(a_{j+1} - a_j) / (x_{j+1} - x_j)`` for the segment ``[x_j, x_{j+1})``
        containing ``z`` (the last segment is closed at ``z_hi``); 0 outside the
        support; NaN for invalid rows or non-finite ``z``.  Units: 1 / redshift.
    """
    zk, ck, bad = knots_with_invalid_rows(quantiles, levels, z_min, z_max)
    n, nk = zk.shape
    zz = np.asarray(z, dtype=np.float64)
    if zz.shape != (n,):
        raise ValueError(f"z must have shape ({n},), got {zz.shape}")
    idx = (zz[:, None] >= zk).sum(axis=1, dtype=np.int64)
    j = np.clip(idx - 1, 0, nk - 2)
    rows = np.arange(n)
    x0 = zk[rows, j]
    x1 = zk[rows, j + 1]
    dens = (ck[j + 1] - ck[j]) / (x1 - x0)
    inside = (idx >= 1) & ((idx < nk) | (zz == zk[:, -1]))
    dens = np.where(inside, dens, 0.0)
    dens[bad | ~np.isfinite(zz)] = np.nan
    return dens
