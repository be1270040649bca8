"""Rule validate_clustering: Δz per tomographic bin from clustering redshifts (zshard.clustering)."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import time

import numpy as np
import pandas as pd

from zshard.clustering import ClusteringConfig, clustering_delta_z, clustering_nz
from zshard.io.atomic import read_json, write_json
from zshard.io.catalogs import CatalogSpec, read_catalog
from zshard.io.ids import derive_seed
from zshard.tomography.binning import edges_from_json

start = time.perf_counter()
cfg = ClusteringConfig.from_dict(snakemake.params.clustering)
spec = CatalogSpec.from_config(snakemake.params.catalog, [], redshift_name="z_spec")
reference = read_catalog(list(snakemake.input.reference), spec)

# The unknown samples: every binned object of every shard, with its position from the shard.
parts = []
for bins_path, shard_path in zip(snakemake.input.bins, snakemake.input.shards):
    bins = pd.read_parquet(bins_path, columns=["id", "tomo_bin"])
    shard = pd.read_parquet(shard_path, columns=["id", "ra", "dec"])
    if not np.array_equal(bins["id"].to_numpy(), shard["id"].to_numpy()):
        raise RuntimeError(f"{bins_path} and {shard_path} list different objects")
    parts.append(shard.assign(tomo_bin=bins["tomo_bin"].to_numpy()))
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
    "slice_edges": result.slice_edges, "n_reference_per_slice": result.n_reference,
    "w_rr": result.w_rr, "w_rr_used": result.w_rr_used, "w_ur": result.w_ur, "bins": rows,
    "seconds": time.perf_counter() - start})
for r in rows:
    print(f"bin {r['bin']}: Δz = {r['delta_z']:.4f} ± {r['error']:.4f} in {r['z_range']} {r['note']}")
print(f"{len(reference)} reference and {len(unknown)} unknown objects, {time.perf_counter() - start:.1f} s")
