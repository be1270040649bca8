"""Checkpoint partition_plan: adaptive shards from the per-file histograms of the splits."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np

from zshard.io.atomic import atomic_path, write_json
from zshard.partition import existing_shards, make_plan, plan_changes

inputs = snakemake.params.inputs
split_dirs = {fid: snakemake.input.splits[i] for i, fid in enumerate(sorted(inputs))}
plan, total = make_plan(split_dirs, inputs, snakemake.params.max_rows, snakemake.params.lowest_order)
for key in plan["oversized_shards"]:
    print(f"WARNING: shard {key} holds more than {plan['max_rows']} rows at the finest order "
          f"{plan['histogram_order']}; raise partition.histogram_order to split it")
previous = existing_shards(snakemake.params.catalog_dir)
if previous:
    changes = plan_changes(previous, plan)
    if changes["added"] or changes["removed"]:
        print(f"the plan changed: {len(changes['added'])} new shards {changes['added']}, "
              f"{len(changes['removed'])} shards gone {changes['removed']}; no split runs again, only "
              "the reduces of the new shards (and what follows them)")
    else:
        print("the plan's shards are unchanged")
    plan["changes"] = changes
write_json(snakemake.output.plan, plan)

nonzero = np.flatnonzero(total)
with atomic_path(snakemake.output.sky) as tmp:
    np.savez(tmp, pixels=nonzero, counts=total[nonzero], histogram_order=plan["histogram_order"])
print(f"{len(plan['shards'])} shards for {plan['n_rows_valid']} rows (max {plan['max_rows']} per shard)")
