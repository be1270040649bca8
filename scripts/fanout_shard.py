"""Rule fanout_shard: one shard's calibrated p(z), tomographic bins, partial n(z) and matching sample."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.calibration import load_calibration
from zshard.fanout import ShardOutputs, read_shard, run_shard
from zshard.faults import maybe_fail
from zshard.io.atomic import read_json
from zshard.models import PhotozModel
from zshard.tomography.binning import edges_from_json

maybe_fail(snakemake.config, snakemake.rule, snakemake.wildcards.shard)
model = PhotozModel.load(snakemake.input.model, threads=snakemake.threads)
calibration = load_calibration(snakemake.input.calibration)
edges = edges_from_json(read_json(snakemake.input.edges))  # one file for every shard (rule tomography_edges)
catalog = read_shard(snakemake.input.shard, snakemake.params.bands)
out = snakemake.output
counts = run_shard(catalog, model, calibration, edges, snakemake.params.tomography, snakemake.params.bands,
                   snakemake.params.seed, ShardOutputs(pdf=out.pdf, bins=out.bins, partial=out.partial,
                                                       sample=out.sample))
print(counts)
