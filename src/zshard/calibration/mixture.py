"""The outlier component of the PIT calibration (:mod:`zshard.calibration`): the CDF of
``(1 - eps) p(z) + eps U(z_min, z_max)`` and its exact inverse, the maximum-likelihood ``eps``
(Budavári 2009, ApJ 695, 747: the outlier population of mixture-model photo-z likelihoods) and the
n(z) shape of the component (:mod:`zshard.pdf.population`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from zshard.pdf.distribution import cdf, density, ppf
from zshard.pdf.levelmajor import BLOCK, blocks
from zshard.pdf.levelmajor import knots as knots_level_major
from zshard.pdf.population import UNIFORM_FRACTIONS, OutlierShapes
from zshard.pdf.representation import (
    DEFAULT_Z_MAX,
    DEFAULT_Z_MIN,
    KNOT_MIN_SPACING,
    _check_range,
    check_levels,
    check_quantiles,
)

__all__ = ["mixture_cdf", "mixture_ppf", "fit_outlier_fraction", "fit_outlier_shape", "medians"]


def mixture_cdf(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z: ArrayLike,
    outlier_fraction: float,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
) -> np.ndarray:
    """CDF at one redshift per object of ``(1 - eps) p(z) + eps U(z_min, z_max)``."""
    eps = float(outlier_fraction)
    z = np.asarray(z, dtype=np.float64)
    base = cdf(quantiles, levels, z, z_min, z_max)
    if eps == 0.0:
        return base
    return (1.0 - eps) * base + eps * np.clip((z - z_min) / (z_max - z_min), 0.0, 1.0)


class _MixturePpf:
    """The inversion of :func:`mixture_ppf` for one set of levels, applied block by block to
    level-major knots (:func:`zshard.pdf.levelmajor.knots`)."""

    def __init__(self, a_in: np.ndarray, a: np.ndarray, eps: float, z_min: float, z_max: float) -> None:
        self.a, self.eps, self.z_min, self.z_max = a, eps, z_min, z_max
        self.ck = np.concatenate(([0.0], a_in, [1.0]))
        # the mixture's knots: z_min, the knots of p, z_max at levels (1 - eps) [0, ck, 1] + eps U(z)
        self.ckx = (1.0 - eps) * np.concatenate(([0.0], self.ck, [1.0]))
        nseg = self.ckx.size - 1
        # knot m is below level a_l for every object when (1 - eps) ck_m + eps < a_l, above it for every
        # object when (1 - eps) ck_m >= a_l (0 <= U <= 1): only the knots in between are compared per
        # object. The knots below a level are a prefix (the mixture's CDF at the knots is non-decreasing),
        # so the segment j_l = (number of knots below a_l) - 1, clipped to [0, nseg - 1], starts from
        # the knots always below and moves to every candidate knot found below, in increasing order.
        margin = 1e-9
        always_below = (self.ckx[None, :] + eps < a[:, None] - margin).sum(axis=1)
        self.start = np.clip(always_below - 1, 0, nseg - 1)
        self.maybe = [np.flatnonzero((self.ckx + eps >= a_l - margin) & (self.ckx < a_l + margin)) for a_l in a]
        self.nseg = nseg
        self._buffers: tuple[np.ndarray, ...] | None = None

    def __call__(self, zk: np.ndarray) -> np.ndarray:
        """Quantiles (L, b) float64 of the objects of the (K + 2, b) knots ``zk`` (NaN columns: NaN)."""
        a, eps = self.a, self.eps
        b = zk.shape[1]
        if eps == 0.0:
            ck = self.ck
            j = np.clip(np.searchsorted(ck, a, side="right") - 1, 0, ck.size - 2)
            w = (a - ck[j]) / (ck[j + 1] - ck[j])
            return zk[j] + (zk[j + 1] - zk[j]) * w[:, None]
        # buffers reused from block to block: fresh MB-sized temporaries cost more (page faults) than the work
        if self._buffers is None or self._buffers[0].shape[1] != b:
            self._buffers = (np.empty((zk.shape[0] + 2, b)), np.empty((zk.shape[0] + 2, b)),
                             *(np.empty(b) for _ in range(5)), np.empty(b, dtype=bool), np.empty(b, dtype=bool))
        zm, cm, c0, c1, x0, x1, w, below, flat = self._buffers
        zm[0], zm[1:-1], zm[-1] = self.z_min, zk, self.z_max
        # cm = ckx + eps * (zm - z_min) / (z_max - z_min), in place (the same operations in the same order)
        np.subtract(zm, self.z_min, out=cm)
        np.multiply(eps, cm, out=cm)
        np.divide(cm, self.z_max - self.z_min, out=cm)
        np.add(self.ckx[:, None], cm, out=cm)
        res = np.empty((a.size, b))
        for i, a_i in enumerate(a):
            j = self.start[i]
            c0[...], c1[...], x0[...], x1[...] = cm[j], cm[j + 1], zm[j], zm[j + 1]
            for m in self.maybe[i]:
                j = min(m, self.nseg - 1)
                np.less(cm[m], a_i, out=below)
                np.copyto(c0, cm[j], where=below)
                np.copyto(c1, cm[j + 1], where=below)
                np.copyto(x0, zm[j], where=below)
                np.copyto(x1, zm[j + 1], where=below)
            # w = where(c1 > c0, (a - c0) / (c1 - c0), 0), clipped to [0, 1]
            with np.errstate(invalid="ignore", divide="ignore"):
                np.subtract(a_i, c0, out=w)
                np.subtract(c1, c0, out=c1)  # c1 - c0 (c1 is not needed any more)
                np.divide(w, c1, out=w)
            np.greater(c1, 0.0, out=flat)  # c1 > c0 <=> c1 - c0 > 0 (levels in [0, 1]: no overflow)
            np.copyto(w, 0.0, where=~flat)
            np.clip(w, 0.0, 1.0, out=w)
            np.subtract(x1, x0, out=x1)
            np.multiply(x1, w, out=x1)
            np.add(x0, x1, out=res[i])
        return res


def mixture_ppf(
    quantiles: ArrayLike,
    levels: ArrayLike,
    new_levels: ArrayLike,
    outlier_fraction: float,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    chunk_rows: int = 50_000,
) -> np.ndarray:
    """Exact quantiles of ``(1 - eps) p(z) + eps U(z_min, z_max)`` at ``new_levels``.

    Both components have piecewise-linear CDFs, so the mixture's CDF is piecewise
    linear on the knots of p plus ``z_min`` and ``z_max`` and is inverted exactly.
    Returns float64, shape (n, len(new_levels)); NaN rows stay NaN.
    """
    eps = float(outlier_fraction)
    q = check_quantiles(quantiles)
    a_in = check_levels(levels, q.shape[1])
    a = np.atleast_1d(np.asarray(new_levels, dtype=np.float64))
    z_min, z_max = _check_range(z_min, z_max)
    n = q.shape[0]
    out = np.empty((n, a.size))
    ppf = _MixturePpf(a_in, a, eps, z_min, z_max)
    for block in blocks(n, max(1, min(chunk_rows, BLOCK))):
        zk, _, bad = knots_level_major(q[block], a_in, z_min, z_max, KNOT_MIN_SPACING)
        res = ppf(zk)
        res[:, bad] = np.nan
        out[block] = res.T
    return out


def fit_outlier_fraction(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_true: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    weights: ArrayLike | None = None,
    max_fraction: float = 0.5,
) -> float:
    """Maximum-likelihood weight of a uniform outlier component.

    Maximises ``sum_i w_i log((1 - eps) p_i(z_true,i) + eps / (z_max - z_min))`` over
    ``eps`` in ``[0, max_fraction]`` (concave in ``eps``).  Objects whose p(z) is 0 at
    their true redshift make the optimum positive; well-described samples give ~0.
    """
    return _outlier_mle(quantiles, levels, z_true, z_min, z_max, weights, max_fraction)[0]


def _outlier_mle(quantiles, levels, z_true, z_min, z_max, weights, max_fraction=0.5) -> tuple[float, float]:
    """:func:`fit_outlier_fraction`'s ``eps`` and the log-likelihood it reaches."""
    from scipy.optimize import minimize_scalar

    p = density(quantiles, levels, z_true, z_min, z_max)
    ok = np.isfinite(p)
    w = np.ones_like(p) if weights is None else np.asarray(weights, dtype=np.float64)
    ok &= np.isfinite(w) & (w > 0)
    p, w = p[ok], w[ok]
    if p.size == 0:
        raise ValueError("no finite p(z_true) to fit the outlier fraction on")
    u = 1.0 / (z_max - z_min)

    def neg_loglike(eps: float) -> float:
        return -float(np.sum(w * np.log((1.0 - eps) * p + eps * u + 1e-300)))

    best = minimize_scalar(neg_loglike, bounds=(0.0, max_fraction), method="bounded",
                           options={"xatol": 1e-6})
    eps = float(best.x)
    return (0.0, -neg_loglike(0.0)) if neg_loglike(0.0) <= neg_loglike(eps) else (eps, -neg_loglike(eps))


def medians(quantiles: np.ndarray, levels: np.ndarray, z_min: float, z_max: float) -> np.ndarray:
    """The p(z) medians that pick an object's outlier cell: the 0.5 quantile where it is a level, else the ppf."""
    hit = np.flatnonzero(np.isclose(levels, 0.5, rtol=0.0, atol=1e-12))
    if hit.size:
        return np.asarray(quantiles[:, hit[0]], dtype=np.float64)
    return ppf(quantiles, levels, [0.5], z_min, z_max)[:, 0]


def fit_outlier_shape(quantiles, levels, z_true, z_min, z_max, weights, bin_width: float,
                      n_cells: int) -> OutlierShapes | None:
    """The n(z) shape of the outlier component (:class:`zshard.pdf.population.OutlierShapes`: one
    histogram per equal-count cell of the raw p(z) median), with the uniform fraction of
    :data:`~zshard.pdf.population.UNIFORM_FRACTIONS` that maximises the validation sample's likelihood;
    None when the uniform (fraction 1) wins.

    The likelihood of a shape ``U`` is that of the mixture in ``t = U(z)`` (where the component is
    uniform and ``eps`` is fitted as :func:`fit_outlier_fraction` does) times the Jacobian ``U'(z)``,
    i.e. the likelihood of the redshifts themselves, comparable between shapes.
    """
    q = check_quantiles(quantiles)
    a = check_levels(levels, q.shape[1])
    z = np.asarray(z_true, dtype=np.float64)
    w = np.ones_like(z) if weights is None else np.asarray(weights, dtype=np.float64)
    m = medians(q, a, z_min, z_max)
    ok = np.isfinite(m) & np.isfinite(z) & np.isfinite(w) & (w > 0)
    best: tuple[OutlierShapes, float] | None = None
    for f in UNIFORM_FRACTIONS:
        shapes = OutlierShapes.from_sample(z[ok], m[ok], n_cells, z_min, z_max, bin_width, f, w[ok])
        cells = shapes.cells(m[ok])
        _, value = _outlier_mle(shapes.forward(q[ok], cells), a, shapes.forward(z[ok], cells), 0.0, 1.0, w[ok])
        value += float(np.sum(w[ok] * np.log(shapes.density(z[ok], cells) + 1e-300)))
        if best is None or value > best[1]:
            best = (shapes, value)
    assert best is not None
    return None if best[0].uniform_fraction == 1.0 else best[0]
