"""Rule representativeness: labelled vs science sample; training weights, coverage model, cell map."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

from zshard import training
from zshard.io.atomic import atomic_path, read_json, write_json, write_parquet
from zshard.training_report import plot_representativeness

params, out = snakemake.params, snakemake.output
train = pd.read_parquet(snakemake.input.train)
science = pd.read_parquet(snakemake.input.science)
science_fraction = read_json(snakemake.input.science_summary)["fraction_of_catalogue"]
rep = training.stage_representativeness(train, science, params.cfg, params.bands, params.seed,
                                        science_fraction if params.source == "mock" else None)
write_json(out.report, rep.report)
with atomic_path(out.ks) as tmp:
    pd.DataFrame(rep.ks).to_csv(tmp, index=False)
with atomic_path(out.cells) as tmp:
    rep.cells.to_csv(tmp, index=False)
write_parquet(out.weights, pd.DataFrame({"id": train["id"].to_numpy(), "weight": rep.weights,
                                         "weight_raw": rep.weights_raw,
                                         "enabled": np.full(len(train), rep.report["weights"]["applied"])}))
with atomic_path(out.coverage) as tmp:
    with open(tmp, "wb") as handle:
        handle.write(rep.coverage.to_bytes())
plot_representativeness(out.figure, rep, train)
print(rep.report)
