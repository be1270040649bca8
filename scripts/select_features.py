"""Rule select_features: gain, permutation and MINT rankings; the chosen feature set."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard import training
from zshard.features import FeatureSpec
from zshard.io.atomic import atomic_path, read_json, write_json
from zshard.training_report import plot_selection

params, out = snakemake.params, snakemake.output
train, weights = training.cleaned_training_sample(pd.read_parquet(snakemake.input.train),
                                                  pd.read_parquet(snakemake.input.anomalies),
                                                  pd.read_parquet(snakemake.input.weights))
science = pd.read_parquet(snakemake.input.science)
pool = FeatureSpec.from_dict(read_json(snakemake.input.pool)["spec"])
spec, report = training.stage_selection(train, weights, science, pool, params.cfg, params.seed, snakemake.threads)
write_json(out.report, report)
write_json(out.feature_set, {"spec": spec.to_dict(), "names": spec.names})
rankings = report["rankings"]
with atomic_path(out.table) as tmp:
    pd.DataFrame({name: [row["feature"] for row in rows] for name, rows in rankings.items()}).rename_axis(
        "rank").rename(lambda i: i + 1).to_csv(tmp)
plot_selection(out.figure, report)
print(spec.names)
