"""Redshift PDFs p(z) stored as quantiles, one sub-concept per submodule (import from the submodule):

* :mod:`zshard.pdf.representation` -- the representation (levels, quantiles, the augmented CDF knots,
  described there), the default redshift range, checks and the repair of raw quantiles.
* :mod:`zshard.pdf.distribution` -- CDF, inverse CDF (PPF) and density.
* :mod:`zshard.pdf.summary` -- point summaries (median, mean, mode, sigma, 68% interval).
* :mod:`zshard.pdf.binned` -- probability mass in the bins of a redshift grid, per object and stacked.
* :mod:`zshard.pdf.levelmajor` -- the per-object kernels (sort, repair, knots) on (K, n) arrays.
* :mod:`zshard.pdf.qp_export` -- the PDFs as a ``qp.Ensemble``.
"""
