"""Redshift PDFs p(z) stored as quantiles.

Representation
--------------
A p(z) per object is stored as ``K`` quantiles ``quantiles[i, k] = Q_i(levels[k])``
at fixed, strictly increasing probability levels ``levels`` in (0, 1).  The
cumulative distribution function (CDF) is the piecewise-linear function through
the augmented knots::

    (z_lo, 0), (q_1, a_1), ..., (q_K, a_K), (z_hi, 1)

where the tails are extended linearly with the slope of the first / last
segment::

    z_lo = q_1 - (q_2 - q_1) * a_1 / (a_2 - a_1)
    z_hi = q_K + (q_K - q_{K-1}) * (1 - a_K) / (a_K - a_{K-1})

both clipped to the physical range ``[z_min, z_max]``.  The density is therefore
piecewise constant between knots, which makes moments, the CDE loss and the CRPS
exactly computable.  Redshifts are dimensionless throughout.

Everything here is vectorised over objects: the cost is O(n * K) (or O(n * m) for
an ``m``-point grid) and no Python loop runs over objects; loops over the ``K + 1``
segments are used where convenient (K is at most ~50).  Internally all arithmetic is
done in float64.

Rows that contain a NaN quantile are treated as "no PDF": every output for them is
NaN (``stack`` skips them).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_Z_MIN",
    "DEFAULT_Z_MAX",
    "KNOT_MIN_SPACING",
    "sanitize_quantiles",
    "knots",
    "cdf",
    "ppf",
    "bin_probabilities",
    "density",
    "summaries",
    "stack",
    "to_qp",
    # building blocks, shared with zshard.metrics and zshard.calibration
    "check_levels",
    "check_quantiles",
    "float_dtype",
    "enforce_spacing",
    "knots_with_invalid_rows",
    "cdf_from_knots",
    "ppf_from_knots",
]

DEFAULT_Z_MIN: float = 0.0
DEFAULT_Z_MAX: float = 3.0
#: Minimum separation enforced between consecutive CDF knots by :func:`knots`
#: (only matters when a tail knot collides with a quantile piled up at a bound).
KNOT_MIN_SPACING: float = 1e-6

# Target number of float64 elements per chunk in the (n, m) grid evaluations.
_CHUNK_ELEMENTS: int = 2_000_000


# ----------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------
def check_levels(levels: ArrayLike, k: int | None = None) -> NDArray[np.float64]:
    """Probability levels as float64, checked: 1-D, strictly increasing inside (0, 1), and ``k``
    of them when ``k`` is given."""
    a = np.asarray(levels, dtype=np.float64)
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"levels must be a 1-D array with at least 2 entries, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or a[0] <= 0.0 or a[-1] >= 1.0:
        raise ValueError("levels must lie strictly inside (0, 1)")
    if np.any(np.diff(a) <= 0.0):
        raise ValueError("levels must be strictly increasing")
    if k is not None and a.size != k:
        raise ValueError(f"quantiles have {k} columns but there are {a.size} levels")
    return a


def _check_range(z_min: float, z_max: float) -> tuple[float, float]:
    z_min = float(z_min)
    z_max = float(z_max)
    if not (np.isfinite(z_min) and np.isfinite(z_max) and z_max > z_min):
        raise ValueError(f"need finite z_min < z_max, got z_min={z_min}, z_max={z_max}")
    return z_min, z_max


def check_quantiles(quantiles: ArrayLike) -> np.ndarray:
    """Quantiles as an array, checked: shape (n, K) with K >= 2 (the dtype is kept)."""
    q = np.asarray(quantiles)
    if q.ndim != 2:
        raise ValueError(f"quantiles must have shape (n, K), got shape {q.shape}")
    if q.shape[1] < 2:
        raise ValueError("need at least 2 quantiles per object")
    return q


def float_dtype(q: np.ndarray) -> np.dtype:
    """Floating dtype to return for quantile-like outputs (float32 stays float32)."""
    return q.dtype if q.dtype in (np.float32, np.float64) else np.dtype(np.float64)


def enforce_spacing(x: np.ndarray, lo: float, hi: float, spacing: float | np.ndarray) -> np.ndarray:
    """Minimal monotone repair of sorted rows.

    Returns ``y`` with ``lo <= y[:, 0]``, ``y[:, -1] <= hi`` and
    ``y[:, k] - y[:, k-1] >= spacing``, obtained by pushing values up (forward
    pass, ``y_k = max(x_k, y_{k-1} + s)``) and then down from the upper bound
    (backward pass, ``y_k = min(y_k, y_{k+1} - s)``, ``y_{M-1} <= hi``).  Values
    piled up at ``lo`` are spread upwards, values piled up at ``hi`` downwards,
    each by ``spacing``.  ``spacing`` is a scalar or one value per gap (m−1,).
    ``x`` must already be sorted and clipped to [lo, hi]. NaNs propagate along the row.
    """
    m = x.shape[1]
    gaps = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (m - 1,))
    ks = np.concatenate([[0.0], np.cumsum(gaps)])
    if (hi - lo) < ks[-1]:
        raise ValueError(
            f"cannot fit {m} values with spacing {spacing} into [{lo}, {hi}]"
        )
    y = np.maximum.accumulate(x - ks, axis=1)
    y += ks
    # backward pass: y_k = min_{j>=k}(y_j - (j - k) s) = min_{j>=k}(y_j - j s) + k s
    y -= ks
    y = np.minimum.accumulate(y[:, ::-1], axis=1)[:, ::-1]
    y += ks
    np.minimum(y, hi - (ks[-1] - ks), out=y)
    return y


def _sort_rows_inplace(x: np.ndarray) -> None:
    """Sort rows of ``x`` in place (only the rows that are not sorted already)."""
    unsorted = (x[:, 1:] < x[:, :-1]).any(axis=1)
    unsorted |= np.isnan(x[:, :-1]).any(axis=1)  # NaN must be moved to the end
    if unsorted.any():
        x[unsorted] = np.sort(x[unsorted], axis=1)


def _repair_rows_inplace(x: np.ndarray, lo: float, hi: float, spacing: float | np.ndarray) -> None:
    """Apply :func:`enforce_spacing` to the rows that violate the spacing."""
    need = (np.diff(x, axis=1) < spacing).any(axis=1)
    if need.any():
        x[need] = enforce_spacing(x[need], lo, hi, spacing)


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
def sanitize_quantiles(
    quantiles: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    min_spacing: float = 1e-4,
    levels: ArrayLike | None = None,
    max_density: float | None = None,
) -> np.ndarray:
    """Make raw predicted quantiles a valid quantile PDF.

    1. sort along axis 1 (repairs quantile crossing, e.g. from quantile
       regression; equivalent to monotone rearrangement, Chernozhukov,
       Fernandez-Val & Galichon 2010, Econometrica 78, 1093);
    2. clip to ``[z_min, z_max]`` (mass predicted outside the physical range
       piles up at the bound);
    3. enforce strictly increasing values with consecutive differences
       ``>= min_spacing``: values piled at ``z_min`` are spread upwards
       (``z_min, z_min + s, z_min + 2 s, ...``), values piled at ``z_max``
       downwards, so the result never leaves ``[z_min, z_max]``.  Rows that
       already satisfy the constraints are returned unchanged.

    Parameters
    ----------
    quantiles : array_like, shape (n, K)
        Redshift quantiles (dimensionless).
    z_min, z_max : float
        Physical redshift range.
    min_spacing : float
        Minimum difference between consecutive quantiles (redshift units).
    levels, max_density : optional
        With both given, the gap between quantiles at levels a_k and a_{k+1} is at least
        (a_{k+1} − a_k) / max_density, i.e. the piecewise-constant density never exceeds
        ``max_density`` (per unit z). Independent quantile regressions cross and, once sorted,
        leave near-coincident quantiles whose spikes dominate ∫p² (the CDE loss) without
        meaning anything; a ceiling of ~50 (a Gaussian of σ ≈ 0.008) removes them.

    Returns
    -------
    ndarray, shape (n, K)
        Same floating dtype as the input (float32 or float64; other dtypes give
        float64).  Rows containing a NaN become all-NaN; +/-inf are clipped.
    """
    q = check_quantiles(quantiles)
    z_min, z_max = _check_range(z_min, z_max)
    out_dtype = float_dtype(q)
    x = q.astype(np.float64, copy=True)
    _sort_rows_inplace(x)  # NaN sorts last
    np.clip(x, z_min, z_max, out=x)
    bad = np.isnan(x[:, -1])
    spacing: float | np.ndarray = float(min_spacing)
    if levels is not None and max_density is not None:
        a = check_levels(levels, x.shape[1])
        spacing = np.maximum(spacing, np.diff(a) / float(max_density))
    _repair_rows_inplace(x, z_min, z_max, spacing)
    if bad.any():
        x[bad] = np.nan
    return x.astype(out_dtype, copy=False)


def knots_with_invalid_rows(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_min: float,
    z_max: float,
    min_spacing: float = KNOT_MIN_SPACING,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`knots` plus a boolean mask of the rows without a valid PDF (a NaN quantile; their
    knots are NaN)."""
    q = check_quantiles(quantiles)
    n, k = q.shape
    a = check_levels(levels, k)
    z_min, z_max = _check_range(z_min, z_max)
    zk = np.empty((n, k + 2), dtype=np.float64)
    qs = zk[:, 1:-1]
    qs[...] = q
    _sort_rows_inplace(qs)
    np.clip(qs, z_min, z_max, out=qs)
    zk[:, 0] = qs[:, 0] - (qs[:, 1] - qs[:, 0]) * (a[0] / (a[1] - a[0]))
    zk[:, -1] = qs[:, -1] + (qs[:, -1] - qs[:, -2]) * ((1.0 - a[-1]) / (a[-1] - a[-2]))
    np.clip(zk[:, 0], z_min, z_max, out=zk[:, 0])
    np.clip(zk[:, -1], z_min, z_max, out=zk[:, -1])
    bad = np.isnan(zk[:, -2])
    _repair_rows_inplace(zk, z_min, z_max, float(min_spacing))
    if bad.any():
        zk[bad] = np.nan
    ck = np.concatenate(([0.0], a, [1.0]))
    return zk, ck, bad


def knots(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
) -> tuple[np.ndarray, np.ndarray]:
    """Augmented piecewise-linear CDF knots of quantile PDFs.

    Parameters
    ----------
    quantiles : array_like, shape (n, K)
        Quantiles at ``levels`` (sorted and clipped to [z_min, z_max] here if
        they are not already).
    levels : array_like, shape (K,)
        Strictly increasing probability levels in (0, 1).
    z_min, z_max : float
        Physical redshift range; the extrapolated tail knots are clipped to it.

    Returns
    -------
    z_knots : ndarray, shape (n, K + 2), float64
        ``[z_lo, q_1, ..., q_K, z_hi]`` per object, strictly increasing and inside
        ``[z_min, z_max]``.  When a clipped tail knot coincides with a quantile
        piled up at the bound, the knots are separated by ``KNOT_MIN_SPACING``
        (1e-6) moving inwards, so the interior quantile moves by at most
        ``(K + 1) * 1e-6``.  NaN rows stay NaN.
    cdf_knots : ndarray, shape (K + 2,), float64
        ``[0, a_1, ..., a_K, 1]``.
    """
    zk, ck, _ = knots_with_invalid_rows(quantiles, levels, z_min, z_max)
    return zk, ck


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
    at levels ``ck`` (:func:`knots`) -> (n, L)."""
    j = np.clip(np.searchsorted(ck, a, side="right") - 1, 0, ck.size - 2)
    w = (a - ck[j]) / (ck[j + 1] - ck[j])
    x0 = zk[:, j]
    return x0 + (zk[:, j + 1] - x0) * w


def bin_probabilities(
    quantiles: ArrayLike,
    levels: ArrayLike,
    grid_edges: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
) -> np.ndarray:
    """Probability mass of each object's PDF in each bin of a redshift grid.

    Parameters
    ----------
    quantiles : array_like, shape (n, K)
    levels : array_like, shape (K,)
    grid_edges : array_like, shape (m,)
        Strictly increasing bin edges.
    z_min, z_max : float

    Returns
    -------
    ndarray, shape (n, m - 1), float64
        ``F(edge[b + 1]) - F(edge[b])``; rows sum to 1 when the edges cover
        ``[z_min, z_max]`` (the PDF support is always inside that range).
    """
    e = np.asarray(grid_edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise ValueError("grid_edges must be a finite, strictly increasing 1-D array of >= 2 edges")
    f = cdf(quantiles, levels, e, z_min, z_max, grid=True)
    return np.diff(f, axis=1)


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


def summaries(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
) -> dict[str, np.ndarray]:
    """Point summaries of each PDF (all exact for the piecewise-constant density).

    Parameters
    ----------
    quantiles : array_like, shape (n, K)
    levels : array_like, shape (K,)
    z_min, z_max : float

    Returns
    -------
    dict of ndarray, each shape (n,), float64
        ``z_median`` (ppf at 0.5), ``z_mean`` (sum_j dA_j (x_j + x_{j+1}) / 2),
        ``z_mode`` (centre of the segment with the highest density; first one on
        ties), ``z_sigma`` (exact standard deviation), ``z_lo68`` / ``z_hi68``
        (ppf at 0.16 / 0.84).
    """
    zk, ck, bad = knots_with_invalid_rows(quantiles, levels, z_min, z_max)
    n, nk = zk.shape
    q3 = ppf_from_knots(zk, ck, np.array([0.16, 0.5, 0.84]))
    med = q3[:, 1]
    x = zk - med[:, None]  # shift for numerical stability of the variance
    x0 = x[:, :-1]
    x1 = x[:, 1:]
    dc = np.diff(ck)
    mean_s = (dc * (x0 + x1)).sum(axis=1) * 0.5
    m2_s = (dc * (x0 * x0 + x0 * x1 + x1 * x1)).sum(axis=1) / 3.0
    var = np.maximum(m2_s - mean_s * mean_s, 0.0)
    width = np.diff(zk, axis=1)
    dens = dc / width
    jm = np.argmax(np.where(np.isnan(dens), -np.inf, dens), axis=1)
    rows = np.arange(n)
    mode = 0.5 * (zk[rows, jm] + zk[rows, jm + 1])
    out = {
        "z_median": med,
        "z_mean": mean_s + med,
        "z_mode": mode,
        "z_sigma": np.sqrt(var),
        "z_lo68": q3[:, 0],
        "z_hi68": q3[:, 2],
    }
    if bad.any():
        for v in out.values():
            v[bad] = np.nan
    return out


def stack(
    quantiles: ArrayLike,
    levels: ArrayLike,
    grid_edges: ArrayLike,
    weights: ArrayLike | None = None,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    chunk_size: int = 200_000,
) -> np.ndarray:
    """Stacked (summed) probability per redshift bin.

    Returns ``sum_i w_i * bin_probabilities(q_i)`` without forming the (n, m)
    matrix: each piecewise-linear CDF is a sum of ramps,
    ``F_i(z) = sum_j d_ij * max(z - x_ij, 0)`` with ``d_ij`` the change of slope
    (density) at knot ``x_ij``, so the stacked CDF at the edges follows from
    per-bin sums of ``d`` and ``d * (e_{g} - x)`` (``np.bincount``) and a
    cumulative sum over bins.  Cost O(n K log m) time, O(chunk_size * K) memory,
    exact up to rounding.

    Parameters
    ----------
    quantiles : array_like, shape (n, K)
    levels : array_like, shape (K,)
    grid_edges : array_like, shape (m,)
        Strictly increasing bin edges.
    weights : array_like, shape (n,), optional
        Per-object weights (default 1).  Objects with invalid PDFs or
        non-finite weights are skipped.
    z_min, z_max : float
    chunk_size : int
        Objects processed at a time.

    Returns
    -------
    ndarray, shape (m - 1,), float64
        Summed probability per bin (not normalised: with unit weights and edges
        covering [z_min, z_max] it sums to the number of valid objects).
    """
    q = check_quantiles(quantiles)
    n = q.shape[0]
    e = np.asarray(grid_edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise ValueError("grid_edges must be a finite, strictly increasing 1-D array of >= 2 edges")
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"weights must have shape ({n},), got {w.shape}")
    m = e.size
    # per cell g (cell g = [e_{g-1}, e_g), cell 0 = below e_0, cell m = at/above e_{m-1}):
    d_sum = np.zeros(m + 1)  # sum of slope changes of knots in the cell
    r_sum = np.zeros(m + 1)  # sum of d * (e_g - x) for knots in cell g (g < m)
    e_right = np.append(e, e[-1])  # right edge of each cell (cell m is unused)
    chunk_size = max(1, int(chunk_size))
    for s in range(0, n, chunk_size):
        zk, ck, bad = knots_with_invalid_rows(q[s : s + chunk_size], levels, z_min, z_max)
        good = ~bad
        wc = None
        if w is not None:
            wc = w[s : s + chunk_size]
            good &= np.isfinite(wc)
            wc = wc[good]
        zk = zk[good]
        slope = np.diff(ck) / np.diff(zk, axis=1)  # (nc, K + 1) densities
        d = np.empty_like(zk)
        d[:, 0] = slope[:, 0]
        d[:, 1:-1] = np.diff(slope, axis=1)
        d[:, -1] = -slope[:, -1]
        if wc is not None:
            d *= wc[:, None]
        cell = np.searchsorted(e, zk, side="right")
        d_sum += np.bincount(cell.ravel(), weights=d.ravel(), minlength=m + 1)
        r_sum += np.bincount(cell.ravel(), weights=(d * (e_right[cell] - zk)).ravel(), minlength=m + 1)
    # S(e_g) = S(e_{g-1}) + D(<e_{g-1}) * (e_g - e_{g-1}) + r_sum[g]
    d_cum = np.cumsum(d_sum[:m])  # D(< e_g) for g = 0..m-1
    inc = np.empty(m)
    inc[0] = r_sum[0]
    inc[1:] = d_cum[:-1] * np.diff(e) + r_sum[1:m]
    s_cdf = np.cumsum(inc)
    return np.maximum(np.diff(s_cdf), 0.0)  # remove -1e-13-level rounding noise


def to_qp(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    representation: str = "hist",
    grid_step: float = 0.001,
):
    """The PDFs as a ``qp.Ensemble`` (qp-prob), for RAIL users.

    ``representation="hist"`` (default): ``qp.hist`` on a common grid of step ``grid_step``
    over ``[z_min, z_max]`` whose bin probabilities are this module's exact
    :func:`bin_probabilities`, so qp's CDF equals :func:`cdf` at every grid edge (and is linear
    in between, as ours is within a segment).  ``representation="quant"``: ``qp.quant`` with the
    augmented knots (levels ``[0, a_1, .., a_K, 1]`` at ``[z_lo, q_1, .., q_K, z_hi]``) -- compact
    and with the same quantiles, but qp interpolates them quadratically, so its CDF between the
    knots differs slightly from ours.  Needs ``qp-prob``, which zshard does not depend on at run
    time.  Rows without a valid PDF cannot be represented: drop them first.
    """
    try:
        import qp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_qp needs the qp package: pip install qp-prob") from exc
    zk, ck, bad = knots_with_invalid_rows(quantiles, levels, z_min, z_max)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} rows have no valid PDF (NaN quantiles); drop them before to_qp")
    if representation == "quant":
        return qp.Ensemble(qp.quant, data={"quants": ck, "locs": zk, "ensure_extent": False})
    if representation != "hist":
        raise ValueError(f"representation must be 'hist' or 'quant', got {representation!r}")
    n_bins = max(1, int(round((z_max - z_min) / grid_step)))
    edges = np.linspace(z_min, z_max, n_bins + 1)
    mass = bin_probabilities(quantiles, levels, edges, z_min, z_max)
    return qp.Ensemble(qp.hist, data={"bins": edges, "pdfs": mass / np.diff(edges)})
