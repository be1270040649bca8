"""Rule features: the candidate pool (magnitudes, colours, optional errors and PCA) and its table."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard import training
from zshard.features import build_pool
from zshard.io.atomic import atomic_path, write_json
from zshard.training_report import plot_features

params, out = snakemake.params, snakemake.output
train, _ = training.cleaned_training_sample(pd.read_parquet(snakemake.input.train),
                                            pd.read_parquet(snakemake.input.anomalies), None)
science = pd.read_parquet(snakemake.input.science)
pool, rows = training.stage_features(train, science, params.cfg, params.bands)
write_json(out.pool, {"spec": pool.to_dict(), "names": pool.pool_names})
with atomic_path(out.table) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False)
plot_features(out.figure, build_pool(train, pool), pool.pool_names, rows)
print(pool.pool_names)
