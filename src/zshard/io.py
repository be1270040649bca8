"""Catalogue input and output: column mapping, missing-value sentinels, chunked reads, atomic writes.

Every reader yields tables in zshard's canonical columns (``id``, ``ra``, ``dec``, ``mag_<band>``,
``magerr_<band>`` and, for labelled samples, a redshift column), whatever the survey called them.
Files are read in row chunks (Parquet row batches, FITS row slices of a memory map, CSV blocks),
never whole, so memory is bounded by the chunk size.
"""

from __future__ import annotations

import contextlib
import hashlib
import glob
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

if TYPE_CHECKING:  # pandas is imported where a frame is built: the partition jobs never need it
    import pandas as pd

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".fits": "fits", ".fit": "fits", ".fits.gz": "fits",
           ".csv": "csv", ".csv.gz": "csv", ".txt": "csv"}


class CatalogError(ValueError):
    """Bad input: the message names the file, the column and the row range."""


# --------------------------------------------------------------------------------------------
# Atomic outputs
# --------------------------------------------------------------------------------------------
def temporary_sibling(path: str | os.PathLike) -> Path:
    """A hidden temporary name beside ``path`` with the same suffix; creates the directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    return path.with_name(f".{stem}.tmp{os.getpid()}{suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    The temporary name keeps the suffix (libraries pick the format from it) and starts with a dot,
    so a killed job leaves nothing that looks like the finished output.
    """
    path = Path(path)
    tmp = temporary_sibling(path)
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
    shutil.rmtree(tmp, ignore_errors=True)
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


def write_parquet(path: str | os.PathLike, table: "pa.Table | pd.DataFrame", compression: str = "snappy",
                  metadata: dict[str, str] | None = None, use_dictionary: bool = True,
                  write_statistics: bool | list[str] = True) -> None:
    """Write a table as Parquet atomically, optionally adding key/value schema metadata.

    ``use_dictionary=False`` skips dictionary encoding, which costs ~2/3 of the write time of
    tables of unique floats (catalogue shards) and saves nothing there. ``write_statistics``: all
    columns' min/max, or only the listed columns'.
    """
    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({k.encode(): v.encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=compression, use_dictionary=use_dictionary,
                       write_statistics=write_statistics)


# --------------------------------------------------------------------------------------------
# Column mapping
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CatalogSpec:
    """How to read one kind of catalogue into canonical columns.

    ``magnitude_column``/``error_column`` are templates: ``{band}`` is replaced by the band name and
    ``{BAND}`` by its upper-case form (``MAG_{BAND}`` → ``MAG_G``). ``sentinels`` are values that mean
    "missing" in this survey (99, −99, −9.999e9, …); they, and non-finite values, become NaN in
    magnitudes, errors and the redshift. ``subset`` keeps a deterministic, id-hashed fraction of the
    rows (``keep: below`` the fraction, or its complement ``above``), so that one labelled file can be
    split into a spec-z sample and a science sample with hidden redshifts.
    """

    bands: tuple[str, ...]
    id_column: str = "id"
    ra_column: str = "ra"
    dec_column: str = "dec"
    magnitude_column: str = "mag_{band}"
    error_column: str = "magerr_{band}"
    redshift_column: str | None = None
    redshift_name: str = "z_spec"
    sentinels: tuple[float, ...] = ()
    sentinel_tolerance: float = 1e-6
    subset_fraction: float = 1.0
    subset_seed: int = 0
    subset_keep: str = "below"
    csv_delimiter: str = ","
    hdu: int | None = None
    extra_columns: dict[str, str] = field(default_factory=dict)
    with_photometry: bool = True

    @classmethod
    def from_config(cls, section: dict, bands: Sequence[str], redshift_name: str = "z_spec") -> "CatalogSpec":
        columns = section.get("columns", {})
        subset = section.get("subset") or {}
        return cls(
            bands=tuple(bands),
            id_column=columns.get("id", "id"),
            ra_column=columns.get("ra", "ra"),
            dec_column=columns.get("dec", "dec"),
            magnitude_column=columns.get("magnitude", "mag_{band}"),
            error_column=columns.get("error", "magerr_{band}"),
            redshift_column=columns.get("redshift"),
            redshift_name=redshift_name,
            sentinels=tuple(float(s) for s in section.get("sentinels", [])),
            subset_fraction=float(subset.get("fraction", 1.0)),
            subset_seed=int(subset.get("seed", 0)),
            subset_keep=subset.get("keep", "below"),
            csv_delimiter=section.get("csv_delimiter", ","),
            hdu=section.get("hdu"),
            extra_columns=dict(section.get("extra_columns", {})),
            with_photometry=bool(section.get("with_photometry", True)),
        )

    def source_columns(self) -> dict[str, str]:
        """Canonical name → column name in the file, in canonical order."""
        mapping = {"id": self.id_column, "ra": self.ra_column, "dec": self.dec_column}
        if self.with_photometry:
            for band in self.bands:
                mapping[f"mag_{band}"] = self.magnitude_column.format(band=band, BAND=band.upper())
            for band in self.bands:
                mapping[f"magerr_{band}"] = self.error_column.format(band=band, BAND=band.upper())
        if self.redshift_column:
            mapping[self.redshift_name] = self.redshift_column
        mapping.update(self.extra_columns)
        return mapping


def expand_paths(patterns: Sequence[str] | str) -> list[str]:
    """Expand globs (sorted, de-duplicated); a pattern that matches nothing is an error."""
    if isinstance(patterns, str):
        patterns = [patterns]
    paths: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(os.path.expanduser(pattern)))
        if not matches:
            raise CatalogError(f"no input file matches {pattern!r}")
        paths.extend(m for m in matches if m not in paths)
    return paths


def file_format(path: str) -> str:
    name = path.lower()
    for suffix, fmt in sorted(FORMATS.items(), key=lambda item: -len(item[0])):
        if name.endswith(suffix):
            return fmt
    raise CatalogError(f"{path}: unknown catalogue format (expected one of {sorted(set(FORMATS))})")


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
    """Rows kept by an id-hashed subset (see :class:`CatalogSpec`)."""
    if fraction >= 1.0 and keep == "below":
        return np.ones(len(ids), dtype=bool)
    unit = id_hash_unit(ids, seed)
    if keep == "below":
        return unit < fraction
    if keep == "above":
        return unit >= fraction
    raise ValueError(f"subset keep must be 'below' or 'above', not {keep!r}")


# --------------------------------------------------------------------------------------------
# Chunked readers (one per format, same interface)
# --------------------------------------------------------------------------------------------
def _iter_parquet(path: str, columns: list[str], chunk_rows: int) -> Iterator[dict[str, np.ndarray]]:
    parquet = pq.ParquetFile(path)
    _check_columns(path, columns, parquet.schema_arrow.names)
    for batch in parquet.iter_batches(batch_size=chunk_rows, columns=columns):
        yield {name: batch.column(name).to_numpy(zero_copy_only=False) for name in columns}


def _iter_fits(path: str, columns: list[str], chunk_rows: int, hdu: int | None) -> Iterator[dict[str, np.ndarray]]:
    from astropy.io import fits

    with fits.open(path, memmap=True) as hdul:
        if hdu is None:
            hdu = next((i for i, h in enumerate(hdul) if isinstance(h, fits.BinTableHDU)), None)
            if hdu is None:
                raise CatalogError(f"{path}: no binary table HDU")
        table = hdul[hdu]
        _check_columns(path, columns, table.columns.names)
        n_rows = int(table.header["NAXIS2"])
        for start in range(0, n_rows, chunk_rows):
            rows = table.data[start:start + chunk_rows]
            chunk = {}
            for name in columns:
                values = np.asarray(rows[name])
                chunk[name] = values.astype(values.dtype.newbyteorder("="), copy=True)
            yield chunk


UNPARSABLE = "__unparsable__"


def _iter_csv(path: str, columns: list[str], chunk_rows: int, delimiter: str, integers: set[str],
              numeric: set[str]) -> Iterator[dict[str, np.ndarray]]:
    """CSV blocks; rows that cannot be parsed are set aside, not fatal.

    A row with the wrong number of fields, or with a non-numeric value in one of the ``numeric``
    columns (``integers`` among them must be integers: ids keep their 64 bits), is removed from its block and listed under the ``UNPARSABLE`` key
    as ``(data row index, reason)`` so that the caller can reject it with its reason.
    """
    bad_rows: list[tuple[int, str]] = []

    def skip(row) -> str:  # pyarrow's hook for rows with the wrong number of fields
        bad_rows.append((row.number - 2, f"unparsable row ({row.actual_columns} fields, expected "
                                         f"{row.expected_columns}): {row.text[:120]}"))
        return "skip"

    # ~100 bytes per row: pick a block size that gives chunks of roughly chunk_rows rows.
    read_options = pacsv.ReadOptions(block_size=max(1 << 20, chunk_rows * 100), use_threads=False)
    parse_options = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=skip)
    header = pacsv.open_csv(path, read_options=read_options,
                            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=lambda row: "skip"))
    _check_columns(path, columns, header.schema.names)
    # Read as text and convert here: type inference on the first block would turn a bad value in a
    # later block into a fatal error instead of one rejected row.
    reader = pacsv.open_csv(path, read_options=read_options, parse_options=parse_options,
                            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                                 column_types={c: pa.string() for c in columns}))
    row = 0  # data rows consumed so far, parsed or not
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise CatalogError(f"{path}: unparsable CSV after data row {row}: {exc}") from exc
        skipped, bad_rows[:] = list(bad_rows), []
        skipped_index = {index for index, _ in skipped}
        n = batch.num_rows + len(skipped)
        kept_index = (np.arange(row, row + n, dtype=np.int64) if not skipped_index else
                      np.array([i for i in range(row, row + n) if i not in skipped_index], dtype=np.int64))
        values = {}
        bad_value = np.zeros(batch.num_rows, dtype=bool)
        for name in columns:
            column = batch.column(name)
            if name not in numeric:
                values[name] = column.to_numpy(zero_copy_only=False)
                continue
            target = pa.int64() if name in integers else pa.float64()
            try:  # fast path: every value is a number
                values[name] = column.cast(target).to_numpy(zero_copy_only=False)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                numbers, failed = _parse_numbers(column.to_pylist(), integer=name in integers)
                for i in np.flatnonzero(failed & ~bad_value):
                    skipped.append((int(kept_index[i]), f"unparsable value {column[int(i)].as_py()!r} in column {name!r}"))
                bad_value |= failed
                values[name] = numbers
        keep = ~bad_value
        chunk = {name: v[keep] for name, v in values.items()}
        chunk[UNPARSABLE] = sorted(skipped)
        row += n
        yield chunk


def _parse_numbers(items: list, integer: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from strings; the mask marks values that are not numbers.

    An empty float field is missing (NaN); an empty or non-integer id is unparsable.
    """
    out = np.zeros(len(items), dtype=np.int64) if integer else np.full(len(items), np.nan)
    failed = np.zeros(len(items), dtype=bool)
    convert = int if integer else float
    for i, item in enumerate(items):
        if item is None or item.strip() == "":
            failed[i] = integer
            continue
        try:
            out[i] = convert(item)
        except ValueError:
            failed[i] = True
    return out, failed


def _check_columns(path: str, wanted: list[str], present: Sequence[str]) -> None:
    missing = [c for c in wanted if c not in present]
    if missing:
        raise CatalogError(f"{path}: missing column(s) {missing}; the file has {list(present)[:30]}")


def _to_float(path: str, column: str, values: np.ndarray, row_start: int, dtype=np.float64,
              copy: bool | None = None) -> np.ndarray:
    try:
        return np.array(values, dtype=dtype, copy=copy)
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"{path}: column {column!r}, rows {row_start}–{row_start + len(values) - 1}: "
                           f"not numeric ({exc})") from exc


@dataclass
class Chunk:
    """Rows ``row_start … row_start + n_rows − 1`` of a file, in canonical columns.

    ``table`` (Arrow) holds the rows kept by the id-hashed subset; ``rows`` their row numbers in
    the file; ``unparsable`` the ``(row number, reason)`` of rows that could not be read (CSV).
    """

    path: str
    row_start: int
    n_rows: int
    table: pa.Table
    rows: np.ndarray
    unparsable: list[tuple[int, str]] = field(default_factory=list)

    @property
    def row_range(self) -> str:
        return f"rows {self.row_start}–{self.row_start + self.n_rows - 1}"


class _NoPandasFinder:
    """A meta-path finder that refuses to import pandas (see :func:`without_pandas`)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas is not imported in this job (zshard.io.without_pandas)", name=name)
        return None


def without_pandas() -> None:
    """Keep pandas out of this process: for the per-file and per-shard partition jobs.

    pyarrow imports pandas, if it is installed, on its first array conversion (to check whether
    an object is a pandas one), and that import costs about 0.4 CPU-s (measured here), more than
    the whole reduce of a 400k-row shard. Those jobs hold no pandas object, and pyarrow works
    without pandas when the import fails, so they call this before any Arrow work.
    """
    import sys

    if "pandas" not in sys.modules and not any(isinstance(f, _NoPandasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandasFinder())


def iter_catalog(path: str, spec: CatalogSpec, chunk_rows: int = 1_000_000) -> Iterator[Chunk]:
    """Read ``path`` in chunks of at most ``chunk_rows`` rows, in canonical columns.

    Sentinel values become NaN. Rows left out by the spec's id-hashed subset are dropped from the
    frame but counted in ``Chunk.n_rows``, so row accounting always refers to the file.
    """
    mapping = spec.source_columns()
    source = list(dict.fromkeys(mapping.values()))
    fmt = file_format(path)
    if fmt == "parquet":
        chunks = _iter_parquet(path, source, chunk_rows)
    elif fmt == "fits":
        chunks = _iter_fits(path, source, chunk_rows, spec.hdu)
    else:
        extra = set(spec.extra_columns.values())
        chunks = _iter_csv(path, source, chunk_rows, spec.csv_delimiter, integers={spec.id_column},
                           numeric={c for c in source if c not in extra})
    row_start = 0
    for raw in chunks:
        unparsable = raw.pop(UNPARSABLE, [])
        n_kept = len(next(iter(raw.values())))
        n = n_kept + len(unparsable)
        frame = {}
        for canonical, column in mapping.items():
            values = raw[column]
            if canonical == "id":
                try:
                    frame["id"] = np.asarray(values, dtype=np.int64)
                except (TypeError, ValueError) as exc:
                    raise CatalogError(f"{path}: column {column!r}, rows {row_start}–{row_start + n - 1}: "
                                       f"ids must be integers ({exc})") from exc
            elif canonical in ("ra", "dec"):
                frame[canonical] = _to_float(path, column, values, row_start)
            elif canonical.startswith(("mag_", "magerr_")) or canonical == spec.redshift_name:
                # one writable copy in the stored dtype (float32 photometry), masked in place
                dtype = np.float32 if canonical.startswith("mag") else np.float64
                floats = _to_float(path, column, values, row_start, dtype, copy=True)
                frame[canonical] = _mask_sentinels(floats, spec.sentinels, spec.sentinel_tolerance)
            else:
                frame[canonical] = values
        skipped = {index for index, _ in unparsable}
        rows = (np.arange(row_start, row_start + n, dtype=np.int64) if not skipped else
                np.array([i for i in range(row_start, row_start + n) if i not in skipped], dtype=np.int64))
        if spec.subset_fraction < 1.0 or spec.subset_keep != "below":
            keep = subset_mask(frame["id"], spec.subset_fraction, spec.subset_seed, spec.subset_keep)
            frame, rows = {name: values[keep] for name, values in frame.items()}, rows[keep]
        yield Chunk(path, row_start, n, pa.table(frame), rows, unparsable)
        row_start += n


def _mask_sentinels(values: np.ndarray, sentinels: Sequence[float], tolerance: float) -> np.ndarray:
    """Set non-finite values and sentinels (within ``tolerance`` relative, at least absolute) to NaN,
    in place: ``values`` must be the caller's own writable copy."""
    bad = ~np.isfinite(values)
    for sentinel in sentinels:
        margin = tolerance * max(1.0, abs(sentinel))
        bad |= (values >= sentinel - margin) & (values <= sentinel + margin)
    values[bad] = np.nan
    return values


def read_catalog(paths: Sequence[str] | str, spec: CatalogSpec, chunk_rows: int = 1_000_000) -> "pd.DataFrame":
    """Read whole (small) catalogues — spec-z samples, reference fields — into one canonical frame."""
    import pandas as pd

    tables = [chunk.table for path in expand_paths(paths) for chunk in iter_catalog(path, spec, chunk_rows)]
    if not tables:
        return pd.DataFrame(columns=list(spec.source_columns()))
    return pa.concat_tables(tables).to_pandas()


def count_rows(path: str) -> int:
    """Number of rows in a catalogue file, from metadata where the format has it."""
    fmt = file_format(path)
    if fmt == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    if fmt == "fits":
        from astropy.io import fits

        with fits.open(path, memmap=True) as hdul:
            table = next(h for h in hdul if isinstance(h, fits.BinTableHDU))
            return int(table.header["NAXIS2"])
    return sum(batch.num_rows for batch in pacsv.open_csv(path))


# --------------------------------------------------------------------------------------------
# PDF tables: per-object quantile p(z) plus point summaries
# --------------------------------------------------------------------------------------------
PDF_COLUMN = "pdf_quantiles"


#: Code of a missing PDF in the uint16 encoding; valid quantiles use codes 0 .. QUANTILE_CODE_MAX.
QUANTILE_NAN_CODE = 65535
QUANTILE_CODE_MAX = 65534


def encode_quantiles(quantiles: np.ndarray, z_min: float, z_max: float) -> np.ndarray:
    """Quantiles as uint16 codes on a linear scale of [z_min, z_max] (NaN rows get QUANTILE_NAN_CODE).

    The step is (z_max - z_min) / 65534 (4.6e-5 for [0, 3]), below the 1e-4 minimum spacing that
    :func:`zshard.pdf.sanitize_quantiles` keeps between quantiles, so sorted quantiles stay sorted.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    bad = ~np.isfinite(q).all(axis=1)
    codes = np.rint((np.clip(q, z_min, z_max) - z_min) * (QUANTILE_CODE_MAX / (z_max - z_min)))
    codes[bad] = QUANTILE_NAN_CODE
    return codes.astype(np.uint16)


def decode_quantiles(codes: np.ndarray, z_min: float, z_max: float) -> np.ndarray:
    """Inverse of :func:`encode_quantiles` (float32; rows with the missing code are NaN)."""
    codes = np.asarray(codes)
    q = (z_min + codes.astype(np.float64) * ((z_max - z_min) / QUANTILE_CODE_MAX)).astype(np.float32)
    q[(codes == QUANTILE_NAN_CODE).any(axis=1)] = np.nan
    return q


def write_pdf_table(path: str, ids: np.ndarray, quantiles: np.ndarray, levels: np.ndarray, z_min: float,
                    z_max: float, metadata: dict[str, str] | None = None,
                    extra_columns: dict[str, np.ndarray] | None = None, encoding: str = "uint16") -> None:
    """Write per-object p(z) as a fixed-size list of quantiles, with point summaries.

    ``encoding`` "uint16" (default) stores each quantile in 2 bytes (:func:`encode_quantiles`;
    19 levels are 38 bytes per object before Parquet compression), "float32" in 4. The quantile
    levels, the redshift range and the encoding travel in the Parquet schema metadata, so that a
    reader needs nothing else to rebuild the PDFs (see :func:`read_pdf_table`). The summaries are
    computed from the stored (encoded) quantiles. ``extra_columns`` (e.g. the model's ``z_phot``,
    ``in_coverage``, ``coverage_weight``) are written after the summaries;
    :meth:`PdfTable.extra_columns` gives them back so a rewriter can carry them on.
    """
    from zshard import pdf

    if encoding == "uint16":
        codes = encode_quantiles(quantiles, z_min, z_max)
        quantiles = decode_quantiles(codes, z_min, z_max)
        stored = pa.array(codes.reshape(-1))
    elif encoding == "float32":
        quantiles = np.ascontiguousarray(quantiles, dtype=np.float32)
        stored = pa.array(quantiles.reshape(-1))
    else:
        raise ValueError(f"unknown PDF encoding {encoding!r} (uint16 or float32)")
    n, k = quantiles.shape
    if k != len(levels):
        raise ValueError(f"{k} quantiles per object for {len(levels)} levels")
    columns = {"id": pa.array(np.asarray(ids, dtype=np.int64)),
               PDF_COLUMN: pa.FixedSizeListArray.from_arrays(stored, k)}
    for name, values in pdf.summaries(quantiles, levels, z_min, z_max).items():
        columns[name] = pa.array(np.asarray(values, dtype=np.float32))
    for name, values in (extra_columns or {}).items():
        if name in columns:
            raise ValueError(f"extra column {name!r} would overwrite a PDF table column")
        values = np.asarray(values)
        if len(values) != n:
            raise ValueError(f"extra column {name!r} has {len(values)} rows for {n} objects")
        columns[name] = pa.array(values.astype(np.float32) if values.dtype.kind == "f" else values)
    table = pa.table(columns)
    meta = {"zshard.quantile_levels": json.dumps([float(a) for a in levels]), "zshard.quantile_encoding": encoding,
            "zshard.z_min": str(z_min), "zshard.z_max": str(z_max), **(metadata or {})}
    write_parquet(path, table, metadata=meta)


PDF_SUMMARY_COLUMNS = ("z_median", "z_mean", "z_mode", "z_sigma", "z_lo68", "z_hi68")


@dataclass
class PdfTable:
    ids: np.ndarray
    quantiles: np.ndarray
    levels: np.ndarray
    z_min: float
    z_max: float
    summaries: "pd.DataFrame"
    metadata: dict[str, str]

    def extra_columns(self) -> dict[str, np.ndarray]:
        """The columns that are neither the PDF nor its summaries (see :func:`write_pdf_table`)."""
        return {name: self.summaries[name].to_numpy() for name in self.summaries.columns
                if name not in PDF_SUMMARY_COLUMNS}


def read_pdf_table(path: str) -> PdfTable:
    table = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items() if not k.startswith(b"pandas")}
    levels = np.asarray(json.loads(meta["zshard.quantile_levels"]), dtype=np.float64)
    z_min, z_max = float(meta["zshard.z_min"]), float(meta["zshard.z_max"])
    column = table.column(PDF_COLUMN).combine_chunks()
    stored = column.flatten().to_numpy().reshape(len(table), len(levels))
    encoding = meta.get("zshard.quantile_encoding", "float32")
    quantiles = decode_quantiles(stored, z_min, z_max) if encoding == "uint16" else stored
    summaries = table.drop_columns(["id", PDF_COLUMN]).to_pandas()
    return PdfTable(table.column("id").to_numpy(), quantiles, levels, z_min, z_max, summaries, meta)
