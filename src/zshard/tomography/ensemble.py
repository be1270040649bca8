"""The n(z) an analysis takes away: shifted by the calibrated Δz, and an ensemble of realisations.

Conventions (those of the Δz table, ``zshard.validation``): ``Δz_i = <z_true>_i − <z_phot>_i``, so
the calibrated n(z) of bin i is the delivered one moved up by Δz_i, ``n_i(z) → n_i(z − Δz_i)``
(Hoyle et al. 2018, MNRAS 478, 592, eq. 2; CosmoSIS ``photoz_bias`` in ``additive`` mode, whose
``bias_i`` is this Δz_i).

* :func:`shift_nz` moves a histogram n(z) by Δz through its cumulative distribution (exact for a
  density that is constant within each grid cell, so no mass is created; mass moved below the
  grid's first edge is dropped and the rest renormalised), and :func:`set_mean_z` repeats the shift
  until the mean, as :func:`mean_z` defines it, equals a target.
* :func:`nz_realisations` draws an ensemble of n(z) per bin in the spirit of the ensembles that DES
  Y3 (Myles et al. 2021, MNRAS 505, 4249) and KiDS-1000 (Hildebrandt et al. 2021, A&A 647, A124)
  ship: each realisation's **shape** is a bootstrap over the per-shard partial stacks (the shards
  are contiguous HEALPix regions, so resampling them carries the shot noise and the sample
  variance of the stacked p(z) between regions of the sky), and its **mean** is then set to a
  draw from the Δz prior, ``N(<z> + Δz, σ_Δz²)``, so the ensemble's spread in mean z is the Δz
  error budget, by construction and not twice (the bootstrap's own mean scatter is removed; it is
  part of what σ_Δz accounts for, and is returned apart as ``sigma_mean_z_shards``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "mean_z",
    "shift_nz",
    "set_mean_z",
    "nz_realisations",
]

#: Iterations of :func:`set_mean_z` at most; each removes the truncation's error almost entirely.
MAX_MEAN_ITERATIONS = 50
#: |mean − target| at which :func:`set_mean_z` stops.
MEAN_TOLERANCE = 1e-10
#: Draws of a realisation's mean at most, where the grid cannot hold the earlier ones.
MAX_REDRAWS = 100
#: |mean − target| past which :func:`set_mean_z` fails (the target lies beyond what the grid allows).
UNREACHED_TOLERANCE = 1e-6


def _check(grid_edges: np.ndarray, nz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    grid_edges = np.asarray(grid_edges, dtype=np.float64)
    nz = np.asarray(nz, dtype=np.float64)
    if grid_edges.ndim != 1 or nz.shape[-1] != grid_edges.size - 1:
        raise ValueError(f"n(z) has {nz.shape[-1]} cells but the grid has {grid_edges.size} edges")
    return grid_edges, nz


def mean_z(grid_edges: np.ndarray, nz: np.ndarray) -> np.ndarray:
    """Mean redshift of n(z) (density per unit z on the grid, last axis): ``Σ n dz z_mid / Σ n dz``.

    The definition of ``NzResult.mean_z``; NaN where n(z) has no mass.
    """
    grid_edges, nz = _check(grid_edges, nz)
    dz = np.diff(grid_edges)
    centres = 0.5 * (grid_edges[:-1] + grid_edges[1:])
    mass = (nz * dz).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass > 0, (nz * dz * centres).sum(axis=-1) / np.where(mass > 0, mass, 1.0), np.nan)


def shift_nz(grid_edges: np.ndarray, nz: np.ndarray, delta_z: float) -> np.ndarray:
    """n(z − Δz) on the same grid, as a unit-area density (mean moves up by Δz).

    The cumulative mass F at the grid edges is interpolated linearly at ``edges − Δz`` (exact for a
    piecewise-constant density) and differenced; mass pushed below the first edge or above the last
    is dropped and the rest renormalised to unit area. A bin with no mass stays zero.
    """
    grid_edges, nz = _check(grid_edges, nz)
    dz = np.diff(grid_edges)
    mass = nz * dz
    total = mass.sum()
    if total <= 0:
        return np.zeros_like(nz)
    cdf = np.concatenate([[0.0], np.cumsum(mass)]) / total
    # clipped: rounding in the interpolation can leave -1e-17 where the distribution is flat
    shifted = np.clip(np.diff(np.interp(grid_edges - float(delta_z), grid_edges, cdf, left=0.0, right=1.0)),
                      0.0, None)
    kept = shifted.sum()
    if kept <= 0:
        raise ValueError(f"a shift of {delta_z} moves the whole n(z) off the grid "
                         f"[{grid_edges[0]}, {grid_edges[-1]}]")
    return shifted / (kept * dz)


def set_mean_z(grid_edges: np.ndarray, nz: np.ndarray, target: float) -> tuple[np.ndarray, float]:
    """n(z) shifted (:func:`shift_nz`) so that its :func:`mean_z` equals ``target``.

    The shift starts at ``target − mean`` and is corrected by secant steps for what the grid's ends
    cut off (the mean then moves less than the shift). Returns the shifted n(z) and the total shift.
    """
    grid_edges, nz = _check(grid_edges, nz)
    start = float(mean_z(grid_edges, nz))
    if not np.isfinite(start):
        raise ValueError("n(z) has no mass: its mean cannot be set")
    target = float(target)
    previous = (0.0, start - target)
    shift = target - start
    unreached = (f"no shift on the grid [{grid_edges[0]}, {grid_edges[-1]}] gives the n(z) mean {target:.6g} "
                 f"(starting from {start:.6g})")
    for _ in range(MAX_MEAN_ITERATIONS):
        try:
            out = shift_nz(grid_edges, nz, shift)
        except ValueError as err:  # the step left the grid: the target lies beyond it
            raise ValueError(unreached) from err
        error = float(mean_z(grid_edges, out)) - target
        if abs(error) < MEAN_TOLERANCE:
            break
        slope = (error - previous[1]) / (shift - previous[0]) if shift != previous[0] else 1.0
        previous = (shift, error)
        shift -= error / slope if slope > 1e-6 else error
    if abs(error) > UNREACHED_TOLERANCE:
        raise ValueError(f"{unreached}: got {target + error:.6g}")
    return out, shift


def nz_realisations(grid_edges: np.ndarray, shard_stacks: np.ndarray, centre: float, sigma: float,
                    n_realisations: int, rng: np.random.Generator) -> dict:
    """An ensemble of n(z) for one tomographic bin: shard-bootstrap shapes, means from the Δz prior.

    Parameters
    ----------
    grid_edges : (m,) array
        Fine redshift grid.
    shard_stacks : (n_shards, m - 1) array
        The bin's stacked p(z) mass per grid cell in each shard (``NzPartial.stacked[i]``).
    centre, sigma : float
        The mean z the realisations scatter around and their standard deviation (the calibrated
        mean ``<z> + Δz`` and σ_Δz). ``sigma`` 0: every realisation has mean ``centre``; NaN (no
        Δz estimate): the bootstrap shapes keep their own means, the shards' scatter the only error.
    n_realisations : int
    rng : numpy.random.Generator

    Returns
    -------
    dict
        ``nz`` (n_realisations, m - 1) unit-area densities; ``mean_z`` (n_realisations,) their
        means (``centre + sigma * g``, g ~ N(0, 1)); ``sigma_mean_z_shards``: the spread of the
        bootstrap shapes' own means before they were re-centred (the shard-to-shard part of the
        error); ``n_shards``: shards holding any of the bin's mass; ``n_redrawn``: means drawn
        again because the grid cannot hold them (a prior reaching below z = 0 is truncated there;
        then the spread is below σ). All NaN / zeros for an empty bin.
    """
    stacks = np.asarray(shard_stacks, dtype=np.float64)
    if stacks.ndim != 2:
        raise ValueError(f"shard_stacks must be (n_shards, n_cells), got shape {stacks.shape}")
    grid_edges, stacks = _check(grid_edges, stacks)
    n = int(n_realisations)
    dz = np.diff(grid_edges)
    stacks = stacks[stacks.sum(axis=1) > 0]
    if not stacks.shape[0] or (np.isfinite(sigma) and not np.isfinite(centre)):
        return {"nz": np.zeros((n, dz.size)), "mean_z": np.full(n, np.nan),
                "sigma_mean_z_shards": float("nan"), "n_shards": int(stacks.shape[0]), "n_redrawn": 0}
    counts = rng.multinomial(stacks.shape[0], np.full(stacks.shape[0], 1.0 / stacks.shape[0]), size=n)
    mass = counts.astype(np.float64) @ stacks
    shapes = mass / (mass.sum(axis=1, keepdims=True) * dz)
    shape_means = mean_z(grid_edges, shapes)
    if not np.isfinite(sigma):
        return {"nz": shapes, "mean_z": shape_means, "n_shards": int(stacks.shape[0]), "n_redrawn": 0,
                "sigma_mean_z_shards": float(np.std(shape_means, ddof=1)) if n > 1 else float("nan")}
    targets = float(centre) + float(sigma) * rng.standard_normal(n)
    out = np.empty_like(shapes)
    redrawn = 0
    for r in range(n):
        for _ in range(MAX_REDRAWS):
            try:
                out[r], _ = set_mean_z(grid_edges, shapes[r], targets[r])
                break
            except ValueError:  # a mean the grid cannot hold (e.g. below z = 0): the prior truncated there
                redrawn += 1
                targets[r] = float(centre) + float(sigma) * rng.standard_normal()
        else:
            raise ValueError(f"{MAX_REDRAWS} draws from N({centre:.4g}, {sigma:.4g}²) in a row gave a mean "
                             f"the grid [{grid_edges[0]}, {grid_edges[-1]}] cannot hold")
    return {"nz": out, "mean_z": mean_z(grid_edges, out),
            "sigma_mean_z_shards": float(np.std(shape_means, ddof=1)) if n > 1 else float("nan"),
            "n_shards": int(stacks.shape[0]), "n_redrawn": redrawn}
