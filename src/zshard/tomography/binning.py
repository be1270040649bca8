"""Tomographic bin edges and the assignment of objects to bins by a redshift point estimate.

Redshift bin edges ``edges`` (nbins + 1,) are increasing; bin ``i`` holds
``edges[i] <= z < edges[i + 1]``; bin index ``-1`` means "not in any bin" (outside the edges, no
finite point estimate, or failing a selection cut of :mod:`zshard.tomography.cuts`).

The edges are either configured (default DES Y1, Hoyle et al. 2018) or *equal-number* edges
(:func:`equal_number_edges`), computed once from the point estimates of an id-hashed science
sample, so that every bin holds the same share of the (cut) sample. Rule ``tomography_edges`` writes
them to the ``edges.json`` that every binning job reads (:func:`edges_from_json`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "equal_number_edges",
    "edges_from_json",
    "assign_bins",
    # shared with zshard.tomography.partial
    "check_edges",
]


def check_edges(edges, name: str) -> np.ndarray:
    """``edges`` as a float64 array, checked: 1-d, at least 2 values, finite and strictly increasing
    (tomographic bin edges or a fine grid's edges); ``name`` names them in the ValueError raised."""
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError(f"{name} must be a 1-d array of at least 2 values, got shape {edges.shape}")
    if not np.all(np.isfinite(edges)) or not np.all(np.diff(edges) > 0):
        raise ValueError(f"{name} must be finite and strictly increasing: {edges}")
    return edges


def assign_bins(z_point: np.ndarray, edges: Sequence[float] | np.ndarray,
                mask: np.ndarray | None = None) -> np.ndarray:
    """Tomographic bin index of each object from a redshift point estimate.

    Parameters
    ----------
    z_point : (n,) array
        Redshift point estimate per object (e.g. the p(z) median); NaN allowed.
    edges : (nbins + 1,) array
        Increasing bin edges in redshift. Bin ``i`` is ``edges[i] <= z < edges[i + 1]``.
    mask : (n,) bool array, optional
        Objects with ``mask`` False (outside the coverage of the training set, failing a magnitude
        cut, ...) get bin -1.

    Returns
    -------
    (n,) int64 array
        Bin index 0..nbins-1, or -1 for objects outside all bins, with non-finite ``z_point``, or
        masked out.
    """
    edges = check_edges(edges, "edges")
    z = np.asarray(z_point, dtype=np.float64)
    # side="right": z == edges[i] lands in bin i; z == edges[-1] is outside (half-open bins).
    idx = np.searchsorted(edges, z, side="right").astype(np.int64) - 1
    out = (idx < 0) | (idx >= edges.size - 1) | ~np.isfinite(z)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != z.shape:
            raise ValueError(f"mask shape {mask.shape} does not match z_point shape {z.shape}")
        out |= ~mask
    idx[out] = -1
    return idx


def equal_number_edges(z_point: np.ndarray, n_bins: int, z_range: Sequence[float],
                       mask: np.ndarray | None = None) -> np.ndarray:
    """Bin edges that put the same number of objects in each of ``n_bins`` bins.

    The outer edges are ``z_range``; inner edge k (``k = 1 .. n_bins - 1``) lies halfway between
    the order statistics ``z_(j-1)`` and ``z_(j)``, ``j = ceil(k N / n_bins)``, of the N finite point
    estimates inside ``z_range`` (and ``mask``), so that with the half-open bins of
    :func:`assign_bins` the counts differ by at most one (plus the number of values tied at an
    edge). The result depends only on the multiset of values: it is deterministic and does not
    depend on their order (compute it once, e.g. from an id-hashed science sample, and reuse it).

    Parameters
    ----------
    z_point : (n,) array
        Point estimates (NaN allowed: ignored).
    n_bins : int
        Number of bins, >= 1.
    z_range : (2,) sequence
        ``(z_low, z_high)``: the first and last edge.
    mask : (n,) bool array, optional
        Objects to use (e.g. those passing the selection cuts).

    Returns
    -------
    (n_bins + 1,) float64 array, strictly increasing.

    Raises
    ------
    ValueError
        If ``n_bins < 1``, the range is empty, fewer than ``n_bins`` objects lie in it, or ties
        make two edges equal.
    """
    n_bins = int(n_bins)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    lo, hi = (float(v) for v in z_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"z_range must be two finite increasing values, got {z_range}")
    z = np.asarray(z_point, dtype=np.float64)
    keep = np.isfinite(z) & (z >= lo) & (z < hi)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != z.shape:
            raise ValueError(f"mask shape {mask.shape} does not match z_point shape {z.shape}")
        keep &= mask
    z = z[keep]
    if z.size < n_bins:
        raise ValueError(f"equal-number edges: only {z.size} objects in [{lo}, {hi}) for {n_bins} bins")
    z = np.sort(z)
    j = -(-(np.arange(1, n_bins, dtype=np.int64) * z.size) // n_bins)  # ceil(k N / n_bins), exact
    inner = 0.5 * (z[j - 1] + z[j])
    edges = np.concatenate([[lo], inner, [hi]])
    if not np.all(np.diff(edges) > 0):
        raise ValueError(f"equal-number edges are not strictly increasing (tied point estimates?): {edges}")
    return edges


def edges_from_json(payload: dict) -> np.ndarray:
    """The tomographic edges of an ``edges.json`` written by rule ``tomography_edges``."""
    return check_edges(payload["edges"], "edges")
