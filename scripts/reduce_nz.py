"""Rule reduce_nz: n(z) per tomographic bin from the per-shard partial sums."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.io import write_json
from zshard.tomography import NzPartial, reduce_partials, write_nz_fits, write_nz_text

partials = [NzPartial.from_npz(path) for path in snakemake.input.partials]
result = reduce_partials(partials)
write_nz_fits(snakemake.output.fits, result)
write_nz_text(snakemake.output.text, result)
write_json(snakemake.output.summary, {
    "edges": result.edges, "counts": result.counts, "mean_z": result.mean_z,
    "n_objects": sum(p.n_objects for p in partials), "n_shards": len(partials),
    "grid_centres": result.grid_centres, "nz": result.nz})
print({"counts": result.counts.tolist(), "mean_z": result.mean_z.tolist()})
