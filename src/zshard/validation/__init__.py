"""Validation of the tomographic n(z): the mean-redshift offset Δz of each bin,

    Δz_i = <z_true>_i − <z_phot>_i

(Hoyle et al. 2018, MNRAS 478, 592, eq. 2).

* :mod:`zshard.validation.deep_field`: ``<z_true>_i`` from a deep reference field (the "COSMOS
  method"), each error term apart;
* :mod:`zshard.validation.truth`: against the true redshifts, where known (mocks);
* :mod:`zshard.validation.combination`: the Δz table: the deep-field and clustering-redshift
  (:mod:`zshard.clustering`) estimates, their consistency and their combination.
"""

from zshard.validation.combination import delta_z_table, inverse_variance_combination, method_consistency
from zshard.validation.deep_field import (
    IMPUTE_PERCENTILE,
    deep_field_delta_z,
    deep_field_validation,
    impute_missing_features,
    jackknife_delta_z,
    jackknife_patches,
    nearest_science_neighbours,
    standardise_features,
    zero_point_delta_z,
)
from zshard.validation.truth import true_delta_z

__all__ = [
    "IMPUTE_PERCENTILE",
    "impute_missing_features",
    "standardise_features",
    "nearest_science_neighbours",
    "jackknife_patches",
    "jackknife_delta_z",
    "zero_point_delta_z",
    "deep_field_delta_z",
    "deep_field_validation",
    "true_delta_z",
    "inverse_variance_combination",
    "method_consistency",
    "delta_z_table",
]
