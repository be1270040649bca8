"""Rule validate_truth: where true redshifts are known (mock, hidden spec-z), score the whole pipeline."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

from zshard import metrics
from zshard.io.atomic import read_json, write_json
from zshard.io.catalogs import CatalogSpec, read_catalog
from zshard.tomography import edges_from_json

nz = read_json(snakemake.input.nz)
spec = CatalogSpec.from_config(snakemake.params.catalog, [], redshift_name="z_true")
truth = read_catalog(list(snakemake.input.truth), spec)[["id", "z_true"]]
bins = pd.concat([pd.read_parquet(p) for p in snakemake.input.bins], ignore_index=True)
joined = bins.merge(truth, on="id", how="inner", validate="one_to_one")
edges = edges_from_json(read_json(snakemake.input.edges))
grid = np.arange(0.0, float(np.nanmax(joined["z_true"])) + 2 * snakemake.params.grid_step, snakemake.params.grid_step)
per_bin = []
for i in range(len(edges) - 1):
    in_bin = joined[joined["tomo_bin"] == i]
    z_true = in_bin["z_true"].to_numpy()
    mean_true = float(np.mean(z_true)) if len(z_true) else float("nan")
    hist, _ = np.histogram(z_true, bins=grid, density=True)
    per_bin.append({"bin": i, "n": int(len(in_bin)), "mean_z_true": mean_true, "mean_z_nz": nz["mean_z"][i],
                    "delta_z_true": mean_true - nz["mean_z"][i], "true_nz": hist})
result = {
    "n_matched": int(len(joined)), "n_science": int(len(bins)),
    "point": metrics.point_metrics(joined["z_point"].to_numpy(), joined["z_true"].to_numpy()),
    "bins": per_bin, "grid_edges": grid,
}
write_json(snakemake.output.truth, result)
print({k: v for k, v in result.items() if k != "bins"}, [(b["bin"], b["delta_z_true"]) for b in per_bin])
