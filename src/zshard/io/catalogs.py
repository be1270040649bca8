"""Catalogue input: column mapping, missing-value sentinels, chunked reads.

Every reader yields tables in zshard's canonical columns (``id``, ``ra``, ``dec``, ``mag_<band>``,
``magerr_<band>`` and, for labelled samples, a redshift column), whatever the survey called them.
Files are read in row chunks (Parquet row batches, FITS row slices of a memory map, CSV blocks),
never whole, so memory is bounded by the chunk size.
"""

from __future__ import annotations

import glob
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from zshard.io.ids import subset_mask

if TYPE_CHECKING:  # pandas is imported where a frame is built: the partition jobs never need it
    import pandas as pd

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".fits": "fits", ".fit": "fits", ".fits.gz": "fits",
           ".csv": "csv", ".csv.gz": "csv", ".txt": "csv"}


class CatalogError(ValueError):
    """Bad input: the message names the file, the column and the row range."""


ALL_USES = ("id", "position", "photometry")
"""What a catalogue is read for (``CatalogSpec.uses``): its ids, its positions (ra, dec), its
magnitudes and errors; a redshift column is read wherever one is named. An input role reads only the
columns it uses (:data:`zshard.sources.ROLE_USES`): a truth table needs no positions."""


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
    split into a spec-z sample and a science sample with hidden redshifts. ``uses`` says which of
    :data:`ALL_USES` are read (a subset needs the ids).
    """

    def __post_init__(self):
        unknown = set(self.uses) - set(ALL_USES)
        if unknown:
            raise ValueError(f"unknown uses {sorted(unknown)}: expected some of {ALL_USES}")
        if "id" not in self.uses and (self.subset_fraction < 1.0 or self.subset_keep != "below"):
            raise ValueError("an id-hashed subset needs the id column: add 'id' to the uses")

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
    uses: tuple[str, ...] = ALL_USES

    @classmethod
    def from_config(cls, section: dict, bands: Sequence[str], redshift_name: str = "z_spec") -> CatalogSpec:
        """The spec of a complete catalogue section of the config (``definitions/catalog`` of the
        schema with its defaults filled in: :func:`zshard.config.with_defaults`, or
        :func:`zshard.sources.catalog_sources` for the workflow's input roles)."""
        columns = section["columns"]
        subset = section.get("subset")  # optional; complete where given
        return cls(
            bands=tuple(bands),
            id_column=columns["id"],
            ra_column=columns["ra"],
            dec_column=columns["dec"],
            magnitude_column=columns["magnitude"],
            error_column=columns["error"],
            redshift_column=columns.get("redshift"),
            redshift_name=redshift_name,
            sentinels=tuple(float(s) for s in section["sentinels"]),
            subset_fraction=float(subset["fraction"]) if subset else 1.0,
            subset_seed=int(subset["seed"]) if subset else 0,
            subset_keep=subset["keep"] if subset else "below",
            csv_delimiter=section["csv_delimiter"],
            hdu=section.get("hdu"),
            extra_columns=dict(section["extra_columns"]),
            uses=tuple(section.get("uses", ALL_USES)),  # set per input role by zshard.sources
        )

    def source_columns(self) -> dict[str, str]:
        """Canonical name → column name in the file, in canonical order."""
        mapping = {}
        if "id" in self.uses:
            mapping["id"] = self.id_column
        if "position" in self.uses:
            mapping.update(ra=self.ra_column, dec=self.dec_column)
        if "photometry" in self.uses:
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
    columns (``integers`` among them must be integers: ids keep their 64 bits), is removed from its
    block and listed under the ``UNPARSABLE`` key
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
                            parse_options=pacsv.ParseOptions(delimiter=delimiter,
                                                             invalid_row_handler=lambda row: "skip"))
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
                    value = column[int(i)].as_py()
                    skipped.append((int(kept_index[i]), f"unparsable value {value!r} in column {name!r}"))
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


def file_columns(path: str, hdu: int | None = None, delimiter: str = ",") -> dict[str, str]:
    """The columns of a catalogue file and their kinds (``"numeric"``, ``"text"``, ``"unknown"``),
    read from its header only: a Parquet footer, a FITS table header, a CSV's first line (whose
    values are all text until parsed: ``"unknown"``). Cheap enough to run on every input file
    before any job runs.
    """
    fmt = file_format(path)
    if fmt == "parquet":
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            raise CatalogError(f"{path}: not a readable Parquet file ({exc})") from exc
        return {f.name: "numeric" if (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
                                      or pa.types.is_decimal(f.type)) else "text" for f in schema}
    if fmt == "fits":
        from astropy.io import fits

        try:
            with warnings.catch_warnings():  # astropy only warns of a file shorter than its headers say
                warnings.filterwarnings("error", message=".*truncated.*")
                hdul = fits.open(path, memmap=True)
                len(hdul)  # reads every header (not the data), which finds a truncation
        except Warning as exc:
            raise CatalogError(f"{path}: truncated FITS file ({exc})") from exc
        except (OSError, ValueError, TypeError) as exc:
            raise CatalogError(f"{path}: not a readable FITS file ({exc})") from exc
        try:
            with hdul:
                if hdu is None:
                    hdu = next((i for i, h in enumerate(hdul) if isinstance(h, fits.BinTableHDU)), None)
                    if hdu is None:
                        raise CatalogError(f"{path}: no binary table HDU")
                columns = hdul[hdu].columns
                return {c.name: "text" if c.format.format == "A" else "numeric" for c in columns}
        except CatalogError:
            raise
        except (OSError, ValueError, TypeError) as exc:
            raise CatalogError(f"{path}: not a readable FITS file ({exc})") from exc
    try:
        header = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16, use_threads=False),
                                parse_options=pacsv.ParseOptions(delimiter=delimiter,
                                                                 invalid_row_handler=lambda row: "skip"))
    except pa.ArrowException as exc:
        raise CatalogError(f"{path}: not a readable CSV file ({exc})") from exc
    return {name: "unknown" for name in header.schema.names}


def check_file_columns(path: str, spec: CatalogSpec, role: str) -> None:
    """Refuse a file that lacks a column ``spec`` reads, or holds text in one it reads as numbers.

    Only the header is read (:func:`file_columns`). The message names the file, the column, the
    config key that names it (``inputs.<role>.columns…``) and, for text, that every row is affected.
    """
    present = file_columns(path, spec.hdu, spec.csv_delimiter)
    template = {"ra": "ra", "dec": "dec", "id": "id", spec.redshift_name: "redshift"}
    problems = []
    for canonical, column in spec.source_columns().items():
        key = template.get(canonical, "magnitude" if canonical.startswith("mag_") else
                           "error" if canonical.startswith("magerr_") else "extra_columns")
        if column not in present:
            problems.append(f"column {column!r} ({canonical}; config inputs.{role}.columns.{key}) is missing")
        elif present[column] == "text" and canonical not in spec.extra_columns:
            problems.append(f"column {column!r} ({canonical}) holds text, not numbers, in every row")
    if problems:
        listed = list(present)[:30]
        raise CatalogError(f"{path} ({role}): " + "; ".join(problems) + f". The file has the columns {listed}")


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
    the file; ``unparsable`` the ``(row number, reason)`` of rows that could not be read (CSV);
    ``set_missing`` the values read as missing, counted by column and cause.
    """

    path: str
    row_start: int
    n_rows: int
    table: pa.Table
    rows: np.ndarray
    unparsable: list[tuple[int, str]] = field(default_factory=list)
    set_missing: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per canonical column, values of the kept rows read as missing (NaN), by cause: ``not finite``
    (NaN or ±inf in the file), ``sentinel`` (one of the spec's sentinels), ``negative error``."""

    @property
    def row_range(self) -> str:
        return f"rows {self.row_start}–{self.row_start + self.n_rows - 1}"


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
    for raw in _named_failures(path, chunks):
        unparsable = raw.pop(UNPARSABLE, [])
        n_kept = len(next(iter(raw.values())))
        n = n_kept + len(unparsable)
        frame = {}
        causes: dict[str, dict[str, np.ndarray]] = {}
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
                frame[canonical], causes[canonical] = _mask_sentinels(floats, spec.sentinels, spec.sentinel_tolerance,
                                                                      canonical.startswith("magerr_"))
            else:
                frame[canonical] = values
        skipped = {index for index, _ in unparsable}
        rows = (np.arange(row_start, row_start + n, dtype=np.int64) if not skipped else
                np.array([i for i in range(row_start, row_start + n) if i not in skipped], dtype=np.int64))
        if spec.subset_fraction < 1.0 or spec.subset_keep != "below":  # the spec has ids (CatalogSpec)
            keep = subset_mask(frame["id"], spec.subset_fraction, spec.subset_seed, spec.subset_keep)
            frame, rows = {name: values[keep] for name, values in frame.items()}, rows[keep]
            causes = {name: {cause: mask[keep] for cause, mask in by_cause.items()}
                      for name, by_cause in causes.items()}
        set_missing = {name: counts for name, by_cause in causes.items()
                       if (counts := {cause: int(mask.sum()) for cause, mask in by_cause.items() if mask.any()})}
        yield Chunk(path, row_start, n, pa.table(frame), rows, unparsable, set_missing)
        row_start += n


def _mask_sentinels(values: np.ndarray, sentinels: Sequence[float], tolerance: float,
                    is_error: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Set non-finite values, sentinels (within ``tolerance`` relative, at least absolute) and, for a
    magnitude error (``is_error``), negative values to NaN, in place: ``values`` must be the
    caller's own writable copy. Returns the values and the mask of each cause, so that the caller
    can count what it read as missing (:attr:`Chunk.set_missing`)."""
    not_finite = ~np.isfinite(values)
    sentinel = np.zeros(values.shape, dtype=bool)
    for value in sentinels:
        margin = tolerance * max(1.0, abs(value))
        sentinel |= (values >= value - margin) & (values <= value + margin)
    causes = {"not finite": not_finite, "sentinel": sentinel}
    if is_error:
        with np.errstate(invalid="ignore"):
            causes["negative error"] = (values < 0) & ~sentinel
    bad = not_finite | sentinel | causes.get("negative error", False)
    values[bad] = np.nan
    return values, causes


def _named_failures(path: str, chunks: Iterator[dict]) -> Iterator[dict]:
    """The reader's chunks; a file that turns out truncated or corrupt while it is read raises a
    :class:`CatalogError` that names it and the rows after the last good chunk."""
    row_start = 0
    while True:
        try:
            raw = next(chunks)
        except StopIteration:
            return
        except CatalogError:
            raise
        except (OSError, EOFError, ValueError, TypeError, IndexError, pa.ArrowException) as exc:
            raise CatalogError(f"{path}: unreadable from data row {row_start} on (truncated or corrupt file?): "
                               f"{type(exc).__name__}: {exc}") from exc
        row_start += len(next(v for k, v in raw.items() if k != UNPARSABLE)) + len(raw.get(UNPARSABLE, []))
        yield raw


def read_catalog(paths: Sequence[str] | str, spec: CatalogSpec, chunk_rows: int = 1_000_000,
                 provenance: bool = False) -> pd.DataFrame:
    """Read whole (small) catalogues — spec-z samples, reference fields — into one canonical frame.

    ``provenance``: add each row's input file and row number in it (columns ``_file``, ``_row``),
    for reject records that say where a row came from.
    """
    import pandas as pd

    def table(chunk: Chunk) -> pa.Table:
        if not provenance:
            return chunk.table
        return chunk.table.append_column("_file", pa.array([chunk.path] * chunk.table.num_rows, pa.string())) \
            .append_column("_row", pa.array(chunk.rows, pa.int64()))

    tables = [table(chunk) for path in expand_paths(paths) for chunk in iter_catalog(path, spec, chunk_rows)]
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

