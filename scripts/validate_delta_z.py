"""Rule validate_delta_z: Δz per tomographic bin against a deep reference field (COSMOS-style).

Errors reported term by term (zshard.validation): bootstrap, sample variance (jackknife over
sub-regions of the field, or a configured fraction), photometric zero points, total.
"""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

from zshard.features import magnitude_matrix
from zshard.io.atomic import read_json, write_json
from zshard.io.catalogs import CatalogSpec, read_catalog
from zshard.io.ids import derive_seed
from zshard.tomography import edges_from_json
from zshard.validation import deep_field_delta_z, jackknife_patches, nearest_science_neighbours, zero_point_delta_z

cfg = snakemake.params.deep_reference
bands = snakemake.params.bands
seed = snakemake.params.seed
nbins = len(edges_from_json(read_json(snakemake.input.edges))) - 1
spec = CatalogSpec.from_config(snakemake.params.catalog, bands, redshift_name="z_ref")
reference = read_catalog(list(snakemake.input.reference), spec)
reference = reference[np.isfinite(reference["z_ref"].to_numpy())].reset_index(drop=True)
# The per-shard matching samples: an id-hashed subsample of the wide survey with its bins (-1 included).
wide_sample = pd.concat([pd.read_parquet(p) for p in snakemake.input.samples], ignore_index=True)

if cfg["match"] == "id":
    # The deep field lies inside the survey: each reference object has its own wide photometry,
    # and so its own photo-z and bin.
    wide = pd.concat([pd.read_parquet(p, columns=["id", "tomo_bin", "z_mean"]) for p in snakemake.input.bins],
                     ignore_index=True)
    matched = reference.merge(wide, on="id", how="inner", validate="one_to_one")
    note = f"{len(matched)} of {len(reference)} reference objects found in the photometric catalogue by id"
else:
    # Otherwise each reference object takes the wide photometry of its nearest wide neighbour in
    # magnitude space (from the per-shard matching samples).
    nearest = nearest_science_neighbours(magnitude_matrix(reference, bands), magnitude_matrix(wide_sample, bands))
    matched = reference.assign(tomo_bin=wide_sample["tomo_bin"].to_numpy()[nearest],
                               z_mean=wide_sample["z_mean"].to_numpy()[nearest])
    note = f"{len(reference)} reference objects matched to their nearest of {len(wide_sample)} wide-field objects"

# (b) sample variance: jackknife over sky patches of the field where positions allow it.
patches, sv_note = None, f"fraction {cfg['sample_variance_fraction']} of <z_ref> (config)"
if cfg["sample_variance"] == "jackknife":
    ra, dec = matched["ra"].to_numpy(np.float64), matched["dec"].to_numpy(np.float64)
    positioned = np.isfinite(ra) & np.isfinite(dec)
    if positioned.sum() >= 2 * cfg["n_jackknife"]:
        patches = jackknife_patches(ra, dec, cfg["n_jackknife"], seed=derive_seed(seed, "validation.jackknife"))
        sv_note = f"jackknife over {cfg['n_jackknife']} k-means sky patches of the field, in excess of the bootstrap"
    else:
        sv_note = (f"jackknife asked, but only {int(positioned.sum())} reference objects have positions: "
                   + sv_note)

# (c) zero points: offset the wide sample's magnitudes, re-match, rms of the Δz shift.
zp_cfg = cfg["zero_point"]
zero_point = zero_point_delta_z(magnitude_matrix(matched, bands), matched["z_ref"].to_numpy(),
                                magnitude_matrix(wide_sample, bands), wide_sample["tomo_bin"].to_numpy(),
                                wide_sample["z_mean"].to_numpy(), nbins, sigma_mag=zp_cfg["sigma_mag"],
                                n_draws=zp_cfg["n_draws"], seed=derive_seed(seed, "validation.zero_point"))

rows = deep_field_delta_z(matched["z_ref"].to_numpy(), matched["tomo_bin"].to_numpy(), matched["z_mean"].to_numpy(),
                          nbins, n_bootstrap=cfg["n_bootstrap"], seed=derive_seed(seed, "validation.delta_z"),
                          sample_variance_fraction=cfg["sample_variance_fraction"], patches=patches,
                          sigma_zero_point=zero_point["sigma"])
write_json(snakemake.output.delta_z, {
    "method": f"deep reference field, matched by {cfg['match']}", "note": note,
    "n_reference": int(len(reference)),
    "sample_variance": {"method": "jackknife" if patches is not None else "fraction", "note": sv_note,
                        "n_patches": cfg["n_jackknife"] if patches is not None else None},
    "zero_point": {"sigma_mag": zp_cfg["sigma_mag"], "n_draws": zp_cfg["n_draws"],
                   "n_wide_sample": int(len(wide_sample)), "delta_z_matched": zero_point["delta_z_matched"]},
    "bins": rows})
print(note)
print(sv_note)
for row in rows:
    print(f"bin {row['bin']}: delta_z {row['delta_z']:+.4f} ± {row['sigma_total']:.4f} "
          f"(bootstrap {row['sigma_bootstrap']:.4f}, sample variance {row['sigma_sample_variance']:.4f}, "
          f"zero point {row['sigma_zero_point']:.4f}), {row['n_reference']} reference objects")
