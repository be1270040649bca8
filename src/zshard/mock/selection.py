"""Derived samples of the mock survey: the spectroscopic training sample (campaigns), the deep
reference field and the spectroscopic clustering reference.

Each selection takes one batch of the photometric catalogue and its own random stream
(:mod:`zshard.mock.streams`), and returns the row indices it selects in the batch with their
reference redshifts. :class:`CappedSample` gathers what a selection keeps over the batches and
bounds its size (``MockConfig.specz_max_objects`` and the like): the selections are fractions of
the catalogue, real samples are not.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from zshard.io.ids import id_hash_unit
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
    objects with ``zmin < z < zmax`` and detection-band mag below ``cfg.reference_mag_limit(z)``;
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
        & (m < cfg.reference_mag_limit(z))
        & (u < cfg.clustering_ref_fraction)
    )
    idx = np.flatnonzero(sel)
    return idx, noisy_redshifts(rng, z[idx], cfg.specz_sigma, 0.0, cfg.z_max)


class CappedSample:
    """The rows one selection keeps, gathered batch by batch, at most ``cap`` of them.

    Where the selection finds more than ``cap`` objects, the ``cap`` with the smallest id hash
    (:func:`zshard.io.ids.id_hash_unit` with ``seed``; ties, which a 53-bit hash makes
    improbable, broken by id) are kept: a uniform random subsample of the selected objects,
    independent of their properties, so the sample's distributions are unchanged. The kept set
    depends only on the selected ids, not on the order of the batches; rows stay in the order
    they were added. While batches arrive, rows whose hash is above the running threshold are
    dropped and the held rows are pruned back to ``cap`` whenever they pass ``2 cap``: memory
    is bounded by ``cap`` and a batch, whatever the catalogue's size. ``cap=None``: no cap.

    Parameters
    ----------
    cap : int or None
    seed : int
        Seed of the id hash (derive one per sample, so that the samples are thinned independently).
    """

    def __init__(self, cap: int | None, seed: int) -> None:
        self.cap = cap
        self.seed = int(seed)
        self.n_selected = 0
        self._parts: list[pa.Table] = []
        self._keys: list[np.ndarray] = []
        self._ids: list[np.ndarray] = []
        self._extra: list[np.ndarray] = []
        self._threshold: tuple[float, int] | None = None
        self._held = 0

    def add(self, ids: np.ndarray, table: pa.Table, extra: np.ndarray | None = None) -> None:
        """Add one batch's selected rows: their ids, their table, and optionally a per-row array
        kept alongside (not written; e.g. the spec-z campaign of each object)."""
        ids = np.asarray(ids, dtype=np.int64)
        extra = np.zeros(ids.size, dtype=np.int8) if extra is None else np.asarray(extra)
        self.n_selected += ids.size
        keys = id_hash_unit(ids, self.seed) if self.cap is not None else np.zeros(ids.size)
        if self._threshold is not None:
            keep = self._below(keys, ids, *self._threshold)
            ids, keys, extra, table = ids[keep], keys[keep], extra[keep], table.filter(pa.array(keep))
        self._parts.append(table)
        self._keys.append(keys)
        self._ids.append(ids)
        self._extra.append(extra)
        self._held += ids.size
        if self.cap is not None and self._held > 2 * self.cap:
            self._prune()

    @staticmethod
    def _below(keys: np.ndarray, ids: np.ndarray, key: float, last_id: int) -> np.ndarray:
        """Rows at or before the threshold ``(key, last_id)`` in (hash, id) order."""
        return (keys < key) | ((keys == key) & (ids <= last_id))

    def _prune(self) -> None:
        """Keep the ``cap`` held rows first in (hash, id) order; the last of them is the new threshold."""
        if self.cap is None or self._held <= self.cap:
            return
        keys, ids = np.concatenate(self._keys), np.concatenate(self._ids)
        last = np.lexsort((ids, keys))[self.cap - 1]
        self._threshold = (float(keys[last]), int(ids[last]))
        for i, (part_keys, part_ids) in enumerate(zip(self._keys, self._ids)):
            keep = self._below(part_keys, part_ids, *self._threshold)
            self._parts[i] = self._parts[i].filter(pa.array(keep))
            self._keys[i], self._ids[i], self._extra[i] = part_keys[keep], part_ids[keep], self._extra[i][keep]
        self._held = self.cap

    def tables(self) -> list[pa.Table]:
        """The kept rows, one table per batch added (in the order added)."""
        self._prune()
        return list(self._parts)

    def extra(self) -> np.ndarray:
        """The per-row array given to :meth:`add`, for the kept rows (in the order of :meth:`tables`)."""
        self._prune()
        return np.concatenate(self._extra) if self._extra else np.zeros(0, dtype=np.int8)
