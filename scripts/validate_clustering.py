"""Rule validate_clustering: Δz per tomographic bin from clustering redshifts (zshard.clustering).

Memory and pair-counting time do not grow with the catalogue: the unknown sample is an id-hashed
subsample of at most validation.clustering.max_unknown objects (every object below it, as in the demo),
read shard by shard; reading it costs one pass over each shard's id, ra, dec and its bins' id, tomo_bin.
"""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import time

import numpy as np
import pandas as pd

from zshard.clustering import ClusteringConfig, clustering_delta_z, clustering_nz
from zshard.io.atomic import read_json, write_json
from zshard.io.catalogs import CatalogSpec, read_catalog
from zshard.io.ids import derive_seed, subset_mask
from zshard.io.sampled import parquet_rows, sample_fraction
from zshard.tomography.binning import edges_from_json

start = time.perf_counter()
settings = snakemake.params.clustering
cfg = ClusteringConfig.from_dict(settings)
spec = CatalogSpec.from_config(snakemake.params.catalog, [], redshift_name="z_spec")
reference = read_catalog(list(snakemake.input.reference), spec)

# The unknown samples: the binned objects of every shard (an id-hashed subsample past max_unknown),
# with their positions from the shard.
n_catalogue = parquet_rows(snakemake.input.bins)
fraction = sample_fraction(n_catalogue, settings["max_unknown"])
seed_unknown = derive_seed(snakemake.params.seed, "validation.clustering.unknown")
parts = []
for bins_path, shard_path in zip(snakemake.input.bins, snakemake.input.shards):
    bins = pd.read_parquet(bins_path, columns=["id", "tomo_bin"])
    shard = pd.read_parquet(shard_path, columns=["id", "ra", "dec"])
    if not np.array_equal(bins["id"].to_numpy(), shard["id"].to_numpy()):
        raise RuntimeError(f"{bins_path} and {shard_path} list different objects")
    part = shard.assign(tomo_bin=bins["tomo_bin"].to_numpy())
    if fraction < 1.0:
        part = part[subset_mask(part["id"].to_numpy(), fraction, seed_unknown)]
    parts.append(part)
unknown = pd.concat(parts, ignore_index=True)

nz = read_json(snakemake.input.nz)
edges = edges_from_json(read_json(snakemake.input.edges))
result = clustering_nz(reference["ra"].to_numpy(), reference["dec"].to_numpy(), reference["z_spec"].to_numpy(),
                       unknown["ra"].to_numpy(), unknown["dec"].to_numpy(),
                       unknown["tomo_bin"].to_numpy().astype(np.int64), len(edges) - 1, cfg,
                       seed=derive_seed(snakemake.params.seed, "validation.clustering"),
                       max_workers=snakemake.threads)
rows = clustering_delta_z(result, np.asarray(nz["grid_centres"]), np.asarray(nz["nz"]), cfg, edges)
write_json(snakemake.output.delta_z, {
    "method": "clustering redshifts (WZ): cross-correlation with a spectroscopic reference in thin slices",
    "config": cfg.to_dict(), "n_reference": int(len(reference)), "n_unknown": int((unknown["tomo_bin"] >= 0).sum()),
    "unknown_sample": {"n_catalogue": int(n_catalogue), "max_unknown": settings["max_unknown"],
                       "hash_fraction": fraction},
    "slice_edges": result.slice_edges, "n_reference_per_slice": result.n_reference,
    "w_rr": result.w_rr, "w_rr_used": result.w_rr_used, "w_ur": result.w_ur, "bins": rows,
    "seconds": time.perf_counter() - start})
for r in rows:
    print(f"bin {r['bin']}: Δz = {r['delta_z']:.4f} ± {r['error']:.4f} in {r['z_range']} {r['note']}")
print(f"{len(reference)} reference and {len(unknown)} unknown objects, {time.perf_counter() - start:.1f} s")
