"""Rule partition_manifest: check the row accounting; write the manifest, partition info and rejects."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd
import pyarrow.parquet as pq

from zshard.io import atomic_path, read_json, write_json, write_parquet
from zshard.partition import check_row_accounting, load_split_stats

plan = read_json(snakemake.input.plan)
split_stats = [load_split_stats(d) for d in snakemake.input.splits]
reduce_stats = [read_json(p) for p in snakemake.input.stats]
manifest = check_row_accounting(plan, split_stats, reduce_stats)  # raises on any mismatch
manifest["plan"] = {k: plan[k] for k in ("histogram_order", "max_rows", "lowest_order", "oversized_shards")}
write_json(snakemake.output.manifest, manifest)

with atomic_path(snakemake.output.partition_info) as tmp:
    pd.DataFrame([{"Norder": s["order"], "Npix": s["pixel"]} for s in manifest["shards"]]).to_csv(tmp, index=False)

rejects = [pq.read_table(f"{d}/_rejects.parquet").to_pandas() for d in snakemake.input.splits]
rejects += [pq.read_table(p).to_pandas() for p in snakemake.input.rejects]
write_parquet(snakemake.output.rejects, pd.concat(rejects, ignore_index=True))
print(manifest["totals"])
