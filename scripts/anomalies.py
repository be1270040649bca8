"""Rule anomalies: flag anomalous training objects; what removing them does on the validation sample."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard import training
from zshard.io.atomic import atomic_path, write_json, write_parquet
from zshard.training_report import plot_anomalies

params, out = snakemake.params, snakemake.output
train = pd.read_parquet(snakemake.input.train)
validation = pd.read_parquet(snakemake.input.validation)
_, weights = training.cleaned_training_sample(train, None, pd.read_parquet(snakemake.input.weights))
removed, table, report = training.stage_anomalies(train, validation, params.cfg, params.bands, params.seed,
                                                  weights=weights, quick_params=params.quick_model,
                                                  threads=snakemake.threads)
write_parquet(out.flags, table)
write_json(out.report, report)
flagged = train.loc[table["flagged"].to_numpy()].assign(**{c: table.loc[table["flagged"], c].to_numpy()
                                                          for c in table.columns if c.endswith("_score")})
with atomic_path(out.table) as tmp:
    flagged.to_csv(tmp, index=False)
plot_anomalies(out.figure, train, table, params.bands)
print(report)
