"""PIT-based recalibration of quantile redshift PDFs.

For calibrated PDFs the probability integral transform PIT = F(z_true) is
uniformly distributed on [0, 1] (Dawid 1984, J. R. Stat. Soc. A 147, 278).
Bordoloi, Lilly & Amara (2010, MNRAS 406, 881) recalibrate PDFs with the
empirical CDF ``G`` of the PIT measured on a validation sample with known
redshifts: the recalibrated CDF is ``F'(z) = G(F(z))``.  For a quantile PDF the
recalibrated quantile at level ``alpha`` solves ``G(F(z)) = alpha``, i.e.
``z = Q(G^{-1}(alpha))``, which is what :func:`apply_calibration` evaluates
(via :func:`zshard.pdf.distribution.ppf`).

``G`` is stored as a strictly increasing piecewise-linear map through knots
``(pit_knots[i], level_knots[i])`` with pinned endpoints (0, 0) and (1, 1);
``pit_knots`` are the empirical (optionally weighted) quantiles of the PIT at the
evenly spaced ``level_knots``.

Outlier floor
-------------
A quantile PDF has a finite support, so a catastrophic outlier (z_true far from
the whole PDF) gets PIT exactly 0 or 1 and no monotone map of the PIT can move
it (G(0) = 0).  Before the PIT map, :func:`fit_calibration` therefore mixes each
p(z) with a uniform outlier component over ``[z_min, z_max]``,

    p'(z) = (1 - eps) p(z) + eps / (z_max - z_min),

with one ``eps`` per model fitted by maximum likelihood on the validation sample
(the fraction of objects the PDFs do not explain; the same idea as the outlier
population of mixture-model photo-z likelihoods, e.g. Budavári 2009,
ApJ 695, 747, and the "outlier floor" of template codes).  The calibrated p(z)
is then stored at ``output_levels`` that reach further into the tails
(0.001 .. 0.999 by default), so that the floor is represented.

With ``outlier_shape`` ``nz`` the component is not uniform but shaped like the validation
sample's n(z) (:mod:`zshard.pdf.population`: a histogram of its spectroscopic redshifts mixed with
a uniform fraction fitted by maximum likelihood, 1 giving back the uniform), so that the floor does
not move probability to redshifts the population does not reach. The mixture and the PIT map are
then fitted and applied in ``t = U(z)``, where that component is uniform, and the calibrated
quantiles mapped back.

Modules: :mod:`zshard.calibration.pit` (the map, :func:`fit_calibration`, :func:`apply_calibration`,
the JSON files), :mod:`zshard.calibration.mixture` (the outlier component: the mixture's CDF and
its exact inverse, the maximum-likelihood weight and shape) and :mod:`zshard.calibration.local`
(conditional maps, one per cell of the raw p(z) width). Import from the package.
"""

from zshard.calibration.local import LocalMaps, pdf_widths
from zshard.calibration.mixture import fit_outlier_fraction, fit_outlier_shape, mixture_cdf, mixture_ppf
from zshard.calibration.pit import (
    PitCalibration,
    apply_calibration,
    fit_calibration,
    fit_pit_calibration,
    load_calibration,
    save_calibration,
)

__all__ = [
    "PitCalibration",
    "LocalMaps",
    "pdf_widths",
    "fit_pit_calibration",
    "fit_outlier_fraction",
    "fit_outlier_shape",
    "fit_calibration",
    "mixture_cdf",
    "mixture_ppf",
    "apply_calibration",
    "save_calibration",
    "load_calibration",
]
