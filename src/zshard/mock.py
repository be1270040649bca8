"""Seeded, deterministic mock galaxy survey (the workflow's embedded default data).

The mock is built in the following steps, each one documented (with its reference)
in the function that implements it:

1. **Magnitudes** -- the true i-band magnitude ``m0`` follows Euclidean-like number
   counts ``dN/dm ∝ 10**(slope * m)`` between ``m_bright`` and ``m_faint``
   (:func:`draw_reference_magnitudes`).
2. **Type and redshift** -- the broad type (E/S0, Spiral, Irr/SB) and the redshift are
   drawn from the Benítez (2000, ApJ 536, 571; Table 1) HDF-N prior ``p(T|m0)`` and
   ``p(z|T, m0)`` (:func:`hdfn_type_fractions`, :func:`draw_hdfn_redshifts`).  The
   broad type maps to a continuous SED index ``t`` over the 8 CWW+Kinney templates of
   Benítez (2004, ApJS 150, 1) shipped with ``desc_bpz``.
3. **Colours** -- synthetic AB photometry of the redshifted templates through the LSST
   (DC2) filters, with Madau (1995, ApJ 441, 18) IGM attenuation
   (:func:`colour_table`, :func:`madau_igm_transmission`); colours are interpolated
   bilinearly in (t, z) (:class:`ColourModel`).
4. **Photometric errors** -- the LSST error model of Ivezić et al. (2019, ApJ 873, 111;
   eq. 5) plus a systematic floor; observed fluxes are Gaussian in flux, non-detections
   (S/N < 1) carry the SExtractor-style sentinel ``99.0`` (:func:`observe_magnitudes`).
   Only objects with S/N >= ``detection_snr`` in the detection band enter the catalogue.
5. **Sky positions** -- a spherical cap footprint pixelised on HEALPix (Górski et al.
   2005, ApJ 622, 759); within redshift shells objects trace a lognormal density field
   (Coles & Jones 1991, MNRAS 248, 1) with a power-law angular spectrum
   ``C_l ∝ (l+1)**-1.2`` (the Fourier counterpart of ``w(θ) ∝ θ**-0.8``, Peebles 1980)
   (:func:`lognormal_delta_map`).
6. **Derived samples** -- a non-representative spectroscopic training set, a deep
   (COSMOS-like) reference field, a spectroscopic clustering reference and the truth
   table (:func:`generate_survey`).

Scaling: the photometric catalogue is produced file by file (one "chunk" per file) and,
inside a file, in batches of at most ``batch_size`` rows; every batch is written out
before the next is drawn, so memory scales with ``batch_size`` and never with
``n_objects`` (the small derived samples are the only thing accumulated).  Batch ``j``
of file ``k`` uses random streams derived from ``(seed, k, j)`` only, so the output is
reproducible and independent of processing order.  The clustering fields are drawn
once, from ``seed`` and the shell index, and shared by all chunks.

Magnitudes in the written files use the ``99.0`` sentinel for non-detections (mag and
magerr), as a real survey release would; ingestion converts it to the canonical NaN.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import healpy as hp
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from astropy.io import fits
from scipy.special import gammainc, gammaincinv

from zshard.io.atomic import temporary_sibling, write_parquet

__all__ = [
    "NONDETECTION",
    "AB_ZEROPOINT",
    "TEMPLATE_NAMES",
    "SpeczCampaign",
    "MockConfig",
    "load_templates",
    "load_filters",
    "madau_igm_transmission",
    "colour_table",
    "ColourModel",
    "draw_reference_magnitudes",
    "hdfn_type_fractions",
    "draw_hdfn_redshifts",
    "lsst_sigma_rand",
    "observe_magnitudes",
    "cap_radius_deg",
    "angular_separation_deg",
    "lognormal_delta_map",
    "MockSurvey",
    "default_photometry_paths",
    "file_row_counts",
    "generate_survey",
]

#: Sentinel written for non-detections (mag and magerr), SExtractor style.
NONDETECTION = 99.0
#: Zero point of the internal flux unit: F = 10**(-0.4 (m - 31.4)) is in nJy.
AB_ZEROPOINT = 31.4
#: 2.5 / ln(10): converts a fractional flux error into a magnitude error.
_MAG_PER_LNFLUX = 2.5 / math.log(10.0)

_DATA_PACKAGE = "desc_bpz"
_TEMPLATE_LIST = "CWWSB4.list"
#: The 8 CWW + Kinney templates of Benítez (2004), in ``CWWSB4.list`` order.
TEMPLATE_NAMES = (
    "El_B2004a",
    "Sbc_B2004a",
    "Scd_B2004a",
    "Im_B2004a",
    "SB3_B2004a",
    "SB2_B2004a",
    "ssp_25Myr_z008",
    "ssp_5Myr_z008",
)
_FILTER_PATTERN = "DC2LSST_{band}.res"
_REFERENCE_BAND = "i"  # m0 of the Benítez prior is an i-like (F814W) magnitude

# Colour-table grid (redshift); 0..3 step 0.005.
_TABLE_Z_MAX = 3.0
_TABLE_DZ = 0.005
# Observed-frame wavelength step for the synthetic photometry [Å].
_TABLE_DLAM = 2.0

# Benítez (2000) Table 1 (HDF-N prior), classes E/S0, Spiral, Irr/SB.
_HDFN_ALPHA = np.array([2.465, 1.806, 0.906])
_HDFN_Z0 = np.array([0.431, 0.390, 0.0626])
_HDFN_KM = np.array([0.0913, 0.0636, 0.123])
_HDFN_F0 = np.array([0.35, 0.50])
_HDFN_KT = np.array([0.450, 0.147])
_HDFN_M0 = 20.0
#: Continuous SED-index range [lo, hi) covered by each broad class.
_CLASS_T_RANGE = ((0.0, 1.0), (1.0, 3.0), (3.0, 7.0))

# Madau (1995) Lyman-series lines [Å] and effective-optical-depth amplitudes (eq. 15).
_LYMAN_SERIES = ((1215.67, 3.6e-3), (1025.72, 1.7e-3), (972.537, 1.2e-3), (949.743, 9.3e-4))
_LYMAN_LIMIT = 911.75

_DEFAULT_DEPTHS = {"u": 25.6, "g": 26.9, "r": 26.9, "i": 26.4, "z": 25.6, "y": 24.8}
_DEFAULT_GAMMA = {"u": 0.038, "g": 0.039, "r": 0.039, "i": 0.039, "z": 0.039, "y": 0.039}

_HEALPIX_MAX_ORDER = 29

# Random-stream tags (entropy words), kept distinct per purpose.
_STREAM_INTRINSIC = 0
_STREAM_PHOT = 1
_STREAM_SKY = 2
_STREAM_SPECZ = 3
_STREAM_DEEP = 4
_STREAM_CLUSTERING = 5
_STREAM_FIELD = 6


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class SpeczCampaign:
    """One spectroscopic campaign of the training sample.

    Parameters
    ----------
    name : str
        Label (used in the summary counts).
    mag_max : float
        Targets must have observed detection-band magnitude ``< mag_max`` [AB mag].
    fraction : float
        Fraction of the eligible (not yet successfully observed) objects targeted.
    """

    name: str
    mag_max: float
    fraction: float

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.fraction) <= 1.0:
            raise ValueError(f"campaign {self.name!r}: fraction must be in [0, 1]")
        object.__setattr__(self, "mag_max", float(self.mag_max))
        object.__setattr__(self, "fraction", float(self.fraction))
        object.__setattr__(self, "name", str(self.name))


def _default_campaigns() -> tuple[SpeczCampaign, ...]:
    return (SpeczCampaign("wide", 22.0, 0.15), SpeczCampaign("deep", 24.0, 0.04))


@dataclass(frozen=True)
class MockConfig:
    """Configuration of the mock survey (all magnitudes AB, angles in degrees).

    Build from a plain mapping (e.g. the workflow's YAML) with :meth:`from_dict`, which
    rejects unknown keys.  See the module docstring for the model.

    Attributes
    ----------
    n_objects : int
        Number of objects in the photometric catalogue (i.e. *after* the detection
        cut; undetected draws are discarded, which is the same as applying the
        selection to the parent population).
    n_files : int
        Number of photometric files (chunks).
    formats : tuple of str
        Formats allowed for the photometric files, cycled over files by
        :func:`default_photometry_paths` ("parquet" and/or "fits").
    bands : tuple of str
        Bands to simulate (subset of u g r i z y).
    seed : int
        Master seed (non-negative).
    batch_size : int
        Maximum rows simulated and held in memory at once (memory bound).
    area_deg2, ra0, dec0 : float
        Footprint: spherical cap of this area [deg^2] centred on (ra0, dec0) [deg],
        pixelised at ``nside`` (pixel centres inside the cap).
    nside : int
        HEALPix resolution of the footprint and clustering fields (power of 2).
    shell_width : float
        Width in redshift of the clustering shells (0 .. z_max).
    field_variance : float
        Gaussian-field variance at z=0; shell variance is ``field_variance/(1+z)**2``.
    cl_slope : float
        Slope of the angular power spectrum ``C_l ∝ (l+1)**cl_slope``.
    z_min, z_max : float
        Redshift range of the prior (truncation).  ``z_max <= 3``.
    m_bright, m_faint, count_slope : float
        Number counts ``dN/dm ∝ 10**(count_slope m)`` of the true i magnitude.
    depths : dict
        5σ point-source depths m5 per band [mag].
    depth_offset : float
        Added to all depths [mag].
    gamma : dict
        Ivezić et al. (2019) γ per band.
    sigma_sys : float
        Systematic magnitude error added in quadrature [mag].
    detection_band : str
        Band used for the detection cut and all magnitude selections.
    detection_snr : float
        Minimum S/N in the detection band.
    specz_campaigns : tuple of SpeczCampaign
        Campaigns of the spectroscopic training sample (applied in order).
    specz_success_width : float
        Width [mag] of the logistic fall-off of the redshift success near ``mag_max``.
    specz_red_colour : tuple of str
        Colour (b1, b2) used for the red-object success penalty.
    specz_red_cut, specz_red_penalty : float
        Objects with ``b1 - b2 > specz_red_cut`` have success multiplied by
        ``1 - specz_red_penalty``.
    specz_sigma : float
        Spec-z error ``specz_sigma (1+z)``.
    specz_catastrophic_fraction : float
        Fraction of spec-z replaced by a uniform redshift in [0, z_max].
    deep_area_deg2, deep_depth_gain, deep_sigma, deep_outlier_fraction : float
        Deep reference field: cap area [deg^2] at the footprint centre, depth gain
        [mag], z_ref scatter ``deep_sigma (1+z)`` and outlier fraction.
    clustering_ref_fraction, clustering_ref_zmin, clustering_ref_zmax,
    clustering_ref_mag_max : float
        Clustering reference: sampling fraction of objects with
        ``zmin < z_true < zmax`` and detection-band magnitude ``< mag_max``.
    """

    n_objects: int = 200_000
    n_files: int = 4
    formats: tuple[str, ...] = ("parquet", "fits")
    bands: tuple[str, ...] = ("u", "g", "r", "i", "z", "y")
    seed: int = 42
    batch_size: int = 250_000
    area_deg2: float = 300.0
    ra0: float = 150.0
    dec0: float = 2.0
    nside: int = 256
    shell_width: float = 0.1
    field_variance: float = 0.4
    cl_slope: float = -1.2
    z_min: float = 0.01
    z_max: float = 2.0
    m_bright: float = 17.0
    m_faint: float = 25.8
    count_slope: float = 0.35
    depths: dict[str, float] = field(default_factory=lambda: dict(_DEFAULT_DEPTHS))
    depth_offset: float = 0.0
    gamma: dict[str, float] = field(default_factory=lambda: dict(_DEFAULT_GAMMA))
    sigma_sys: float = 0.005
    detection_band: str = "i"
    detection_snr: float = 5.0
    specz_campaigns: tuple[SpeczCampaign, ...] = field(default_factory=_default_campaigns)
    specz_success_width: float = 0.4
    specz_red_colour: tuple[str, str] = ("g", "i")
    specz_red_cut: float = 2.0
    specz_red_penalty: float = 0.4
    specz_sigma: float = 0.0005
    specz_catastrophic_fraction: float = 0.01
    deep_area_deg2: float = 4.0
    deep_depth_gain: float = 2.0
    deep_sigma: float = 0.01
    deep_outlier_fraction: float = 0.02
    clustering_ref_fraction: float = 0.1
    clustering_ref_zmin: float = 0.1
    clustering_ref_zmax: float = 1.5
    clustering_ref_mag_max: float = 23.0

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "formats", tuple(str(f).lower() for f in self.formats))
        s(self, "bands", tuple(str(b) for b in self.bands))
        s(self, "specz_red_colour", tuple(str(b) for b in self.specz_red_colour))
        camps = []
        for c in self.specz_campaigns:
            if isinstance(c, SpeczCampaign):
                camps.append(c)
            elif isinstance(c, Mapping):
                unknown = set(c) - {"name", "mag_max", "fraction"}
                if unknown:
                    raise ValueError(f"unknown specz campaign keys: {sorted(unknown)}")
                camps.append(SpeczCampaign(**c))
            else:
                camps.append(SpeczCampaign(*c))
        s(self, "specz_campaigns", tuple(camps))
        for name in ("depths", "gamma"):
            given = dict(getattr(self, name))
            default = _DEFAULT_DEPTHS if name == "depths" else _DEFAULT_GAMMA
            unknown = set(given) - set(default)
            if unknown:
                raise ValueError(f"{name}: unknown bands {sorted(unknown)}")
            s(self, name, {**default, **{k: float(v) for k, v in given.items()}})
        for name in ("n_objects", "n_files", "seed", "batch_size", "nside"):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v:
                raise ValueError(f"{name} must be an integer, got {v!r}")
            s(self, name, int(v))
        self._validate()

    def _validate(self) -> None:
        if self.n_objects < 0 or self.n_files < 1 or self.batch_size < 1:
            raise ValueError("need n_objects >= 0, n_files >= 1, batch_size >= 1")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        bad = set(self.formats) - {"parquet", "fits"}
        if bad or not self.formats:
            raise ValueError(f"formats must be a non-empty subset of parquet/fits: {bad}")
        bad = set(self.bands) - set(_DEFAULT_DEPTHS)
        if bad or len(set(self.bands)) != len(self.bands) or not self.bands:
            raise ValueError(f"bands must be distinct members of u g r i z y, got {self.bands}")
        if self.detection_band not in self.bands:
            raise ValueError("detection_band must be one of bands")
        if len(self.specz_red_colour) != 2 or not set(self.specz_red_colour) <= set(self.bands):
            raise ValueError("specz_red_colour must be two of bands")
        if self.nside < 1 or self.nside & (self.nside - 1) or self.nside > 2**_HEALPIX_MAX_ORDER:
            raise ValueError("nside must be a power of 2")
        if not 0 < self.z_min < self.z_max <= _TABLE_Z_MAX:
            raise ValueError(f"need 0 < z_min < z_max <= {_TABLE_Z_MAX}")
        if not self.m_bright < self.m_faint:
            raise ValueError("need m_bright < m_faint")
        if not 0 < self.area_deg2 <= 4 * math.pi * (180 / math.pi) ** 2:
            raise ValueError("area_deg2 must be in (0, full sky]")
        if not 0 < self.deep_area_deg2 <= self.area_deg2:
            raise ValueError("deep_area_deg2 must be in (0, area_deg2]")
        if self.shell_width <= 0 or self.field_variance < 0:
            raise ValueError("shell_width must be > 0 and field_variance >= 0")
        for name in ("specz_catastrophic_fraction", "deep_outlier_fraction",
                     "clustering_ref_fraction", "specz_red_penalty"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if self.specz_success_width <= 0:
            raise ValueError("specz_success_width must be > 0")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> MockConfig:
        """Build a config from a mapping; unknown keys raise ``ValueError``.

        Lists are accepted for tuple fields; ``specz_campaigns`` may be a list of
        mappings ``{name, mag_max, fraction}``; ``depths``/``gamma`` may give a subset
        of bands (the others keep their defaults).
        """
        d = dict(d or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown MockConfig keys: {sorted(unknown)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        """Plain (JSON/YAML-serialisable) representation; ``from_dict`` round-trips it."""
        out = dataclasses.asdict(self)
        out["formats"] = list(self.formats)
        out["bands"] = list(self.bands)
        out["specz_red_colour"] = list(self.specz_red_colour)
        out["specz_campaigns"] = [dataclasses.asdict(c) for c in self.specz_campaigns]
        return out


# --------------------------------------------------------------------------- SEDs


def _data_dir():
    return importlib.resources.files(_DATA_PACKAGE) / "data_files"


@functools.lru_cache(maxsize=1)
def load_templates() -> tuple[tuple[str, np.ndarray, np.ndarray], ...]:
    """Read the 8 CWW+Kinney SED templates (Benítez 2004) shipped with ``desc_bpz``.

    Returns
    -------
    tuple of (name, wavelength [Å], f_lambda [arbitrary])
        In ``CWWSB4.list`` order (E, Sbc, Scd, Im, SB3, SB2, 25 Myr, 5 Myr).
    """
    sed_dir = _data_dir() / "SED"
    names = [n.removesuffix(".sed") for n in (sed_dir / _TEMPLATE_LIST).read_text().split()]
    if tuple(names) != TEMPLATE_NAMES:
        raise RuntimeError(f"unexpected template list in desc_bpz: {names}")
    out = []
    for name in names:
        with (sed_dir / f"{name}.sed").open() as fh:
            arr = np.loadtxt(fh, comments="#")
        wave, idx = np.unique(arr[:, 0], return_index=True)
        out.append((name, wave, arr[idx, 1]))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def load_filters(bands: tuple[str, ...]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read the LSST (DC2) filter curves shipped with ``desc_bpz``.

    The files' first column is the wavelength in Å (the u-band header says nm, but the
    values span ~3000-4000, i.e. Å); the second is the total system transmission.

    Returns
    -------
    dict band -> (wavelength [Å], transmission)
    """
    filt_dir = _data_dir() / "FILTER"
    out = {}
    for b in bands:
        with (filt_dir / _FILTER_PATTERN.format(band=b)).open() as fh:
            arr = np.loadtxt(fh, comments="#")
        wave, idx = np.unique(arr[:, 0], return_index=True)
        out[b] = (wave, np.clip(arr[idx, 1], 0.0, None))
    return out


def madau_igm_transmission(wave_obs: np.ndarray, z: np.ndarray | float) -> np.ndarray:
    """Mean IGM transmission exp(-τ_eff) of Madau (1995, ApJ 441, 18).

    * Lyman-series forest (Madau 1995 eq. 15 with Table 2 coefficients; Lyα..Lyδ):
      ``τ = Σ_j A_j (λ_obs/λ_j)**3.46`` for ``λ_j < λ_obs < λ_j (1+z)``, with
      A = 3.6e-3, 1.7e-3, 1.2e-3, 9.3e-4.
    * Lyman-continuum (photoelectric) absorption by intervening systems for
      ``λ_obs < 912 (1+z)`` (Madau 1995, footnote 3 approximation), with
      ``x_c = λ_obs/912`` (clipped at 1) and ``x_e = 1+z``:
      ``τ = 0.25 x_c^3 (x_e^0.46 - x_c^0.46) + 9.4 x_c^1.5 (x_e^0.18 - x_c^0.18)
      - 0.7 x_c^3 (x_c^-1.32 - x_e^-1.32) - 0.023 (x_e^1.68 - x_c^1.68)``.

    Parameters
    ----------
    wave_obs : array_like
        Observed-frame wavelength [Å].
    z : array_like or float
        Source redshift (broadcast against ``wave_obs``).

    Returns
    -------
    ndarray
        Transmission in [0, 1], broadcast shape of the inputs.
    """
    lam = np.asarray(wave_obs, dtype=float)
    z = np.asarray(z, dtype=float)
    lam, z = np.broadcast_arrays(lam, z)
    tau = np.zeros(lam.shape)
    for lam_j, a_j in _LYMAN_SERIES:
        m = (lam > lam_j) & (lam < lam_j * (1.0 + z))
        tau += np.where(m, a_j * (lam / lam_j) ** 3.46, 0.0)
    xe = 1.0 + z
    xc = np.clip(lam / _LYMAN_LIMIT, 1.0, None)
    tau_lc = (
        0.25 * xc**3 * (xe**0.46 - xc**0.46)
        + 9.4 * xc**1.5 * (xe**0.18 - xc**0.18)
        - 0.7 * xc**3 * (xc**-1.32 - xe**-1.32)
        - 0.023 * (xe**1.68 - xc**1.68)
    )
    tau += np.where(lam < _LYMAN_LIMIT * xe, np.clip(tau_lc, 0.0, None), 0.0)
    return np.exp(-tau)


def colour_table(
    bands: Sequence[str],
    z_grid: np.ndarray,
    *,
    reference_band: str = _REFERENCE_BAND,
    igm: bool = True,
) -> np.ndarray:
    """AB colours ``m_b(T, z) - m_ref(T, z)`` by synthetic photometry.

    For each template ``f_λ(λ_rest)`` redshifted to ``z`` the photon-counting AB flux
    density is (e.g. Fukugita et al. 1996; Benítez 2000)

        ``f_ν,eff ∝ ∫ f_λ(λ/(1+z)) e^{-τ_IGM(λ,z)} T(λ) λ dλ / ∫ T(λ) (c/λ) dλ``,

    constants (including the (1+z) flux dimming) cancel in colours.  The IGM term is
    :func:`madau_igm_transmission`.

    Parameters
    ----------
    bands : sequence of str
        Bands b.
    z_grid : ndarray
        Redshifts (n_z,).
    reference_band : str
        Band subtracted (default i).
    igm : bool
        Apply Madau (1995) attenuation.

    Returns
    -------
    ndarray, shape (n_templates, n_z, n_bands)
        Colours [mag], capped at 40 where a template has no flux in a band.
    """
    allb = tuple(dict.fromkeys([*bands, reference_band]))
    filters = load_filters(allb)
    lo = min(w[t > 0].min() for w, t in filters.values())
    hi = max(w[t > 0].max() for w, t in filters.values())
    lam = np.arange(np.floor(lo), np.ceil(hi) + _TABLE_DLAM, _TABLE_DLAM)
    trans = np.stack([np.interp(lam, *filters[b], left=0.0, right=0.0) for b in allb])
    weight = (trans * lam).T  # (n_lam, n_b): ∫ f_λ T λ dλ (uniform dλ cancels)
    norm = (trans / lam).sum(axis=1)  # ∫ T c/λ dλ (c cancels)
    z_grid = np.asarray(z_grid, dtype=float)
    att = madau_igm_transmission(lam[None, :], z_grid[:, None]) if igm else 1.0
    rest = lam[None, :] / (1.0 + z_grid[:, None])
    out = np.empty((len(TEMPLATE_NAMES), len(z_grid), len(allb)))
    for it, (_, w, f) in enumerate(load_templates()):
        flam = np.interp(rest, w, f, left=0.0, right=0.0) * att
        fnu = (flam @ weight) / norm
        out[it] = -2.5 * np.log10(np.maximum(fnu, 1e-300))
    iref = allb.index(reference_band)
    colours = out - out[:, :, iref : iref + 1]
    colours = np.clip(colours, -40.0, 40.0)
    return colours[:, :, [allb.index(b) for b in bands]]


class ColourModel:
    """Colours in a continuous SED space, interpolated bilinearly in (t, z).

    The type ``t`` in ``[0, n_templates-1]`` mixes the two adjacent templates linearly
    in colour (as in BPZ's interpolated templates, Benítez 2000); the redshift is
    interpolated linearly on a 0.005 grid from 0 to 3.

    Parameters
    ----------
    bands : sequence of str
        Bands; colours are ``m_b - m_i``.
    igm : bool
        Apply Madau (1995) IGM attenuation.
    """

    def __init__(self, bands: Sequence[str], *, igm: bool = True) -> None:
        self.bands = tuple(bands)
        self.z_grid = np.round(np.arange(0.0, _TABLE_Z_MAX + _TABLE_DZ / 2, _TABLE_DZ), 10)
        self.table = _cached_colour_table(self.bands, igm)

    def colours(self, t: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Colours ``m_b - m_i`` [mag] for types ``t`` and redshifts ``z`` (shape (n, n_b))."""
        t = np.asarray(t, dtype=float)
        z = np.asarray(z, dtype=float)
        nt, nz, _ = self.table.shape
        tt = np.clip(t, 0.0, nt - 1.0)
        it = np.minimum(tt.astype(np.int64), nt - 2)
        wt = (tt - it)[:, None]
        zz = np.clip(z / _TABLE_DZ, 0.0, nz - 1.0)
        iz = np.minimum(zz.astype(np.int64), nz - 2)
        wz = (zz - iz)[:, None]
        tab = self.table
        c0 = tab[it, iz] * (1.0 - wz) + tab[it, iz + 1] * wz
        c1 = tab[it + 1, iz] * (1.0 - wz) + tab[it + 1, iz + 1] * wz
        return c0 * (1.0 - wt) + c1 * wt


@functools.lru_cache(maxsize=8)
def _cached_colour_table(bands: tuple[str, ...], igm: bool) -> np.ndarray:
    z_grid = np.round(np.arange(0.0, _TABLE_Z_MAX + _TABLE_DZ / 2, _TABLE_DZ), 10)
    tab = colour_table(bands, z_grid, igm=igm)
    tab.flags.writeable = False
    return tab


# --------------------------------------------------------------------------- population


def draw_reference_magnitudes(
    rng: np.random.Generator, n: int, m_bright: float, m_faint: float, slope: float
) -> np.ndarray:
    """Draw magnitudes from ``dN/dm ∝ 10**(slope m)`` on ``[m_bright, m_faint]``.

    Inverse CDF: ``m = log10(10**(s m_b) + u (10**(s m_f) - 10**(s m_b))) / s``
    (computed relative to ``m_faint`` for numerical range).  ``slope≈0.35`` is close to
    deep i-band galaxy counts (e.g. Metcalfe et al. 2001).
    """
    u = rng.random(n)
    if slope == 0:
        return m_bright + u * (m_faint - m_bright)
    lo = 10.0 ** (slope * (m_bright - m_faint))
    return m_faint + np.log10(lo + u * (1.0 - lo)) / slope


def hdfn_type_fractions(m0: np.ndarray) -> np.ndarray:
    """Broad-type fractions p(T|m0) of the Benítez (2000) HDF-N prior (Table 1).

    ``f_E = 0.35 exp(-0.450 (m0-20))``, ``f_S = 0.50 exp(-0.147 (m0-20))``,
    ``f_Irr = 1 - f_E - f_S``, with m0 clipped to >= 20 as in BPZ.

    Returns
    -------
    ndarray, shape (n, 3)
        Columns E/S0, Spiral, Irr/SB.
    """
    dm = np.clip(np.asarray(m0, dtype=float), _HDFN_M0, None) - _HDFN_M0
    f_e = _HDFN_F0[0] * np.exp(-_HDFN_KT[0] * dm)
    f_s = _HDFN_F0[1] * np.exp(-_HDFN_KT[1] * dm)
    return np.stack([f_e, f_s, 1.0 - f_e - f_s], axis=-1)


def draw_hdfn_redshifts(
    rng: np.random.Generator,
    m0: np.ndarray,
    type_class: np.ndarray,
    z_min: float,
    z_max: float,
) -> np.ndarray:
    """Draw z from the Benítez (2000) HDF-N prior, truncated to [z_min, z_max].

    ``p(z|T, m0) ∝ z^a exp(-(z/z_m)^a)``, ``z_m = z0 + km (m0 - 20)`` (m0 clipped to
    >= 20, as in BPZ) with a = (2.465, 1.806, 0.906), z0 = (0.431, 0.390, 0.0626),
    km = (0.0913, 0.0636, 0.123) for E/S0, Spiral, Irr/SB.

    Exact inverse-CDF sampling, per object: with ``y = (z/z_m)^a`` the density becomes
    ``y^(1/a) e^-y``, a Gamma distribution of shape ``k = 1 + 1/a``, so
    ``z = z_m P^-1(k, u)^(1/a)`` with ``u`` uniform between the regularised incomplete
    gamma ``P(k, y)`` at the truncation limits.
    """
    m0 = np.asarray(m0, dtype=float)
    c = np.asarray(type_class, dtype=np.int64)
    a = _HDFN_ALPHA[c]
    zm = _HDFN_Z0[c] + _HDFN_KM[c] * (np.clip(m0, _HDFN_M0, None) - _HDFN_M0)
    k = 1.0 + 1.0 / a
    p_lo = gammainc(k, (z_min / zm) ** a)
    p_hi = gammainc(k, (z_max / zm) ** a)
    u = p_lo + rng.random(m0.shape) * (p_hi - p_lo)
    z = zm * gammaincinv(k, u) ** (1.0 / a)
    return np.clip(z, z_min, z_max)


# --------------------------------------------------------------------------- photometry


def lsst_sigma_rand(mag: np.ndarray, m5: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Random photometric error of Ivezić et al. (2019, ApJ 873, 111; eq. 5).

    ``σ_rand² = (0.04 - γ) x + γ x²``, ``x = 10^(0.4 (m - m5))`` [mag].
    """
    x = 10.0 ** (0.4 * (np.asarray(mag, dtype=float) - m5))
    return np.sqrt((0.04 - gamma) * x + gamma * x * x)


def observe_magnitudes(
    rng: np.random.Generator,
    mag_true: np.ndarray,
    m5: np.ndarray,
    gamma: np.ndarray,
    sigma_sys: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw observed magnitudes from true ones.

    The noise is Gaussian in flux with ``σ_F = F_true σ_rand ln(10)/2.5`` (σ_rand from
    :func:`lsst_sigma_rand` at the true magnitude), and the flux is additionally
    scaled by a calibration factor ``10^(-0.4 ε)``, ``ε ~ N(0, sigma_sys)``.  With
    ``S/N = F_obs/σ_F``: objects with S/N < 1 (including F_obs <= 0) are
    non-detections and get mag = magerr = :data:`NONDETECTION`; otherwise
    ``m_obs = -2.5 log10(F_obs) + zp`` and
    ``magerr = sqrt((1.0857 σ_F/F_obs)² + sigma_sys²)``.

    Parameters
    ----------
    rng : numpy.random.Generator
    mag_true : ndarray, shape (n, n_b)
        True AB magnitudes.
    m5, gamma : ndarray, shape (n_b,)
        5σ depths [mag] and Ivezić γ per band.
    sigma_sys : float
        Systematic error [mag].

    Returns
    -------
    mag, magerr : ndarray float32, shape (n, n_b)
    snr : ndarray float64, shape (n, n_b)
        ``F_obs/σ_F`` (before the systematic term).
    """
    mag_true = np.asarray(mag_true, dtype=float)
    sig = lsst_sigma_rand(mag_true, m5, gamma)
    flux = 10.0 ** (-0.4 * (mag_true - AB_ZEROPOINT))
    sigma_f = flux * sig / _MAG_PER_LNFLUX
    if sigma_sys > 0:
        flux = flux * 10.0 ** (-0.4 * sigma_sys * rng.standard_normal(flux.shape))
    flux_obs = flux + sigma_f * rng.standard_normal(flux.shape)
    snr = flux_obs / sigma_f
    det = snr >= 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(det, AB_ZEROPOINT - 2.5 * np.log10(flux_obs), NONDETECTION)
        err = np.where(det, np.sqrt((_MAG_PER_LNFLUX / snr) ** 2 + sigma_sys**2), NONDETECTION)
    return mag.astype(np.float32), err.astype(np.float32), snr


# --------------------------------------------------------------------------- sky


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


def lognormal_delta_map(
    nside: int,
    sigma_g2: float,
    rng: np.random.Generator,
    *,
    cl_slope: float = -1.2,
) -> np.ndarray:
    """Full-sky lognormal overdensity map (NESTED ordering).

    A Gaussian field G with ``C_l = A (l+1)^cl_slope`` (l >= 1; C_0 = 0, so the map
    has zero mean) is drawn up to ``l_max = 3 nside - 1``; ``A`` is fixed so that the
    field variance ``Σ_l (2l+1) C_l / 4π`` equals ``sigma_g2``.  The slope -1.2 is the
    harmonic counterpart of ``w(θ) ∝ θ^-0.8`` (Peebles 1980).  The lognormal transform
    ``δ = exp(G - σ_G²/2) - 1`` (Coles & Jones 1991) gives ``<δ> = 0`` and ``δ > -1``.
    The harmonic coefficients are drawn from ``rng`` (equivalent to
    ``healpy.synfast`` but with an explicit Generator) and transformed with
    ``healpy.alm2map``.
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
    g = hp.reorder(g, r2n=True)
    return np.expm1(g - sigma_g2 / 2.0)


# --------------------------------------------------------------------------- survey model


class MockSurvey:
    """Precomputed model of a mock survey: colour table, footprint, clustering fields.

    Building it costs a one-off few seconds (the colour table and one HEALPix
    realisation per redshift shell); :meth:`draw_batch` is then cheap and vectorised.

    Attributes
    ----------
    cfg : MockConfig
    colour_model : ColourModel
    footprint_pixels : ndarray int64
        NESTED pixel indices of the footprint at ``cfg.nside``.
    shell_edges : ndarray
        Redshift shell edges (0 .. z_max).
    shell_delta : ndarray float32, shape (n_shells, n_footprint_pixels)
        Lognormal overdensity of each shell in the footprint pixels.
    """

    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.colour_model = ColourModel(cfg.bands)
        self.bands = cfg.bands
        self.m5 = np.array([cfg.depths[b] for b in cfg.bands]) + cfg.depth_offset
        self.gamma = np.array([cfg.gamma[b] for b in cfg.bands])
        self.i_det = cfg.bands.index(cfg.detection_band)
        # footprint
        self.cap_radius_deg = cap_radius_deg(cfg.area_deg2)
        self.deep_radius_deg = cap_radius_deg(cfg.deep_area_deg2)
        vec = hp.ang2vec(cfg.ra0, cfg.dec0, lonlat=True)
        pix = hp.query_disc(cfg.nside, vec, math.radians(self.cap_radius_deg), nest=True)
        if pix.size == 0:
            raise ValueError("footprint contains no pixel centre: increase nside or area")
        self.footprint_pixels = np.sort(pix).astype(np.int64)
        self.footprint_area_deg2 = pix.size * hp.nside2pixarea(cfg.nside, degrees=True)
        self.order = int(round(math.log2(cfg.nside)))
        # clustering shells
        n_shells = max(1, math.ceil(cfg.z_max / cfg.shell_width - 1e-9))
        self.shell_edges = np.arange(n_shells + 1) * cfg.shell_width
        self.shell_edges[-1] = max(self.shell_edges[-1], cfg.z_max)
        z_mid = 0.5 * (self.shell_edges[:-1] + self.shell_edges[1:])
        self.shell_sigma_g2 = cfg.field_variance / (1.0 + z_mid) ** 2
        delta = np.empty((n_shells, pix.size), dtype=np.float32)
        for s in range(n_shells):
            rng = np.random.default_rng([cfg.seed, _STREAM_FIELD, s, 0, 0])
            full = lognormal_delta_map(
                cfg.nside, self.shell_sigma_g2[s], rng, cl_slope=cfg.cl_slope
            )
            delta[s] = full[self.footprint_pixels]
        self.shell_delta = delta
        w = 1.0 + delta.astype(np.float64)
        cdf = np.cumsum(w, axis=1)
        cdf /= cdf[:, -1:]
        cdf[:, -1] = 1.0
        self._shell_cdf = cdf

    # -- intrinsic properties and wide photometry -------------------------------------

    def _draw_candidates(self, rng_int: np.random.Generator, rng_phot: np.random.Generator, n: int):
        cfg = self.cfg
        m0 = draw_reference_magnitudes(rng_int, n, cfg.m_bright, cfg.m_faint, cfg.count_slope)
        frac = hdfn_type_fractions(m0)
        u = rng_int.random(n)
        cls = (u >= frac[:, 0]).astype(np.int8) + (u >= frac[:, 0] + frac[:, 1])
        lo = np.array([r[0] for r in _CLASS_T_RANGE])[cls]
        hi = np.array([r[1] for r in _CLASS_T_RANGE])[cls]
        t = lo + rng_int.random(n) * (hi - lo)
        z = draw_hdfn_redshifts(rng_int, m0, cls, cfg.z_min, cfg.z_max)
        mag_true = m0[:, None] + self.colour_model.colours(t, z)
        mag, err, snr = observe_magnitudes(rng_phot, mag_true, self.m5, self.gamma, cfg.sigma_sys)
        keep = snr[:, self.i_det] >= cfg.detection_snr
        return {
            "_pos": np.flatnonzero(keep),
            "m0": m0[keep],
            "t": t[keep],
            "z": z[keep],
            "mag_true": mag_true[keep],
            "mag": mag[keep],
            "magerr": err[keep],
        }

    def sample_positions(
        self, rng: np.random.Generator, z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sky positions [deg] for objects at redshifts ``z``.

        The object's shell s is picked from z; its pixel is drawn with probability
        ``∝ 1 + δ_s(p)`` over the footprint pixels; the position is the centre of a
        uniformly chosen nested sub-pixel at HEALPix order 29 (~0.4 mas), i.e.
        uniform within the pixel to far better than any use here.
        """
        n = z.size
        shell = np.searchsorted(self.shell_edges, z, side="right") - 1
        shell = np.clip(shell, 0, len(self._shell_cdf) - 1)
        u = rng.random(n)
        ipix = np.empty(n, dtype=np.int64)
        for s in np.unique(shell):
            m = shell == s
            ipix[m] = np.searchsorted(self._shell_cdf[s], u[m], side="right")
        ipix = np.minimum(ipix, self.footprint_pixels.size - 1)
        dorder = _HEALPIX_MAX_ORDER - self.order
        sub = rng.integers(0, 4**dorder, size=n, dtype=np.int64)
        fine = (self.footprint_pixels[ipix] << (2 * dorder)) + sub
        ra, dec = hp.pix2ang(2**_HEALPIX_MAX_ORDER, fine, nest=True, lonlat=True)
        return ra.astype(np.float64), dec.astype(np.float64)

    def draw_batch(self, k: int, j: int, n: int) -> dict[str, np.ndarray]:
        """Simulate exactly ``n`` detected objects for batch ``j`` of file ``k``.

        Candidates are drawn (and observed) until ``n`` pass the detection cut; the
        random streams depend only on ``(seed, k, j)``.

        Returns
        -------
        dict with ``m0, t, z, mag_true (n, n_b), mag, magerr (n, n_b, float32),
        ra, dec`` and ``n_drawn`` (candidates simulated, detected or not).
        """
        cfg = self.cfg
        rng_int = np.random.default_rng([cfg.seed, _STREAM_INTRINSIC, k, j, 0])
        rng_phot = np.random.default_rng([cfg.seed, _STREAM_PHOT, k, j, 0])
        rng_sky = np.random.default_rng([cfg.seed, _STREAM_SKY, k, j, 0])
        parts: list[dict[str, np.ndarray]] = []
        have = drawn = 0
        while have < n:
            acc = have / drawn if drawn else 1.0
            if drawn > 10_000 and acc < 1e-3:
                raise RuntimeError(
                    "detection efficiency < 0.1%: check depths / m_faint / detection_snr"
                )
            need = n - have
            n_try = min(int(math.ceil(need / max(acc, 1e-3) * 1.05)) + 32, max(4 * need, 100_000))
            part = self._draw_candidates(rng_int, rng_phot, n_try)
            pos = part.pop("_pos")
            if pos.size >= need:  # candidates actually consumed up to the n-th detection
                drawn += int(pos[need - 1]) + 1
            else:
                drawn += n_try
            have += pos.size
            parts.append(part)
        out = {key: np.concatenate([p[key] for p in parts])[:n] for key in parts[0]}
        out["ra"], out["dec"] = self.sample_positions(rng_sky, out["z"])
        out["n_drawn"] = np.int64(drawn)
        return out

    # -- derived samples ------------------------------------------------------------

    def select_specz(self, rng: np.random.Generator, mag: np.ndarray, z: np.ndarray):
        """Non-representative spectroscopic training sample.

        Campaigns are applied in order; each targets a random ``fraction`` of the
        eligible objects (detection-band magnitude < ``mag_max``, not yet successfully
        observed).  The redshift success probability is

            ``p = logistic((mag_max - m)/w) × (1 - penalty·[(b1 - b2) > cut])``

        (incompleteness at the faint end and for red, weak-emission-line galaxies;
        cf. the spec-z incompleteness discussed by Newman et al. 2015, APh 63, 81).
        ``z_spec = z + N(0, σ(1+z))``, with a catastrophic fraction replaced by a
        uniform z in [0, z_max].

        Returns
        -------
        index : ndarray int64 (selected rows), z_spec : ndarray, campaign : ndarray int
        """
        cfg = self.cfg
        n = z.size
        m = mag[:, self.i_det].astype(float)
        b1, b2 = (self.bands.index(b) for b in cfg.specz_red_colour)
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
        zs = self._noisy_z(rng, z[idx], cfg.specz_sigma, cfg.specz_catastrophic_fraction)
        return idx, zs, campaign[idx]

    def _noisy_z(
        self, rng: np.random.Generator, z: np.ndarray, sigma: float, f_out: float
    ) -> np.ndarray:
        zn = z + sigma * (1.0 + z) * rng.standard_normal(z.size)
        out = rng.random(z.size) < f_out
        zr = rng.uniform(0.0, self.cfg.z_max, z.size)
        return np.clip(np.where(out, zr, zn), 0.0, None)

    def select_deep(self, rng: np.random.Generator, batch: Mapping[str, np.ndarray]):
        """Deep (COSMOS-like) reference field.

        All catalogue objects within ``deep_area_deg2`` of the footprint centre,
        re-observed with depths ``+deep_depth_gain`` from the same true magnitudes;
        ``z_ref = z + N(0, deep_sigma (1+z))`` with ``deep_outlier_fraction`` uniform
        outliers in [0, z_max].

        Returns
        -------
        index, mag, magerr, z_ref
        """
        cfg = self.cfg
        sep = angular_separation_deg(batch["ra"], batch["dec"], cfg.ra0, cfg.dec0)
        idx = np.flatnonzero(sep <= self.deep_radius_deg)
        mag, err, _ = observe_magnitudes(
            rng, batch["mag_true"][idx], self.m5 + cfg.deep_depth_gain, self.gamma, cfg.sigma_sys
        )
        zr = self._noisy_z(rng, batch["z"][idx], cfg.deep_sigma, cfg.deep_outlier_fraction)
        return idx, mag, err, zr

    def select_clustering_reference(
        self, rng: np.random.Generator, batch: Mapping[str, np.ndarray]
    ):
        """Spectroscopic clustering reference: a random ``clustering_ref_fraction`` of
        objects with ``zmin < z < zmax`` and detection-band mag < ``mag_max``;
        spec-z errors as :meth:`select_specz` without catastrophic failures.

        Returns
        -------
        index, z_spec
        """
        cfg = self.cfg
        z = batch["z"]
        m = batch["mag"][:, self.i_det]
        u = rng.random(z.size)
        sel = (
            (z > cfg.clustering_ref_zmin)
            & (z < cfg.clustering_ref_zmax)
            & (m < cfg.clustering_ref_mag_max)
            & (u < cfg.clustering_ref_fraction)
        )
        idx = np.flatnonzero(sel)
        return idx, self._noisy_z(rng, z[idx], cfg.specz_sigma, 0.0)


# --------------------------------------------------------------------------- output


def _phot_schema(bands: Sequence[str]) -> pa.Schema:
    fields = [
        pa.field("id", pa.int64()),
        pa.field("ra", pa.float64()),
        pa.field("dec", pa.float64()),
    ]
    for b in bands:
        fields += [pa.field(f"mag_{b}", pa.float32()), pa.field(f"magerr_{b}", pa.float32())]
    return pa.schema(fields)


def _phot_columns(ids, ra, dec, mag, err, bands) -> dict[str, np.ndarray]:
    cols = {"id": ids.astype(np.int64), "ra": ra.astype(np.float64), "dec": dec.astype(np.float64)}
    for ib, b in enumerate(bands):
        cols[f"mag_{b}"] = np.ascontiguousarray(mag[:, ib], dtype=np.float32)
        cols[f"magerr_{b}"] = np.ascontiguousarray(err[:, ib], dtype=np.float32)
    return cols


_TRUTH_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("ra", pa.float64()),
        pa.field("dec", pa.float64()),
        pa.field("z_true", pa.float64()),
        pa.field("sed_type", pa.float64()),
        pa.field("mag_i_true", pa.float64()),
    ]
)


def _format_of(path: str) -> str:
    p = str(path).lower()
    if p.endswith((".parquet", ".pq")):
        return "parquet"
    if p.endswith((".fits", ".fit")):
        return "fits"
    raise ValueError(f"cannot infer format from extension of {path!r} (.parquet or .fits)")


def _ensure_dir(path: str) -> None:
    d = os.path.dirname(os.fspath(path))
    if d:
        os.makedirs(d, exist_ok=True)


class _PhotometryWriter:
    """Incremental writer of one photometric file (Parquet row groups / FITS stream)."""

    def __init__(
        self,
        path: str,
        fmt: str,
        n_rows: int,
        bands: Sequence[str],
        meta: dict[str, str],
        cards: Mapping[str, Any] | None = None,
    ):
        self.path, self.fmt, self.n_rows = os.fspath(path), fmt, n_rows
        self.tmp = str(temporary_sibling(self.path))
        self.schema = _phot_schema(bands).with_metadata(meta)
        _ensure_dir(self.path)
        if os.path.exists(self.tmp):
            os.remove(self.tmp)
        if fmt == "parquet":
            self._w = pq.ParquetWriter(self.tmp, self.schema)
        else:
            self._dtype = np.dtype(
                [(f.name, ">" + np.dtype(f.type.to_pandas_dtype()).str[1:]) for f in self.schema]
            )
            fmt_code = {"i8": "K", "f8": "D", "f4": "E"}
            cols = [
                fits.Column(name=n, format=fmt_code[self._dtype[n].str[1:]])
                for n in self._dtype.names
            ]
            hdr = fits.BinTableHDU.from_columns(cols, nrows=0).header
            hdr["NAXIS2"] = n_rows
            hdr["EXTNAME"] = "PHOTOMETRY"
            for key, val in (cards or {}).items():
                hdr[key] = val
            self._w = fits.StreamingHDU(self.tmp, hdr)

    def write(self, cols: Mapping[str, np.ndarray]) -> None:
        if self.fmt == "parquet":
            self._w.write_table(pa.table(dict(cols), schema=self.schema))
        else:
            n = len(cols["id"])
            rec = np.empty(n, dtype=self._dtype)
            for name in self._dtype.names:
                rec[name] = cols[name]
            self._w.write(rec.view(np.uint8))

    def close(self) -> None:
        self._w.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self._w.close()
        finally:
            if os.path.exists(self.tmp):
                os.remove(self.tmp)


def default_photometry_paths(
    cfg: MockConfig, directory: str, stem: str = "photometry"
) -> list[str]:
    """File names ``{directory}/{stem}_{k:03d}.{ext}`` for the ``n_files`` chunks, cycling
    through ``cfg.formats`` (file k gets ``formats[k % len(formats)]``)."""
    ext = {"parquet": "parquet", "fits": "fits"}
    return [
        os.path.join(directory, f"{stem}_{k:03d}.{ext[cfg.formats[k % len(cfg.formats)]]}")
        for k in range(cfg.n_files)
    ]


def file_row_counts(n_objects: int, n_files: int) -> list[int]:
    """Rows per file: ``n_objects // n_files`` each, the last takes the remainder."""
    base = n_objects // n_files
    return [base] * (n_files - 1) + [n_objects - base * (n_files - 1)]


def generate_survey(
    cfg: MockConfig,
    photometry_paths: Sequence[str],
    specz_path: str,
    deep_path: str,
    clustering_path: str,
    truth_path: str,
) -> dict[str, Any]:
    """Generate the mock survey and write all its files.

    Parameters
    ----------
    cfg : MockConfig
    photometry_paths : sequence of str
        One path per file (``len == cfg.n_files``); the format follows the extension
        (``.parquet``/``.pq`` or ``.fits``/``.fit``) and must be in ``cfg.formats``.
        File k holds the objects ``k·(N//n_files) ...`` (the last file takes the
        remainder), with ids equal to the running object index (unique int64).
        Columns: ``id, ra, dec, mag_<b>, magerr_<b>`` (99.0 = non-detection).
    specz_path, deep_path, clustering_path, truth_path : str
        Parquet outputs: spec-z training sample (photometric columns + ``z_spec``),
        deep field (photometric columns, deep photometry, + ``z_ref``), clustering
        reference (``id, ra, dec, z_spec``) and truth (``id, ra, dec, z_true,
        sed_type, mag_i_true``; one row group per batch).

    Returns
    -------
    dict
        JSON-serialisable summary: counts per file and per sample, footprint, etc.

    Notes
    -----
    Every file is written to a hidden temporary sibling and renamed into place
    (``os.replace``) once complete.  Memory is bounded by ``cfg.batch_size``.
    """
    paths = [os.fspath(p) for p in photometry_paths]
    if len(paths) != cfg.n_files:
        raise ValueError(f"got {len(paths)} photometry paths for n_files={cfg.n_files}")
    fmts = [_format_of(p) for p in paths]
    bad = [p for p, f in zip(paths, fmts) if f not in cfg.formats]
    if bad:
        raise ValueError(f"formats of {bad} not allowed by cfg.formats={cfg.formats}")
    all_out = [*paths, specz_path, deep_path, clustering_path, truth_path]
    if len({os.path.abspath(p) for p in all_out}) != len(all_out):
        raise ValueError("output paths must be distinct")

    model = MockSurvey(cfg)
    bands = cfg.bands
    meta = {"zshard_mock_config": json.dumps(cfg.to_dict(), sort_keys=True)}
    counts = file_row_counts(cfg.n_objects, cfg.n_files)

    specz_parts: list[pa.Table] = []
    deep_parts: list[pa.Table] = []
    clus_parts: list[pa.Table] = []
    specz_per_campaign = np.zeros(len(cfg.specz_campaigns), dtype=np.int64)
    n_drawn = 0
    per_file = []

    _ensure_dir(truth_path)
    truth_tmp = str(temporary_sibling(truth_path))
    truth_writer = pq.ParquetWriter(truth_tmp, _TRUTH_SCHEMA.with_metadata(meta))
    writer: _PhotometryWriter | None = None
    try:
        offset = 0
        for k, (path, fmt, n_k) in enumerate(zip(paths, fmts, counts)):
            cards = {"ORIGIN": "zshard.mock", "SEED": cfg.seed, "CHUNK": k, "NULLMAG": NONDETECTION}
            writer = _PhotometryWriter(path, fmt, n_k, bands, meta, cards)
            n_batches = max(1, math.ceil(n_k / cfg.batch_size))
            for j in range(n_batches):
                n_j = min(cfg.batch_size, n_k - j * cfg.batch_size)
                if n_j <= 0:
                    break
                b = model.draw_batch(k, j, n_j)
                n_drawn += int(b["n_drawn"])
                ids = offset + np.arange(n_j, dtype=np.int64)
                offset += n_j
                cols = _phot_columns(ids, b["ra"], b["dec"], b["mag"], b["magerr"], bands)
                writer.write(cols)
                truth_writer.write_table(
                    pa.table(
                        {
                            "id": ids,
                            "ra": b["ra"],
                            "dec": b["dec"],
                            "z_true": b["z"],
                            "sed_type": b["t"],
                            "mag_i_true": b["m0"],
                        },
                        schema=_TRUTH_SCHEMA,
                    )
                )
                # spectroscopic training sample
                rng = np.random.default_rng([cfg.seed, _STREAM_SPECZ, k, j, 0])
                idx, zs, camp = model.select_specz(rng, b["mag"], b["z"])
                specz_per_campaign += np.bincount(camp, minlength=len(cfg.specz_campaigns))
                t = {name: v[idx] for name, v in cols.items()}
                t["z_spec"] = zs
                specz_parts.append(pa.table(t))
                # deep reference field
                rng = np.random.default_rng([cfg.seed, _STREAM_DEEP, k, j, 0])
                idx, dmag, derr, zr = model.select_deep(rng, b)
                t = _phot_columns(ids[idx], b["ra"][idx], b["dec"][idx], dmag, derr, bands)
                t["z_ref"] = zr
                deep_parts.append(pa.table(t))
                # clustering reference
                rng = np.random.default_rng([cfg.seed, _STREAM_CLUSTERING, k, j, 0])
                idx, zc = model.select_clustering_reference(rng, b)
                clus_parts.append(
                    pa.table(
                        {"id": ids[idx], "ra": b["ra"][idx], "dec": b["dec"][idx], "z_spec": zc}
                    )
                )
                del b, cols
            writer.close()
            writer = None
            per_file.append({"path": path, "format": fmt, "n": int(n_k)})
        truth_writer.close()
        os.replace(truth_tmp, truth_path)
    except BaseException:
        if writer is not None:
            writer.abort()
        truth_writer.close()
        if os.path.exists(truth_tmp):
            os.remove(truth_tmp)
        raise

    phot_schema = _phot_schema(bands)
    specz_schema = phot_schema.append(pa.field("z_spec", pa.float64())).with_metadata(meta)
    deep_schema = phot_schema.append(pa.field("z_ref", pa.float64())).with_metadata(meta)
    clus_schema = pa.schema(
        [("id", pa.int64()), ("ra", pa.float64()), ("dec", pa.float64()), ("z_spec", pa.float64())]
    ).with_metadata(meta)

    def _cat(parts: list[pa.Table], schema: pa.Schema) -> pa.Table:
        if not parts:
            return schema.empty_table()
        bare = schema.remove_metadata()
        table = pa.concat_tables([p.cast(bare) for p in parts])
        return table.replace_schema_metadata(schema.metadata)

    specz = _cat(specz_parts, specz_schema)
    deep = _cat(deep_parts, deep_schema)
    clus = _cat(clus_parts, clus_schema)
    write_parquet(specz_path, specz, compression="zstd")
    write_parquet(deep_path, deep, compression="zstd")
    write_parquet(clustering_path, clus, compression="zstd")

    return {
        "n_photometric": int(cfg.n_objects),
        "n_simulated": int(n_drawn),
        "detection_fraction": float(cfg.n_objects / n_drawn) if n_drawn else None,
        "files": per_file,
        "n_per_file": [f["n"] for f in per_file],
        "n_specz": int(specz.num_rows),
        "n_specz_per_campaign": {
            c.name: int(n) for c, n in zip(cfg.specz_campaigns, specz_per_campaign)
        },
        "n_deep": int(deep.num_rows),
        "n_clustering_ref": int(clus.num_rows),
        "n_truth": int(cfg.n_objects),
        "footprint_area_deg2": float(model.footprint_area_deg2),
        "n_footprint_pixels": int(model.footprint_pixels.size),
        "deep_radius_deg": float(model.deep_radius_deg),
        "n_shells": int(model.shell_delta.shape[0]),
        "seed": int(cfg.seed),
    }
