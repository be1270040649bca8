"""Rule tomography_shard: bin assignment, partial n(z) sums and a matching subsample for one shard."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

from zshard import pdf
from zshard.io import derive_seed, read_pdf_table, subset_mask, write_parquet
from zshard.tomography import NzPartial, assign_bins, partial_nz

cfg = snakemake.params.tomography
edges = np.asarray(cfg["edges"], dtype=np.float64)
table = read_pdf_table(snakemake.input.calibrated)
grid_edges = np.arange(table.z_min, table.z_max + cfg["grid_step"] / 2, cfg["grid_step"])
z_point = table.summaries[cfg["point_estimate"]].to_numpy(dtype=np.float64)
bins = assign_bins(z_point, edges)

# Stack the PDFs in chunks: the per-object grid probabilities never exist for the whole shard.
chunk = 100_000
partials = []
for start in range(0, len(bins), chunk):
    part = slice(start, start + chunk)
    pz_grid = pdf.bin_probabilities(table.quantiles[part], table.levels, grid_edges, table.z_min, table.z_max)
    partials.append(partial_nz(pz_grid, z_point[part], bins[part], edges, grid_edges))
NzPartial.combine(partials).to_npz(snakemake.output.partial)

write_parquet(snakemake.output.bins, pd.DataFrame({
    "id": table.ids, "tomo_bin": bins.astype(np.int16), "z_point": z_point.astype(np.float32),
    "z_mean": table.summaries["z_mean"].to_numpy(np.float32)}))

catalog = pd.read_parquet(snakemake.input.shard, columns=["id"] + [f"mag_{b}" for b in snakemake.params.bands])
if not np.array_equal(catalog["id"].to_numpy(), table.ids):
    raise RuntimeError(f"{snakemake.input.shard} and {snakemake.input.calibrated} list different objects")
keep = subset_mask(table.ids, cfg["sample_fraction"], derive_seed(snakemake.params.seed, "tomography.sample")) & (bins >= 0)
sample = catalog[keep].assign(tomo_bin=bins[keep].astype(np.int16), z_mean=table.summaries["z_mean"].to_numpy()[keep])
write_parquet(snakemake.output.sample, sample.reset_index(drop=True))
print(f"{len(bins)} objects, per bin {np.bincount(bins[bins >= 0], minlength=len(edges) - 1).tolist()}, "
      f"{len(sample)} in the matching sample")
