"""Rule partition_reduce: one HATS shard from the fragments of the files touching it."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.io import write_json
from zshard.partition import reduce_shard
from zshard.sky import Shard

shard = Shard(int(snakemake.wildcards.order), int(snakemake.wildcards.pixel))
stats = reduce_shard(shard, list(snakemake.input), snakemake.output.shard, snakemake.output.rejects,
                     snakemake.params.compression)
write_json(snakemake.output.stats, stats)
print(stats)
