"""Rule tomography_edges: the tomographic bin edges, once, for every shard (tomography/edges.json).

fixed: the configured edges. equal_number: edges putting the same number of science-sample objects
(the id-hashed sample of rule science_sample, through the trained model and the PIT calibration,
after the selection cuts) in each bin.
"""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import numpy as np
import pandas as pd

from zshard.io.atomic import write_json
from zshard.pdf.summary import summaries
from zshard.tomography.binning import assign_bins, equal_number_edges
from zshard.tomography.cuts import selection_cuts_from_config

cfg = snakemake.params.tomography  # only the keys the edges depend on (rule tomography_edges)
mode = cfg["edges_mode"]
result = {"mode": mode}

if mode == "fixed":
    edges = np.asarray(cfg["edges"], dtype=np.float64)
else:
    from zshard.calibration import load_calibration
    from zshard.fanout import calibrated_pdfs
    from zshard.models import PhotozModel

    model = PhotozModel.load(snakemake.input.model, threads=snakemake.threads)
    sample = pd.read_parquet(snakemake.input.science)
    calibration = load_calibration(snakemake.input.calibration)
    # as rule fanout_shard computes them, and float32 like the per-shard PDF tables, so that the
    # sample's point estimates are those its objects get in the shards
    quantiles, z_phot, coverage = calibrated_pdfs(sample, model, calibration)
    quantiles = np.asarray(quantiles, dtype=np.float32)
    levels = calibration.levels_for(model.levels)
    if cfg["point_estimate"] == "z_phot":
        z_point = np.asarray(z_phot, dtype=np.float32).astype(np.float64)
    else:
        z_point = summaries(quantiles, levels, model.z_min, model.z_max)[cfg["point_estimate"]]
        z_point = np.asarray(z_point, dtype=np.float32).astype(np.float64)
    cuts = cfg["cuts"]
    keep, failed = selection_cuts_from_config(cuts, sample, None if coverage is None else coverage["in_coverage"])
    edges = equal_number_edges(z_point, cfg["n_bins"], cfg["z_range"], mask=keep)
    bins = assign_bins(z_point, edges, mask=keep)
    result.update(n_sample=int(len(sample)), n_passing_cuts=int(keep.sum()), cuts_failed=failed,
                  counts_in_sample=np.bincount(bins[bins >= 0], minlength=len(edges) - 1),
                  z_range=cfg["z_range"], n_bins=cfg["n_bins"], point_estimate=cfg["point_estimate"], cuts=cuts)
result["edges"] = edges
write_json(snakemake.output.edges, result)
print({k: v for k, v in result.items()})
