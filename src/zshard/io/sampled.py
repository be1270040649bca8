"""Reading per-object tables of the whole catalogue (one file per shard) in memory that does not grow
with the catalogue: an id-hashed sample of a bounded size, or the rows of given ids.

The global validation jobs read what every shard wrote (its bins, its matching sample, its
positions). Concatenating those tables holds the whole catalogue in one process; these readers keep,
file by file, only the rows a job needs, so that its memory is set by its sample (a config key) and
its time by one pass over the files' few columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from zshard.io.catalogs import CatalogSpec, iter_catalog
from zshard.io.ids import subset_mask


def parquet_rows(paths: Iterable[str]) -> int:
    """Rows of Parquet files, from their footers (nothing else is read)."""
    return sum(pq.ParquetFile(path).metadata.num_rows for path in paths)


def sample_fraction(n_rows: int, max_objects: int | None) -> float:
    """The id-hash fraction that keeps about ``max_objects`` of ``n_rows`` rows: ``min(1, max/n)``;
    1 (every row) without a maximum or when there are fewer rows."""
    if max_objects is None or n_rows <= max_objects:
        return 1.0
    return float(max_objects) / float(n_rows)


def _kept(ids: np.ndarray, fraction: float, seed: int, among: np.ndarray | None) -> np.ndarray:
    keep = subset_mask(ids, fraction, seed)
    if among is not None:
        position = np.clip(np.searchsorted(among, ids), 0, max(among.size - 1, 0))
        keep &= among[position] == ids if among.size else np.zeros(ids.size, dtype=bool)
    return keep


def read_rows(paths: Sequence[str], columns: Sequence[str] | None = None, *, fraction: float = 1.0,
              seed: int = 0, ids: np.ndarray | None = None) -> pd.DataFrame:
    """The rows of Parquet files kept by an id-hashed subset and, optionally, an id list, as one frame.

    Parameters
    ----------
    paths : sequence of str
        Parquet files with an ``id`` column (read one at a time).
    columns : sequence of str, optional
        Columns to read (all by default; ``id`` must be among them).
    fraction, seed : float, int
        The id-hashed subset (:func:`zshard.io.ids.subset_mask`); 1 keeps every row.
    ids : ndarray, optional
        Keep only these ids as well.

    Returns
    -------
    pandas.DataFrame
        The kept rows in file order, with a fresh index. With ``fraction=1`` and no ``ids``, the
        same frame as concatenating every file.
    """
    among = None if ids is None else np.unique(np.asarray(ids, dtype=np.int64))
    tables = []
    for path in paths:
        table = pq.read_table(path, columns=list(columns) if columns is not None else None)
        if fraction < 1.0 or among is not None:
            table = table.filter(pa.array(_kept(table.column("id").to_numpy(), fraction, seed, among)))
        tables.append(table.replace_schema_metadata(None))
    if not tables:
        return pd.DataFrame(columns=list(columns or []))
    return pa.concat_tables(tables).to_pandas()


def read_catalog_sample(paths: Sequence[str], spec: CatalogSpec, columns: Sequence[str], *, fraction: float,
                        seed: int, chunk_rows: int) -> pd.DataFrame:
    """An id-hashed subset of input catalogues (any format :func:`zshard.io.catalogs.iter_catalog`
    reads), streamed in chunks of ``chunk_rows``: memory is the kept rows plus one chunk."""
    tables = []
    for path in paths:
        for chunk in iter_catalog(path, spec, chunk_rows):
            table = chunk.table.select(list(columns))
            if fraction < 1.0:
                table = table.filter(pa.array(subset_mask(table.column("id").to_numpy(), fraction, seed)))
            tables.append(table)
    if not tables:
        return pd.DataFrame(columns=list(columns))
    return pa.concat_tables(tables).to_pandas()
