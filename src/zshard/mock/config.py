"""Configuration of the mock survey: :class:`MockConfig` and its spectroscopic campaigns."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zshard.mock.seds import TABLE_Z_MAX
from zshard.sky import HEALPIX29_ORDER

#: LSST 5σ point-source depths m5 per band [AB mag] (the defaults of ``MockConfig.depths``).
DEFAULT_DEPTHS = {"u": 25.6, "g": 26.9, "r": 26.9, "i": 26.4, "z": 25.6, "y": 24.8}
#: Ivezić et al. (2019) γ per band (the defaults of ``MockConfig.gamma``).
DEFAULT_GAMMA = {"u": 0.038, "g": 0.039, "r": 0.039, "i": 0.039, "z": 0.039, "y": 0.039}


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


#: Derived sample -> the field of :class:`MockConfig` that caps its size.
SAMPLE_CAPS = {"specz": "specz_max_objects", "deep": "deep_max_objects",
               "clustering": "clustering_ref_max_objects"}


def _default_campaigns() -> tuple[SpeczCampaign, ...]:
    return (SpeczCampaign("wide", 22.0, 0.15), SpeczCampaign("deep", 24.0, 0.04))


@dataclass(frozen=True)
class MockConfig:
    """Configuration of the mock survey (all magnitudes AB, angles in degrees).

    Build from a plain mapping (e.g. the workflow's YAML) with :meth:`from_dict`, which
    rejects unknown keys.  See :mod:`zshard.mock` for the model.

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
        :func:`zshard.mock.layout.photometry_paths` ("parquet" and/or "fits").
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
    satellite_fraction, satellite_radius_mpc, satellite_halos_per_deg2 : float
        Halo-style clumping below the field's pixels (:class:`zshard.mock.fields.SkyModel`): this
        fraction of the objects are satellites, each placed at a 2-D Gaussian offset of
        ``satellite_radius_mpc`` (physical, per axis) from one of ``satellite_halos_per_deg2`` halo
        centres per shell and square degree, the centres tracing the shell's field. 0: no satellites.
    bias_b0, bias_alpha, bias_ref_b0, bias_ref_alpha : float
        Galaxy bias ``b(z) = b0 (1 + z)**alpha`` of two populations: the galaxies the clustering
        reference would select (observed detection-band magnitude below
        :meth:`reference_mag_limit`: ``bias_ref_*``, brighter and more clustered, as BOSS/DESI
        targets are) and all the others (``bias_*``). Each traces its shell's field with its own
        bias (:class:`zshard.mock.fields.SkyModel`, log-linear bias of the lognormal field); a
        tomographic bin mixes the two in a proportion that changes with z, so its bias evolves
        differently from the reference's. ``(1 + z)**0.7`` is close to the DES-like ``1 / D(z)``
        (Planck 2015 growth factor) up to z = 1.5.
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
    clustering_ref_mag_max, clustering_ref_mag_slope, clustering_ref_mag_pivot : float
        Clustering reference: sampling fraction of objects with ``zmin < z_true < zmax`` and
        observed detection-band magnitude below :meth:`reference_mag_limit`, ``mag_max`` up to
        ``z = pivot`` and ``mag_max + slope (z − pivot)`` above it (a reference that reaches fainter
        galaxies at high z, as emission-line targets do, keeping its density up to z = 1.5).
    specz_max_objects, deep_max_objects, clustering_ref_max_objects : int or None
        Largest size of the spec-z sample, the deep field and the clustering reference. The
        selections above are fractions of the catalogue, so without a cap these samples grow
        with ``n_objects``; real ones do not (a spec-z compilation holds ~10⁵ redshifts, a
        COSMOS-like field a few 10⁴ objects with a good redshift, a spectroscopic survey a fixed
        density on the sky). Where a selection finds more objects than its cap, it keeps the
        ``cap`` of them with the smallest id hash (:func:`zshard.io.ids.id_hash_unit` with a
        seed derived from ``seed``): a uniform random subsample, the same whatever the order
        of files and batches. Below the cap nothing changes. None: no cap.
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
    satellite_fraction: float = 0.0
    satellite_radius_mpc: float = 0.5
    satellite_halos_per_deg2: float = 5.0
    bias_b0: float = 1.0
    bias_alpha: float = 0.0
    bias_ref_b0: float = 1.0
    bias_ref_alpha: float = 0.0
    z_min: float = 0.01
    z_max: float = 2.0
    m_bright: float = 17.0
    m_faint: float = 25.8
    count_slope: float = 0.35
    depths: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DEPTHS))
    depth_offset: float = 0.0
    gamma: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_GAMMA))
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
    clustering_ref_mag_slope: float = 0.0
    clustering_ref_mag_pivot: float = 0.7
    specz_max_objects: int | None = 100_000
    deep_max_objects: int | None = 50_000
    clustering_ref_max_objects: int | None = 100_000

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
            default = DEFAULT_DEPTHS if name == "depths" else DEFAULT_GAMMA
            unknown = set(given) - set(default)
            if unknown:
                raise ValueError(f"{name}: unknown bands {sorted(unknown)}")
            s(self, name, {**default, **{k: float(v) for k, v in given.items()}})
        for name in ("n_objects", "n_files", "seed", "batch_size", "nside", *SAMPLE_CAPS.values()):
            v = getattr(self, name)
            if v is None and name in SAMPLE_CAPS.values():
                continue
            if isinstance(v, bool) or int(v) != v:
                raise ValueError(f"{name} must be an integer, got {v!r}")
            s(self, name, int(v))
        self._validate()

    def _validate(self) -> None:
        if self.n_objects < 0 or self.n_files < 1 or self.batch_size < 1:
            raise ValueError("need n_objects >= 0, n_files >= 1, batch_size >= 1")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        for name in SAMPLE_CAPS.values():
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 (or None: no cap)")
        bad = set(self.formats) - {"parquet", "fits"}
        if bad or not self.formats:
            raise ValueError(f"formats must be a non-empty subset of parquet/fits: {bad}")
        bad = set(self.bands) - set(DEFAULT_DEPTHS)
        if bad or len(set(self.bands)) != len(self.bands) or not self.bands:
            raise ValueError(f"bands must be distinct members of u g r i z y, got {self.bands}")
        if self.detection_band not in self.bands:
            raise ValueError("detection_band must be one of bands")
        if len(self.specz_red_colour) != 2 or not set(self.specz_red_colour) <= set(self.bands):
            raise ValueError("specz_red_colour must be two of bands")
        if self.nside < 1 or self.nside & (self.nside - 1) or self.nside > 2**HEALPIX29_ORDER:
            raise ValueError("nside must be a power of 2")
        if not 0 < self.z_min < self.z_max <= TABLE_Z_MAX:
            raise ValueError(f"need 0 < z_min < z_max <= {TABLE_Z_MAX}")
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
        if not 0.0 <= self.satellite_fraction <= 1.0:
            raise ValueError("satellite_fraction must be in [0, 1]")
        if self.satellite_radius_mpc <= 0 or self.satellite_halos_per_deg2 <= 0:
            raise ValueError("satellite_radius_mpc and satellite_halos_per_deg2 must be > 0")
        if self.specz_success_width <= 0:
            raise ValueError("specz_success_width must be > 0")
        if self.bias_b0 <= 0 or self.bias_ref_b0 <= 0:
            raise ValueError("bias_b0 and bias_ref_b0 must be > 0")
        if self.clustering_ref_mag_slope < 0:
            raise ValueError("clustering_ref_mag_slope must be >= 0")

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

    def reference_mag_limit(self, z: np.ndarray) -> np.ndarray:
        """The clustering reference's detection-band magnitude limit at true redshift ``z``."""
        z = np.asarray(z, dtype=np.float64)
        return self.clustering_ref_mag_max + self.clustering_ref_mag_slope * np.maximum(
            z - self.clustering_ref_mag_pivot, 0.0)

    def galaxy_bias(self, z: np.ndarray, reference: bool) -> np.ndarray:
        """Bias ``b0 (1 + z)**alpha`` at ``z`` of the reference's population or of the others."""
        b0, alpha = ((self.bias_ref_b0, self.bias_ref_alpha) if reference
                     else (self.bias_b0, self.bias_alpha))
        return b0 * (1.0 + np.asarray(z, dtype=np.float64)) ** alpha

    @property
    def m5_per_band(self) -> np.ndarray:
        """5σ depths of ``bands`` [mag], ``depth_offset`` included."""
        return np.array([self.depths[b] for b in self.bands]) + self.depth_offset

    @property
    def gamma_per_band(self) -> np.ndarray:
        """Ivezić et al. (2019) γ of ``bands``."""
        return np.array([self.gamma[b] for b in self.bands])

    @property
    def detection_index(self) -> int:
        """Column of the detection band in ``bands``."""
        return self.bands.index(self.detection_band)
