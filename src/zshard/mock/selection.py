"""Derived samples of the mock survey: the spectroscopic training sample (campaigns), the deep
reference field and the spectroscopic clustering reference.

Each selection takes one batch of the photometric catalogue and its own random stream
(:mod:`zshard.mock.streams`), and returns the row indices it selects in the batch with their
reference redshifts.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from zshard.mock.config import MockConfig
from zshard.mock.fields import angular_separation_deg, cap_radius_deg
from zshard.mock.population import observe_magnitudes


def select_specz(
    cfg: MockConfig, rng: np.random.Generator, mag: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-representative spectroscopic training sample.

    Campaigns are applied in order; each targets a random ``fraction`` of the
    eligible objects (detection-band magnitude < ``mag_max``, not yet successfully
    observed).  The redshift success probability is

        ``p = logistic((mag_max - m)/w) × (1 - penalty·[(b1 - b2) > cut])``

    (incompleteness at the faint end and for red, weak-emission-line galaxies;
    cf. the spec-z incompleteness discussed by Newman et al. 2015, APh 63, 81).
    ``z_spec = z + N(0, σ(1+z))``, with a catastrophic fraction replaced by a
    uniform z in [0, z_max] (:func:`noisy_redshifts`).

    Returns
    -------
    index : ndarray int64 (selected rows), z_spec : ndarray, campaign : ndarray int
    """
    n = z.size
    m = mag[:, cfg.detection_index].astype(float)
    b1, b2 = (cfg.bands.index(b) for b in cfg.specz_red_colour)
    red = (mag[:, b1].astype(float) - mag[:, b2].astype(float)) > cfg.specz_red_cut
    done = np.zeros(n, dtype=bool)
    campaign = np.full(n, -1, dtype=np.int64)
    for ic, c in enumerate(cfg.specz_campaigns):
        u_t = rng.random(n)
        u_s = rng.random(n)
        target = (~done) & (m < c.mag_max) & (u_t < c.fraction)
        arg = np.clip((c.mag_max - m) / cfg.specz_success_width, -50, 50)
        p = 1.0 / (1.0 + np.exp(-arg)) * np.where(red, 1.0 - cfg.specz_red_penalty, 1.0)
        ok = target & (u_s < p)
        campaign[ok] = ic
        done |= ok
    idx = np.flatnonzero(done)
    zs = noisy_redshifts(rng, z[idx], cfg.specz_sigma, cfg.specz_catastrophic_fraction, cfg.z_max)
    return idx, zs, campaign[idx]


def noisy_redshifts(
    rng: np.random.Generator, z: np.ndarray, sigma: float, outlier_fraction: float, z_max: float
) -> np.ndarray:
    """Reference redshifts: ``z + N(0, sigma (1+z))``, with ``outlier_fraction`` of them replaced
    by a uniform redshift in [0, z_max]; clipped at 0."""
    zn = z + sigma * (1.0 + z) * rng.standard_normal(z.size)
    out = rng.random(z.size) < outlier_fraction
    zr = rng.uniform(0.0, z_max, z.size)
    return np.clip(np.where(out, zr, zn), 0.0, None)


def deep_radius_deg(cfg: MockConfig) -> float:
    """Angular radius [deg] of the deep field, a cap of ``deep_area_deg2`` around (ra0, dec0)."""
    return cap_radius_deg(cfg.deep_area_deg2)


def select_deep(
    cfg: MockConfig, rng: np.random.Generator, batch: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Deep (COSMOS-like) reference field.

    All catalogue objects within ``deep_area_deg2`` of the footprint centre,
    re-observed with depths ``+deep_depth_gain`` from the same true magnitudes;
    ``z_ref = z + N(0, deep_sigma (1+z))`` with ``deep_outlier_fraction`` uniform
    outliers in [0, z_max].

    Returns
    -------
    index, mag, magerr, z_ref
    """
    sep = angular_separation_deg(batch["ra"], batch["dec"], cfg.ra0, cfg.dec0)
    idx = np.flatnonzero(sep <= deep_radius_deg(cfg))
    m5 = cfg.m5_per_band + cfg.deep_depth_gain
    mag_true = batch["mag_true"][idx]
    mag, err, _ = observe_magnitudes(rng, mag_true, m5, cfg.gamma_per_band, cfg.sigma_sys)
    z = batch["z"][idx]
    zr = noisy_redshifts(rng, z, cfg.deep_sigma, cfg.deep_outlier_fraction, cfg.z_max)
    return idx, mag, err, zr


def select_clustering_reference(
    cfg: MockConfig, rng: np.random.Generator, batch: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Spectroscopic clustering reference: a random ``clustering_ref_fraction`` of
    objects with ``zmin < z < zmax`` and detection-band mag < ``mag_max``;
    spec-z errors as :func:`select_specz` without catastrophic failures.

    Returns
    -------
    index, z_spec
    """
    z = batch["z"]
    m = batch["mag"][:, cfg.detection_index]
    u = rng.random(z.size)
    sel = (
        (z > cfg.clustering_ref_zmin)
        & (z < cfg.clustering_ref_zmax)
        & (m < cfg.clustering_ref_mag_max)
        & (u < cfg.clustering_ref_fraction)
    )
    idx = np.flatnonzero(sel)
    return idx, noisy_redshifts(rng, z[idx], cfg.specz_sigma, 0.0, cfg.z_max)
