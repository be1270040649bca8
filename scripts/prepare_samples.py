"""Rule prepare_samples: read the spec-z sample and split it into train / validation / test."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")


from zshard.io.atomic import write_json, write_parquet
from zshard.io.catalogs import CatalogSpec, read_catalog
from zshard.samples import split_labelled

params = snakemake.params
spec = CatalogSpec.from_config(params.catalog, params.bands)
catalog = read_catalog(list(snakemake.input), spec, provenance=True)
splits, summary, rejects = split_labelled(catalog, params.fractions, seed=params.seed, z_min=params.z_min,
                                          z_max=params.z_max, min_train=params.min_train)
for name, frame in splits.items():
    write_parquet(snakemake.output[name], frame)
write_parquet(snakemake.output.rejects, rejects)
write_json(snakemake.output.summary, summary)
print(summary)
