"""Rule validate_delta_z: Δz per tomographic bin against a deep reference field (COSMOS-style)."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

from zshard.features import magnitude_matrix
from zshard.io import CatalogSpec, derive_seed, read_catalog, write_json
from zshard.validation import deep_field_delta_z, nearest_science_neighbours

cfg = snakemake.params.deep_reference
bands = snakemake.params.bands
spec = CatalogSpec.from_config(snakemake.params.catalog, bands, redshift_name="z_ref")
reference = read_catalog(list(snakemake.input.reference), spec)
reference = reference[np.isfinite(reference["z_ref"].to_numpy())].reset_index(drop=True)

if cfg["match"] == "id":
    # The deep field lies inside the survey: each reference object has its own wide photometry,
    # and so its own photo-z and bin.
    wide = pd.concat([pd.read_parquet(p, columns=["id", "tomo_bin", "z_mean"]) for p in snakemake.input.bins],
                     ignore_index=True)
    matched = reference[["id", "z_ref"]].merge(wide, on="id", how="inner", validate="one_to_one")
    note = f"{len(matched)} of {len(reference)} reference objects found in the photometric catalogue by id"
else:
    # Otherwise each reference object takes the wide photometry of its nearest wide neighbour in
    # magnitude space (from the per-shard matching samples).
    wide = pd.concat([pd.read_parquet(p) for p in snakemake.input.samples], ignore_index=True)
    nearest = nearest_science_neighbours(magnitude_matrix(reference, bands), magnitude_matrix(wide, bands))
    matched = reference[["id", "z_ref"]].assign(tomo_bin=wide["tomo_bin"].to_numpy()[nearest],
                                                z_mean=wide["z_mean"].to_numpy()[nearest])
    note = f"{len(reference)} reference objects matched to their nearest of {len(wide)} wide-field objects"

rows = deep_field_delta_z(matched["z_ref"].to_numpy(), matched["tomo_bin"].to_numpy(), matched["z_mean"].to_numpy(),
                          len(snakemake.params.edges) - 1, n_bootstrap=cfg["n_bootstrap"],
                          seed=derive_seed(snakemake.params.seed, "validation.delta_z"),
                          sample_variance_fraction=cfg["sample_variance_fraction"])
write_json(snakemake.output.delta_z, {"method": f"deep reference field, matched by {cfg['match']}", "note": note,
                                      "n_reference": int(len(reference)), "bins": rows})
print(note)
print(rows)
