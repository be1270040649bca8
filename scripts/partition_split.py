"""Rule partition_split: one input file into per-shard fragments."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.io import CatalogSpec, read_json
from zshard.partition import split_file

spec = CatalogSpec.from_config(snakemake.params.catalog, snakemake.params.bands)
stats = split_file(snakemake.input.catalog, snakemake.wildcards.file_id, spec, read_json(snakemake.input.plan),
                   snakemake.output[0], snakemake.params.chunk_rows, snakemake.params.compression)
print(stats)
