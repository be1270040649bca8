"""Clustering redshifts ("WZ"), the measurement: the clustering n(z) amplitude of each tomographic
bin, per redshift slice of a spectroscopic reference sample, with delete-one jackknife samples.

Method
------
Galaxies at the same redshift trace the same large-scale structure, so the angular
cross-correlation of an "unknown" photometric sample u with a thin redshift slice of a
spectroscopic reference sample r at redshift z is proportional to the fraction of u that lies at
that redshift (Newman 2008, ApJ 684, 88; Ménard et al. 2013, arXiv:1303.4722; Schmidt et al. 2013,
MNRAS 431, 3307):

    w_ur(z) ∝ n_u(z) b_u(z) b_r(z) w_dm(z),        w_rr(z) ∝ b_r(z)² w_dm(z),

with b the galaxy biases and w_dm the dark-matter clustering integrated over the same scales
(physical separations ``rmin``–``rmax`` in kpc at each slice's redshift, as in Schmidt et al. 2013
and the DES Y1 analysis, Davis et al. 2018, arXiv:1710.02517; Gatti et al. 2018, MNRAS 477, 1664).
The reference autocorrelation w_rr measures the reference bias, and two corrections are offered
(``bias_correction``):

* ``"ratio"``: ``n_u(z) ∝ w_ur / w_rr = n_u b_u / b_r``, exact when the unknown sample's
  bias evolves like the reference's. It is not exact on zshard's default mock, whose reference
  and photometric biases evolve differently (``b_u/b_r ∝ (1 + z)^−0.4`` with the config's ``mock.bias_*``),
  so what the ratio leaves is carried as an error term (``bias_evolution_sigma``). Because both
  correlations are measured on the same density field, much of the field's sample variance
  cancels in the ratio.
* ``"sqrt"``: ``n_u(z) ∝ w_ur / sqrt(w_rr) = n_u b_u sqrt(w_dm)`` (the estimator of
  ``yet_another_wizz``, van den Busch et al. 2020, A&A 642, A200), which leaves the evolution of
  ``b_u sqrt(w_dm)`` uncorrected; it is the one to use when the unknown bias is modelled separately.

The amplitude is normalised over the reference's redshift range (the slices), so only that range
is constrained: tails of the bin outside it are invisible to the method.

Errors: delete-one jackknife over spatial patches, ``σ² = (N−1)/N Σ_k (x_k − x̄)²``; the patches
are equal-area runs of HEALPix pixels along the NESTED index (a space-filling curve), so every patch
is a compact union of footprint pixels (:func:`healpix_patches`).

Randoms are uniform over the footprint, taken as the HEALPix pixels (``footprint_order``) that hold
at least one object of the photometric sample (:func:`footprint_pixels`): exact for the mock, whose
footprint is a set of HEALPix pixels; for real data it ignores depth variations within a pixel.
Objects outside the survey's mask would add nearly empty pixels whose randoms bias every w_ur high,
by about their area's fraction (the mock's satellites once did, by 1.5–2%: docs/mock_clustering.md);
with such data, pass the mask's pixels as ``footprint``.
Randoms get redshifts drawn from the reference's (the usual practice for the reference randoms).

The pair counts are yet_another_wizz's (``yaw``, which uses ``treecorr``'s ball trees); this module
only assembles samples, randoms, patches and the estimator. yaw runs single-process here
(``max_workers``), as every zshard job does.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hpgeom
import numpy as np

from zshard.sky import HEALPIX29_ORDER, radec_to_healpix

if TYPE_CHECKING:
    import pandas as pd
    import yaw
    from astropy.cosmology import FlatLambdaCDM

__all__ = [
    "ClusteringConfig",
    "footprint_pixels",
    "uniform_randoms",
    "healpix_patches",
    "WZResult",
    "clustering_nz",
    "fit_power_law",
]


@dataclass(frozen=True)
class ClusteringConfig:
    """Settings of the clustering-redshift measurement: ``validation.clustering`` of the config.

    No field has a default: build it with :meth:`from_dict` from the validated config, or from
    ``zshard.config.with_defaults(settings, "validation.clustering")`` outside the workflow.

    Attributes
    ----------
    zmin, zmax : float
        Redshift range of the reference sample's slices.
    n_slices : int
        Number of slices (linear edges).
    rmin_kpc, rmax_kpc : float
        Range of physical transverse separations (kpc) of the pair counts.
    n_patches : int
        Jackknife patches.
    randoms_factor : float
        Randoms per reference object.
    footprint_order : int
        HEALPix order of the footprint pixels the randoms fill.
    bias_correction : {"ratio", "sqrt"}
        w_ur / w_rr or w_ur / sqrt(w_rr); see the module docstring.
    smooth_w_rr : bool
        Use a power law ``A (1+z)**γ`` fitted to w_rr over the slices instead of the per-slice
        values (a thin slice's autocorrelation is the noisiest number of the estimate).
    w_rr_fit_degree : int
        1: that power law; 2: its log is quadratic in ln(1 + z) (:func:`fit_power_law`).
    window_sigma : float
        Half-width of the Δz window in units of the photometric n(z)'s σ (0: all slices).
    min_overlap : float
        A bin whose photometric n(z) has less than this fraction of its mass in the slices' range
        gets no Δz ("no overlap with the reference").
    bias_evolution_sigma : float
        The uncorrected bias evolution as an error term: the amplitude is what the correction leaves,
        ``n_u b_u / b_r`` (``ratio``), and ``b_u / b_r`` is not measured. Taking it as ``(1 + z)^γ``
        with γ = 0 ± ``bias_evolution_sigma`` (the power-law marginalisation of Davis et al. 2018 and
        Gatti et al. 2022), Δz is recomputed at γ = ±σ_γ and half the difference is added in
        quadrature to the jackknife error. 0: no such term.
    """

    zmin: float
    zmax: float
    n_slices: int
    rmin_kpc: float
    rmax_kpc: float
    n_patches: int
    randoms_factor: float
    footprint_order: int
    bias_correction: str
    smooth_w_rr: bool
    w_rr_fit_degree: int
    window_sigma: float
    min_overlap: float
    bias_evolution_sigma: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.zmin) and math.isfinite(self.zmax) and 0 <= self.zmin < self.zmax):
            raise ValueError(f"need 0 <= zmin < zmax, got zmin={self.zmin}, zmax={self.zmax}")
        if int(self.n_slices) != self.n_slices or self.n_slices < 2:
            raise ValueError(f"n_slices must be an integer >= 2, got {self.n_slices}")
        if not 0 < self.rmin_kpc < self.rmax_kpc:
            raise ValueError(f"need 0 < rmin_kpc < rmax_kpc, got {self.rmin_kpc}, {self.rmax_kpc}")
        if int(self.n_patches) != self.n_patches or self.n_patches < 3:
            raise ValueError(f"n_patches must be an integer >= 3 (jackknife), got {self.n_patches}")
        if not self.randoms_factor > 0:
            raise ValueError(f"randoms_factor must be > 0, got {self.randoms_factor}")
        if not 0 <= int(self.footprint_order) <= 13:
            raise ValueError(f"footprint_order must be in 0..13, got {self.footprint_order}")
        if self.bias_correction not in ("ratio", "sqrt"):
            raise ValueError(f"bias_correction must be 'ratio' or 'sqrt', got {self.bias_correction!r}")
        if self.window_sigma < 0 or not 0 <= self.min_overlap <= 1:
            raise ValueError("need window_sigma >= 0 and 0 <= min_overlap <= 1")
        if int(self.w_rr_fit_degree) != self.w_rr_fit_degree or not 1 <= self.w_rr_fit_degree <= 3:
            raise ValueError(f"w_rr_fit_degree must be 1, 2 or 3, got {self.w_rr_fit_degree}")
        if not self.bias_evolution_sigma >= 0:
            raise ValueError(f"bias_evolution_sigma must be >= 0, got {self.bias_evolution_sigma}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ClusteringConfig:
        """From the workflow's ``validation.clustering`` mapping (``enabled`` and ``max_unknown``, which
        say whether and on how many objects the rule runs, ignored); every setting needed."""
        known = set(cls.__dataclass_fields__)
        d = {k: v for k, v in dict(d).items() if k not in ("enabled", "max_unknown")}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown clustering settings: {sorted(unknown)}")
        return cls(**d)

    @property
    def slice_edges(self) -> np.ndarray:
        """The ``n_slices + 1`` linear redshift edges of the reference's slices."""
        return np.linspace(self.zmin, self.zmax, int(self.n_slices) + 1)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (recorded in the Δz product)."""
        return asdict(self)


# --------------------------------------------------------------------------------------------
# Footprint, randoms, patches
# --------------------------------------------------------------------------------------------
def footprint_pixels(ra: np.ndarray, dec: np.ndarray, order: int) -> np.ndarray:
    """Sorted unique NESTED HEALPix pixels of ``order`` that hold at least one of the positions."""
    if len(ra) == 0:
        raise ValueError("cannot derive a footprint from an empty sample")
    return np.unique(radec_to_healpix(ra, dec, order))


def uniform_randoms(pixels: np.ndarray, order: int, n: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` positions (degrees) uniform over the union of the NESTED ``pixels`` of ``order``.

    HEALPix pixels have equal areas, so a pixel is drawn uniformly, then one of its order-29
    sub-pixels (≈ 0.4 mas), whose centre is the position (as ``zshard.mock`` places objects).
    """
    pixels = np.asarray(pixels, dtype=np.int64)
    if pixels.size == 0:
        raise ValueError("the footprint has no pixel")
    shift = HEALPIX29_ORDER - int(order)
    parent = pixels[rng.integers(0, pixels.size, size=int(n))]
    fine = (parent << (2 * shift)) + rng.integers(0, 1 << (2 * shift), size=int(n), dtype=np.int64)
    ra, dec = hpgeom.pixel_to_angle(1 << HEALPIX29_ORDER, fine, nest=True, lonlat=True, degrees=True)
    return np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64)


def healpix_patches(pixels: np.ndarray, n_patches: int) -> np.ndarray:
    """Jackknife patch of each footprint pixel: ``n_patches`` equal-area runs along the NESTED index.

    The NESTED index is a space-filling (Z-order) curve on each base pixel, so a run of consecutive
    pixels is a compact region; with equal pixel counts the patches have equal areas.

    Returns
    -------
    ndarray of int
        The patch index (0 … n_patches − 1) of each pixel of the sorted ``pixels``.
    """
    pixels = np.asarray(pixels, dtype=np.int64)
    if n_patches > pixels.size:
        raise ValueError(f"{n_patches} patches asked for a footprint of {pixels.size} pixels; "
                         "lower n_patches or raise footprint_order")
    if np.any(np.diff(pixels) <= 0):
        raise ValueError("footprint pixels must be sorted and unique")
    return (np.arange(pixels.size) * int(n_patches)) // pixels.size


def _patch_of(ra: np.ndarray, dec: np.ndarray, pixels: np.ndarray, patch_of_pixel: np.ndarray,
              order: int) -> np.ndarray:
    pix = radec_to_healpix(ra, dec, order)
    pos = np.clip(np.searchsorted(pixels, pix), 0, pixels.size - 1)
    inside = pixels[pos] == pix
    return np.where(inside, patch_of_pixel[pos], -1)


def _tabulated_cosmology() -> FlatLambdaCDM:
    """Planck 2015 with its angular-diameter distance tabulated once and interpolated.

    yaw converts the kpc scales to angles for every pair of patches and every slice; with
    astropy's integrals that costs more than the pair counts themselves. Interpolating a table
    of 2001 redshifts up to 5 is accurate to < 1e-5. (yaw 3.1.2's ``CustomCosmology`` cannot be
    passed to its ``Configuration``, hence the astropy subclass.)
    """
    from astropy.cosmology import FlatLambdaCDM, Planck15

    z = np.linspace(0.0, 5.0, 2001)
    table = Planck15.angular_diameter_distance(z).value

    class TabulatedPlanck15(FlatLambdaCDM):
        def angular_diameter_distance(self, zz: Any) -> np.ndarray:
            return np.interp(zz, z, table)

    return TabulatedPlanck15(H0=Planck15.H0, Om0=Planck15.Om0, Tcmb0=Planck15.Tcmb0, Neff=Planck15.Neff,
                             m_nu=Planck15.m_nu, Ob0=Planck15.Ob0, name="Planck15 (tabulated D_A)")


def fit_power_law(z: np.ndarray, w: np.ndarray, sigma: np.ndarray, degree: int) -> np.ndarray:
    """``exp(Σ_k a_k ln(1+z)^k)``, k ≤ ``degree``, fitted to ``w`` (weights 1/σ²) by non-linear least
    squares, evaluated at ``z``: degree 1 is the power law ``A (1+z)**γ``, degree 2 lets its slope
    change with z.

    Used to smooth the reference autocorrelation across slices. At fixed physical scales w_rr is
    not a power law of 1 + z: the pairs inside one halo dominate the small scales at high z, where
    0.3 Mpc is a small angle, and not at low z. Falls back to the weighted mean (a constant) when the
    fit fails or fewer than ``degree + 2`` slices are usable.
    """
    from scipy.optimize import curve_fit

    ok = np.isfinite(w) & np.isfinite(sigma) & (sigma > 0)
    if ok.sum() < int(degree) + 2:
        return np.full_like(z, np.nan, dtype=np.float64)
    weights = 1.0 / sigma[ok] ** 2
    mean = float(np.sum(w[ok] * weights) / np.sum(weights))
    x = np.log1p(np.asarray(z, dtype=np.float64))

    def model(xx: np.ndarray, *coeffs: float) -> np.ndarray:
        return np.exp(np.polyval(coeffs, xx))

    start = [0.0] * int(degree) + [math.log(mean) if mean > 0 else 0.0]
    try:
        coeffs, _ = curve_fit(model, x[ok], w[ok], p0=start, sigma=sigma[ok], maxfev=4000)
    except (RuntimeError, ValueError):
        return np.full_like(z, mean, dtype=np.float64)
    return model(x, *coeffs)


# --------------------------------------------------------------------------------------------
# The measurement
# --------------------------------------------------------------------------------------------
@dataclass
class WZResult:
    """Clustering n(z) of each unknown sample.

    Attributes
    ----------
    slice_edges : ndarray, shape (n_slices + 1,)
        Redshift edges of the reference slices.
    amplitude : ndarray, shape (n_bins, n_slices)
        Bias-corrected amplitude (w_ur / w_rr or w_ur / sqrt(w_rr)).
    samples : ndarray, shape (n_bins, n_patches, n_slices)
        Its delete-one jackknife samples.
    w_rr : ndarray, shape (n_slices,)
        Reference autocorrelation as measured.
    w_rr_used : ndarray, shape (n_slices,)
        The one divided by (the power-law fit with ``smooth_w_rr``).
    w_ur : ndarray, shape (n_bins, n_slices)
        Cross-correlations.
    n_reference : ndarray, shape (n_slices,)
        Reference objects per slice.
    n_unknown : ndarray, shape (n_bins,)
        Unknown objects per bin.
    """

    slice_edges: np.ndarray
    amplitude: np.ndarray
    samples: np.ndarray
    w_rr: np.ndarray
    w_rr_used: np.ndarray
    w_ur: np.ndarray
    n_reference: np.ndarray
    n_unknown: np.ndarray

    @property
    def slice_centres(self) -> np.ndarray:
        """Centres of the reference slices."""
        return 0.5 * (self.slice_edges[1:] + self.slice_edges[:-1])


def _check_positions(name: str, ra: Any, dec: Any, *extra: Any) -> tuple[np.ndarray, np.ndarray]:
    ra = np.asarray(ra, dtype=np.float64)
    dec = np.asarray(dec, dtype=np.float64)
    if ra.ndim != 1 or ra.shape != dec.shape or any(np.shape(e) != ra.shape for e in extra):
        raise ValueError(f"{name}: ra, dec (and the per-object columns) must be 1-d arrays of one length")
    if not (np.all(np.isfinite(ra)) and np.all(np.abs(dec) <= 90)):
        raise ValueError(f"{name}: positions must be finite with |dec| <= 90 degrees")
    return ra, dec


def clustering_nz(ref_ra: np.ndarray, ref_dec: np.ndarray, ref_z: np.ndarray, unk_ra: np.ndarray,
                  unk_dec: np.ndarray, unk_bin: np.ndarray, n_bins: int, config: ClusteringConfig,
                  seed: int | np.random.Generator = 0, footprint: np.ndarray | None = None,
                  max_workers: int = 1) -> WZResult:
    """Cross-correlate each unknown sample (tomographic bin) with the reference in redshift slices.

    Parameters
    ----------
    ref_ra, ref_dec, ref_z : ndarray
        The reference sample: positions (degrees) and spectroscopic redshifts.
    unk_ra, unk_dec : ndarray
        Positions of the unknown sample.
    unk_bin : ndarray of int
        Tomographic bin of each unknown object (−1: in no bin, ignored).
    n_bins : int
        Number of tomographic bins.
    config : ClusteringConfig
        The settings.
    seed : int or numpy.random.Generator
        Seed (or generator) of the randoms.
    footprint : ndarray, optional
        Sorted NESTED pixels of ``config.footprint_order`` covering the survey; by default the
        pixels holding unknown objects (:func:`footprint_pixels`).
    max_workers : int
        Processes yaw may use (1: none spawned).

    Returns
    -------
    WZResult
        Empty bins have NaN amplitudes and samples.
    """
    import pandas as pd
    import yaw

    ref_z = np.asarray(ref_z, dtype=np.float64)
    unk_bin = np.asarray(unk_bin)
    ref_ra, ref_dec = _check_positions("reference", ref_ra, ref_dec, ref_z)
    unk_ra, unk_dec = _check_positions("unknown sample", unk_ra, unk_dec, unk_bin)
    if not np.issubdtype(unk_bin.dtype, np.integer):
        raise ValueError("unk_bin must be integer tomographic bin indices")
    edges = config.slice_edges
    in_range = np.isfinite(ref_z) & (ref_z > edges[0]) & (ref_z <= edges[-1])
    ref_ra, ref_dec, ref_z = ref_ra[in_range], ref_dec[in_range], ref_z[in_range]
    if ref_z.size < 10 * config.n_slices:
        raise ValueError(f"only {ref_z.size} reference objects in {edges[0]} < z <= {edges[-1]}: "
                         f"too few for {config.n_slices} slices")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    order = int(config.footprint_order)
    pixels = (footprint_pixels(unk_ra, unk_dec, order) if footprint is None
              else np.unique(np.asarray(footprint, dtype=np.int64)))
    patch_of_pixel = healpix_patches(pixels, int(config.n_patches))

    n_rand = int(math.ceil(config.randoms_factor * ref_z.size))
    rand_ra, rand_dec = uniform_randoms(pixels, order, n_rand, rng)
    rand_z = ref_z[rng.integers(0, ref_z.size, size=n_rand)]

    def frame(ra: np.ndarray, dec: np.ndarray, z: np.ndarray | None = None) -> pd.DataFrame:
        patch = _patch_of(ra, dec, pixels, patch_of_pixel, order)
        keep = patch >= 0
        cols = {"ra": ra[keep], "dec": dec[keep], "patch": patch[keep]}
        if z is not None:
            cols["z"] = z[keep]
        return pd.DataFrame(cols)

    ref_frame, rand_frame = frame(ref_ra, ref_dec, ref_z), frame(rand_ra, rand_dec, rand_z)
    for name, df in (("reference", ref_frame), ("randoms", rand_frame)):
        missing = np.setdiff1d(np.arange(config.n_patches), df["patch"].to_numpy())
        if missing.size:
            raise ValueError(f"{name}: patches {missing.tolist()} are empty; lower n_patches "
                             f"(the reference must cover the footprint)")

    yaw_config = yaw.Configuration.create(rmin=float(config.rmin_kpc), rmax=float(config.rmax_kpc),
                                          unit="kpc", edges=edges, cosmology=_tabulated_cosmology(),
                                          max_workers=max_workers)
    n_slices = edges.size - 1
    amplitude = np.full((n_bins, n_slices), np.nan)
    samples = np.full((n_bins, int(config.n_patches), n_slices), np.nan)
    w_ur = np.full((n_bins, n_slices), np.nan)
    n_unknown = np.bincount(unk_bin[(unk_bin >= 0) & (unk_bin < n_bins)], minlength=n_bins)
    with tempfile.TemporaryDirectory(prefix="zshard_wz_") as tmp:
        tmp = Path(tmp)

        def catalog(name: str, df: pd.DataFrame, redshift: bool) -> yaw.Catalog:
            return yaw.Catalog.from_dataframe(tmp / name, df, ra_name="ra", dec_name="dec", patch_name="patch",
                                              redshift_name="z" if redshift else None,
                                              overwrite=True, max_workers=max_workers)

        ref_cat = catalog("reference", ref_frame, True)
        rand_cat = catalog("randoms", rand_frame, True)
        w_rr_corr = yaw.autocorrelate(yaw_config, ref_cat, rand_cat, count_rr=True, max_workers=max_workers)[0]
        w_rr = w_rr_corr.sample()
        rr_data, rr_samples = np.asarray(w_rr.data, dtype=np.float64), np.asarray(w_rr.samples, dtype=np.float64)
        if config.smooth_w_rr:
            mids = 0.5 * (edges[1:] + edges[:-1])
            err = np.sqrt(np.diag(w_rr.covariance))
            degree = int(config.w_rr_fit_degree)
            rr_data = fit_power_law(mids, rr_data, err, degree)
            rr_samples = np.array([fit_power_law(mids, smp, err, degree) for smp in rr_samples])
        for b in range(n_bins):
            sel = unk_bin == b
            unk_frame = frame(unk_ra[sel], unk_dec[sel])
            if len(unk_frame) == 0 or np.setdiff1d(np.arange(config.n_patches), unk_frame["patch"]).size:
                continue  # an empty (or patchy) bin: no cross-correlation, reported as NaN
            unk_cat = catalog(f"unknown_{b}", unk_frame, False)
            w_cross = yaw.crosscorrelate(yaw_config, ref_cat, unk_cat, ref_rand=rand_cat,
                                         max_workers=max_workers)[0].sample()
            w_ur[b] = w_cross.data
            with np.errstate(divide="ignore", invalid="ignore"):
                power = 1.0 if config.bias_correction == "ratio" else 0.5
                amplitude[b] = w_cross.data / rr_data**power
                samples[b] = w_cross.samples / rr_samples**power
    n_reference = np.histogram(ref_z, bins=edges)[0]
    return WZResult(slice_edges=edges, amplitude=amplitude, samples=samples, w_rr=np.asarray(w_rr.data),
                    w_rr_used=rr_data,
                    w_ur=w_ur, n_reference=n_reference, n_unknown=n_unknown)
