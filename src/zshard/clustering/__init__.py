"""Clustering redshifts ("WZ"): n(z) and the mean-redshift shift Δz of each tomographic bin from
its angular cross-correlation with a spectroscopic reference sample (Newman 2008; Ménard et al.
2013; Schmidt et al. 2013).

* :mod:`zshard.clustering.measurement`: randoms, patches and pair counts (yet_another_wizz), the
  bias-corrected amplitude per redshift slice and its jackknife samples (:func:`clustering_nz`);
* :mod:`zshard.clustering.delta_z`: from those amplitudes to each bin's Δz against its photometric
  n(z), with errors (:func:`clustering_delta_z`).
"""

from zshard.clustering.delta_z import clustering_delta_z, shift_matched_delta_z
from zshard.clustering.measurement import (
    ClusteringConfig,
    WZResult,
    clustering_nz,
    fit_power_law,
    footprint_pixels,
    healpix_patches,
    uniform_randoms,
)

__all__ = [
    "ClusteringConfig",
    "WZResult",
    "clustering_nz",
    "clustering_delta_z",
    "fit_power_law",
    "footprint_pixels",
    "healpix_patches",
    "shift_matched_delta_z",
    "uniform_randoms",
]
