"""The reduction of the per-shard partial sums to the normalised tomographic n(z).

The output n(z) is a density per unit redshift on the fine grid:
``sum(nz[i] * diff(grid_edges)) == 1``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from zshard.tomography.cuts import CUT_NAMES
from zshard.tomography.partial import NzPartial

__all__ = [
    "NzResult",
    "reduce_partials",
]


@dataclass
class NzResult:
    """Normalised tomographic redshift distributions.

    Attributes
    ----------
    nz : (nbins, m - 1) float64
        n(z) of each bin as a density per unit redshift on the fine grid:
        ``sum(nz[i] * diff(grid_edges)) == 1``. All zeros for an empty bin.
    counts : (nbins,) int64
        Number of objects per bin.
    mean_z : (nbins,) float64
        Mean redshift of each stacked n(z), ``sum(nz * z_mid * dz)`` (NaN for an empty bin).
    grid_centres : (m - 1,) float64
        Centres of the fine grid cells.
    edges : (nbins + 1,) float64
        Tomographic bin edges.
    grid_edges : (m,) float64
        Fine grid edges.
    weight_sums : (nbins,) float64
        Sum of weights per bin (the effective number of objects when weights are used).
    mean_z_point : (nbins,) float64
        Weighted mean of the point estimates of the bin's members (NaN for an empty bin).
    n_objects : int
        Number of rows seen in all shards, binned or not.
    cuts_failed : dict
        Rows failing each selection cut (:data:`~zshard.tomography.cuts.CUT_NAMES`) and ``"any"`` of them.
    """

    nz: np.ndarray
    counts: np.ndarray
    mean_z: np.ndarray
    grid_centres: np.ndarray
    edges: np.ndarray
    grid_edges: np.ndarray
    weight_sums: np.ndarray
    mean_z_point: np.ndarray
    n_objects: int
    cuts_failed: dict = field(default_factory=dict)

    @property
    def nbins(self) -> int:
        """Number of tomographic bins."""
        return self.edges.size - 1


def reduce_partials(partials: NzPartial | Iterable[NzPartial]) -> NzResult:
    """Combine per-shard partials and normalise each bin's stacked p(z) to a unit-area density.

    Parameters
    ----------
    partials : NzPartial or iterable of NzPartial

    Returns
    -------
    NzResult
    """
    total = partials if isinstance(partials, NzPartial) else NzPartial.combine(partials)
    dz = np.diff(total.grid_edges)
    centres = 0.5 * (total.grid_edges[:-1] + total.grid_edges[1:])
    mass = total.stacked.sum(axis=1)
    nz = np.zeros_like(total.stacked)
    ok = mass > 0
    nz[ok] = total.stacked[ok] / (mass[ok, None] * dz[None, :])
    mean_z = np.full(total.nbins, np.nan)
    mean_z[ok] = (nz[ok] * dz * centres).sum(axis=1)
    mean_zp = np.full(total.nbins, np.nan)
    has_w = total.weight_sums > 0
    mean_zp[has_w] = total.z_point_sums[has_w] / total.weight_sums[has_w]
    return NzResult(nz=nz, counts=total.counts.copy(), mean_z=mean_z, grid_centres=centres,
                    edges=total.edges.copy(), grid_edges=total.grid_edges.copy(),
                    weight_sums=total.weight_sums.copy(), mean_z_point=mean_zp,
                    n_objects=total.n_objects,
                    cuts_failed={**dict(zip(CUT_NAMES, (int(c) for c in total.cut_counts))), "any": total.n_cut})
