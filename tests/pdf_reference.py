"""Reference implementations for the equivalence tests: the row-major (n, K) code of zshard.pdf,
zshard.calibration and zshard.io.pdf_table as of commit 35a6dfa (before the level-major kernels),
copied verbatim apart from the imports. Straightforward vectorised numpy, float64 throughout."""

from __future__ import annotations

import numpy as np

from zshard.pdf.binned import _grid_edges
from zshard.pdf.representation import _check_range, check_levels, check_quantiles, enforce_spacing, float_dtype

KNOT_MIN_SPACING = 1e-6


def ppf_from_knots(zk: np.ndarray, ck: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Inverse CDF at levels ``a`` (L,) of the piecewise-linear CDFs with knots ``zk`` (n, K + 2)
    at levels ``ck`` (:func:`zshard.pdf.representation.knots`) -> (n, L)."""
    j = np.clip(np.searchsorted(ck, a, side="right") - 1, 0, ck.size - 2)
    w = (a - ck[j]) / (ck[j + 1] - ck[j])
    x0 = zk[:, j]
    return x0 + (zk[:, j + 1] - x0) * w


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


def ref_sanitize_quantiles(
    quantiles: np.ndarray,
    z_min: float = 0.0,
    z_max: float = 3.0,
    min_spacing: float = 1e-4,
    levels: np.ndarray | None = None,
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


def ref_knots_with_invalid_rows(
    quantiles: np.ndarray,
    levels: np.ndarray,
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


def ref_summaries(
    quantiles: np.ndarray,
    levels: np.ndarray,
    z_min: float = 0.0,
    z_max: float = 3.0,
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
    zk, ck, bad = ref_knots_with_invalid_rows(quantiles, levels, z_min, z_max)
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


def ref_mixture_ppf(
    quantiles: np.ndarray,
    levels: np.ndarray,
    new_levels: np.ndarray,
    outlier_fraction: float,
    z_min: float = 0.0,
    z_max: float = 3.0,
    chunk_rows: int = 50_000,
) -> np.ndarray:
    """Exact quantiles of ``(1 - eps) p(z) + eps U(z_min, z_max)`` at ``new_levels``.

    Both components have piecewise-linear CDFs, so the mixture's CDF is piecewise
    linear on the knots of p plus ``z_min`` and ``z_max`` and is inverted exactly.
    Returns float64, shape (n, len(new_levels)); NaN rows stay NaN.
    """
    eps = float(outlier_fraction)
    a = np.atleast_1d(np.asarray(new_levels, dtype=np.float64))
    zk, ck, bad = ref_knots_with_invalid_rows(quantiles, levels, z_min, z_max)
    if eps == 0.0:
        out = ppf_from_knots(zk, ck, a)
        out[bad] = np.nan
        return out
    n = zk.shape[0]
    zm = np.concatenate([np.full((n, 1), z_min), zk, np.full((n, 1), z_max)], axis=1)
    cm = (1.0 - eps) * np.concatenate(([0.0], ck, [1.0]))[None, :] + eps * (zm - z_min) / (z_max - z_min)
    out = np.empty((n, a.size))
    nseg = zm.shape[1] - 1
    for s in range(0, n, chunk_rows):
        c = cm[s:s + chunk_rows]
        x = zm[s:s + chunk_rows]
        j = np.clip((c[:, :, None] < a[None, None, :]).sum(axis=1) - 1, 0, nseg - 1)  # (rows, L)
        c0 = np.take_along_axis(c, j, axis=1)
        c1 = np.take_along_axis(c, j + 1, axis=1)
        x0 = np.take_along_axis(x, j, axis=1)
        x1 = np.take_along_axis(x, j + 1, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(c1 > c0, (a[None, :] - c0) / (c1 - c0), 0.0)
        out[s:s + chunk_rows] = x0 + (x1 - x0) * np.clip(w, 0.0, 1.0)
    out[bad] = np.nan
    return out


def ref_encode_quantiles(quantiles: np.ndarray, z_min: float, z_max: float) -> np.ndarray:
    """Quantiles as uint16 codes on a linear scale of [z_min, z_max] (NaN rows get 65535).

    The step is (z_max - z_min) / 65534 (4.6e-5 for [0, 3]), below the 1e-4 minimum spacing that
    :func:`zshard.pdf.representation.sanitize_quantiles` keeps between quantiles, so sorted quantiles stay sorted.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    bad = ~np.isfinite(q).all(axis=1)
    codes = np.rint((np.clip(q, z_min, z_max) - z_min) * (65534 / (z_max - z_min)))
    codes[bad] = 65535
    return codes.astype(np.uint16)


def ref_stack(
    quantiles: np.ndarray,
    levels: np.ndarray,
    grid_edges: np.ndarray,
    weights: np.ndarray | None = None,
    z_min: float = 0.0,
    z_max: float = 3.0,
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
        zk, ck, bad = ref_knots_with_invalid_rows(q[s : s + chunk_size], levels, z_min, z_max)
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
