"""Rule validate_delta_z: Δz per tomographic bin against a deep reference field (COSMOS-style).

Errors reported term by term (zshard.validation): bootstrap, sample variance (jackknife over
sub-regions of the field, or a configured fraction), photometric zero points, total.

Memory does not grow with the catalogue: of every shard's bins only the reference objects' rows are
kept (match: id), and the wide matching sample is thinned by an id hash to at most
validation.deep_reference.max_wide_sample objects (all of them below it, as in the demo).
"""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard.io.atomic import read_json, write_json
from zshard.io.catalogs import CatalogSpec, read_catalog
from zshard.io.ids import derive_seed
from zshard.io.sampled import parquet_rows, read_rows, sample_fraction
from zshard.tomography.binning import edges_from_json
from zshard.validation import deep_field_validation

params = snakemake.params
cfg = params.deep_reference
nbins = len(edges_from_json(read_json(snakemake.input.edges))) - 1
reference = read_catalog(list(snakemake.input.reference),
                         CatalogSpec.from_config(params.catalog, params.bands, redshift_name="z_ref"))
# match: id needs the bins of the reference objects only; colour matching needs none.
wide_bins = (read_rows(snakemake.input.bins, ["id", "tomo_bin", "z_mean"], ids=reference["id"].to_numpy())
             if cfg["match"] == "id" else pd.DataFrame({"id": [], "tomo_bin": [], "z_mean": []}))
# The per-shard matching samples: an id-hashed subsample of the wide survey with its bins (-1 included).
n_sample = parquet_rows(snakemake.input.samples)
fraction = sample_fraction(n_sample, cfg["max_wide_sample"])
wide_sample = read_rows(snakemake.input.samples, fraction=fraction,
                        seed=derive_seed(params.seed, "validation.wide_sample"))
config = {key: value for key, value in cfg.items() if key != "max_wide_sample"}
result = deep_field_validation(reference, wide_bins, wide_sample, config, params.bands, nbins, params.seed,
                               z_range=params.z_range)
result["wide_sample"] = {"n_in_shards": int(n_sample), "max_wide_sample": cfg["max_wide_sample"],
                         "hash_fraction": fraction, "n_used": int(len(wide_sample))}
write_json(snakemake.output.delta_z, result)
print(result["note"])
print(result["sample_variance"]["note"])
print(f"wide matching sample: {len(wide_sample)} of {n_sample} objects in the shards' samples")
for row in result["bins"]:
    print(f"bin {row['bin']}: delta_z {row['delta_z']:+.4f} ± {row['sigma_total']:.4f} "
          f"(bootstrap {row['sigma_bootstrap']:.4f}, sample variance {row['sigma_sample_variance']:.4f}, "
          f"zero point {row['sigma_zero_point']:.4f}), {row['n_reference']} reference objects")
