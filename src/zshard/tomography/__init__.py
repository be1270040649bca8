"""Tomographic binning and the per-bin redshift distributions n(z), built shard by shard, one
sub-concept per submodule (import from the submodule):

* :mod:`zshard.tomography.binning` -- bin edges (configured, equal-number, ``edges.json``) and the
  assignment of objects to bins by a point estimate.
* :mod:`zshard.tomography.cuts` -- the optional selection cuts (colour coverage, magnitude limit).
* :mod:`zshard.tomography.partial` -- :class:`~zshard.tomography.partial.NzPartial`, the additive
  per-shard sums of the stacked p(z), from grid probabilities or straight from the quantiles.
* :mod:`zshard.tomography.reduction` -- the partials combined and normalised to n(z).
* :mod:`zshard.tomography.writers` -- the n(z) files: FITS (``NZ_SOURCE``), text and SACC.
* :mod:`zshard.tomography.ensemble` -- n(z) shifted by Δz, and ensembles of n(z) realisations.
* :mod:`zshard.tomography.products` -- what an analysis takes away: the SACC file with n(z), Δz
  priors and realisations, and the CosmoSIS values/priors snippets (rule ``nz_products``).
"""
