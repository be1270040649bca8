"""Rule partition_split: one input file read once, its rows sorted by _healpix_29, and its histogram."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.io import CatalogSpec, without_pandas
from zshard.partition import split_file

without_pandas()  # pyarrow would import it: 0.4 CPU-s per job

spec = CatalogSpec.from_config(snakemake.params.catalog, snakemake.params.bands)
stats = split_file(snakemake.input.catalog, snakemake.wildcards.file_id, spec, snakemake.params.histogram_order,
                   snakemake.output[0], snakemake.params.chunk_rows)
print(stats)
