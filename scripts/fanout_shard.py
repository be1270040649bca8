"""Rule fanout_shard: one shard's calibrated p(z), tomographic bins, partial n(z) and matching sample."""
import os
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.calibration import load_calibration
from zshard.fanout import ShardOutputs, read_shard, run_shard
from zshard.faults import maybe_fail
from zshard.io.atomic import read_json
from zshard.models import PhotozModel
from zshard.partition import REDUCE_STATS, reduce_record
from zshard.progress import Progress
from zshard.tomography.binning import edges_from_json
from zshard.verify import require_intact

maybe_fail(snakemake.config, snakemake.rule, snakemake.wildcards.shard)
# the shard as its reduce wrote it (size, SHA-256, rows), or a message naming it and how to remake it
require_intact(snakemake.input.shard, reduce_record(os.path.join(snakemake.input.record, REDUCE_STATS)),
               "partition_reduce")
model = PhotozModel.load(snakemake.input.model, threads=snakemake.threads)
calibration = load_calibration(snakemake.input.calibration)
edges = edges_from_json(read_json(snakemake.input.edges))  # one file for every shard (rule tomography_edges)
catalog = read_shard(snakemake.input.shard, snakemake.params.bands)
out = snakemake.output
progress = Progress(f"fanout_shard {snakemake.wildcards.shard}: predicted", total=len(catalog), unit="objects")
counts = run_shard(catalog, model, calibration, edges, snakemake.params.tomography, snakemake.params.bands,
                   snakemake.params.seed, ShardOutputs(pdf=out.pdf, bins=out.bins, partial=out.partial,
                                                       sample=out.sample), progress)
progress.finish()
print(counts)
