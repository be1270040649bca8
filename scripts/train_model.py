"""Rule train_model: fit the multi-quantile photo-z model once; write the artefact and its manifest."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard.features import FeatureSpec
from zshard.io import write_json
from zshard.models import train_quantile_model

cfg = snakemake.params.model
train = pd.read_parquet(snakemake.input.train)
model = train_quantile_model(
    train, FeatureSpec(tuple(snakemake.params.bands), cfg["colours"]), cfg["quantile_levels"],
    params=cfg.get("xgboost", {}), seed=snakemake.params.seed, threads=snakemake.threads,
    z_min=cfg["z_min"], z_max=cfg["z_max"], max_density=cfg["max_density"],
)
model.save(snakemake.output.model)
write_json(snakemake.output.manifest, model.manifest_payload())
print(model.manifest_payload())
