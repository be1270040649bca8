"""Rule partition_manifest: check the row accounting; write the manifest, the HATS metadata and the rejects."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import zshard
from zshard.io.atomic import read_json, write_json, write_parquet
from zshard.partition import (
    CLOSE_PAIR_SCHEMA,
    REDUCE_CLOSE_PAIRS,
    REDUCE_IDS,
    REDUCE_REJECTS,
    REDUCE_STATS,
    AccountingError,
    check_row_accounting,
    ids_in_several_shards,
    load_split_stats,
    remove_stale_shards,
    shard_key_of_path,
    write_hats_metadata,
)

plan = read_json(snakemake.input.plan)
split_stats = [load_split_stats(d) for d in snakemake.input.splits]
reduce_stats = [read_json(f"{d}/{REDUCE_STATS}") for d in snakemake.input.records]
manifest = check_row_accounting(plan, split_stats, reduce_stats)  # raises on any mismatch
manifest["plan"] = {k: plan[k] for k in ("histogram_order", "max_rows", "lowest_order", "oversized_shards")}

# Duplicates within a shard were rejected by its reduce; an id in two shards (two positions) is found here.
repeated = ids_in_several_shards({shard_key_of_path(d): f"{d}/{REDUCE_IDS}" for d in snakemake.input.records})
n_repeated = len(set(repeated.column("id").to_pylist()))
manifest["ids_in_several_shards"] = n_repeated
if n_repeated:
    example = repeated.slice(0, 10).to_pylist()
    if snakemake.params.duplicate_ids == "fail":  # a failed job's outputs are removed: the list goes beside the log
        listing = snakemake.log[0].removesuffix(".log") + ".duplicate_ids.parquet"
        write_parquet(listing, repeated)
        raise AccountingError([f"{n_repeated} ids are in more than one shard (the same id at positions in different "
                               f"pixels), e.g. {example}; all listed in {listing}. Fix the inputs, or set "
                               "partition.duplicate_ids: report to go on"])
    print(f"WARNING: {n_repeated} ids are in more than one shard, e.g. {example}; all listed in "
          f"{snakemake.output.duplicate_ids}")
write_parquet(snakemake.output.duplicate_ids, repeated)

stale = remove_stale_shards(snakemake.params.catalog_dir, {s["shard"] for s in manifest["shards"]})
if stale:
    print(f"removed {len(stale)} shard files that the current plan no longer has: {stale}")
manifest["removed_stale_shards"] = stale
write_hats_metadata(snakemake.params.catalog_dir, manifest["shards"], plan["max_rows"],
                    snakemake.params.catalog_name, f"zshard v{zshard.__version__}")
write_json(snakemake.output.manifest, manifest)

# Rows with different ids closer than partition.close_pair_arcsec (one object under two ids?): reported.
pairs = [pq.read_table(f"{d}/{REDUCE_CLOSE_PAIRS}") for d in snakemake.input.records
         if os.path.exists(f"{d}/{REDUCE_CLOSE_PAIRS}")]  # absent from reduces of earlier versions
pairs = pa.concat_tables(pairs) if pairs else CLOSE_PAIR_SCHEMA.empty_table()
if pairs.num_rows:
    print(f"WARNING: {pairs.num_rows} pairs of rows with different ids closer than "
          f"{snakemake.params.close_pair_arcsec} arcsec (one object under two ids?), listed in "
          f"{snakemake.output.close_pairs}, e.g. {pairs.slice(0, 3).to_pylist()}")
write_parquet(snakemake.output.close_pairs, pairs)

rejects = [pq.read_table(f"{d}/_rejects.parquet").to_pandas() for d in snakemake.input.splits]
rejects += [pq.read_table(f"{d}/{REDUCE_REJECTS}").to_pandas() for d in snakemake.input.records]
write_parquet(snakemake.output.rejects, pd.concat(rejects, ignore_index=True))
print(manifest["totals"])
