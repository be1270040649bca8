"""The quantile representation of a p(z): levels, quantiles, their repair and the CDF knots.

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

Everything in :mod:`zshard.pdf` is vectorised over objects: the cost is O(n * K) (or O(n * m) for
an ``m``-point grid) and no Python loop runs over objects; loops over the ``K + 1``
segments are used where convenient (K is at most ~50).  Internally all arithmetic is
done in float64.

Rows that contain a NaN quantile are treated as "no PDF": every output for them is
NaN (:func:`zshard.pdf.binned.stack` skips them).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zshard.pdf import levelmajor

__all__ = [
    "DEFAULT_Z_MIN",
    "DEFAULT_Z_MAX",
    "KNOT_MIN_SPACING",
    "sanitize_quantiles",
    "knots",
    # building blocks, shared with the other zshard.pdf modules, zshard.metrics and zshard.calibration
    "check_levels",
    "check_quantiles",
    "float_dtype",
    "enforce_spacing",
    "knots_with_invalid_rows",
]

DEFAULT_Z_MIN: float = 0.0
DEFAULT_Z_MAX: float = 3.0
#: Minimum separation enforced between consecutive CDF knots by :func:`knots`
#: (only matters when a tail knot collides with a quantile piled up at a bound).
KNOT_MIN_SPACING: float = 1e-6


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


# ----------------------------------------------------------------------------
# repaired quantiles and the CDF knots
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
    spacing = np.full(q.shape[1] - 1, float(min_spacing))
    if levels is not None and max_density is not None:
        a = check_levels(levels, q.shape[1])
        spacing = np.maximum(spacing, np.diff(a) / float(max_density))
    # level major, block by block, in the output dtype (zshard.pdf.levelmajor): float32 stays float32
    out = np.empty(q.shape, dtype=out_dtype)
    for block in levelmajor.blocks(q.shape[0]):
        x = levelmajor.level_major(q[block], out_dtype)
        levelmajor.repair(x, z_min, z_max, spacing)
        out[block] = x.T
    return out


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
    a = check_levels(levels, q.shape[1])
    z_min, z_max = _check_range(z_min, z_max)
    n, k = q.shape
    zk = np.empty((n, k + 2))
    bad = np.empty(n, dtype=bool)
    ck = np.concatenate(([0.0], a, [1.0]))
    for block in levelmajor.blocks(n):
        zk_block, _, bad[block] = levelmajor.knots(q[block], a, z_min, z_max, min_spacing)
        zk[block] = zk_block.T
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
