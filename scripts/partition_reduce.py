"""Rule partition_reduce: one HATS shard from the sorted rows of the files that touch it."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.io import without_pandas, write_json
from zshard.partition import reduce_shard
from zshard.sky import Shard

without_pandas()  # pyarrow would import it: 0.4 CPU-s per job

shard = Shard(int(snakemake.wildcards.order), int(snakemake.wildcards.pixel))
stats = reduce_shard(shard, list(snakemake.input), snakemake.output.shard, snakemake.output.rejects,
                     snakemake.params.compression)
write_json(snakemake.output.stats, stats)
print(stats)
