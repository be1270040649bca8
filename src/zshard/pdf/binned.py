"""Probability mass of quantile p(z) in the bins of a redshift grid: per object
(:func:`bin_probabilities`, an (n, m - 1) matrix) and summed over objects without forming that
matrix (:func:`stack`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from zshard.pdf.distribution import cdf
from zshard.pdf.representation import DEFAULT_Z_MAX, DEFAULT_Z_MIN, check_quantiles, knots_with_invalid_rows

__all__ = [
    "bin_probabilities",
    "stack",
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
    e = _grid_edges(grid_edges)
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
