"""Rule science_sample: an id-hashed sample of the photometric (science) catalogue, read in chunks."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pyarrow as pa

from zshard.io.atomic import write_json, write_parquet
from zshard.io.catalogs import CatalogSpec, count_rows, iter_catalog
from zshard.io.ids import derive_seed, subset_mask

params = snakemake.params
spec = CatalogSpec.from_config(params.catalog, params.bands)
paths = list(snakemake.input)
rows_total = sum(count_rows(p) for p in paths)
kept_by_subset = spec.subset_fraction if spec.subset_keep == "below" else 1.0 - spec.subset_fraction
expected = max(rows_total * kept_by_subset, 1.0)
fraction = min(1.0, params.size / expected)
seed = derive_seed(params.seed, "representativeness.science_sample")
columns = ["id"] + [f"mag_{b}" for b in params.bands] + [f"magerr_{b}" for b in params.bands]
parts, rows_catalogue = [], 0
for path in paths:
    for chunk in iter_catalog(path, spec, params.chunk_rows):
        table = chunk.table.select(columns)
        rows_catalogue += table.num_rows
        keep = subset_mask(table.column("id").to_numpy(), fraction, seed)
        parts.append(table.filter(pa.array(keep)))
sample = pa.concat_tables(parts) if parts else None
if sample is None:
    raise ValueError("the photometric catalogue is empty: no science sample")
write_parquet(snakemake.output.sample, sample)
summary = {"rows_in_files": int(rows_total), "rows_in_catalogue": int(rows_catalogue), "n_sample": int(sample.num_rows),
           "fraction_of_catalogue": float(sample.num_rows / rows_catalogue) if rows_catalogue else float("nan"),
           "hash_fraction": fraction, "files": paths}
write_json(snakemake.output.summary, summary)
print(summary)
