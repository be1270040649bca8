"""Rule validate_delta_z: Δz per tomographic bin against a deep reference field (COSMOS-style).

Errors reported term by term (zshard.validation): bootstrap, sample variance (jackknife over
sub-regions of the field, or a configured fraction), photometric zero points, total.
"""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard.io.atomic import read_json, write_json
from zshard.io.catalogs import CatalogSpec, read_catalog
from zshard.tomography.binning import edges_from_json
from zshard.validation import deep_field_validation

params = snakemake.params
nbins = len(edges_from_json(read_json(snakemake.input.edges))) - 1
reference = read_catalog(list(snakemake.input.reference),
                         CatalogSpec.from_config(params.catalog, params.bands, redshift_name="z_ref"))
wide_bins = pd.concat([pd.read_parquet(p, columns=["id", "tomo_bin", "z_mean"]) for p in snakemake.input.bins],
                      ignore_index=True)
# The per-shard matching samples: an id-hashed subsample of the wide survey with its bins (-1 included).
wide_sample = pd.concat([pd.read_parquet(p) for p in snakemake.input.samples], ignore_index=True)
result = deep_field_validation(reference, wide_bins, wide_sample, params.deep_reference, params.bands, nbins,
                               params.seed)
write_json(snakemake.output.delta_z, result)
print(result["note"])
print(result["sample_variance"]["note"])
for row in result["bins"]:
    print(f"bin {row['bin']}: delta_z {row['delta_z']:+.4f} ± {row['sigma_total']:.4f} "
          f"(bootstrap {row['sigma_bootstrap']:.4f}, sample variance {row['sigma_sample_variance']:.4f}, "
          f"zero point {row['sigma_zero_point']:.4f}), {row['n_reference']} reference objects")
