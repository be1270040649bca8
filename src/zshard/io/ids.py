"""Deterministic per-object randomness: id hashing, id-hashed subsets and derived seeds."""

from __future__ import annotations

import hashlib

import numpy as np


def id_hash_unit(ids: np.ndarray, seed: int) -> np.ndarray:
    """A deterministic uniform number in [0, 1) per id (splitmix64 finaliser of id ⊕ seed)."""
    x = (np.asarray(ids).astype(np.uint64) ^ np.uint64((seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF))
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def derive_seed(seed: int, purpose: str) -> int:
    """A seed for one random step, derived from the master seed and the step's name.

    Steps that hash the same ids (the spec-z split, the matching subsample, a user's id subset)
    must not share a seed, or their selections would be correlated.
    """
    digest = hashlib.sha256(f"{seed}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def subset_mask(ids: np.ndarray, fraction: float, seed: int, keep: str = "below") -> np.ndarray:
    """Rows kept by an id-hashed subset (see :class:`zshard.io.catalogs.CatalogSpec`)."""
    if fraction >= 1.0 and keep == "below":
        return np.ones(len(ids), dtype=bool)
    unit = id_hash_unit(ids, seed)
    if keep == "below":
        return unit < fraction
    if keep == "above":
        return unit >= fraction
    raise ValueError(f"subset keep must be 'below' or 'above', not {keep!r}")

