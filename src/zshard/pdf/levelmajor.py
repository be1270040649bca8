"""Level-major kernels: quantile PDFs stored as a (K, n) array, one contiguous row per level.

The per-object operations of :mod:`zshard.pdf` (sorting a row, repairing its spacing, building its
CDF knots, looking up a segment) run over ``K`` ~ 15–20 values per object. With the usual (n, K)
layout every numpy call works along the short axis (``axis=1`` reductions, ``np.sort`` of tiny
rows, (n, K, L) temporaries), which costs 10–50 ns per object and call. Transposed, the same
operations are loops over the ``K`` levels of vectorised calls on contiguous arrays of ``n``
values (~0.3 ns per value in float32, ~1 ns in float64): O(n · K) work with O(n) temporaries.

The arrays of a shard (n ~ 10^6) do not fit in the caches, and a kernel makes ~100 passes over
them, so callers run the kernels block by block (:func:`blocks`, ~16k objects: a (19, 16384)
float64 block is 2.5 MB), transposing each block of their (n, K) input on the way in and out.

The kernels here compute exactly what their (n, K) counterparts in
:mod:`zshard.pdf.representation` compute, with the same floating-point expressions, in the dtype
of the array they are given (float64 gives the same bits as the row-major code).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "BLOCK",
    "blocks",
    "level_major",
    "sort_levels",
    "invalid_objects",
    "spacing_violations",
    "spread",
    "repair",
    "knots",
]


#: Objects per block (see the module docstring).
BLOCK: int = 16384


def blocks(n: int, size: int | None = None) -> list[slice]:
    """Slices of ``range(n)`` of ``size`` (default :data:`BLOCK`) objects, the last one shorter."""
    size = BLOCK if size is None else size
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def level_major(quantiles: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """(n, K) quantiles as a C-contiguous (K, n) array of ``dtype`` (always a copy)."""
    out = np.empty(quantiles.shape[::-1], dtype=dtype)
    out[...] = quantiles.T
    return out


@lru_cache(maxsize=32)
def _batcher_pairs(k: int) -> tuple[tuple[int, int], ...]:
    """Comparators (i, j), i < j, of Batcher's odd–even merge sort of ``k`` values.

    Batcher 1968 (AFIPS Spring Joint Computer Conference, 307); for ``k`` not a power of two the
    comparators that touch a position >= k are dropped (those positions act as +inf padding, which
    no comparator moves). 15 values need 56 comparators, 19 values 85.
    """
    pairs = []
    p = 1
    while p < k:
        step = p
        while step >= 1:
            for j in range(step % p, k - step, 2 * step):
                for i in range(min(step, k - j - step)):
                    if (i + j) // (2 * p) == (i + j + step) // (2 * p):
                        pairs.append((i + j, i + j + step))
            step //= 2
        p *= 2
    return tuple(pairs)


def sort_levels(x: np.ndarray) -> None:
    """Sort every object (column) of the (K, n) array ``x`` in place, with a sorting network.

    Each comparator is one ``np.minimum`` and one ``np.maximum`` over the n objects. Columns that
    contain a NaN come out scrambled (min/max propagate NaN): callers mark them invalid first
    (:func:`invalid_objects`).
    """
    k = x.shape[0]
    if k < 2 or not np.any(x[1:] < x[:-1]):
        return
    rows = [x[i].copy() for i in range(k)]
    spare = np.empty_like(rows[0])
    for i, j in _batcher_pairs(k):
        np.minimum(rows[i], rows[j], out=spare)
        np.maximum(rows[i], rows[j], out=rows[j])
        rows[i], spare = spare, rows[i]
    for i in range(k):
        x[i] = rows[i]


def invalid_objects(x: np.ndarray) -> np.ndarray:
    """(n,) mask of the objects (columns of the (K, n) array ``x``) with a NaN."""
    bad = np.isnan(x[0])
    for row in x[1:]:
        bad |= np.isnan(row)
    return bad


def spacing_violations(x: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """(n,) mask of the objects with a gap ``x[k+1] - x[k] < gaps[k]`` (NaN gaps do not count)."""
    need = np.zeros(x.shape[1], dtype=bool)
    diff = np.empty(x.shape[1], dtype=x.dtype)
    for k in range(x.shape[0] - 1):
        np.subtract(x[k + 1], x[k], out=diff)
        need |= diff < gaps[k]
    return need


def spread(x: np.ndarray, lo: float, hi: float, gaps: np.ndarray) -> np.ndarray:
    """:func:`zshard.pdf.representation.enforce_spacing` of every column of the sorted, clipped
    (K, m) array ``x``; ``gaps`` (K − 1,) float64. Returns a new (K, m) array."""
    ks64 = np.concatenate([[0.0], np.cumsum(gaps)])
    if (hi - lo) < ks64[-1]:
        raise ValueError(f"cannot fit {x.shape[0]} values with spacing {gaps} into [{lo}, {hi}]")
    ks = ks64.astype(x.dtype)
    y = x - ks[:, None]
    for k in range(1, y.shape[0]):  # (a loop of K calls is ~3x faster than np.maximum.accumulate(axis=0))
        np.maximum(y[k], y[k - 1], out=y[k])
    y += ks[:, None]
    # backward pass: y_k = min_{j>=k}(y_j - (j - k) s) = min_{j>=k}(y_j - j s) + k s
    y -= ks[:, None]
    for k in range(y.shape[0] - 2, -1, -1):
        np.minimum(y[k], y[k + 1], out=y[k])
    y += ks[:, None]
    np.minimum(y, (hi - (ks64[-1] - ks64)).astype(x.dtype)[:, None], out=y)
    return y


def repair(x: np.ndarray, lo: float, hi: float, gaps: np.ndarray) -> np.ndarray:
    """Sort, clip to [lo, hi] and space (``gaps``, (K − 1,)) the columns of ``x`` (K, n) in place;
    returns the (n,) mask of the columns with a NaN, which are set to NaN entirely.

    The level-major form of ``zshard.pdf.representation.sanitize_quantiles``' steps: only the
    columns that violate the spacing go through :func:`spread`.
    """
    bad = invalid_objects(x)
    sort_levels(x)
    np.clip(x, lo, hi, out=x)
    _spread_where(x, spacing_violations(x, gaps), lo, hi, gaps)
    if bad.any():
        x[:, bad] = np.nan
    return bad


def _spread_where(x: np.ndarray, need: np.ndarray, lo: float, hi: float, gaps: np.ndarray) -> None:
    """:func:`spread` the columns of ``x`` selected by ``need``, in place (all of them and a masked
    copy when they are many, e.g. raw quantile regressions; a gather and scatter when few)."""
    count = np.count_nonzero(need)
    if count > need.size // 4:
        np.copyto(x, spread(x, lo, hi, gaps), where=need)
    elif count:
        x[:, need] = spread(x[:, need], lo, hi, gaps)


def knots(
    quantiles: np.ndarray, levels: np.ndarray, z_min: float, z_max: float, min_spacing: float,
    dtype: np.dtype | type = np.float64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The augmented CDF knots of :func:`zshard.pdf.representation.knots_with_invalid_rows`, level
    major: ``zk`` (K + 2, n) of ``dtype``, ``ck`` (K + 2,) and the (n,) mask of invalid objects.

    ``quantiles`` (n, K) and ``levels`` (K,) are already checked; the same steps as the row-major
    code: sort, clip, linear tails clipped to [z_min, z_max], minimal spacing ``min_spacing``.
    """
    n, k = quantiles.shape
    a = levels
    zk = np.empty((k + 2, n), dtype=dtype)
    qs = zk[1:-1]
    qs[...] = quantiles.T
    bad = invalid_objects(qs)
    sort_levels(qs)
    np.clip(qs, z_min, z_max, out=qs)
    np.subtract(qs[1], qs[0], out=zk[0])
    zk[0] *= a[0] / (a[1] - a[0])
    np.subtract(qs[0], zk[0], out=zk[0])
    np.subtract(qs[-1], qs[-2], out=zk[-1])
    zk[-1] *= (1.0 - a[-1]) / (a[-1] - a[-2])
    zk[-1] += qs[-1]
    np.clip(zk[0], z_min, z_max, out=zk[0])
    np.clip(zk[-1], z_min, z_max, out=zk[-1])
    gaps = np.full(k + 1, float(min_spacing))
    _spread_where(zk, spacing_violations(zk, gaps), z_min, z_max, gaps)
    if bad.any():
        zk[:, bad] = np.nan
    ck = np.concatenate(([0.0], a, [1.0]))
    return zk, ck, bad
