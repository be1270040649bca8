"""Rule nz_products: the SACC file with n(z), Δz priors and n(z) realisations; CosmoSIS snippets;
optionally the n(z) shifted by the combined Δz."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from pathlib import Path

import numpy as np

from zshard.io.atomic import read_json, write_json
from zshard.io.ids import derive_seed
from zshard.tomography.partial import NzPartial
from zshard.tomography.products import (
    build_nz_products,
    cosmosis_priors_ini,
    cosmosis_values_ini,
    shifted_result,
    write_nz_products_sacc,
    write_text,
)
from zshard.tomography.writers import write_nz_fits, write_nz_text

inp, out, cfg = snakemake.input, snakemake.output, snakemake.params.products
seed = derive_seed(snakemake.params.seed, "nz_products.realisations")
table = read_json(inp.table[0]) if inp.table else None
result, priors, ensembles = build_nz_products([NzPartial.from_npz(p) for p in inp.partials], table,
                                              cfg["n_realisations"], seed)
delivered = np.asarray(read_json(inp.nz)["mean_z"], dtype=np.float64)
if not np.allclose(result.mean_z, delivered, rtol=0, atol=1e-9, equal_nan=True):
    raise RuntimeError(f"the partials reduce to mean z {result.mean_z}, but {inp.nz} has {delivered}: "
                       "rerun reduce_nz")
meta = {"delta_z": "<z_true> - <z_phot>; n(z) -> n(z - delta_z)",
        "realisations": "shapes: shard bootstrap; means: N(mean_z + delta_z, delta_z_sigma) where a bin "
                        "has a prior, else the bootstrap's own",
        "n_realisations": cfg["n_realisations"], "seed": seed,
        "delta_z_methods": ",".join(k for k, v in (table or {}).get("methods", {}).items() if v and k != "truth")
        or "none"}
write_nz_products_sacc(out.sacc, result, priors, ensembles, meta)
write_text(out.values, cosmosis_values_ini(priors, cfg["cosmosis_section"], cfg["prior_range_sigma"]))
write_text(out.priors, cosmosis_priors_ini(priors, cfg["cosmosis_section"]))
if cfg["shifted_nz"]:
    shifted = shifted_result(result, priors)
    write_nz_fits(out.shifted[0], shifted)
    write_nz_text(out.shifted[1], shifted)
rows = [{"bin": i, "z_range": [float(result.edges[i]), float(result.edges[i + 1])], "mean_z": result.mean_z[i],
         **priors[i], "mean_z_calibrated": result.mean_z[i] + priors[i]["delta_z"],
         "realisations_mean_z_mean": float(np.mean(e["mean_z"])),
         "realisations_mean_z_std": float(np.std(e["mean_z"], ddof=1)),
         "realisations_sigma_mean_z_shards": e["sigma_mean_z_shards"], "realisations_n_shards": e["n_shards"],
         "realisations_n_redrawn": e["n_redrawn"]}
        for i, e in enumerate(ensembles)]
write_json(out.summary, {"files": {k: [Path(p).name for p in v] if isinstance(v, list) else Path(v).name
                                   for k, v in out.items()}, "seed": seed,
                         "n_realisations": cfg["n_realisations"], "shifted_nz": cfg["shifted_nz"],
                         "cosmosis_section": cfg["cosmosis_section"], "bins": rows})
for r in rows:
    print(r)
