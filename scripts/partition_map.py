"""Rule partition_map: pixel histogram of one input file."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.io import CatalogSpec
from zshard.partition import map_file

spec = CatalogSpec.from_config(snakemake.params.catalog, snakemake.params.bands)
stats = map_file(snakemake.input[0], spec, snakemake.params.histogram_order, snakemake.output[0],
                 snakemake.params.chunk_rows)
print(f"{snakemake.input[0]}: {stats}")
