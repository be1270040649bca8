"""The per-shard fan-out in one pass: predict each object's p(z), PIT-calibrate it, assign its
tomographic bin, and sum the shard's partial n(z).

One process per shard (rule ``fanout_shard``) instead of one per stage: at 1M-row shards the three
stage jobs spent ~1.6 CPU-s per shard on two more interpreter start-ups, and ~1.4 µs per object on
writing the raw p(z) and reading them (and the calibrated ones) back (``make bench-scale``,
docs/scaling.md). The stages stay separate functions of their own modules; this module only chains
them. The raw p(z) are calibrated as they come out of the model, in float32, as
:func:`zshard.calibration.fit_calibration` and rule ``tomography_edges`` see them, and only the
calibrated p(z) are stored (uint16 codes, :func:`zshard.io.pdf_table.write_pdf_table`); the bins, the
partial n(z) and the matching sample use the stored values, so that a reader of the table gets the
same summaries the bins were cut on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from zshard.calibration import PitCalibration, apply_calibration
from zshard.io.atomic import write_parquet
from zshard.io.ids import derive_seed, subset_mask
from zshard.io.pdf_table import write_pdf_table
from zshard.progress import Progress
from zshard.tomography.binning import assign_bins
from zshard.tomography.cuts import selection_cuts_from_config
from zshard.tomography.partial import NzPartial, partial_nz_from_pdfs

__all__ = ["ShardOutputs", "calibrated_pdfs", "read_shard", "run_shard"]


@dataclass(frozen=True)
class ShardOutputs:
    """Where one shard's products go: the calibrated p(z) table, the bins, the partial n(z) and the
    matching sample of the Δz validation."""

    pdf: str
    bins: str
    partial: str
    sample: str


def read_shard(path: str, bands: list[str]) -> pd.DataFrame:
    """The columns of a shard that the fan-out uses: ``id``, ``mag_<band>`` and ``magerr_<band>``.

    Positions and the partition's ``_healpix_29`` are not read (a third of a mock shard's bytes).
    """
    wanted = ["id"] + [f"mag_{b}" for b in bands] + [f"magerr_{b}" for b in bands]
    present = set(pq.read_schema(path).names)
    return pd.read_parquet(path, columns=[name for name in wanted if name in present])


def calibrated_pdfs(catalog: pd.DataFrame, model, calibration: PitCalibration, progress: Progress | None = None
                    ) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """Each object's calibrated p(z) quantiles (at ``calibration.levels_for(model.levels)``), its
    ``z_phot``, and the model's coverage values (None without a coverage model): what every shard's
    objects get, and what rule ``tomography_edges`` computes for the science sample. ``progress``
    counts the objects predicted, batch by batch."""
    raw, z_phot = model.predict(catalog, progress=progress)
    coverage = model.assess_coverage(catalog)
    return apply_calibration(raw, model.levels, calibration, model.z_min, model.z_max), z_phot, coverage


def run_shard(catalog: pd.DataFrame, model, calibration: PitCalibration, edges: np.ndarray, tomography: dict,
              bands: list[str], seed: int, outputs: ShardOutputs, progress: Progress | None = None) -> dict:
    """Predict, calibrate, bin and stack one shard's objects, and write its four products.

    ``model`` is a :class:`zshard.models.PhotozModel`; ``tomography`` holds the config keys
    ``point_estimate``, ``grid_step``, ``sample_fraction`` and ``cuts``; ``seed`` is the master
    seed (the matching sample is an id-hashed subset, :func:`zshard.io.ids.subset_mask`).
    Returns counts for the job's log: objects, objects per bin, cut failures, sample size.
    ``progress`` counts the objects predicted (the bulk of the time).
    """
    ids = catalog["id"].to_numpy()
    calibrated, z_phot, coverage = calibrated_pdfs(catalog, model, calibration, progress)
    extra = {"z_phot": z_phot}
    if coverage is not None:
        extra.update(in_coverage=coverage["in_coverage"], coverage_weight=coverage["coverage_weight"])
    table = write_pdf_table(outputs.pdf, ids, calibrated, calibration.levels_for(model.levels), model.z_min,
                            model.z_max, metadata={"model_version": model.manifest["version"], "calibrated": "true"},
                            extra_columns=extra)
    del calibrated

    z_point = table.summaries[tomography["point_estimate"]].to_numpy(dtype=np.float64)
    # Optional selection cuts: objects failing them get bin -1 and are counted in the partial.
    in_coverage = None if coverage is None else coverage["in_coverage"]
    keep, failed = selection_cuts_from_config(tomography["cuts"], catalog, in_coverage)
    bins = assign_bins(z_point, edges, mask=keep)
    grid_edges = np.arange(table.z_min, table.z_max + tomography["grid_step"] / 2, tomography["grid_step"])
    # The partial n(z): each bin's p(z) stacked on the fine grid, straight from the quantiles.
    partial: NzPartial = partial_nz_from_pdfs(table.quantiles, table.levels, table.z_min, table.z_max, z_point,
                                              bins, edges, grid_edges, cuts_failed=failed)
    partial.to_npz(outputs.partial)
    z_mean = table.summaries["z_mean"].to_numpy()
    write_parquet(outputs.bins, pd.DataFrame({"id": ids, "tomo_bin": bins.astype(np.int16),
                                              "z_point": z_point.astype(np.float32), "z_mean": z_mean}))
    # The matching subsample (Δz validation): binned and unbinned objects alike, so that a reference
    # object whose nearest wide neighbour is in no bin is in no bin either.
    in_sample = subset_mask(ids, tomography["sample_fraction"], derive_seed(seed, "tomography.sample"))
    sample = catalog.loc[in_sample, ["id"] + [f"mag_{b}" for b in bands]].assign(
        tomo_bin=bins[in_sample].astype(np.int16), z_mean=z_mean[in_sample])
    write_parquet(outputs.sample, sample.reset_index(drop=True))
    return {"objects": int(len(ids)), "per_bin": np.bincount(bins[bins >= 0], minlength=len(edges) - 1).tolist(),
            "cuts_failed": failed, "sample": int(len(sample)),
            "in_coverage": None if coverage is None else float(np.mean(coverage["in_coverage"]))}
