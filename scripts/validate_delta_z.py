"""Rule validate_delta_z: Δz per tomographic bin against a deep reference field (COSMOS-style)."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

from zshard.features import magnitude_matrix
from zshard.io import CatalogSpec, derive_seed, read_catalog, write_json
from zshard.validation import colour_matched_delta_z

cfg = snakemake.params.deep_reference
bands = snakemake.params.bands
spec = CatalogSpec.from_config(snakemake.params.catalog, bands, redshift_name="z_ref")
reference = read_catalog(list(snakemake.input.reference), spec)
reference = reference[np.isfinite(reference["z_ref"].to_numpy())]
science = pd.concat([pd.read_parquet(p) for p in snakemake.input.samples], ignore_index=True)
nbins = len(snakemake.params.edges) - 1
rows = colour_matched_delta_z(
    magnitude_matrix(science, bands), science["tomo_bin"].to_numpy(), science["z_mean"].to_numpy(),
    magnitude_matrix(reference, bands), reference["z_ref"].to_numpy(), nbins,
    n_bootstrap=cfg["n_bootstrap"], seed=derive_seed(snakemake.params.seed, "validation.delta_z"), max_per_bin=cfg["max_per_bin"],
    sample_variance_fraction=cfg["sample_variance_fraction"],
)
write_json(snakemake.output.delta_z, {"method": "deep reference, colour-matched resampling",
                                      "n_reference": int(len(reference)), "n_science_sample": int(len(science)),
                                      "bins": rows})
print(rows)
