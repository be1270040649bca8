"""Photo-z quality metrics: point estimates and PDFs.

Point-estimate metrics use the scaled residual

    Delta = (z_phot - z_true) / (1 + z_true)

(e.g. Ilbert et al. 2006, A&A 457, 841; Hildebrandt et al. 2010, A&A 523, A31).
Non-finite (z_phot, z_true) pairs are ignored.

PDF metrics work on the quantile representation of :mod:`zshard.pdf.representation` and follow
the LSST-DESC photo-z PDF comparison of Schmidt et al. (2020, MNRAS 499, 1587):
PIT distribution tests (KS, CvM, AD), the fraction of catastrophic PIT values,
the conditional density estimation (CDE) loss and the CRPS.  Objects whose PDF
contains a NaN or whose z_true is non-finite are ignored and counted as
``n_invalid``.  All summary outputs are plain Python floats / ints (JSON-ready;
an empty sample gives NaN).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from zshard.pdf.distribution import cdf, cdf_from_knots, ppf_from_knots
from zshard.pdf.representation import DEFAULT_Z_MAX, DEFAULT_Z_MIN, check_quantiles, knots_with_invalid_rows

__all__ = [
    "delta",
    "sigma68",
    "nmad",
    "outlier_fraction",
    "point_metrics",
    "pit_values",
    "pit_ks",
    "pit_cvm",
    "pit_ad",
    "catastrophic_pit_fraction",
    "pit_histogram",
    "cde_loss",
    "crps",
    "pdf_metrics",
    "metrics_by_bin",
    "weighted_quantile",
    "weighted_point_metrics",
    "NMAD_SCALE",
    "OUTLIER_THRESHOLD",
]

NMAD_SCALE: float = 1.4826  # 1 / Phi^{-1}(3/4): NMAD of a Gaussian equals its sigma
#: |Delta| above which a photo-z is a catastrophic outlier (Ilbert et al. 2006, A&A 457, 841;
#: Hildebrandt et al. 2010, A&A 523, A31).
OUTLIER_THRESHOLD: float = 0.15


# ----------------------------------------------------------------------------
# point estimates
# ----------------------------------------------------------------------------
def delta(z_phot: ArrayLike, z_true: ArrayLike) -> np.ndarray:
    """Scaled redshift residual Delta = (z_phot - z_true) / (1 + z_true).

    Parameters
    ----------
    z_phot, z_true : array_like, same shape
        Photometric point estimates and true (spectroscopic) redshifts.

    Returns
    -------
    ndarray, float64
        Delta for every pair (NaN where either input is non-finite).
    """
    zp = np.asarray(z_phot, dtype=np.float64)
    zt = np.asarray(z_true, dtype=np.float64)
    if zp.shape != zt.shape:
        raise ValueError(f"z_phot shape {zp.shape} != z_true shape {zt.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        d = (zp - zt) / (1.0 + zt)
    d[~(np.isfinite(zp) & np.isfinite(zt))] = np.nan
    return d


def _finite_delta(z_phot: ArrayLike, z_true: ArrayLike) -> np.ndarray:
    d = delta(z_phot, z_true).ravel()
    return d[np.isfinite(d)]


def sigma68(z_phot: ArrayLike, z_true: ArrayLike) -> float:
    """Half the width of the central 68 per cent interval of Delta.

    ``(P84 - P16) / 2`` of Delta (e.g. Schmidt et al. 2020, MNRAS 499, 1587); equals
    sigma for Gaussian residuals but is insensitive to outliers.
    """
    d = _finite_delta(z_phot, z_true)
    if not d.size:
        return math.nan
    p16, p84 = np.percentile(d, [15.865525393145708, 84.13447460685429])
    return float(0.5 * (p84 - p16))


def nmad(z_phot: ArrayLike, z_true: ArrayLike) -> float:
    """Normalised median absolute deviation of Delta.

    ``1.4826 * median(|Delta - median(Delta)|)`` (Hoaglin, Mosteller & Tukey 1983;
    as used for photo-z by Brammer, van Dokkum & Coppi 2008, ApJ 686, 1503).
    """
    d = _finite_delta(z_phot, z_true)
    if not d.size:
        return math.nan
    return float(NMAD_SCALE * np.median(np.abs(d - np.median(d))))


def outlier_fraction(z_phot: ArrayLike, z_true: ArrayLike, threshold: float = OUTLIER_THRESHOLD) -> float:
    """Fraction of catastrophic outliers, ``|Delta| > threshold`` (:data:`OUTLIER_THRESHOLD`)."""
    d = _finite_delta(z_phot, z_true)
    if not d.size:
        return math.nan
    return float(np.mean(np.abs(d) > threshold))


def point_metrics(
    z_phot: ArrayLike, z_true: ArrayLike, threshold: float = OUTLIER_THRESHOLD
) -> dict[str, float | int]:
    """All point-estimate metrics in one JSON-ready dict.

    Returns
    -------
    dict
        ``n`` (finite pairs used), ``n_invalid`` (pairs with a non-finite value),
        ``bias_median``, ``bias_mean``, ``sigma68``, ``nmad``,
        ``outlier_fraction`` (|Delta| > ``threshold``).
    """
    d_all = delta(z_phot, z_true).ravel()
    ok = np.isfinite(d_all)
    d = d_all[ok]
    out: dict[str, float | int] = {"n": int(d.size), "n_invalid": int((~ok).sum())}
    if d.size == 0:
        out.update(
            bias_median=math.nan, bias_mean=math.nan, sigma68=math.nan, nmad=math.nan,
            outlier_fraction=math.nan,
        )
        return out
    med = float(np.median(d))
    p16, p84 = np.percentile(d, [15.865525393145708, 84.13447460685429])
    out.update(
        bias_median=med,
        bias_mean=float(np.mean(d)),
        sigma68=float(0.5 * (p84 - p16)),
        nmad=float(NMAD_SCALE * np.median(np.abs(d - med))),
        outlier_fraction=float(np.mean(np.abs(d) > threshold)),
    )
    return out


# ----------------------------------------------------------------------------
# PIT
# ----------------------------------------------------------------------------
def pit_values(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_true: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
) -> np.ndarray:
    """Probability integral transform PIT_i = F_i(z_true,i).

    Uniform on [0, 1] for calibrated PDFs (Dawid 1984, J. R. Stat. Soc. A 147,
    278; Gneiting, Balabdaoui & Raftery 2007, J. R. Stat. Soc. B 69, 243).

    Returns
    -------
    ndarray, shape (n,), float64
        NaN for invalid PDFs or non-finite z_true.
    """
    return cdf(quantiles, levels, z_true, z_min, z_max)


def _finite_pit(pit: ArrayLike) -> np.ndarray:
    p = np.asarray(pit, dtype=np.float64).ravel()
    return p[np.isfinite(p)]


def pit_ks(pit: ArrayLike) -> tuple[float, float]:
    """Kolmogorov-Smirnov test of the PIT against U(0, 1).

    Returns
    -------
    (statistic, p_value) : tuple of float
        ``sup |ECDF(PIT) - PIT|`` and its p-value (``scipy.stats.kstest``).
    """
    p = _finite_pit(pit)
    if not p.size:
        return math.nan, math.nan
    res = stats.kstest(p, "uniform")
    return float(res.statistic), float(res.pvalue)


def pit_cvm(pit: ArrayLike) -> tuple[float, float]:
    """Cramer-von Mises test of the PIT against U(0, 1).

    ``n * int (ECDF - u)^2 du`` (Cramer 1928; von Mises 1928; Anderson 1962),
    via ``scipy.stats.cramervonmises``.  scipy's p-value series is inaccurate far
    in the tail (values below ~1e-6 are only indicative) and returns NaN for very
    large statistics; a NaN p-value with a finite statistic is reported as 0.0.

    Returns
    -------
    (statistic, p_value) : tuple of float
    """
    p = _finite_pit(pit)
    if p.size < 2:
        return math.nan, math.nan
    with np.errstate(all="ignore"):
        res = stats.cramervonmises(p, "uniform")
    stat, pval = float(res.statistic), float(res.pvalue)
    if math.isfinite(stat) and not math.isfinite(pval):
        pval = 0.0
    return stat, min(max(pval, 0.0), 1.0)


def pit_ad(
    pit: ArrayLike, pit_min: float = 0.0, pit_max: float = 1.0, eps: float = 1e-10
) -> float:
    """Anderson-Darling statistic of the PIT against U(0, 1).

    ``A^2 = -n - (1/n) sum_{i=1}^{n} (2i - 1) [ln u_(i) + ln(1 - u_(n+1-i))]``
    with ``u_(i)`` the sorted PIT values (Anderson & Darling 1954, JASA 49, 765).
    Asymptotic critical values: 1.933 (10%), 2.492 (5%), 3.857 (1%).

    The statistic weights the tails strongly and diverges for PIT = 0 or 1 (true
    redshift outside the PDF support), so PIT values are clipped to
    ``[eps, 1 - eps]``.  Optionally, as in Schmidt et al. (2020, MNRAS 499, 1587),
    only PIT values inside ``[pit_min, pit_max]`` are used, rescaled to [0, 1]
    (for calibrated PDFs they are uniform there too); this removes the
    catastrophic PIT values, which :func:`catastrophic_pit_fraction` reports.

    Returns
    -------
    float
    """
    u = _finite_pit(pit)
    if pit_min > 0.0 or pit_max < 1.0:
        if not 0.0 <= pit_min < pit_max <= 1.0:
            raise ValueError(f"need 0 <= pit_min < pit_max <= 1, got {pit_min}, {pit_max}")
        u = u[(u >= pit_min) & (u <= pit_max)]
        u = (u - pit_min) / (pit_max - pit_min)
    u = np.sort(u)
    n = u.size
    if n == 0:
        return math.nan
    np.clip(u, eps, 1.0 - eps, out=u)
    i = np.arange(1, n + 1, dtype=np.float64)
    s = np.sum((2.0 * i - 1.0) * (np.log(u) + np.log1p(-u[::-1])))
    return float(-n - s / n)


def catastrophic_pit_fraction(pit: ArrayLike, eps: float = 1e-4) -> float:
    """Fraction of PIT values below ``eps`` or above ``1 - eps``.

    Such values mean z_true lies (essentially) outside the PDF support: the
    "catastrophic outliers" of PDFs (Schmidt et al. 2020, MNRAS 499, 1587).
    For calibrated PDFs the expectation is ``2 * eps``.
    """
    p = _finite_pit(pit)
    if not p.size:
        return math.nan
    return float(np.mean((p < eps) | (p > 1.0 - eps)))


def pit_histogram(pit: ArrayLike, n_bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the PIT on ``n_bins`` equal bins of [0, 1].

    Flat for calibrated PDFs; U-shaped for over-confident (under-dispersed) PDFs,
    hump-shaped for under-confident (over-dispersed) ones, sloped for biased ones.

    Returns
    -------
    counts : ndarray of int64, shape (n_bins,)
    edges : ndarray of float64, shape (n_bins + 1,)
    """
    p = _finite_pit(pit)
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    counts, _ = np.histogram(np.clip(p, 0.0, 1.0), bins=edges)
    return counts.astype(np.int64), edges


# ----------------------------------------------------------------------------
# CDE loss and CRPS
# ----------------------------------------------------------------------------
def _valid_knots(
    quantiles: ArrayLike, levels: ArrayLike, z_true: ArrayLike, z_min: float, z_max: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    zk, ck, bad = knots_with_invalid_rows(quantiles, levels, z_min, z_max)
    y = np.asarray(z_true, dtype=np.float64)
    if y.shape != (zk.shape[0],):
        raise ValueError(f"z_true must have shape ({zk.shape[0]},), got {y.shape}")
    ok = ~bad & np.isfinite(y)
    n_invalid = int((~ok).sum())
    if n_invalid:
        zk, y = zk[ok], y[ok]
    return zk, ck, y, n_invalid


def _cde_terms(zk: np.ndarray, ck: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per object: int p^2 dz and p(y), exact for the piecewise-constant density."""
    n, nk = zk.shape
    dc = np.diff(ck)
    width = np.diff(zk, axis=1)
    int_p2 = (dc * dc / width).sum(axis=1)
    idx = (y[:, None] >= zk).sum(axis=1, dtype=np.int64)
    j = np.clip(idx - 1, 0, nk - 2)
    rows = np.arange(n)
    p_y = dc[j] / width[rows, j]
    inside = (idx >= 1) & ((idx < nk) | (y == zk[:, -1]))
    return int_p2, np.where(inside, p_y, 0.0)


def cde_loss(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_true: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
) -> float:
    """Conditional density estimation loss of Izbicki & Lee (2017, EJS 11, 2800).

    ``L = E_X[ int p(z|x)^2 dz ] - 2 E_{X,Z}[ p(z_true|x) ]``: the integrated squared
    error between estimated and true conditional density up to a constant that does
    not depend on the estimate (lower is better; can be negative).  Both terms are
    exact for the piecewise-constant density (``int p^2 = sum_j dA_j^2 / dz_j``).
    Invalid objects are ignored.  Units: 1 / redshift.

    Note: PDFs with quantiles piled up at a clip bound contain very narrow, very
    high-density segments, which the loss (rightly) penalises heavily.
    """
    zk, ck, y, _ = _valid_knots(quantiles, levels, z_true, z_min, z_max)
    if y.size == 0:
        return math.nan
    int_p2, p_y = _cde_terms(zk, ck, y)
    return float(int_p2.mean() - 2.0 * p_y.mean())


def _crps_per_object(zk: np.ndarray, ck: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact CRPS of piecewise-linear CDFs, looping over the K + 1 segments."""
    total = np.maximum(zk[:, 0] - y, 0.0) + np.maximum(y - zk[:, -1], 0.0)
    for j in range(zk.shape[1] - 1):
        x0 = zk[:, j]
        x1 = zk[:, j + 1]
        c0, c1 = ck[j], ck[j + 1]
        ym = np.clip(y, x0, x1)
        fm = c0 + (c1 - c0) * (ym - x0) / (x1 - x0)
        # [x0, ym]: indicator is 0, integrand F^2, F linear from c0 to fm
        total += (ym - x0) * (c0 * c0 + c0 * fm + fm * fm) / 3.0
        # [ym, x1]: indicator is 1, integrand (1 - F)^2, linear from 1 - fm to 1 - c1
        g0 = 1.0 - fm
        g1 = 1.0 - c1
        total += (x1 - ym) * (g0 * g0 + g0 * g1 + g1 * g1) / 3.0
    return total


def crps(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_true: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    per_object: bool = False,
) -> float | np.ndarray:
    """Continuous ranked probability score.

    ``CRPS = int (F(z) - 1[z >= z_true])^2 dz`` (Matheson & Winkler 1976, Manage.
    Sci. 22, 1087; Hersbach 2000, Weather Forecast. 15, 559; for photo-z
    D'Isanto & Polsterer 2018, A&A 609, A111).  Computed EXACTLY (no grid): the CDF
    is piecewise linear, so the integral is a sum over segments of integrals of
    quadratics, with the segment containing z_true split there; a z_true outside the
    support adds its distance to the support.  Units: redshift; lower is better.

    Parameters
    ----------
    per_object : bool
        If True return the (n_valid,) array of per-object CRPS (invalid objects
        dropped) instead of the mean.

    Returns
    -------
    float or ndarray
    """
    zk, ck, y, _ = _valid_knots(quantiles, levels, z_true, z_min, z_max)
    c = _crps_per_object(zk, ck, y)
    if per_object:
        return c
    return float(c.mean()) if c.size else math.nan


def pdf_metrics(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_true: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    n_bins: int = 20,
    eps: float = 1e-4,
) -> dict[str, Any]:
    """All PDF metrics in one JSON-ready dict.

    Returns
    -------
    dict
        ``n``, ``n_invalid``, ``pit_ks_stat``, ``pit_ks_pvalue``, ``pit_cvm_stat``,
        ``pit_cvm_pvalue``, ``pit_ad_stat``, ``pit_catastrophic_fraction`` (PIT < eps
        or > 1 - eps), ``pit_histogram`` (list of ``n_bins`` int counts on equal bins
        of [0, 1]), ``coverage68`` (fraction of z_true inside the central 68 per cent
        interval [ppf(0.16), ppf(0.84)]; 0.68 if calibrated), ``cde_loss``,
        ``crps`` (mean, exact).
    """
    zk, ck, y, n_invalid = _valid_knots(quantiles, levels, z_true, z_min, z_max)
    n = int(y.size)
    out: dict[str, Any] = {"n": n, "n_invalid": n_invalid}
    if n == 0:
        for key in (
            "pit_ks_stat", "pit_ks_pvalue", "pit_cvm_stat", "pit_cvm_pvalue", "pit_ad_stat",
            "pit_catastrophic_fraction", "coverage68", "cde_loss", "crps",
        ):
            out[key] = math.nan
        out["pit_histogram"] = [0] * int(n_bins)
        return out
    idx = (y[:, None] >= zk).sum(axis=1, dtype=np.int64)[:, None]
    pit = cdf_from_knots(zk, ck, y[:, None], idx)[:, 0]
    ks_s, ks_p = pit_ks(pit)
    cvm_s, cvm_p = pit_cvm(pit)
    counts, _ = pit_histogram(pit, n_bins)
    lo_hi = ppf_from_knots(zk, ck, np.array([0.16, 0.84]))
    int_p2, p_y = _cde_terms(zk, ck, y)
    out.update(
        pit_ks_stat=ks_s,
        pit_ks_pvalue=ks_p,
        pit_cvm_stat=cvm_s,
        pit_cvm_pvalue=cvm_p,
        pit_ad_stat=pit_ad(pit),
        pit_catastrophic_fraction=catastrophic_pit_fraction(pit, eps),
        pit_histogram=[int(c) for c in counts],
        coverage68=float(np.mean((y >= lo_hi[:, 0]) & (y <= lo_hi[:, 1]))),
        cde_loss=float(int_p2.mean() - 2.0 * p_y.mean()),
        crps=float(_crps_per_object(zk, ck, y).mean()),
    )
    return out


def metrics_by_bin(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_true: ArrayLike,
    z_point: ArrayLike,
    values: ArrayLike,
    n_bins: int,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
) -> list[dict[str, Any]]:
    """Point and PDF metrics in ``n_bins`` equal-count bins of ``values`` (e.g. a magnitude).

    Objects with a non-finite value are left out.  Each entry has ``lo``, ``hi`` (the
    bin's value range), ``point`` (:func:`point_metrics`) and ``pdf``
    (:func:`pdf_metrics` without its histogram).
    """
    q = check_quantiles(quantiles)
    v = np.asarray(values, dtype=np.float64)
    y = np.asarray(z_true, dtype=np.float64)
    zp = np.asarray(z_point, dtype=np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        return []
    edges = np.quantile(v[ok], np.linspace(0.0, 1.0, int(n_bins) + 1))
    which = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, int(n_bins) - 1)
    out = []
    for b in range(int(n_bins)):
        sel = ok & (which == b)
        if not sel.any():
            continue
        pdf_m = pdf_metrics(q[sel], levels, y[sel], z_min, z_max)
        pdf_m.pop("pit_histogram")
        out.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "point": point_metrics(zp[sel], y[sel]),
                    "pdf": pdf_m})
    return out


# ----------------------------------------------------------------------------
# weighted point metrics (importance-weighted validation)
# ----------------------------------------------------------------------------
def weighted_quantile(values: ArrayLike, weights: ArrayLike, q: ArrayLike) -> np.ndarray:
    """Quantiles of a weighted sample (linear interpolation between weighted mid-ranks).

    The i-th sorted value sits at cumulative probability ``(W_i - w_i / 2) / W`` (Hyndman & Fan
    1996, Am. Stat. 50, 361, definition 5, generalised to weights); with equal weights this is the
    usual median and close to ``numpy.percentile``. Non-finite values and non-positive weights
    are ignored; an empty sample gives NaN.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    w = np.asarray(weights, dtype=np.float64).ravel()
    if x.shape != w.shape:
        raise ValueError(f"values {x.shape} and weights {w.shape} differ in shape")
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    qq = np.atleast_1d(np.asarray(q, dtype=np.float64))
    if not ok.any():
        return np.full(qq.shape, math.nan)
    order = np.argsort(x[ok], kind="stable")
    xs, ws = x[ok][order], w[ok][order]
    cum = np.cumsum(ws)
    position = (cum - 0.5 * ws) / cum[-1]
    return np.interp(qq, position, xs)


def weighted_point_metrics(
    z_phot: ArrayLike, z_true: ArrayLike, weights: ArrayLike | None = None, threshold: float = OUTLIER_THRESHOLD
) -> dict[str, float | int]:
    """:func:`point_metrics` of a weighted sample.

    With importance weights w(x) = p_science(x) / p_train(x) the weighted metrics of a labelled
    sample estimate the metrics on the science sample (importance-weighted validation, Sugiyama,
    Krauledat & Müller 2007, JMLR 8, 985). Median, percentiles and NMAD use
    :func:`weighted_quantile`; the outlier fraction and mean bias are weighted means. ``weights``
    None means equal weights. ``n_effective`` is Kish's effective sample size (sum w)² / sum w².
    """
    d_all = delta(z_phot, z_true).ravel()
    w_all = np.ones_like(d_all) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w_all.shape != d_all.shape:
        raise ValueError(f"weights shape {w_all.shape} != z shape {d_all.shape}")
    ok = np.isfinite(d_all) & np.isfinite(w_all) & (w_all > 0)
    d, w = d_all[ok], w_all[ok]
    out: dict[str, float | int] = {"n": int(d.size), "n_invalid": int((~ok).sum())}
    if d.size == 0:
        out.update(n_effective=math.nan, bias_median=math.nan, bias_mean=math.nan, sigma68=math.nan,
                   nmad=math.nan, outlier_fraction=math.nan)
        return out
    p16, med, p84 = weighted_quantile(d, w, [0.15865525393145708, 0.5, 0.8413447460685429])
    mad = weighted_quantile(np.abs(d - med), w, [0.5])[0]
    out.update(
        n_effective=float(w.sum() ** 2 / np.sum(w * w)),
        bias_median=float(med),
        bias_mean=float(np.average(d, weights=w)),
        sigma68=float(0.5 * (p84 - p16)),
        nmad=float(NMAD_SCALE * mad),
        outlier_fraction=float(np.average(np.abs(d) > threshold, weights=w)),
    )
    return out
