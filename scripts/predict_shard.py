"""Rule predict_shard: p(z) quantiles and point estimates for every object of one shard."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard.models import PhotozModel
from zshard.io import write_pdf_table

model = PhotozModel.load(snakemake.input.model, threads=snakemake.threads)
catalog = pd.read_parquet(snakemake.input.shard)
quantiles = model.predict_quantiles(catalog)
write_pdf_table(snakemake.output[0], catalog["id"].to_numpy(), quantiles, model.levels, model.z_min, model.z_max,
                metadata={"model_version": model.manifest["version"]})
print(f"{len(catalog)} objects")
