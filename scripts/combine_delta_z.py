"""Rule combine_delta_z: the Δz table per bin — deep field, clustering, their combination, truth."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.io.atomic import read_json, write_json
from zshard.tomography.binning import edges_from_json
from zshard.validation import delta_z_table


def optional(paths):
    return read_json(paths[0]) if paths else None


inp = snakemake.input
rows = delta_z_table(edges_from_json(read_json(inp.edges)), cosmos=optional(inp.cosmos),
                     clustering=optional(inp.clustering), truth=optional(inp.truth))
write_json(snakemake.output.table, {
    "description": "Δz = <z_true> − <z_phot> per tomographic bin: cosmos = deep reference field (method 1), "
                   "wz = clustering redshifts (method 2), combined = their inverse-variance mean, "
                   "truth = from the true redshifts (mocks only); null where not available",
    "methods": {"cosmos": bool(inp.cosmos), "wz": bool(inp.clustering), "truth": bool(inp.truth)},
    "bins": rows})
for r in rows:
    print(r)
