"""Rule validate_truth: where true redshifts are known (mock, hidden spec-z), score the whole pipeline."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

from zshard import metrics
from zshard.io.atomic import read_json, write_json
from zshard.io.catalogs import CatalogSpec, read_catalog
from zshard.validation import true_delta_z

nz = read_json(snakemake.input.nz)
spec = CatalogSpec.from_config(snakemake.params.catalog, [], redshift_name="z_true")
truth = read_catalog(list(snakemake.input.truth), spec)[["id", "z_true"]]
bins = pd.concat([pd.read_parquet(p) for p in snakemake.input.bins], ignore_index=True)
joined = bins.merge(truth, on="id", how="inner", validate="one_to_one")
step = snakemake.params.grid_step
grid = np.arange(0.0, float(np.nanmax(joined["z_true"])) + 2 * step, step)
per_bin = true_delta_z(joined["z_true"].to_numpy(), joined["tomo_bin"].to_numpy(), nz["mean_z"], grid)
result = {
    "n_matched": int(len(joined)), "n_science": int(len(bins)),
    "point": metrics.point_metrics(joined["z_point"].to_numpy(), joined["z_true"].to_numpy()),
    "bins": per_bin, "grid_edges": grid,
}
write_json(snakemake.output.truth, result)
print({k: v for k, v in result.items() if k != "bins"}, [(b["bin"], b["delta_z_true"]) for b in per_bin])
