"""The labelled (spec-z) sample: cleaning and the train / validation / test split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zshard.io.ids import derive_seed, id_hash_unit

SPLITS = ("train", "validation", "test")


REJECT_NO_REDSHIFT = "no redshift (NaN, infinite or a sentinel)"
REJECT_REDSHIFT_NOT_POSITIVE = "redshift <= 0"
REJECT_DUPLICATE_ID = "duplicate id"
PROVENANCE_COLUMNS = ("_file", "_row")  # zshard.io.catalogs.read_catalog(..., provenance=True)


class SampleError(ValueError):
    """A labelled sample that cannot be trained on: the message names its files and the counts."""


def redshift_reject_reasons(z: np.ndarray, z_min: float, z_max: float) -> np.ndarray:
    """The reason each redshift cannot be a training label ("" where it can).

    A label must be a finite redshift above 0 inside the p(z) range [``z_min``, ``z_max``] of the
    model (``model.z_min``, ``model.z_max``): a p(z) cannot put mass outside it.
    """
    z = np.asarray(z, dtype=np.float64)
    reasons = np.full(z.shape, "", dtype=object)
    with np.errstate(invalid="ignore"):
        reasons[z > z_max] = f"redshift above model.z_max ({z_max:g})"
        reasons[z < z_min] = f"redshift below model.z_min ({z_min:g})"
        reasons[z <= 0] = REJECT_REDSHIFT_NOT_POSITIVE
    reasons[~np.isfinite(z)] = REJECT_NO_REDSHIFT
    return reasons


def split_labelled(catalog: pd.DataFrame, fractions: dict[str, float], seed: int, z_min: float, z_max: float,
                   min_train: int, redshift_column: str = "z_spec",
                   ) -> tuple[dict[str, pd.DataFrame], dict, pd.DataFrame]:
    """Split a spec-z sample by a hash of the object id.

    Hashing the id (rather than shuffling rows) keeps each object in the same split when the sample
    grows or its files are reordered. Rows that cannot be labels (:func:`redshift_reject_reasons`:
    no redshift, z ≤ 0, outside the model's range) or that repeat an id are rejected: each is
    listed with its reason and, where ``catalog`` has them (``_file``, ``_row``), its input file
    and row, and counted by reason in the summary.

    Returns the three frames (without the provenance columns), a summary of the counts and the
    rejects. Raises :class:`SampleError` when fewer than ``min_train`` objects are left to train on.
    """
    total = sum(fractions[s] for s in SPLITS)
    if not 0 < total <= 1 + 1e-9:
        raise ValueError(f"sample fractions must add up to at most 1, got {total}")
    z = catalog[redshift_column].to_numpy(dtype=np.float64)
    reasons = redshift_reject_reasons(z, z_min, z_max)
    usable = reasons == ""
    duplicated = catalog["id"].duplicated(keep="first").to_numpy() & usable
    reasons[duplicated] = REJECT_DUPLICATE_ID
    bad = reasons != ""
    rejects = _rejects(catalog, bad, reasons, redshift_column)
    provenance = [c for c in PROVENANCE_COLUMNS if c in catalog]
    clean = catalog[~bad].drop(columns=provenance).reset_index(drop=True)
    unit = id_hash_unit(clean["id"].to_numpy(), derive_seed(seed, "samples.split"))
    edges = np.cumsum([0.0] + [fractions[s] for s in SPLITS])
    splits = {name: clean[(unit >= lo) & (unit < hi)].reset_index(drop=True)
              for name, lo, hi in zip(SPLITS, edges[:-1], edges[1:])}
    by_reason = rejects["reason"].value_counts().to_dict()
    summary = {"n_input": int(len(catalog)), "n_no_redshift": int((~usable).sum()),
               "n_duplicate_id": int(duplicated.sum()), "n_rejected": int(bad.sum()),
               "rejected_by_reason": {str(k): int(v) for k, v in sorted(by_reason.items())},
               **{f"n_{name}": int(len(frame)) for name, frame in splits.items()},
               "median_z": {name: float(np.median(f[redshift_column])) if len(f) else None
                            for name, f in splits.items()}}
    if len(splits["train"]) < min_train:
        files = sorted(set(catalog["_file"])) if "_file" in catalog else "the spec-z sample"
        raise SampleError(f"spec-z sample too small to train on: {len(splits['train'])} training objects "
                          f"(samples.min_train is {min_train}) from {len(catalog)} rows of {files}; "
                          f"rejected: {summary['rejected_by_reason'] or 'none'}")
    return splits, summary, rejects


def _rejects(catalog: pd.DataFrame, bad: np.ndarray, reasons: np.ndarray, redshift_column: str) -> pd.DataFrame:
    """The rejected rows: input file and row (where known), id, redshift and reason."""
    n = int(bad.sum())
    return pd.DataFrame({
        "file": catalog["_file"].to_numpy()[bad] if "_file" in catalog else np.full(n, None, dtype=object),
        "row": catalog["_row"].to_numpy()[bad] if "_row" in catalog else np.full(n, -1, dtype=np.int64),
        "id": catalog["id"].to_numpy()[bad],
        redshift_column: catalog[redshift_column].to_numpy(dtype=np.float64)[bad],
        "reason": reasons[bad].astype(str),
    })
