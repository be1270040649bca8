"""Rule mock_survey: generate the embedded default survey (zshard.mock)."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.io.atomic import write_json
from zshard.mock.config import MockConfig
from zshard.mock.survey import generate_survey
from zshard.progress import Progress

cfg = MockConfig.from_dict({**snakemake.params.mock, "bands": snakemake.params.bands, "seed": snakemake.params.seed})
out = snakemake.output
progress = Progress("mock_survey", total=cfg.n_objects)
summary = generate_survey(cfg, list(out.photometry), out.specz, out.deep_reference, out.clustering_reference,
                          out.truth, progress)
progress.finish()
write_json(out.summary, {"config": cfg.to_dict(), **summary})
print(summary)
