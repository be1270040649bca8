"""Rule tomography_shard: bin assignment, partial n(z) sums and a matching subsample for one shard."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

from zshard.io.atomic import read_json, write_parquet
from zshard.io.ids import derive_seed, subset_mask
from zshard.io.pdf_table import read_pdf_table
from zshard.tomography.binning import assign_bins, edges_from_json
from zshard.tomography.cuts import selection_cuts_from_config
from zshard.tomography.partial import partial_nz_from_pdfs

cfg = snakemake.params.tomography
bands = snakemake.params.bands
edges = edges_from_json(read_json(snakemake.input.edges))  # one file for every shard (rule tomography_edges)
table = read_pdf_table(snakemake.input.calibrated)
catalog = pd.read_parquet(snakemake.input.shard, columns=["id"] + [f"mag_{b}" for b in bands])
if not np.array_equal(catalog["id"].to_numpy(), table.ids):
    raise RuntimeError(f"{snakemake.input.shard} and {snakemake.input.calibrated} list different objects")
grid_edges = np.arange(table.z_min, table.z_max + cfg["grid_step"] / 2, cfg["grid_step"])
z_point = table.summaries[cfg["point_estimate"]].to_numpy(dtype=np.float64)

# Optional selection cuts: objects failing them get bin -1 and are counted in the partial.
in_coverage = table.summaries["in_coverage"].to_numpy().astype(bool) if "in_coverage" in table.summaries else None
keep, failed = selection_cuts_from_config(cfg["cuts"], catalog, in_coverage)
bins = assign_bins(z_point, edges, mask=keep)

# The partial n(z): each bin's p(z) stacked on the fine grid, straight from the quantiles.
partial = partial_nz_from_pdfs(table.quantiles, table.levels, table.z_min, table.z_max, z_point, bins, edges,
                               grid_edges, cuts_failed=failed)
partial.to_npz(snakemake.output.partial)

write_parquet(snakemake.output.bins, pd.DataFrame({
    "id": table.ids, "tomo_bin": bins.astype(np.int16), "z_point": z_point.astype(np.float32),
    "z_mean": table.summaries["z_mean"].to_numpy(np.float32)}))

# The matching subsample (Δz validation): binned and unbinned objects alike, so that a reference
# object whose nearest wide neighbour is in no bin is in no bin either.
keep_sample = subset_mask(table.ids, cfg["sample_fraction"], derive_seed(snakemake.params.seed, "tomography.sample"))
sample = catalog[keep_sample].assign(tomo_bin=bins[keep_sample].astype(np.int16),
                                     z_mean=table.summaries["z_mean"].to_numpy()[keep_sample])
write_parquet(snakemake.output.sample, sample.reset_index(drop=True))
print(f"{len(bins)} objects, per bin {np.bincount(bins[bins >= 0], minlength=len(edges) - 1).tolist()}, "
      f"failing cuts {failed}, {len(sample)} in the matching sample")
