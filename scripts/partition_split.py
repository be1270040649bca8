"""Rule partition_split: one input file into per-shard fragments."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.io import CatalogSpec
from zshard.partition import split_file
from zshard.sky import Shard

spec = CatalogSpec.from_config(snakemake.params.catalog, snakemake.params.bands)
shards = [Shard.from_key(key) for key in snakemake.params.shards]
stats = split_file(snakemake.input.catalog, snakemake.wildcards.file_id, spec, shards,
                   snakemake.params.histogram_order, snakemake.output[0], snakemake.params.chunk_rows)
print(stats)
