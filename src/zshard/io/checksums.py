"""Checksums and row counts of products, recorded when they are written and checked before use.

A file truncated or altered on disk after a run (a full disk, a copy cut short, an edit by hand)
looks like any other product to Snakemake, which compares only times. Each product's SHA-256, size
and row count are recorded in a manifest when it is written; :mod:`zshard.verify` (``make verify``)
recomputes them and names every file that no longer matches.
"""

from __future__ import annotations

import hashlib
import os

BLOCK_BYTES = 1 << 22  # read 4 MiB at a time: memory stays flat whatever the file size


def file_digest(path: str | os.PathLike) -> dict:
    """``{"sha256": hex digest, "bytes": size}`` of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            digest.update(block)
            size += len(block)
    return {"sha256": digest.hexdigest(), "bytes": size}


def parquet_rows(path: str | os.PathLike) -> int:
    """Rows of a Parquet file, from its footer (raises if the footer is unreadable)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def record(path: str | os.PathLike) -> dict:
    """What a manifest keeps of a Parquet product: its SHA-256, size in bytes and rows."""
    return {**file_digest(path), "rows": parquet_rows(path)}
