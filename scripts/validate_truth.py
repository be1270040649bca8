"""Rule validate_truth: where true redshifts are known (mock, hidden spec-z), score the whole pipeline.

Memory does not grow with the catalogue: the bins of every shard and the truth table are read file by
file (the truth in chunks), keeping an id-hashed sample of at most validation.truth.max_objects objects
(every object below it, as in the demo). Time: one pass over the bins' three columns and the truth.
"""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np

from zshard import metrics
from zshard.io.atomic import read_json, write_json
from zshard.io.catalogs import CatalogSpec
from zshard.io.ids import derive_seed
from zshard.io.sampled import parquet_rows, read_catalog_sample, read_rows, sample_fraction
from zshard.validation import true_delta_z

params = snakemake.params
nz = read_json(snakemake.input.nz)
spec = CatalogSpec.from_config(params.catalog, [], redshift_name="z_true")
n_science = parquet_rows(snakemake.input.bins)
fraction = sample_fraction(n_science, params.max_objects)
seed = derive_seed(params.seed, "validation.truth")
bins = read_rows(snakemake.input.bins, ["id", "tomo_bin", "z_point"], fraction=fraction, seed=seed)
truth = read_catalog_sample(list(snakemake.input.truth), spec, ["id", "z_true"], fraction=fraction, seed=seed,
                            chunk_rows=params.chunk_rows)
joined = bins.merge(truth, on="id", how="inner", validate="one_to_one")
step = params.grid_step
grid = np.arange(0.0, float(np.nanmax(joined["z_true"])) + 2 * step, step)
per_bin = true_delta_z(joined["z_true"].to_numpy(), joined["tomo_bin"].to_numpy(), nz["mean_z"], grid,
                       z_range=params.z_range)
result = {
    "n_matched": int(len(joined)), "n_science": int(n_science),
    "sample": {"max_objects": params.max_objects, "hash_fraction": fraction, "n_read": int(len(bins))},
    "point": metrics.point_metrics(joined["z_point"].to_numpy(), joined["z_true"].to_numpy()),
    "bins": per_bin, "grid_edges": grid,
}
write_json(snakemake.output.truth, result)
print({k: v for k, v in result.items() if k != "bins"}, [(b["bin"], b["delta_z_true"]) for b in per_bin])
