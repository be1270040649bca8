"""Rule combine_delta_z: the Δz table per bin — deep field, clustering, their combination, their
consistency, truth."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import warnings

from zshard.io.atomic import read_json, write_json
from zshard.tomography.binning import edges_from_json
from zshard.validation import delta_z_table


def optional(paths):
    return read_json(paths[0]) if paths else None


inp = snakemake.input
tension_sigma = snakemake.params.tension_sigma
rows = delta_z_table(edges_from_json(read_json(inp.edges)), cosmos=optional(inp.cosmos),
                     clustering=optional(inp.clustering), truth=optional(inp.truth), tension_sigma=tension_sigma,
                     combination=snakemake.params.combination)
tension_bins = [r["bin"] for r in rows if r["consistency"] and r["consistency"]["tension"]]
for r in rows:
    if r["bin"] in tension_bins:
        warnings.warn(f"bin {r['bin']} ({r['z_lo']:g} < z < {r['z_hi']:g}): the deep-field and clustering Δz "
                      f"differ by {r['consistency']['n_sigma']:+.2f}σ (above {tension_sigma:g}σ); "
                      "their combination hides a tension", stacklevel=1)
write_json(snakemake.output.table, {
    "description": "Δz = <z_true> − <z_phot> per tomographic bin: cosmos = deep reference field (method 1), "
                   "wz = clustering redshifts (method 2), combined = their combination (combined.method: "
                   "inverse_variance, or range_split: the in-range mean combined, the part beyond the clustering "
                   "reference's range from the deep field), consistency = (cosmos − wz) / sqrt(σ_cosmos² + σ_wz²) "
                   "of the quantity both measure (consistency.quantity), "
                   "truth = from the true redshifts (mocks only); null where not available",
    "methods": {"cosmos": bool(inp.cosmos), "wz": bool(inp.clustering), "truth": bool(inp.truth)},
    "tension_sigma": tension_sigma, "combination": snakemake.params.combination, "tension_bins": tension_bins,
    "bins": rows})
for r in rows:
    print(r)
