"""Rule reduce_nz: n(z) per tomographic bin from the per-shard partial sums (FITS, text, SACC, JSON)."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np

from zshard.io.atomic import read_json, write_json
from zshard.tomography.binning import edges_from_json
from zshard.tomography.partial import NzPartial
from zshard.tomography.reduction import reduce_partials
from zshard.tomography.writers import write_nz_fits, write_nz_sacc, write_nz_text

edges = edges_from_json(read_json(snakemake.input.edges))
partials = [NzPartial.from_npz(path) for path in snakemake.input.partials]
result = reduce_partials(partials)
if result.edges.shape != edges.shape or not np.allclose(result.edges, edges, rtol=0, atol=1e-12):
    raise RuntimeError(f"the partials were binned with edges {result.edges}, {snakemake.input.edges} has {edges}")
write_nz_fits(snakemake.output.fits, result)
write_nz_text(snakemake.output.text, result)
write_nz_sacc(snakemake.output.sacc, result)
write_json(snakemake.output.summary, {
    "edges": result.edges, "edges_mode": read_json(snakemake.input.edges)["mode"],
    "counts": result.counts, "mean_z": result.mean_z,
    "n_objects": result.n_objects, "n_shards": len(partials), "cuts_failed": result.cuts_failed,
    "grid_centres": result.grid_centres, "nz": result.nz})
print({"counts": result.counts.tolist(), "mean_z": result.mean_z.tolist(), "cuts_failed": result.cuts_failed})
