"""Sky of the mock survey: the footprint, lognormal clustering fields and object positions.

The footprint is a spherical cap pixelised on HEALPix (Górski et al. 2005, ApJ 622, 759); in
each redshift shell objects trace a lognormal density field (Coles & Jones 1991, MNRAS 248, 1)
with a power-law angular spectrum (:func:`lognormal_delta_map`).

Below the field's pixels (≈0.23° at nside 256) the field has no structure, while clustering
redshifts measure pairs at 0.3–3 Mpc (0.05–0.5° at z ≈ 0.5). Optionally a fraction of the objects
are *satellites* clumped around halo centres that trace the field, a Neyman & Scott (1952, ApJ
116, 144) cluster process — the one-halo term of the halo model (Cooray & Sheth 2002, Phys. Rep.
372, 1) with a Gaussian profile — whose angular correlation :func:`one_halo_wtheta` gives.
"""

from __future__ import annotations

import functools
import math

import healpy as hp
import numpy as np

from zshard.mock import streams
from zshard.mock.config import MockConfig
from zshard.sky import HEALPIX29_ORDER


def cap_radius_deg(area_deg2: float) -> float:
    """Angular radius [deg] of a spherical cap of solid angle ``area_deg2`` [deg²].

    ``Ω = 2π (1 - cos θ)``.
    """
    omega = area_deg2 * (math.pi / 180.0) ** 2
    return math.degrees(math.acos(1.0 - omega / (2.0 * math.pi)))


def angular_separation_deg(
    ra: np.ndarray, dec: np.ndarray, ra0: float, dec0: float
) -> np.ndarray:
    """Great-circle separation [deg] of (ra, dec) from (ra0, dec0) (haversine form)."""
    ra, dec = np.radians(ra), np.radians(dec)
    ra0, dec0 = math.radians(ra0), math.radians(dec0)
    h = np.sin((dec - dec0) / 2) ** 2 + np.cos(dec) * math.cos(dec0) * np.sin((ra - ra0) / 2) ** 2
    return np.degrees(2.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


@functools.lru_cache(maxsize=1)
def _angular_diameter_table() -> tuple[np.ndarray, np.ndarray]:
    from astropy.cosmology import Planck15

    z = np.linspace(0.0, 5.0, 2001)
    return z, Planck15.angular_diameter_distance(z).value


def angular_diameter_distance_mpc(z: np.ndarray) -> np.ndarray:
    """Planck 2015 angular-diameter distance [Mpc], interpolated in a table of 2001 redshifts up to 5."""
    grid, table = _angular_diameter_table()
    return np.interp(np.asarray(z, dtype=np.float64), grid, table)


def one_halo_wtheta(theta_deg: np.ndarray, satellite_fraction: float, halos_per_deg2: float,
                    sigma_deg: float) -> np.ndarray:
    """The excess angular correlation that satellites add (flat sky, Poisson occupation).

    A fraction ``f`` of a sample's objects sit at 2-D Gaussian offsets (σ per axis) from halo
    centres of surface density ``n_h``, each satellite in a halo picked at random. A pair of
    satellites of one halo is separated by a Gaussian of variance 2σ² per axis, and such pairs
    number ``f² N² / (2 n_h A)`` among ``N² / 2``, so

        w_1h(θ) = f² / (n_h 4π σ²) · exp(−θ² / 4σ²)

    on top of the field's correlation (which satellites and field objects share, the halo
    centres tracing the field). ``n_h`` in deg⁻², ``σ`` and ``θ`` in degrees.
    """
    theta = np.asarray(theta_deg, dtype=np.float64)
    return satellite_fraction ** 2 / (halos_per_deg2 * 4 * math.pi * sigma_deg ** 2) * \
        np.exp(-theta ** 2 / (4 * sigma_deg ** 2))


def one_halo_wtheta_binned(theta_edges_deg: np.ndarray, satellite_fraction: float, halos_per_deg2: float,
                           sigma_deg: float) -> np.ndarray:
    """:func:`one_halo_wtheta` averaged over angular bins as pair counts average it (flat sky:
    pairs ∝ θ dθ), ``∫ w θ dθ / ∫ θ dθ`` over each bin, in closed form."""
    edges = np.asarray(theta_edges_deg, dtype=np.float64)
    amplitude = satellite_fraction ** 2 / (halos_per_deg2 * 4 * math.pi * sigma_deg ** 2)
    decay = np.exp(-edges ** 2 / (4 * sigma_deg ** 2))
    return amplitude * 2 * sigma_deg ** 2 * -np.diff(decay) / (np.diff(edges ** 2) / 2)


def lognormal_wtheta_binned(theta_edges_deg: np.ndarray, sigma_g2: float, nside: int,
                            cl_slope: float = -1.2, n_sub: int = 16, bias_product: float = 1.0) -> np.ndarray:
    """The angular correlation of objects placed ∝ 1 + δ of a :func:`lognormal_delta_map` field,
    averaged over angular bins as pair counts average it (∝ sin θ dθ); between two populations of
    biases b₁, b₂ (:class:`SkyModel`), ``bias_product`` = b₁ b₂.

    ``w = exp(b₁ b₂ ξ_G) − 1`` (Coles & Jones 1991) with ``ξ_G(θ) = Σ_l (2l+1)/4π C_l W_l² P_l(cos θ)``,
    the field's ``C_l`` (:func:`lognormal_delta_map`'s normalisation) and ``W_l`` the window of a
    top-hat disc of one pixel's area, ``2 J1(l θ_p) / (l θ_p)``: an approximation of the objects'
    uniform placement within HEALPix pixels (HEALPix's own window needs a download).
    """
    from scipy.special import eval_legendre, j1

    edges = np.asarray(theta_edges_deg, dtype=np.float64)
    lmax = 3 * nside - 1
    ell = np.arange(lmax + 1, dtype=float)
    shape = np.zeros(lmax + 1)
    shape[1:] = (ell[1:] + 1.0) ** cl_slope
    cl = shape * sigma_g2 / (np.sum((2 * ell + 1) * shape) / (4 * math.pi))
    x = np.maximum(ell * math.sqrt(hp.nside2pixarea(nside) / math.pi), 1e-12)
    window = np.where(ell > 0, 2 * j1(x) / x, 1.0)
    coeff = (2 * ell + 1) / (4 * math.pi) * cl * window ** 2
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        theta = np.radians(np.linspace(lo, hi, n_sub))
        xi_g = np.array([np.sum(coeff * eval_legendre(np.arange(lmax + 1), np.cos(t))) for t in theta])
        weights = np.sin(theta)
        out.append(float(np.sum(np.expm1(bias_product * xi_g) * weights) / np.sum(weights)))
    return np.array(out)


def _offset_on_sphere(centres: np.ndarray, offsets_rad: np.ndarray) -> np.ndarray:
    """Unit vectors at small tangent-plane offsets (east, north; radians) from unit vectors ``centres``."""
    pole = np.broadcast_to([0.0, 0.0, 1.0], centres.shape)
    east = np.cross(pole, centres)
    norm = np.linalg.norm(east, axis=1, keepdims=True)
    east = np.where(norm > 1e-12, east / np.where(norm > 1e-12, norm, 1.0), [1.0, 0.0, 0.0])
    north = np.cross(centres, east)
    vec = centres + offsets_rad[:, :1] * east + offsets_rad[:, 1:] * north
    return vec / np.linalg.norm(vec, axis=1, keepdims=True)


def gaussian_field_map(
    nside: int,
    sigma_g2: float,
    rng: np.random.Generator,
    *,
    cl_slope: float = -1.2,
) -> np.ndarray:
    """Full-sky Gaussian field G (NESTED ordering) of variance ``sigma_g2``, the log of a lognormal field.

    ``C_l = A (l+1)^cl_slope`` (l >= 1; C_0 = 0, so the map has zero mean) up to
    ``l_max = 3 nside - 1``; ``A`` is fixed so that ``Σ_l (2l+1) C_l / 4π`` equals ``sigma_g2``.
    The slope -1.2 is the harmonic counterpart of ``w(θ) ∝ θ^-0.8`` (Peebles 1980). The harmonic
    coefficients are drawn from ``rng`` (equivalent to ``healpy.synfast`` but with an explicit
    Generator) and transformed with ``healpy.alm2map``.
    """
    lmax = 3 * nside - 1
    ell = np.arange(lmax + 1, dtype=float)
    shape = np.zeros(lmax + 1)
    shape[1:] = (ell[1:] + 1.0) ** cl_slope
    var_unit = np.sum((2 * ell + 1) * shape) / (4 * math.pi)
    cl = shape * (sigma_g2 / var_unit) if var_unit > 0 else shape
    l_idx, m_idx = hp.Alm.getlm(lmax)
    amp = np.sqrt(cl[l_idx])
    re = rng.standard_normal(l_idx.size)
    im = rng.standard_normal(l_idx.size)
    m0 = m_idx == 0
    alm = np.where(m0, re * amp, (re + 1j * im) * amp / math.sqrt(2.0)).astype(np.complex128)
    g = hp.alm2map(alm, nside, lmax=lmax)
    return hp.reorder(g, r2n=True)


def lognormal_delta_map(
    nside: int,
    sigma_g2: float,
    rng: np.random.Generator,
    *,
    cl_slope: float = -1.2,
) -> np.ndarray:
    """Full-sky lognormal overdensity map (NESTED ordering): ``δ = exp(G - σ_G²/2) - 1`` of the
    :func:`gaussian_field_map` G (Coles & Jones 1991), so that ``<δ> = 0`` and ``δ > -1``."""
    g = gaussian_field_map(nside, sigma_g2, rng, cl_slope=cl_slope)
    return np.expm1(g - sigma_g2 / 2.0)


class SkyModel:
    """Footprint and clustering fields of a mock survey, and positions drawn from them.

    Building it costs one HEALPix realisation per redshift shell; the fields are drawn from
    ``cfg.seed`` and the shell index only, and shared by all files and batches.

    Two populations trace each shell's Gaussian field G with their own bias b
    (``MockConfig.galaxy_bias`` at the shell's mid redshift): population 0, the photometric
    galaxies, and population 1, the galaxies bright enough for the clustering reference. An
    object of bias b lands in a pixel with probability ∝ ``exp(b G − b² σ_G² / 2)``, a lognormal
    field of Gaussian variance ``b² σ_G²``, so that two populations' angular correlation is
    ``exp(b₁ b₂ ξ_G) − 1`` (≈ ``b₁ b₂ ξ_G`` on large scales: linear bias b;
    :func:`lognormal_wtheta_binned`). With b = 1 this is ``1 + δ`` of :func:`lognormal_delta_map`.
    Satellites take the bias of their halos (the reference's), so a population's large-scale bias
    is ``(1 − f) b + f b_ref`` for a satellite fraction f.

    Attributes
    ----------
    cap_radius_deg : float
        Angular radius of the footprint cap.
    footprint_pixels : ndarray int64
        NESTED pixel indices of the footprint at ``cfg.nside`` (pixel centres inside the cap).
    footprint_area_deg2 : float
        Area of those pixels.
    shell_edges : ndarray
        Redshift shell edges (0 .. z_max, steps of ``cfg.shell_width``).
    shell_sigma_g2 : ndarray
        Gaussian-field variance of each shell, ``field_variance / (1 + z_mid)**2``.
    shell_delta : ndarray float32, shape (n_shells, n_footprint_pixels)
        Lognormal overdensity (bias 1) of each shell in the footprint pixels.
    shell_bias : ndarray, shape (2, n_shells)
        Bias of each population in each shell.
    halo_vectors : list of (n_halos, 3) arrays, or None
        Per shell, the unit vectors of the halo centres of the satellites (None without
        satellites): ``round(satellite_halos_per_deg2 × footprint area)`` per shell, drawn from the
        shell's own stream as the reference's population is (the more biased one: satellites sit
        in massive halos). Both populations' satellites share them, so that the one-halo term is
        the same for every pair of populations (:func:`one_halo_wtheta`).
    """

    def __init__(self, cfg: MockConfig) -> None:
        self.cap_radius_deg = cap_radius_deg(cfg.area_deg2)
        self.footprint_pixels = _footprint_pixels(cfg.nside, cfg.ra0, cfg.dec0, self.cap_radius_deg)
        pixel_area = hp.nside2pixarea(cfg.nside, degrees=True)
        self.footprint_area_deg2 = self.footprint_pixels.size * pixel_area
        self.order = int(round(math.log2(cfg.nside)))
        n_shells = max(1, math.ceil(cfg.z_max / cfg.shell_width - 1e-9))
        self.shell_edges = np.arange(n_shells + 1) * cfg.shell_width
        self.shell_edges[-1] = max(self.shell_edges[-1], cfg.z_max)
        z_mid = 0.5 * (self.shell_edges[:-1] + self.shell_edges[1:])
        self.shell_sigma_g2 = cfg.field_variance / (1.0 + z_mid) ** 2
        gauss = self._shell_fields(cfg)
        self.shell_delta = np.expm1(gauss - self.shell_sigma_g2[:, None] / 2.0).astype(np.float32)
        self.shell_bias = np.array([cfg.galaxy_bias(z_mid, reference=False),
                                    cfg.galaxy_bias(z_mid, reference=True)])
        same = np.allclose(self.shell_bias[0], self.shell_bias[1], rtol=1e-12, atol=0.0)
        # per population and shell, the cumulative probability of the footprint pixels
        self._shell_cdf = [self._cdf(gauss, self.shell_bias[0])]
        self._shell_cdf.append(self._shell_cdf[0] if same else self._cdf(gauss, self.shell_bias[1]))
        self.satellite_fraction = float(cfg.satellite_fraction)
        self.satellite_radius_mpc = float(cfg.satellite_radius_mpc)
        self.halo_vectors = None
        if self.satellite_fraction > 0:
            n_halos = max(1, round(cfg.satellite_halos_per_deg2 * self.footprint_area_deg2))
            self.halo_vectors = []
            for s in range(len(self.shell_sigma_g2)):
                rng = streams.generator(cfg.seed, streams.HALO, s)
                ra, dec = self._field_positions(rng, np.full(n_halos, s), np.ones(n_halos, dtype=np.int8))
                self.halo_vectors.append(hp.ang2vec(ra, dec, lonlat=True))

    def _shell_fields(self, cfg: MockConfig) -> np.ndarray:
        """Gaussian field G of every shell in the footprint pixels (float32)."""
        gauss = np.empty((len(self.shell_sigma_g2), self.footprint_pixels.size), dtype=np.float32)
        for s, sigma_g2 in enumerate(self.shell_sigma_g2):
            rng = streams.generator(cfg.seed, streams.FIELD, s)
            full = gaussian_field_map(cfg.nside, sigma_g2, rng, cl_slope=cfg.cl_slope)
            gauss[s] = full[self.footprint_pixels]
        return gauss

    def _cdf(self, gauss: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """Per shell, the cumulative probability of the footprint pixels, ∝ exp(b G − b² σ_G² / 2)."""
        weight = np.exp(bias[:, None] * gauss.astype(np.float64)
                        - (bias ** 2 * self.shell_sigma_g2)[:, None] / 2.0)
        cdf = np.cumsum(weight, axis=1)
        cdf /= cdf[:, -1:]
        cdf[:, -1] = 1.0
        return cdf

    def sample_positions(
        self, rng: np.random.Generator, z: np.ndarray, reference: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sky positions [deg] for objects at redshifts ``z``.

        The object's shell s is picked from z; its pixel is drawn with probability
        ``∝ exp(b G_s − b² σ_s² / 2)`` over the footprint pixels, b its population's bias
        (``reference``: True for the reference's population; None: all photometric); the position
        is the centre of a uniformly chosen nested sub-pixel at HEALPix order 29 (~0.4 mas), i.e.
        uniform within the pixel to far better than any use here. With satellites, each object
        is one with probability ``satellite_fraction`` and is then moved to a Gaussian offset of
        ``satellite_radius_mpc / D_A(z)`` per axis from a halo centre of its shell picked at random
        (the draws come after the field's, so without satellites the positions
        are unchanged). A satellite whose offset leaves the footprint keeps its field position, as a
        survey's mask would have it: no object lies outside the footprint (otherwise the pixels it
        strays into, nearly empty, would enter a footprint taken from the objects, and randoms there
        bias every cross-correlation high, by about the stray area's fraction).
        """
        z = np.asarray(z, dtype=np.float64)
        population = (np.zeros(z.size, dtype=np.int8) if reference is None
                      else np.asarray(reference, dtype=bool).astype(np.int8))
        if population.shape != z.shape:
            raise ValueError("reference must have one flag per redshift")
        shell = np.searchsorted(self.shell_edges, z, side="right") - 1
        shell = np.clip(shell, 0, len(self.shell_sigma_g2) - 1)
        ra, dec = self._field_positions(rng, shell, population)
        if self.halo_vectors is None:
            return ra, dec
        sat = np.flatnonzero(rng.random(z.size) < self.satellite_fraction)
        centres = np.empty((sat.size, 3))
        for s in np.unique(shell[sat]):
            m = shell[sat] == s
            halos = self.halo_vectors[s]
            centres[m] = halos[rng.integers(0, len(halos), int(m.sum()))]
        sigma = self.satellite_radius_mpc / angular_diameter_distance_mpc(np.maximum(z[sat], 1e-3))
        vec = _offset_on_sphere(centres, rng.standard_normal((sat.size, 2)) * sigma[:, None])
        # the survey's mask: a satellite whose offset leaves the footprint stays where the field put it
        inside = self.in_footprint(hp.vec2pix(2**self.order, vec[:, 0], vec[:, 1], vec[:, 2], nest=True))
        ra[sat[inside]], dec[sat[inside]] = hp.vec2ang(vec[inside], lonlat=True)
        return ra, dec

    def in_footprint(self, pixels: np.ndarray) -> np.ndarray:
        """Whether each NESTED pixel (of the footprint's order) is one of the footprint's."""
        return np.isin(pixels, self.footprint_pixels)

    def _field_positions(self, rng: np.random.Generator, shell: np.ndarray,
                         population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions [deg] drawn from each object's shell and population field, uniform within the pixel."""
        n = shell.size
        u = rng.random(n)
        ipix = np.empty(n, dtype=np.int64)
        key = shell * 2 + population
        for k in np.unique(key):
            m = key == k
            ipix[m] = np.searchsorted(self._shell_cdf[k % 2][k // 2], u[m], side="right")
        ipix = np.minimum(ipix, self.footprint_pixels.size - 1)
        dorder = HEALPIX29_ORDER - self.order
        sub = rng.integers(0, 4**dorder, size=n, dtype=np.int64)
        fine = (self.footprint_pixels[ipix] << (2 * dorder)) + sub
        ra, dec = hp.pix2ang(2**HEALPIX29_ORDER, fine, nest=True, lonlat=True)
        return ra.astype(np.float64), dec.astype(np.float64)


def _footprint_pixels(nside: int, ra0: float, dec0: float, radius_deg: float) -> np.ndarray:
    """Sorted NESTED pixels whose centres lie within ``radius_deg`` of (ra0, dec0)."""
    vec = hp.ang2vec(ra0, dec0, lonlat=True)
    pix = hp.query_disc(nside, vec, math.radians(radius_deg), nest=True)
    if pix.size == 0:
        raise ValueError("footprint contains no pixel centre: increase nside or area")
    return np.sort(pix).astype(np.int64)
