"""The mock's galaxy population: priors on magnitude, type and redshift, the photometric error
model and the detection cut.

:class:`Population` turns random streams into detected galaxies: true i-band magnitude
(number counts), broad type and redshift (Benítez 2000 HDF-N prior), colours
(:class:`zshard.mock.seds.ColourModel`), observed magnitudes (Ivezić et al. 2019 error model)
and the S/N cut in the detection band.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammainc, gammaincinv

from zshard.mock.config import MockConfig
from zshard.mock.seds import ColourModel

#: Sentinel written for non-detections (mag and magerr), SExtractor style.
NONDETECTION = 99.0
#: Zero point of the internal flux unit: F = 10**(-0.4 (m - 31.4)) is in nJy.
AB_ZEROPOINT = 31.4
#: 2.5 / ln(10): converts a fractional flux error into a magnitude error.
_MAG_PER_LNFLUX = 2.5 / math.log(10.0)

# Benítez (2000) Table 1 (HDF-N prior), classes E/S0, Spiral, Irr/SB.
_HDFN_ALPHA = np.array([2.465, 1.806, 0.906])
_HDFN_Z0 = np.array([0.431, 0.390, 0.0626])
_HDFN_KM = np.array([0.0913, 0.0636, 0.123])
_HDFN_F0 = np.array([0.35, 0.50])
_HDFN_KT = np.array([0.450, 0.147])
_HDFN_M0 = 20.0
#: Continuous SED-index range [lo, hi) covered by each broad class.
_CLASS_T_RANGE = ((0.0, 1.0), (1.0, 3.0), (3.0, 7.0))


# --------------------------------------------------------------------------- priors


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


def draw_sed_types(rng: np.random.Generator, m0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draw the broad type from ``p(T|m0)`` and a continuous SED index within it.

    The broad class (0 E/S0, 1 Spiral, 2 Irr/SB) follows :func:`hdfn_type_fractions`; the
    SED index ``t`` is uniform over the class's range of templates (E: [0, 1), Spiral:
    [1, 3), Irr/SB: [3, 7)), which :class:`zshard.mock.seds.ColourModel` interpolates.

    Returns
    -------
    type_class : ndarray int8, t : ndarray float
    """
    n = m0.size
    frac = hdfn_type_fractions(m0)
    u = rng.random(n)
    type_class = (u >= frac[:, 0]).astype(np.int8) + (u >= frac[:, 0] + frac[:, 1])
    lo = np.array([r[0] for r in _CLASS_T_RANGE])[type_class]
    hi = np.array([r[1] for r in _CLASS_T_RANGE])[type_class]
    t = lo + rng.random(n) * (hi - lo)
    return type_class, t


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


# --------------------------------------------------------------------------- population


class Population:
    """The galaxies of the wide survey, drawn and observed; only detected ones are kept.

    Parameters
    ----------
    cfg : MockConfig
        Priors (``m_bright``, ``m_faint``, ``count_slope``, ``z_min``, ``z_max``), depths,
        error model and detection cut.  Building the colour model costs a one-off few
        seconds (the colour table, cached per band set).
    """

    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.colour_model = ColourModel(cfg.bands)

    def draw_candidates(
        self, rng_int: np.random.Generator, rng_phot: np.random.Generator, n: int
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Simulate ``n`` candidates and keep those detected (S/N >= ``detection_snr``).

        Returns
        -------
        detected : dict
            ``m0, t, z, mag_true, mag, magerr`` of the detected candidates.
        index : ndarray int
            Their positions among the ``n`` candidates.
        """
        cfg = self.cfg
        m0 = draw_reference_magnitudes(rng_int, n, cfg.m_bright, cfg.m_faint, cfg.count_slope)
        type_class, t = draw_sed_types(rng_int, m0)
        z = draw_hdfn_redshifts(rng_int, m0, type_class, cfg.z_min, cfg.z_max)
        mag_true = m0[:, None] + self.colour_model.colours(t, z)
        mag, err, snr = observe_magnitudes(
            rng_phot, mag_true, cfg.m5_per_band, cfg.gamma_per_band, cfg.sigma_sys
        )
        keep = snr[:, cfg.detection_index] >= cfg.detection_snr
        detected = {"m0": m0, "t": t, "z": z, "mag_true": mag_true, "mag": mag, "magerr": err}
        return {key: values[keep] for key, values in detected.items()}, np.flatnonzero(keep)

    def draw_detected(
        self, rng_int: np.random.Generator, rng_phot: np.random.Generator, n: int
    ) -> tuple[dict[str, np.ndarray], int]:
        """Draw candidates until exactly ``n`` are detected.

        Each round draws enough candidates for the detection efficiency seen so far
        (plus 5% and 32), at most ``max(4 n_missing, 100000)``.

        Returns
        -------
        detected : dict
            ``m0, t, z, mag_true, mag, magerr`` of the first ``n`` detections.
        n_drawn : int
            Candidates simulated up to the ``n``-th detection, detected or not.
        """
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
            part, index = self.draw_candidates(rng_int, rng_phot, n_try)
            if index.size >= need:  # candidates actually consumed up to the n-th detection
                drawn += int(index[need - 1]) + 1
            else:
                drawn += n_try
            have += index.size
            parts.append(part)
        return {key: np.concatenate([p[key] for p in parts])[:n] for key in parts[0]}, drawn
