"""Atomic outputs: a file or directory appears under its final name only once it is complete.

Every writer goes through a hidden temporary sibling (same directory, same suffix, a leading dot and
the process id) that is renamed into place with ``os.replace``, so a killed job leaves nothing that
looks like a finished output. What a killed writer leaves (its temporary sibling) is removed by the
next writer of the same output: Snakemake runs one job per output at a time, so any other temporary
sibling of an output about to be written belongs to a writer that is gone.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:  # pandas is imported where a frame is built: the partition jobs never need it
    import pandas as pd


def _stem_and_suffix(path: Path) -> tuple[str, str]:
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
    return (path.name[: len(path.name) - len(suffix)] if suffix else path.name), suffix


def temporary_sibling(path: str | os.PathLike) -> Path:
    """A hidden temporary name beside ``path`` with the same suffix; creates the directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stem, suffix = _stem_and_suffix(path)
    return path.with_name(f".{stem}.tmp{os.getpid()}{suffix}")


def remove_stale_siblings(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary siblings of ``path`` (files or directories) that killed writers left
    behind, whatever their process id; returns what was removed."""
    path = Path(path)
    stem, suffix = _stem_and_suffix(path)
    pattern = re.compile(rf"^\.{re.escape(stem)}\.tmp\d+{re.escape(suffix)}$")
    stale = [entry for entry in path.parent.glob(f".{glob.escape(stem)}.tmp*") if pattern.match(entry.name)]
    for entry in stale:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return stale


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    The temporary name keeps the suffix (libraries pick the format from it) and starts with a dot,
    so a killed job leaves nothing that looks like the finished output. The block always starts
    without a file there, and without the temporary files of killed writers of ``path``
    (:func:`remove_stale_siblings`): some writers (astropy's FITS ``StreamingHDU``) append to an
    existing file.
    """
    path = Path(path)
    tmp = temporary_sibling(path)
    remove_stale_siblings(path)
    try:
        yield str(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``path``; it replaces ``path`` only if the block succeeds."""
    tmp = temporary_sibling(path)
    remove_stale_siblings(path)
    tmp.mkdir()
    try:
        yield tmp
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | os.PathLike, payload: dict) -> None:
    """Write ``payload`` as indented JSON, atomically (NaN written as null)."""

    def clean(value):
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, np.ndarray):
            return clean(value.tolist())
        if isinstance(value, (np.integer,)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return float(value) if np.isfinite(value) else None
        return value

    with atomic_path(path) as tmp:
        with open(tmp, "w") as handle:
            json.dump(clean(payload), handle, indent=2, sort_keys=False)
            handle.write("\n")


def read_json(path: str | os.PathLike) -> dict:
    with open(path) as handle:
        return json.load(handle)


def write_parquet(path: str | os.PathLike, table: pa.Table | pd.DataFrame, compression: str = "snappy",
                  metadata: dict[str, str] | None = None, use_dictionary: bool | list[str] = True,
                  write_statistics: bool | list[str] = True,
                  use_byte_stream_split: bool | list[str] = False) -> None:
    """Write a table as Parquet atomically, optionally adding key/value schema metadata.

    ``use_dictionary=False`` skips dictionary encoding, which costs ~2/3 of the write time of
    tables of unique floats (catalogue shards) and saves nothing there (a list: only those
    columns). ``write_statistics``: all columns' min/max, or only the listed columns'.
    ``use_byte_stream_split``: the listed (float) columns byte-stream split (their bytes grouped by
    significance before compression: smaller and faster to write for float32 summaries).
    """
    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({k.encode(): v.encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=compression, use_dictionary=use_dictionary,
                       write_statistics=write_statistics, use_byte_stream_split=use_byte_stream_split)

