"""Rule reduce_nz: n(z) per tomographic bin from the per-shard partial sums (FITS, text, SACC, JSON)."""
import os
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np

from zshard.io.atomic import read_json, write_json
from zshard.progress import Progress
from zshard.tomography.binning import edges_from_json
from zshard.tomography.partial import NzPartial
from zshard.tomography.reduction import reduce_partials
from zshard.tomography.writers import write_nz_fits, write_nz_sacc, write_nz_text
from zshard.verify import pdf_rows_problems

edges = edges_from_json(read_json(snakemake.input.edges))
progress = Progress("reduce_nz: partial n(z) read", total=len(snakemake.input.partials), unit="shards")
partials = []
for path in snakemake.input.partials:
    partials.append(NzPartial.from_npz(path))
    progress.advance(1)
# conservation: every object of every shard counted once in the n(z) (in a bin, cut, or outside the bins)
counted = [{"path": os.path.join("tomography", "partials", os.path.basename(path)), "rule": "fanout_shard",
            "rows": partial.n_objects} for path, partial in zip(snakemake.input.partials, partials)]
problems = pdf_rows_problems(read_json(snakemake.input.manifest)["shards"], counted)
if problems:
    raise RuntimeError("the partial n(z) do not count their shards' objects:\n  " + "\n  ".join(problems))
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
progress.finish()
print({"counts": result.counts.tolist(), "mean_z": result.mean_z.tolist(), "cuts_failed": result.cuts_failed})
