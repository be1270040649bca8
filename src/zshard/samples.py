"""The labelled (spec-z) sample: cleaning and the train / validation / test split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zshard.io.ids import derive_seed, id_hash_unit

SPLITS = ("train", "validation", "test")


def split_labelled(catalog: pd.DataFrame, fractions: dict[str, float], seed: int,
                   redshift_column: str = "z_spec") -> tuple[dict[str, pd.DataFrame], dict]:
    """Split a spec-z sample by a hash of the object id.

    Hashing the id (rather than shuffling rows) keeps each object in the same split when the sample
    grows or its files are reordered. Rows without a usable redshift (NaN, negative) or with
    duplicate ids are dropped and counted.

    Returns the three frames and a summary of the counts.
    """
    total = sum(fractions[s] for s in SPLITS)
    if not 0 < total <= 1 + 1e-9:
        raise ValueError(f"sample fractions must add up to at most 1, got {total}")
    z = catalog[redshift_column].to_numpy(dtype=np.float64)
    usable = np.isfinite(z) & (z >= 0)
    duplicated = catalog["id"].duplicated(keep="first").to_numpy()
    clean = catalog[usable & ~duplicated].reset_index(drop=True)
    unit = id_hash_unit(clean["id"].to_numpy(), derive_seed(seed, "samples.split"))
    edges = np.cumsum([0.0] + [fractions[s] for s in SPLITS])
    splits = {name: clean[(unit >= lo) & (unit < hi)].reset_index(drop=True)
              for name, lo, hi in zip(SPLITS, edges[:-1], edges[1:])}
    summary = {"n_input": int(len(catalog)), "n_no_redshift": int((~usable).sum()),
               "n_duplicate_id": int((duplicated & usable).sum()),
               **{f"n_{name}": int(len(frame)) for name, frame in splits.items()},
               "median_z": {name: float(np.median(f[redshift_column])) if len(f) else None
                            for name, f in splits.items()}}
    return splits, summary
