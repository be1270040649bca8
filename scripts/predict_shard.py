"""Rule predict_shard: p(z) quantiles, point estimates and coverage flags for every object of one shard."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard.faults import maybe_fail
from zshard.io.pdf_table import write_pdf_table
from zshard.models import PhotozModel

maybe_fail(snakemake.config, snakemake.rule, snakemake.wildcards.shard)
model = PhotozModel.load(snakemake.input.model, threads=snakemake.threads)
catalog = pd.read_parquet(snakemake.input.shard)
quantiles, z_phot = model.predict(catalog)
extra = {"z_phot": z_phot}
coverage = model.assess_coverage(catalog)
if coverage is not None:
    extra.update(in_coverage=coverage["in_coverage"], coverage_weight=coverage["coverage_weight"])
write_pdf_table(snakemake.output[0], catalog["id"].to_numpy(), quantiles, model.levels, model.z_min, model.z_max,
                metadata={"model_version": model.manifest["version"]}, extra_columns=extra)
print(f"{len(catalog)} objects" + (f", {coverage['in_coverage'].mean():.3f} in coverage" if coverage else ""))
