"""Rule prepare_samples: read the spec-z sample and split it into train / validation / test."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")


from zshard.io.atomic import write_json, write_parquet
from zshard.io.catalogs import CatalogSpec, read_catalog
from zshard.samples import split_labelled

spec = CatalogSpec.from_config(snakemake.params.catalog, snakemake.params.bands)
catalog = read_catalog(list(snakemake.input), spec)
splits, summary = split_labelled(catalog, snakemake.params.fractions, seed=snakemake.params.seed)
for name, frame in splits.items():
    write_parquet(snakemake.output[name], frame)
write_json(snakemake.output.summary, summary)
print(summary)
