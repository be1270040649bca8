"""The mock survey's files: their schemas and writers.

Every file goes through :func:`zshard.io.atomic.atomic_path` (a hidden temporary sibling renamed
into place once complete). The photometric files and the truth table are streamed batch by batch
(Parquet row groups, or rows appended to one FITS binary table), so memory never holds a whole
file; the derived samples are small and written at the end.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from astropy.io import fits

from zshard.io.atomic import atomic_path, write_parquet
from zshard.mock.config import MockConfig
from zshard.mock.population import NONDETECTION

TRUTH_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("ra", pa.float64()),
        pa.field("dec", pa.float64()),
        pa.field("z_true", pa.float64()),
        pa.field("sed_type", pa.float64()),
        pa.field("mag_i_true", pa.float64()),
    ]
)
CLUSTERING_SCHEMA = pa.schema(
    [("id", pa.int64()), ("ra", pa.float64()), ("dec", pa.float64()), ("z_spec", pa.float64())]
)


def schema_metadata(cfg: MockConfig) -> dict[str, str]:
    """Parquet schema metadata of every mock file: the configuration that made it."""
    return {"zshard_mock_config": json.dumps(cfg.to_dict(), sort_keys=True)}


def fits_cards(cfg: MockConfig, k: int) -> dict[str, Any]:
    """Header cards of photometric file ``k`` in FITS."""
    return {"ORIGIN": "zshard.mock", "SEED": cfg.seed, "CHUNK": k, "NULLMAG": NONDETECTION}


def photometry_schema(bands: Sequence[str]) -> pa.Schema:
    """Columns of the photometric files: ``id, ra, dec`` then ``mag_<b>, magerr_<b>`` per band."""
    fields = [
        pa.field("id", pa.int64()),
        pa.field("ra", pa.float64()),
        pa.field("dec", pa.float64()),
    ]
    for b in bands:
        fields += [pa.field(f"mag_{b}", pa.float32()), pa.field(f"magerr_{b}", pa.float32())]
    return pa.schema(fields)


def photometry_columns(ids, ra, dec, mag, err, bands) -> dict[str, np.ndarray]:
    """The columns of :func:`photometry_schema`: (n,) ids and positions, (n, n_b) magnitudes."""
    cols = {"id": ids.astype(np.int64), "ra": ra.astype(np.float64), "dec": dec.astype(np.float64)}
    for ib, b in enumerate(bands):
        cols[f"mag_{b}"] = np.ascontiguousarray(mag[:, ib], dtype=np.float32)
        cols[f"magerr_{b}"] = np.ascontiguousarray(err[:, ib], dtype=np.float32)
    return cols


def truth_columns(ids: np.ndarray, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns of :data:`TRUTH_SCHEMA` for one simulated batch."""
    return {
        "id": ids,
        "ra": batch["ra"],
        "dec": batch["dec"],
        "z_true": batch["z"],
        "sed_type": batch["t"],
        "mag_i_true": batch["m0"],
    }


def sample_schemas(bands: Sequence[str], meta: dict[str, str]) -> dict[str, pa.Schema]:
    """Schemas of the derived samples: ``specz`` and ``deep`` (photometric columns plus their
    reference redshift) and ``clustering``."""
    photometry = photometry_schema(bands)
    return {
        "specz": photometry.append(pa.field("z_spec", pa.float64())).with_metadata(meta),
        "deep": photometry.append(pa.field("z_ref", pa.float64())).with_metadata(meta),
        "clustering": CLUSTERING_SCHEMA.with_metadata(meta),
    }


def write_sample(path: str, parts: list[pa.Table], schema: pa.Schema) -> int:
    """Write the per-batch tables of one derived sample as one Parquet file; returns its rows."""
    if parts:
        bare = schema.remove_metadata()
        table = pa.concat_tables([p.cast(bare) for p in parts])
        table = table.replace_schema_metadata(schema.metadata)
    else:
        table = schema.empty_table()
    write_parquet(path, table, compression="zstd")
    return table.num_rows


class ParquetStream:
    """Rows appended to one Parquet file, a row group per :meth:`write`."""

    def __init__(self, path: str, schema: pa.Schema) -> None:
        self.schema = schema
        self._writer = pq.ParquetWriter(path, schema)

    def write(self, cols: Mapping[str, np.ndarray]) -> None:
        self._writer.write_table(pa.table(dict(cols), schema=self.schema))

    def close(self) -> None:
        self._writer.close()


class FitsStream:
    """Rows appended to the binary table (EXTNAME PHOTOMETRY, ``n_rows`` rows) of one FITS file."""

    def __init__(self, path: str, schema: pa.Schema, n_rows: int, cards: Mapping[str, Any]) -> None:
        self._dtype = np.dtype(
            [(f.name, ">" + np.dtype(f.type.to_pandas_dtype()).str[1:]) for f in schema]
        )
        fmt_code = {"i8": "K", "f8": "D", "f4": "E"}
        cols = [
            fits.Column(name=n, format=fmt_code[self._dtype[n].str[1:]])
            for n in self._dtype.names
        ]
        hdr = fits.BinTableHDU.from_columns(cols, nrows=0).header
        hdr["NAXIS2"] = n_rows
        hdr["EXTNAME"] = "PHOTOMETRY"
        for key, val in cards.items():
            hdr[key] = val
        self._writer = fits.StreamingHDU(path, hdr)

    def write(self, cols: Mapping[str, np.ndarray]) -> None:
        rec = np.empty(len(cols["id"]), dtype=self._dtype)
        for name in self._dtype.names:
            rec[name] = cols[name]
        self._writer.write(rec.view(np.uint8))

    def close(self) -> None:
        self._writer.close()


def photometry_writer(
    path: str,
    fmt: str,
    n_rows: int,
    bands: Sequence[str],
    meta: dict[str, str],
    cards: Mapping[str, Any],
) -> contextlib.AbstractContextManager[ParquetStream | FitsStream]:
    """An open photometric file of ``n_rows`` rows in ``fmt`` ("parquet" or "fits"); ``write``
    appends a batch of :func:`photometry_columns`. The file appears at ``path`` only once the
    ``with`` block succeeds."""
    schema = photometry_schema(bands).with_metadata(meta)
    if fmt == "parquet":
        return _streamed(path, lambda tmp: ParquetStream(tmp, schema))
    return _streamed(path, lambda tmp: FitsStream(tmp, schema, n_rows, cards))


def truth_writer(
    path: str, meta: dict[str, str]
) -> contextlib.AbstractContextManager[ParquetStream]:
    """An open truth table (Parquet, a row group per batch of :func:`truth_columns`)."""
    return _streamed(path, lambda tmp: ParquetStream(tmp, TRUTH_SCHEMA.with_metadata(meta)))


@contextlib.contextmanager
def _streamed(
    path: str, open_stream: Callable[[str], ParquetStream | FitsStream]
) -> Iterator[ParquetStream | FitsStream]:
    """Open a stream on the temporary sibling of ``path``; close it, then rename it into place
    (or remove it, if the block fails)."""
    with atomic_path(path) as tmp:
        stream = open_stream(tmp)
        try:
            yield stream
        finally:
            stream.close()
