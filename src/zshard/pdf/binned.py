"""Probability mass of quantile p(z) in the bins of a redshift grid: per object
(:func:`bin_probabilities`, an (n, m - 1) matrix) and summed over objects without forming that
matrix (:func:`stack`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from zshard.pdf import levelmajor
from zshard.pdf.distribution import cdf
from zshard.pdf.representation import (
    DEFAULT_Z_MAX,
    DEFAULT_Z_MIN,
    KNOT_MIN_SPACING,
    _check_range,
    check_levels,
    check_quantiles,
)

__all__ = [
    "bin_probabilities",
    "stack",
    "stack_sums",
    "stacked_from_sums",
    "grid_cells",
]


def _grid_edges(grid_edges: ArrayLike) -> np.ndarray:
    """``grid_edges`` as float64, checked: finite, strictly increasing, at least two."""
    e = np.asarray(grid_edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise ValueError("grid_edges must be a finite, strictly increasing 1-D array of >= 2 edges")
    return e


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
    e = _grid_edges(grid_edges)
    f = cdf(quantiles, levels, e, z_min, z_max, grid=True)
    return np.diff(f, axis=1)


def grid_cells(e: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``np.searchsorted(e, z, side="right")`` (the number of edges <= z) for finite ``z``, fast on
    a (nearly) uniform grid ``e``.

    ``np.searchsorted`` of unsorted keys costs ~70 ns per key (a binary search each, no locality):
    more than the rest of :func:`stack`. Here the cell is guessed from a uniform spacing, and every
    guess is then moved by one edge while it is wrong (one or two passes on a uniform grid of
    rounded edges); whatever is still wrong after two passes (a non-uniform grid) is looked up
    with ``np.searchsorted``. The result is the exact searchsorted count in every case.
    """
    m = e.size
    ep = np.concatenate(([-np.inf], e, [np.inf]))  # ep[c] = e[c - 1]: cell c is ep[c] <= z < ep[c + 1]
    scale = (m - 1) / (e[-1] - e[0])
    g = np.subtract(z, e[0])
    g *= scale
    np.clip(g, -1.0, float(m), out=g)
    cell = g.astype(np.intp)  # truncation; the clip keeps it in range and -1.0 truncates to -1 -> 0 below
    cell += 1
    np.clip(cell, 0, m, out=cell)
    for _ in range(2):
        up = ep[cell + 1] <= z
        down = ep[cell] > z
        if not (up.any() or down.any()):
            return cell
        cell += up
        cell -= down
    wrong = (ep[cell] > z) | (ep[cell + 1] <= z)
    if wrong.any():
        cell[wrong] = np.searchsorted(e, z[wrong], side="right")
    return cell


def stack_sums(
    quantiles: np.ndarray,
    levels: np.ndarray,
    e: np.ndarray,
    z_min: float,
    z_max: float,
    weights: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    n_groups: int = 1,
    chunk_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-cell sums of :func:`stack`, for ``n_groups`` stacks at once.

    Object ``i`` goes into the stack ``groups[i]`` (all into stack 0 when ``groups`` is None;
    ``groups[i] < 0``: into none). Objects with a NaN quantile or a non-finite weight are skipped.
    Returns ``d_sum`` and ``r_sum``, (n_groups, m + 1) (see :func:`stack`), and the (n,) mask of
    the objects with a NaN quantile.

    The knots are built block by block, level major (:func:`zshard.pdf.levelmajor.knots`: the
    same knots as the row-major code), their slope changes ``d`` and ramps ``r`` are the same
    floating-point expressions as the row-major code, and one ``np.bincount`` per block and sum
    scatters them into the cells of every group (the sums come in another order: equal up to
    rounding).
    """
    q = quantiles
    n, k = q.shape
    a = check_levels(levels, k)
    z_min, z_max = _check_range(z_min, z_max)
    m = e.size
    size = n_groups * (m + 1)
    d_sum = np.zeros(size)
    r_sum = np.zeros(size)
    bad_all = np.zeros(n, dtype=bool)
    e_right = np.append(e, e[-1])  # right edge of each cell (cell m is unused)
    dck = np.diff(np.concatenate(([0.0], a, [1.0])))[:, None]
    size_block = levelmajor.BLOCK if chunk_size is None else max(1, min(int(chunk_size), levelmajor.BLOCK))
    for block in levelmajor.blocks(n, size_block):
        zk, _, bad = levelmajor.knots(q[block], a, z_min, z_max, KNOT_MIN_SPACING)
        bad_all[block] = bad
        keep = ~bad
        wc = None if weights is None else weights[block]
        if wc is not None:
            keep &= np.isfinite(wc)
        gc = None if groups is None else groups[block]
        if gc is not None:
            keep &= gc >= 0
        if not keep.all():
            zk = np.compress(keep, zk, axis=1)  # C-contiguous (zk[:, keep] is Fortran-ordered)
            wc = None if wc is None else wc[keep]
            gc = None if gc is None else gc[keep]
        if zk.shape[1] == 0:
            continue
        slope = dck / np.diff(zk, axis=0)  # (K + 1, b) densities
        d = np.empty_like(zk)
        d[0] = slope[0]
        np.subtract(slope[1:], slope[:-1], out=d[1:-1])
        np.multiply(slope[-1], -1.0, out=d[-1])  # (np.negative(..., out=) of strided float64 is wrong in numpy 2.4.6)
        if wc is not None:
            d *= wc
        cell = grid_cells(e, zk)
        r = e_right[cell]
        r -= zk
        r *= d
        if gc is not None and n_groups > 1:
            cell += gc * (m + 1)
        # object by object (the row-major order): the slope changes of one object, ~±1/spacing for
        # close knots, cancel before they meet other objects' (level by level the rounding is ~100x worse)
        cell = cell.ravel(order="F")
        d_sum += np.bincount(cell, weights=d.ravel(order="F"), minlength=size)
        r_sum += np.bincount(cell, weights=r.ravel(order="F"), minlength=size)
    return d_sum.reshape(n_groups, m + 1), r_sum.reshape(n_groups, m + 1), bad_all


def stacked_from_sums(e: np.ndarray, d_sum: np.ndarray, r_sum: np.ndarray) -> np.ndarray:
    """The stacked probability per cell (m - 1,) from the sums of :func:`stack_sums` of one group."""
    m = e.size
    # S(e_g) = S(e_{g-1}) + D(<e_{g-1}) * (e_g - e_{g-1}) + r_sum[g]
    d_cum = np.cumsum(d_sum[:m])  # D(< e_g) for g = 0..m-1
    inc = np.empty(m)
    inc[0] = r_sum[0]
    inc[1:] = d_cum[:-1] * np.diff(e) + r_sum[1:m]
    s_cdf = np.cumsum(inc)
    return np.maximum(np.diff(s_cdf), 0.0)  # remove -1e-13-level rounding noise


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
    cumulative sum over bins.  Cost O(n K) time (:func:`grid_cells`), O(chunk_size * K) memory,
    exact up to rounding (:func:`stack_sums`).

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
    e = _grid_edges(grid_edges)
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"weights must have shape ({n},), got {w.shape}")
    d_sum, r_sum, _ = stack_sums(q, levels, e, z_min, z_max, weights=w, chunk_size=chunk_size)
    return stacked_from_sums(e, d_sum[0], r_sum[0])
