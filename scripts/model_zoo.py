"""Rule model_zoo: random hyper-parameter search with k-fold CV over every algorithm; the leaderboard."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard import training
from zshard.features import FeatureSpec
from zshard.io.atomic import atomic_path, read_json, write_json, write_parquet
from zshard.training_report import plot_zoo

params, out = snakemake.params, snakemake.output
train, weights = training.cleaned_training_sample(pd.read_parquet(snakemake.input.train),
                                                  pd.read_parquet(snakemake.input.anomalies),
                                                  pd.read_parquet(snakemake.input.weights))
spec = FeatureSpec.from_dict(read_json(snakemake.input.feature_set)["spec"])
result = training.stage_zoo(train, weights, spec, params.cfg, params.seed, snakemake.threads,
                            log=lambda message: print(message, flush=True))
write_json(out.leaderboard, result.leaderboard)
with atomic_path(out.table) as tmp:
    pd.DataFrame([{"algorithm": d["algorithm"], "draw": d["draw"],
                   **{k: d[k] for k in ("nmad", "sigma68", "bias_median", "outlier_fraction", "nmad_fold_std",
                                        "seconds")},
                   "params": d["params"]} for d in result.leaderboard["draws"]]).to_csv(tmp, index=False)
write_parquet(out.oof, pd.DataFrame({"id": train["id"].to_numpy(), "z_spec": train["z_spec"].to_numpy(),
                                     **{f"oof_{name}": values for name, values in result.oof.items()}}))
plot_zoo(out.figure, result.leaderboard)
print("winner:", result.leaderboard["winner"])
