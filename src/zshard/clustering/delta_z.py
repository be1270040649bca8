"""Clustering redshifts ("WZ"), from amplitudes to Δz: the mean-redshift shift of each
tomographic bin against its photometric n(z), with jackknife errors.

Mean redshift and Δz
--------------------
The clustering n(z) is compared with the photometric n(z) of the bin (the stacked calibrated p(z))
*inside the same window* W of redshift, as DES Y1 did (Gatti et al. 2018, §5; Davis et al. 2018):
W is ``<z>_phot ± window_sigma σ_phot`` of the photometric n(z), cut to the slices' range and
widened to whole slices (``window_sigma = 0``: the whole slice range). Δz is the shift of the
photometric n(z) that makes its mean inside W equal to the clustering mean inside W:

    <z>_W[n_phot(z − Δz)] = <z>_W[n_wz(z)],

solved by bisection. When the bin lies well inside W this is ``<z_wz>_W − <z_phot>_W``
(also reported, as ``delta_z_window_means``); near the edges of the reference range the shift
accounts for the mass that a shift moves across W's edges, which the plain difference of truncated
means does not. The photometric mean is taken from n_phot averaged over the slices exactly as the
clustering n(z) is, so that the finite slice width affects both alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from zshard.clustering.measurement import ClusteringConfig, WZResult

__all__ = ["shift_matched_delta_z", "clustering_delta_z", "in_range_mean"]


def _slice_average(grid_centres: np.ndarray, nz: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mass of a density ``nz`` (on a fine grid of equal cells) in each slice."""
    idx = np.searchsorted(edges, grid_centres, side="left") - 1
    ok = (idx >= 0) & (idx < edges.size - 1)
    return np.bincount(idx[ok], weights=nz[ok], minlength=edges.size - 1)


def _window_mean(mass: np.ndarray, centres: np.ndarray) -> float:
    total = np.sum(mass)
    return float(np.sum(mass * centres) / total) if total > 0 and np.isfinite(total) else math.nan


def shift_matched_delta_z(target_mean: float, grid_centres: np.ndarray, nz_phot: np.ndarray,
                          edges: np.ndarray, window: slice, max_shift: float = 0.5) -> float:
    """The shift Δz with ``<z>_W[n_phot(z − Δz)] = target_mean`` (Gatti et al. 2018), by bisection.

    ``n_phot`` (fine grid) is shifted, averaged into the slices ``edges`` and its mean taken over
    the slices ``window``. Returns NaN when no shift within ``±max_shift`` reaches the target.
    """
    centres = 0.5 * (edges[1:] + edges[:-1])[window]

    def mean_of_shift(dz: float) -> float:
        shifted = np.interp(grid_centres - dz, grid_centres, nz_phot, left=0.0, right=0.0)
        return _window_mean(_slice_average(grid_centres, shifted, edges)[window], centres)

    if not math.isfinite(target_mean):
        return math.nan
    # Bracket: the sign change of the coarse scan nearest to no shift (the mean rises with the shift).
    shifts = np.linspace(-max_shift, max_shift, 101)
    diff = np.array([mean_of_shift(s) for s in shifts]) - target_mean
    ok = np.isfinite(diff[:-1]) & np.isfinite(diff[1:]) & (diff[:-1] * diff[1:] <= 0)
    if not ok.any():
        return math.nan
    j = int(np.flatnonzero(ok)[np.argmin(np.abs(shifts[:-1][ok] + shifts[1:][ok]))])
    lo, hi, f_lo = shifts[j], shifts[j + 1], diff[j]
    if f_lo == 0:
        return float(lo)
    for _ in range(30):  # 0.01 / 2**30 of the bracket: far below any error
        mid = 0.5 * (lo + hi)
        f_mid = mean_of_shift(mid) - target_mean
        if f_mid * f_lo > 0:
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return float(0.5 * (lo + hi))


def clustering_delta_z(result: WZResult, grid_centres: np.ndarray, nz_phot: np.ndarray,
                       config: ClusteringConfig, bin_edges: Sequence[float] | None = None) -> list[dict[str, Any]]:
    """Clustering n(z), mean redshift and Δz (with jackknife errors) of each bin.

    Parameters
    ----------
    result : WZResult
        The measurement of :func:`clustering_nz`.
    grid_centres : ndarray, shape (m,)
        Centres of the equal cells of the photometric n(z) grid.
    nz_phot : ndarray, shape (n_bins, m)
        Photometric n(z) of each bin (a density; e.g. ``nz.json``'s ``nz``).
    config : ClusteringConfig
        The settings (``window_sigma``, ``min_overlap``).
    bin_edges : sequence of float, optional
        Tomographic edges, only copied into the rows (``z_lo``, ``z_hi``).

    Returns
    -------
    list of dict
        One per bin: ``bin``, ``z_lo``, ``z_hi``, ``n_unknown``, ``z_range`` (the window [lo, hi]),
        ``overlap`` (photometric mass inside the slices' range), ``mean_z_wz``, ``mean_z_phot``
        (both inside the window), ``delta_z`` (the shift), ``delta_z_window_means``
        (``mean_z_wz − mean_z_phot``), ``error`` (``error_jackknife`` and ``error_bias_evolution``
        in quadrature), ``error_jackknife`` (jackknife σ of ``delta_z``), ``error_bias_evolution``
        (the term of ``config.bias_evolution_sigma``), ``n_jackknife_failed``, ``nz_wz`` (normalised
        n(z) per slice, over the whole slice range),
        ``nz_wz_error``, ``in_range`` (:func:`in_range_mean`: the in-range mean the estimate implies,
        what the Δz table combines with the deep field's; None without an estimate), ``note``.
    """
    edges = result.slice_edges
    centres = result.slice_centres
    dz_slice = np.diff(edges)
    grid_centres = np.asarray(grid_centres, dtype=np.float64)
    nz_phot = np.atleast_2d(np.asarray(nz_phot, dtype=np.float64))
    n_bins = result.amplitude.shape[0]
    if nz_phot.shape != (n_bins, grid_centres.size):
        raise ValueError(f"nz_phot must have shape ({n_bins}, {grid_centres.size}), got {nz_phot.shape}")
    cell = np.diff(grid_centres)
    if cell.size and not np.allclose(cell, cell[0], rtol=1e-6):
        raise ValueError("the photometric n(z) grid must have equal cells")
    step = float(cell[0]) if cell.size else 1.0
    rows = []
    for b in range(n_bins):
        row = {"bin": b, "z_lo": float(bin_edges[b]) if bin_edges is not None else None,
               "z_hi": float(bin_edges[b + 1]) if bin_edges is not None else None,
               "n_unknown": int(result.n_unknown[b]), "z_range": None, "overlap": math.nan,
               "mean_z_wz": math.nan, "mean_z_phot": math.nan, "delta_z": math.nan,
               "delta_z_window_means": math.nan, "error": math.nan, "error_jackknife": math.nan,
               "error_bias_evolution": 0.0, "n_jackknife_failed": 0, "in_range": None,
               "nz_wz": [], "nz_wz_error": [], "note": ""}
        rows.append(row)
        phot = nz_phot[b] * step  # mass per fine cell
        total = phot.sum()
        if result.n_unknown[b] == 0 or not np.all(np.isfinite(result.amplitude[b])) or total <= 0:
            row["note"] = "no objects in this bin (or no cross-correlation measured)"
            continue
        phot_slices = _slice_average(grid_centres, phot, edges)
        row["overlap"] = float(phot_slices.sum() / total)
        if row["overlap"] < config.min_overlap:
            row["note"] = (f"no overlap: {row['overlap']:.0%} of the bin's photometric n(z) lies in the "
                           f"reference's range {edges[0]:g}–{edges[-1]:g}")
            continue
        # The window: photometric mean ± window_sigma σ, in whole slices.
        mean_p = float(np.sum(phot * grid_centres) / total)
        sigma_p = float(np.sqrt(np.sum(phot * (grid_centres - mean_p) ** 2) / total))
        if config.window_sigma > 0:
            lo = max(mean_p - config.window_sigma * sigma_p, edges[0])
            hi = min(mean_p + config.window_sigma * sigma_p, edges[-1])
            i0 = int(np.clip(np.searchsorted(edges, lo, side="right") - 1, 0, edges.size - 2))
            i1 = int(np.clip(np.searchsorted(edges, hi, side="left"), i0 + 1, edges.size - 1))
        else:
            i0, i1 = 0, edges.size - 1
        window = slice(i0, i1)
        row["z_range"] = [float(edges[i0]), float(edges[i1])]

        amp = result.amplitude[b]
        norm = np.sum(amp * dz_slice)
        row["nz_wz"] = amp / norm if norm > 0 else np.full_like(amp, np.nan)
        jk = result.samples[b]
        with np.errstate(invalid="ignore", divide="ignore"):
            jk_nz = jk / np.sum(jk * dz_slice, axis=1, keepdims=True)
        n_jk = jk.shape[0]
        row["nz_wz_error"] = np.sqrt((n_jk - 1) / n_jk * np.sum((jk_nz - np.nanmean(jk_nz, axis=0)) ** 2, axis=0))

        mean_wz = _window_mean(amp[window], centres[window])
        mean_phot = _window_mean(phot_slices[window], centres[window])
        row["mean_z_wz"], row["mean_z_phot"] = mean_wz, mean_phot
        row["delta_z_window_means"] = mean_wz - mean_phot
        row["delta_z"] = shift_matched_delta_z(mean_wz, grid_centres, nz_phot[b], edges, window)
        jk_dz = np.array([shift_matched_delta_z(_window_mean(jk[k][window], centres[window]), grid_centres,
                                                nz_phot[b], edges, window) for k in range(n_jk)])
        ok = np.isfinite(jk_dz)
        row["n_jackknife_failed"] = int(n_jk - ok.sum())
        if ok.sum() >= 3 and math.isfinite(row["delta_z"]):
            m = ok.sum()
            row["error_jackknife"] = float(np.sqrt((m - 1) / m * np.sum((jk_dz[ok] - jk_dz[ok].mean()) ** 2)))
            if config.bias_evolution_sigma > 0:
                tilted = [shift_matched_delta_z(_window_mean((amp * (1 + centres) ** g)[window], centres[window]),
                                                grid_centres, nz_phot[b], edges, window)
                          for g in (config.bias_evolution_sigma, -config.bias_evolution_sigma)]
                row["error_bias_evolution"] = (abs(tilted[0] - tilted[1]) / 2 if all(map(math.isfinite, tilted))
                                               else math.nan)
            row["error"] = float(np.hypot(row["error_jackknife"], row["error_bias_evolution"]))
            row["in_range"] = in_range_mean(grid_centres, nz_phot[b], (edges[0], edges[-1]), row["delta_z"],
                                            row["error"])
        else:
            row["note"] = "the clustering mean could not be matched by a shift (noisy amplitude?)"
        if row["n_jackknife_failed"] and not row["note"]:
            row["note"] = f"{row['n_jackknife_failed']} jackknife samples gave no Δz and were left out"
    return rows


def in_range_mean(grid_centres: np.ndarray, nz_phot: np.ndarray, z_range: Sequence[float], delta_z: float,
                  error: float) -> dict[str, Any]:
    """The mean redshift inside the reference's range that a clustering Δz implies, and its error.

    Clustering redshifts see a bin's n(z) only where the reference has galaxies: objects outside
    ``z_range`` (for a reference to z = 1.5, a bin's high-redshift interlopers) are invisible to
    them, whatever the estimator. What a clustering Δz does measure is the n(z) inside the range;
    this gives it as ``mean_z``, the mean over ``lo < z <= hi`` of the photometric n(z) shifted by
    ``delta_z``, and ``error`` = ``error`` × d mean_z / dΔz (a shift moves the truncated mean by at
    most itself). :func:`zshard.validation.combination.delta_z_table` combines it with the deep
    field's mean over the same range, and takes the part outside the range from the deep field
    alone: the way DES Y3 used clustering redshifts, as information on the n(z) where the reference
    is, not on its whole (Gatti et al. 2022, MNRAS 510, 1223; Myles et al. 2021, MNRAS 505, 4249).
    """
    lo, hi = float(z_range[0]), float(z_range[1])
    inside = (grid_centres > lo) & (grid_centres <= hi)

    def mean_of_shift(dz: float) -> float:
        shifted = np.interp(grid_centres - dz, grid_centres, nz_phot, left=0.0, right=0.0)[inside]
        total = shifted.sum()
        return float(np.sum(shifted * grid_centres[inside]) / total) if total > 0 else math.nan

    h = 0.005
    slope = (mean_of_shift(delta_z + h) - mean_of_shift(delta_z - h)) / (2 * h)
    return {"z_range": [lo, hi], "mean_z": mean_of_shift(delta_z),
            "mean_z_phot": mean_of_shift(0.0), "error": float(abs(slope) * error)}
