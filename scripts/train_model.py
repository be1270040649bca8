"""Rule train_model: refit the production p(z) model and the zoo's winner once; one artefact + manifest."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard import training
from zshard.features import FeatureSpec
from zshard.io.atomic import read_json, write_json
from zshard.representativeness import CoverageModel

inp, params = snakemake.input, snakemake.params
train, weights = training.cleaned_training_sample(pd.read_parquet(inp.train), pd.read_parquet(inp.anomalies),
                                                  pd.read_parquet(inp.weights))
spec = FeatureSpec.from_dict(read_json(inp.feature_set)["spec"])
leaderboard = read_json(inp.leaderboard[0]) if inp.leaderboard else None
with open(inp.coverage, "rb") as handle:
    coverage = CoverageModel.from_bytes(handle.read())
representativeness = read_json(inp.representativeness)
anomalies = read_json(inp.anomalies_report)
selection = read_json(inp.selection)
extra = {
    "representativeness": {"classifier_auc": representativeness["classifier_two_sample_test"],
                           "coverage": representativeness["coverage"], "weights": representativeness["weights"]},
    "anomalies": {k: anomalies[k] for k in ("n_train", "n_flagged", "n_removed", "remove", "remove_setting",
                                            "decision")},
    "selection": {"ranking_used": selection.get("ranking_used"), "chosen": selection.get("chosen"),
                  "pool": selection.get("pool")},
}
model = training.build_model(train, weights, spec, params.model, params.seed, leaderboard=leaderboard,
                             coverage=coverage, threads=snakemake.threads, extra_manifest=extra,
                             validation=pd.read_parquet(inp.validation))
model.save(snakemake.output.model)
write_json(snakemake.output.manifest, model.manifest_payload())
print(model.manifest_payload())
