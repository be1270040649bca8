"""Δz where the true redshifts are known (mocks, hidden spec-z): the truth the methods estimate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["true_delta_z"]


def true_delta_z(z_true: np.ndarray, bins: np.ndarray, nz_mean_z: Sequence[float],
                 grid_edges: np.ndarray, z_range: Sequence[float] | None = None) -> list[dict]:
    """Δz per bin where the true redshifts are known (mocks, hidden spec-z): the truth the methods estimate.

    ``delta_z_true`` = ⟨z_true⟩ of the bin's objects − the mean of the bin's delivered n(z)
    (``nz/nz.json`` ``mean_z``: the stacked calibrated p(z) with the configured cuts and weights).
    The photo-z side is the n(z) product, not the mean of the objects' own p(z) means, because the
    product is what an analysis shifts by Δz; without weights the two differ only by the n(z)
    grid's discretisation.

    Parameters
    ----------
    z_true, bins : (n,) arrays
        True redshift and tomographic bin (-1: in no bin) of each object.
    nz_mean_z : (nbins,) sequence
        Mean redshift of each bin's n(z).
    grid_edges : (m,) array
        Edges of the histogram of the true n(z).
    z_range : (lo, hi), optional
        A clustering reference's range: each row also gets ``mean_z_true_in_range`` and
        ``fraction_in_range`` (of the bin's objects with lo < z_true <= hi), the truth of what
        clustering redshifts measure (:func:`zshard.clustering.delta_z.in_range_mean`).

    Returns
    -------
    list of dict, one per bin
        ``bin``, ``n``, ``mean_z_true``, ``mean_z_nz``, ``delta_z_true``, ``sigma`` (standard error
        of ⟨z_true⟩: the bin's shot noise; NaN for n < 2) and ``true_nz`` (density on ``grid_edges``).
        An empty bin has NaN entries.
    """
    z_true = np.asarray(z_true, dtype=np.float64)
    bins = np.asarray(bins)
    rows = []
    for i, mean_nz in enumerate(nz_mean_z):
        z = z_true[(bins == i) & np.isfinite(z_true)]
        mean = float(z.mean()) if z.size else float("nan")
        hist = np.histogram(z, bins=grid_edges, density=True)[0] if z.size else np.zeros(len(grid_edges) - 1)
        rows.append({"bin": i, "n": int(z.size), "mean_z_true": mean, "mean_z_nz": float(mean_nz),
                     "delta_z_true": mean - float(mean_nz),
                     "sigma": float(z.std(ddof=1) / np.sqrt(z.size)) if z.size > 1 else float("nan"),
                     "true_nz": hist})
        if z_range is not None:
            inside = z[(z > float(z_range[0])) & (z <= float(z_range[1]))]
            rows[-1]["mean_z_true_in_range"] = float(inside.mean()) if inside.size else float("nan")
            rows[-1]["fraction_in_range"] = float(inside.size / z.size) if z.size else float("nan")
    return rows
