"""Partition a catalogue into HEALPix shards: split → plan → reduce, with row accounting.

The stages follow hats-import (astronomy-commons) — a per-file pixel histogram, an adaptive plan
that splits a pixel until its shard holds at most ``max_rows`` rows (the HATS "alignment"), and a
per-shard reduce that writes the shard sorted by its ``_healpix_29`` spatial index — with one
difference: hats-import reads each input twice (a "map" pass for the histogram, then a "split" pass
into per-shard fragments that needs the plan). Here one pass per file (:func:`split_file`) writes
the file's rows sorted by ``_healpix_29`` together with its histogram; since a shard is a contiguous
range of that index, each reduce takes its rows by binary search, and the per-file job neither
waits for nor depends on the plan. Every stage writes its own row counts;
:func:`check_row_accounting` proves that every input row is in exactly one shard or in a reject file
with its reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from zshard import sky
from zshard.io.atomic import atomic_directory, atomic_path, read_json, write_json, write_parquet
from zshard.io.catalogs import CatalogSpec, count_rows, file_format, iter_catalog
from zshard.io.checksums import file_digest
from zshard.progress import Progress

REJECT_COORDINATES_NOT_FINITE = "missing coordinates (ra or dec not finite)"
REJECT_RA_OUT_OF_RANGE = "ra outside [0, 360)"
REJECT_RA_TOO_FAR = "ra outside [-360, 720), too far to wrap into [0, 360)"
REJECT_DEC_OUT_OF_RANGE = "dec outside [-90, 90]"
# Unparsable rows (CSV) are rejected with a reason that starts "unparsable" and says what was wrong.
REJECT_DUPLICATE_ID = "duplicate id"


def file_id(path: str) -> str:
    """Stable name of an input file in job and product names: its base name, extension removed."""
    name = os.path.basename(path)
    for suffix in (".fits.gz", ".csv.gz", ".parquet", ".fits", ".fit", ".csv", ".txt", ".pq"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return "".join(c if c.isalnum() or c in "-." else "_" for c in name)


def file_ids(paths: list[str]) -> dict[str, str]:
    """Map file id → path, refusing two inputs with the same id (they would overwrite each other)."""
    ids: dict[str, str] = {}
    for path in paths:
        key = file_id(path)
        if key in ids:
            raise ValueError(f"input files {ids[key]} and {path} have the same name {key!r}; rename one")
        ids[key] = path
    return ids


REJECT_SCHEMA = pa.schema([("file", pa.string()), ("row", pa.int64()), ("id", pa.int64()), ("ra", pa.float64()),
                           ("dec", pa.float64()), ("reason", pa.string())])


def reject_table(source: str, rows: np.ndarray, table: pa.Table, reason: str) -> pa.Table:
    """Rejected rows with where they came from: the input file and the row in it (−1 if unknown: a
    duplicate id in a sorted run written before the runs kept their rows)."""
    n = table.num_rows
    return pa.table({"file": pa.array([source] * n, pa.string()), "row": pa.array(rows, pa.int64()),
                     "id": table.column("id").cast(pa.int64()), "ra": table.column("ra").cast(pa.float64()),
                     "dec": table.column("dec").cast(pa.float64()), "reason": pa.array([reason] * n, pa.string())},
                    schema=REJECT_SCHEMA)


# --------------------------------------------------------------------------------------------
# Split: one pass over an input file, its rows sorted by the spatial index, and its pixel histogram
# --------------------------------------------------------------------------------------------
SPATIAL_COLUMN = "_healpix_29"
ROW_COLUMN = "_row"  # a row's number in its input file, in the sorted runs only (not in the shards)
SPLIT_ROWS = "rows.arrow"
SPLIT_INDEX = "index.npz"
# Rows per record batch of a split's rows.arrow. A reduce reads (memory-maps) only the batches whose
# _healpix_29 range meets its shard; Arrow asks the kernel to page in a whole batch when it opens
# one, so small batches keep a reduce's resident memory near the size of its shard.
SPLIT_BATCH_ROWS = 32_768
SPLIT_REJECTS = "_rejects.parquet"
SPLIT_STATS = "_stats.json"


def healpix29(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """The ``_healpix_29`` spatial index of HATS: nested pixel at order 29."""
    return sky.radec_to_healpix(ra, dec, sky.HEALPIX29_ORDER)


def coordinate_reject_reasons(ra_outside_range: str) -> dict[int, str]:
    """The reject reason of each problem code of :func:`zshard.sky.check_coordinates`."""
    return {sky.COORDINATES_NOT_FINITE: REJECT_COORDINATES_NOT_FINITE,
            sky.RA_OUT_OF_RANGE: REJECT_RA_TOO_FAR if ra_outside_range == "wrap" else REJECT_RA_OUT_OF_RANGE,
            sky.DEC_OUT_OF_RANGE: REJECT_DEC_OUT_OF_RANGE}


def _rows_in_header(path: str) -> int | None:
    """The rows of a Parquet or FITS file from its header, for the progress lines; None for a CSV
    file (it would have to be read to count them) or an unreadable header (the reader names it)."""
    if file_format(path) == "csv":
        return None
    try:
        return count_rows(path)
    except Exception:  # noqa: BLE001 - iter_catalog reports the file's damage with its name and row
        return None


def split_file(path: str, fid: str, spec: CatalogSpec, histogram_order: int, out_dir: str, chunk_rows: int,
               rows_path: str | None = None, *, ra_outside_range: str) -> dict:
    """Read one input file once; write its valid rows sorted by ``_healpix_29``, and its histogram.

    The output directory holds:

    * ``rows.arrow`` (or the file ``rows_path``, where the workflow keeps the runs apart from the
      small records so that it can delete them once every reduce has read them):
      Arrow IPC (uncompressed; read memory-mapped by the reduces): each input chunk
      sorted by ``_healpix_29``, written as record batches of ``SPLIT_BATCH_ROWS`` rows. In the
      nested scheme a shard (a pixel of any order) is one contiguous range of order-29 indices, so
      a reduce takes its rows from each sorted run by binary search: the split does not depend on
      the plan, and a new plan (a pixel that must split) reruns no split;
    * ``index.npz``: valid rows per pixel at ``histogram_order`` (the plan's input, what
      hats-import's "map" stage computes in a separate pass), and the first and last
      ``_healpix_29`` of every batch (which batches a reduce must open);
    * ``_rejects.parquet``: rows with invalid coordinates or that could not be parsed, with their
      file row number and reason;
    * ``_stats.json``: the file's row accounting, with the rows whose right ascension was wrapped
      into [0, 360) (``ra_outside_range="wrap"``, :func:`zshard.sky.check_coordinates`) and the
      values read as missing (NaN) per column and cause (:attr:`zshard.io.catalogs.Chunk.set_missing`:
      not finite, a sentinel, a negative error), rows placed or not.

    The sorted rows carry their row number in the file (column ``_row``, appended last), so that a
    reduce can say where a duplicate id came from; the shard itself does not keep it.

    Memory is bounded by the chunk size. The directory is assembled under a temporary name and
    renamed when complete.
    """
    shift = 2 * (sky.HEALPIX29_ORDER - histogram_order)
    counts = np.zeros(12 * 4**histogram_order, dtype=np.int64)
    rejects = []
    batch_first, batch_last = [], []
    n_rows = n_selected = n_wrapped = 0
    set_missing: dict[str, dict[str, int]] = {}
    reasons_of = coordinate_reject_reasons(ra_outside_range)
    writer = None
    progress = Progress(f"partition_split {fid}", total=_rows_in_header(path))
    with atomic_directory(out_dir) as tmp, _rows_file(tmp / SPLIT_ROWS, rows_path) as rows_tmp:
        with pa.OSFile(rows_tmp, "wb") as sink:
            for chunk in iter_catalog(path, spec, chunk_rows):
                n_rows += chunk.n_rows
                progress.advance(chunk.n_rows)
                table = chunk.table
                for column, by_cause in chunk.set_missing.items():
                    for cause, n in by_cause.items():
                        set_missing.setdefault(column, {}).setdefault(cause, 0)
                        set_missing[column][cause] += n
                if chunk.unparsable:
                    rows, reasons = zip(*chunk.unparsable)
                    rejects.append(pa.table({"file": pa.array([path] * len(rows), pa.string()),
                                             "row": pa.array(rows, pa.int64()), "id": pa.nulls(len(rows), pa.int64()),
                                             "ra": pa.nulls(len(rows), pa.float64()),
                                             "dec": pa.nulls(len(rows), pa.float64()),
                                             "reason": pa.array(reasons, pa.string())}, schema=REJECT_SCHEMA))
                n_selected += table.num_rows + len(chunk.unparsable)
                table = table.append_column(ROW_COLUMN, pa.array(chunk.rows, pa.int64()))
                ra, problem, wrapped = sky.check_coordinates(table.column("ra").to_numpy(),
                                                             table.column("dec").to_numpy(), ra_outside_range)
                dec = table.column("dec").to_numpy()
                if wrapped.any():
                    n_wrapped += int(wrapped.sum())
                    table = table.set_column(table.schema.get_field_index("ra"), "ra", pa.array(ra))
                valid = problem == sky.COORDINATES_OK
                if not valid.all():
                    for code in np.unique(problem[~valid]):
                        bad = problem == code
                        rejects.append(reject_table(path, chunk.rows[bad], table.filter(pa.array(bad)),
                                                    reasons_of[int(code)]))
                    table = table.filter(pa.array(valid))
                spatial = healpix29(ra[valid], dec[valid])
                by_position = np.argsort(spatial, kind="stable")
                spatial = spatial[by_position]
                counts += np.bincount(spatial >> shift, minlength=counts.size)
                table = table.take(pa.array(by_position)).add_column(0, SPATIAL_COLUMN, pa.array(spatial))
                if writer is None:
                    writer = pa.ipc.new_file(sink, table.schema)
                for start in range(0, table.num_rows, SPLIT_BATCH_ROWS):
                    batch = table.slice(start, SPLIT_BATCH_ROWS).combine_chunks().to_batches()[0]
                    writer.write_batch(batch)
                    batch_first.append(spatial[start])
                    batch_last.append(spatial[start + batch.num_rows - 1])
            if writer is None:  # no chunk at all: an empty file with the canonical columns
                writer = pa.ipc.new_file(sink, pa.schema([(SPATIAL_COLUMN, pa.int64())]))
            writer.close()
        nonzero = np.flatnonzero(counts)
        n_placed = int(counts.sum())
        np.savez(tmp / SPLIT_INDEX, pixels=nonzero, counts=counts[nonzero], histogram_order=histogram_order,
                 n_rows=n_rows, n_selected=n_selected, n_invalid=n_selected - n_placed,
                 batch_first=np.asarray(batch_first, dtype=np.int64), batch_last=np.asarray(batch_last, dtype=np.int64))
        rejected = pa.concat_tables(rejects) if rejects else REJECT_SCHEMA.empty_table()
        write_parquet(tmp / SPLIT_REJECTS, rejected)
        reasons, reason_counts = np.unique(np.asarray(rejected.column("reason").to_pylist(), dtype=object).astype(str),
                                           return_counts=True)
        stats = {"file": path, "file_id": fid, "n_rows": n_rows, "n_excluded_by_subset": n_rows - n_selected,
                 "n_rejected": rejected.num_rows, "n_placed": n_placed, "n_ra_wrapped": n_wrapped,
                 "values_set_missing": set_missing,
                 "rejected_by_reason": {str(r): int(c) for r, c in zip(reasons, reason_counts)}}
        write_json(tmp / SPLIT_STATS, stats)
    progress.finish()
    return stats


def _rows_file(default: os.PathLike, rows_path: str | None):
    """Where a split writes its rows: ``default`` (in its directory), or the temporary sibling of
    ``rows_path``, renamed into place when the block succeeds."""
    if rows_path is None:
        return contextlib.nullcontext(str(default))
    return atomic_path(rows_path)


HISTOGRAM_INFO = ("histogram_order", "n_rows", "n_selected", "n_invalid")


def read_histogram(split_dir: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """The pixel histogram of one split, sparse (occupied pixels, their counts), and its row counts."""
    with np.load(os.path.join(split_dir, SPLIT_INDEX)) as data:
        return data["pixels"], data["counts"], {k: int(data[k]) for k in HISTOGRAM_INFO}


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------
def make_plan(split_dirs: dict[str, str], inputs: dict[str, str], max_rows: int,
              lowest_order: int) -> tuple[dict, np.ndarray]:
    """Adaptive shards from the per-file histograms (see :func:`zshard.sky.plan_partitions`).

    ``split_dirs`` and ``inputs`` map file id → split directory / input path. The plan lists every
    shard with its rows and the files that contribute to it, so that a reduce depends only on the
    files that touch its pixel. Returns the plan and the whole catalogue's histogram (dense, at the
    histogram order). Each histogram is read once, and only the total is held dense: per file, its
    occupied pixels.
    """
    total = None
    occupied: dict[str, np.ndarray] = {}
    files = {}
    for fid, directory in split_dirs.items():
        pixels, counts, info = read_histogram(directory)
        if total is None:
            total = np.zeros(12 * 4 ** info["histogram_order"], dtype=np.int64)
        total[pixels] += counts  # a file's pixels are distinct
        occupied[fid] = pixels
        files[fid] = {"path": inputs[fid], **info}
    if total is None:
        raise ValueError("no input files to plan")
    if not total.any():
        n_read = sum(f["n_rows"] for f in files.values())
        n_excluded = n_read - sum(f["n_selected"] for f in files.values())
        raise ValueError(f"no row to place in {len(files)} input file(s): {n_read} rows read, {n_excluded} excluded by "
                         f"the subset, {sum(f['n_invalid'] for f in files.values())} rejected (see each file's "
                         f"{SPLIT_STATS} and {SPLIT_REJECTS} under partition/split/)")
    order = files[next(iter(files))]["histogram_order"]
    shards = sky.plan_partitions(total, order, max_rows, lowest_order)
    shard_list = [s for s, _ in shards]
    entries = []
    touching = {fid: np.unique(sky.assign_shards(pixels, shard_list, order)) for fid, pixels in occupied.items()}
    for index, (shard, rows) in enumerate(shards):
        contributors = [fid for fid, idx in touching.items() if np.any(idx == index)]
        entries.append({"key": shard.key, "order": shard.order, "pixel": shard.pixel, "rows": rows,
                        "files": contributors})
    oversized = [e["key"] for e in entries if e["rows"] > max_rows]
    plan = {"histogram_order": order, "max_rows": max_rows, "lowest_order": lowest_order,
            "n_rows_valid": int(total.sum()), "shards": entries, "files": files,
            "oversized_shards": oversized}
    return plan, total


# --------------------------------------------------------------------------------------------
# Reduce: one shard from the sorted rows of the files that touch it
# --------------------------------------------------------------------------------------------
def shard_rows(split_dir: str, shard: sky.Shard, rows_path: str | None = None) -> pa.Table:
    """The rows of one split that fall in ``shard``: a binary search in each batch that meets it.

    ``rows_path``: the split's rows, where they are not in its directory (:func:`split_file`).
    The file is memory-mapped and the slices are zero-copy: only the batches whose ``_healpix_29``
    range meets the shard's (from the split's index) are paged in.
    """
    shift = 2 * (sky.HEALPIX29_ORDER - shard.order)
    low, high = shard.pixel << shift, (shard.pixel + 1) << shift
    with np.load(os.path.join(split_dir, SPLIT_INDEX)) as index:
        meets = np.flatnonzero((index["batch_last"] >= low) & (index["batch_first"] < high))
    with pa.memory_map(rows_path or os.path.join(split_dir, SPLIT_ROWS), "r") as source:
        reader = pa.ipc.open_file(source)
        slices = []
        for i in meets:
            batch = reader.get_batch(int(i))
            spatial = batch.column(0).to_numpy()
            start, stop = np.searchsorted(spatial, [low, high])
            if stop > start:
                slices.append(batch.slice(start, stop - start))
        return pa.Table.from_batches(slices, schema=reader.schema)


REDUCE_STATS = "stats.json"
REDUCE_REJECTS = "rejects.parquet"
REDUCE_IDS = "ids.npy"
REDUCE_CLOSE_PAIRS = "close_pairs.parquet"
CLOSE_PAIR_SCHEMA = pa.schema([("id", pa.int64()), ("file", pa.string()), ("row", pa.int64()),
                               ("other_id", pa.int64()), ("other_file", pa.string()), ("other_row", pa.int64()),
                               ("separation_arcsec", pa.float64())])


def close_pairs(table: pa.Table, part_of_row: np.ndarray, sources: list[str], max_arcsec: float) -> pa.Table:
    """Pairs of rows with different ids closer than ``max_arcsec``: perhaps one object under two ids.

    Overlapping input tiles that gave an object a new id in each catalogue leave it twice, at
    nearly the same position (the duplicate-id check cannot see it). Each pair is listed once with
    both rows' ids, input files and rows (``table``'s ``_row``; ``part_of_row`` indexes
    ``sources``) and their separation. Exact: a k-d tree of unit vectors, searched for chords
    shorter than that of ``max_arcsec``. Pairs across a shard boundary are not seen. 0 searches nothing.
    """
    if max_arcsec <= 0 or table.num_rows < 2:
        return CLOSE_PAIR_SCHEMA.empty_table()
    from scipy.spatial import cKDTree

    ra = np.radians(table.column("ra").to_numpy())
    dec = np.radians(table.column("dec").to_numpy())
    xyz = np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
    chord = 2.0 * np.sin(np.radians(max_arcsec / 3600.0) / 2.0)
    pairs = cKDTree(xyz).query_pairs(chord, output_type="ndarray")
    ids = table.column("id").to_numpy()
    pairs = pairs[ids[pairs[:, 0]] != ids[pairs[:, 1]]] if len(pairs) else np.zeros((0, 2), dtype=np.int64)
    pairs = pairs[np.lexsort((ids[pairs[:, 1]], ids[pairs[:, 0]]))]
    a, b = pairs[:, 0], pairs[:, 1]
    separation = np.degrees(2.0 * np.arcsin(np.clip(np.linalg.norm(xyz[a] - xyz[b], axis=1) / 2.0, 0, 1))) * 3600.0
    rows = table.column(ROW_COLUMN).to_numpy()
    files = np.asarray(sources, dtype=object)
    return pa.table({"id": ids[a], "file": pa.array(files[part_of_row[a]].tolist(), pa.string()), "row": rows[a],
                     "other_id": ids[b], "other_file": pa.array(files[part_of_row[b]].tolist(), pa.string()),
                     "other_row": rows[b], "separation_arcsec": separation}, schema=CLOSE_PAIR_SCHEMA)


def reduce_shard(shard: sky.Shard, split_dirs: list[str], out_path: str, record_dir: str,
                 compression: str, rows_paths: list[str] | None = None, *, close_pair_arcsec: float) -> dict:
    """Merge a shard's rows from its files, drop duplicate ids (to rejects), sort by ``_healpix_29``, write.

    ``rows_paths``: each split's rows, in the order of ``split_dirs``, where they are not in its
    directory (:func:`split_file`). Files are read in file-id order, so which copy of a duplicated
    id is kept is deterministic.
    Besides the shard, the reduce writes its record, a directory (assembled under a temporary name,
    then renamed; one Snakemake output, since each output of a per-shard job costs dry-run time):

    * ``stats.json``: its row counts, and the rows taken from each file (``rows_from``), which the
      manifest checks against what each split placed; the shard file's SHA-256 and size, which the
      manifest records for :mod:`zshard.verify`;
    * ``rejects.parquet``: the rows dropped as duplicate ids;
    * ``ids.npy``: the shard's ids, sorted, for the manifest's check of ids across shards
      (:func:`ids_in_several_shards`);
    * ``close_pairs.parquet``: pairs of rows with different ids closer than ``close_pair_arcsec``
      (0: not searched), perhaps one object under two ids from overlapping tiles
      (:func:`close_pairs`). They are reported, not removed.

    Returns the stats.
    """
    parts, rows_from, part_of_row, sources = [], {}, [], []
    rows_of = dict(zip(split_dirs, rows_paths)) if rows_paths is not None else {}
    if rows_paths is not None and len(rows_paths) != len(split_dirs):
        raise ValueError(f"{len(rows_paths)} rows files for {len(split_dirs)} splits")
    progress = Progress(f"partition_reduce {shard.key}", total=len(split_dirs), unit="files")
    for directory in sorted(split_dirs, key=os.path.basename):
        part = shard_rows(directory, shard, rows_of.get(directory))
        rows_from[os.path.basename(directory)] = part.num_rows
        progress.advance(1)
        if part.num_rows:
            if ROW_COLUMN not in part.schema.names:  # a run written before runs kept their rows
                part = part.append_column(ROW_COLUMN, pa.array(np.full(part.num_rows, -1), pa.int64()))
            part_of_row.append(np.full(part.num_rows, len(parts), dtype=np.int32))
            parts.append(part)
            sources.append(load_split_stats(directory)["file"])
    if not parts:
        raise FileNotFoundError(f"shard {shard.key}: no rows in {split_dirs}")
    table = pa.concat_tables(parts)
    origin = np.concatenate(part_of_row)  # each row's index in sources
    n_in = table.num_rows
    ids = table.column("id").to_numpy()
    ordered = np.sort(ids)
    if not np.any(ordered[1:] == ordered[:-1]):  # the common case: no duplicate
        rejects = REJECT_SCHEMA.empty_table()
    else:
        ordered, first = np.unique(ids, return_index=True)
        keep = np.zeros(n_in, dtype=bool)
        keep[first] = True
        rejects = duplicate_rejects(table, ~keep, origin, sources)
        table, origin = table.filter(pa.array(keep)), origin[keep]
    pairs = close_pairs(table, origin, sources, close_pair_arcsec)
    table = table.drop_columns([ROW_COLUMN])
    # each part is a run sorted by the spatial index: a stable sort merges the runs
    order = np.argsort(table.column(SPATIAL_COLUMN).to_numpy(), kind="stable")
    table = table.take(pa.array(order))
    # Row-group min/max only where they can prune a read: the spatial index, position and id. A
    # shard's magnitudes span their whole range in every row group; their statistics cost ~20% of
    # the write and would skip nothing.
    write_parquet(out_path, table, compression=compression, use_dictionary=False,
                  write_statistics=[SPATIAL_COLUMN, "id", "ra", "dec"])
    stats = {"shard": shard.key, "order": shard.order, "pixel": shard.pixel, "n_in": n_in,
             "n_out": table.num_rows, "n_duplicates": rejects.num_rows, "rows_from": rows_from,
             "n_close_pairs": pairs.num_rows, **file_digest(out_path)}  # checked by make verify
    with atomic_directory(record_dir) as tmp:
        write_parquet(tmp / REDUCE_REJECTS, rejects)
        write_parquet(tmp / REDUCE_CLOSE_PAIRS, pairs)
        np.save(tmp / REDUCE_IDS, ordered)
        write_json(tmp / REDUCE_STATS, stats)
    progress.finish()
    return stats


def duplicate_rejects(table: pa.Table, duplicate: np.ndarray, part_of_row: np.ndarray,
                      sources: list[str]) -> pa.Table:
    """Reject records of the rows ``duplicate`` marks, each with its input file and row in that file.

    ``part_of_row``: for each row of ``table``, the index in ``sources`` (input paths) of the file it
    came from; the row in that file is the table's ``_row`` column (:func:`split_file`).
    """
    rows = table.filter(pa.array(duplicate))
    origin = part_of_row[duplicate]
    parts = []
    for index in np.unique(origin):
        mine = origin == index
        parts.append(reject_table(sources[index], rows.column(ROW_COLUMN).to_numpy()[mine],
                                  rows.filter(pa.array(mine)), REJECT_DUPLICATE_ID))
    return pa.concat_tables(parts)


def ids_in_several_shards(id_files: dict[str, str], max_ids_per_pass: int = 4_000_000) -> pa.Table:
    """Ids found in more than one shard, with each shard that holds them (columns ``id``, ``shard``).

    ``id_files`` maps shard key → its sorted ids (``ids.npy`` of a reduce record, :func:`reduce_shard`). The ids are
    merged in passes over ranges of id values of about ``max_ids_per_pass`` ids each (a stable sort
    of the sorted runs, then equal neighbours). Every file is memory-mapped only while one pass
    copies its slice, so resident memory is set by the pass size, not by the catalogue's.
    """
    keys = sorted(id_files)

    def each_file():
        for index, key in enumerate(keys):
            values = np.load(id_files[key], mmap_mode="r")
            yield index, values
            del values  # unmap: the pages read stay out of this process's resident memory

    total, samples = 0, []
    stride = 1024
    for _, values in each_file():
        total += values.size
        samples.append(np.array(values[::stride]))
    found_ids, found_shards = [], []
    if not total:
        return pa.table({"id": pa.array([], pa.int64()), "shard": pa.array([], pa.string())})
    sample = np.sort(np.concatenate(samples))
    n_passes = -(-total // max_ids_per_pass)
    bounds = np.unique(sample[(np.arange(1, n_passes) * sample.size) // n_passes]).tolist() if n_passes > 1 else []
    edges = [None, *bounds, None]
    for low, high in zip(edges[:-1], edges[1:]):
        parts, owners = [], []
        for index, values in each_file():
            start = 0 if low is None else int(np.searchsorted(values, low, side="left"))
            stop = values.size if high is None else int(np.searchsorted(values, high, side="left"))
            if stop > start:
                parts.append(np.array(values[start:stop]))
                owners.append(np.full(stop - start, index, dtype=np.int32))
        if not parts:
            continue
        ids = np.concatenate(parts)
        merged = np.sort(ids, kind="stable")  # merges the sorted runs
        if not np.any(merged[1:] == merged[:-1]):  # the common case: no id in two shards
            continue
        order = np.argsort(ids, kind="stable")
        ids, owner = ids[order], np.concatenate(owners)[order]
        same = ids[1:] == ids[:-1]
        repeated = np.zeros(ids.size, dtype=bool)
        repeated[1:] |= same
        repeated[:-1] |= same
        found_ids.append(ids[repeated])
        found_shards.extend(keys[i] for i in owner[repeated])
    ids = np.concatenate(found_ids) if found_ids else np.zeros(0, dtype=np.int64)
    return pa.table({"id": pa.array(ids, pa.int64()), "shard": pa.array(found_shards, pa.string())})


# --------------------------------------------------------------------------------------------
# Accounting
# --------------------------------------------------------------------------------------------
@dataclass
class AccountingError(RuntimeError):
    problems: list[str]

    def __str__(self) -> str:
        return "row accounting failed:\n  " + "\n  ".join(self.problems)


def check_row_accounting(plan: dict, split_stats: list[dict], reduce_stats: list[dict]) -> dict:
    """Check that every input row is in exactly one shard or a reject file; return the manifest.

    Raises :class:`AccountingError` listing every mismatch.
    """
    problems = []
    files = []
    taken: dict[str, int] = {}
    for stats in reduce_stats:
        for fid, n in stats["rows_from"].items():
            taken[fid] = taken.get(fid, 0) + n
    for stats in split_stats:
        placed = stats["n_placed"]
        if taken.get(stats["file_id"], 0) != placed:
            problems.append(f"{stats['file']}: the split placed {placed} rows but the reduces took "
                            f"{taken.get(stats['file_id'], 0)} (rows outside the plan's shards: stale plan?)")
        accounted = placed + stats["n_rejected"] + stats["n_excluded_by_subset"]
        if accounted != stats["n_rows"]:
            problems.append(f"{stats['file']}: {stats['n_rows']} rows read but {placed} placed + "
                            f"{stats['n_rejected']} rejected + {stats['n_excluded_by_subset']} excluded")
        planned = plan["files"].get(stats["file_id"], {}).get("n_rows")
        if planned is not None and planned != stats["n_rows"]:
            problems.append(f"{stats['file']}: {stats['n_rows']} rows at split but {planned} in the plan "
                            "(split rerun after the plan?)")
        files.append({"file": stats["file"], "rows_in": stats["n_rows"], "rows_placed": placed,
                      "rows_rejected": stats["n_rejected"], "rows_excluded_by_subset": stats["n_excluded_by_subset"],
                      "rows_ra_wrapped": stats.get("n_ra_wrapped", 0),  # absent from splits of earlier versions
                      "rejected_by_reason": stats["rejected_by_reason"],
                      "values_set_missing": stats.get("values_set_missing", {})})
    shards = []
    planned_rows = {entry["key"]: entry["rows"] for entry in plan["shards"]}
    for stats in reduce_stats:
        expected = planned_rows.pop(stats["shard"], None)
        if stats["n_in"] != expected:
            problems.append(f"shard {stats['shard']}: reduce read {stats['n_in']} rows, the plan counted {expected}")
        if sum(stats["rows_from"].values()) != stats["n_in"]:
            problems.append(f"shard {stats['shard']}: {stats['n_in']} rows in ≠ the sum over its files")
        if stats["n_out"] + stats["n_duplicates"] != stats["n_in"]:
            problems.append(f"shard {stats['shard']}: {stats['n_in']} in ≠ {stats['n_out']} out + "
                            f"{stats['n_duplicates']} duplicates")
        shards.append({"shard": stats["shard"], "order": stats["order"], "pixel": stats["pixel"],
                       "path": sky.Shard(stats["order"], stats["pixel"]).hats_path(),
                       "rows_duplicate": stats["n_duplicates"],
                       # absent from reduces of earlier versions:
                       "close_pairs": stats.get("n_close_pairs", 0), **shard_record(stats)})
    for key, n in planned_rows.items():
        problems.append(f"shard {key}: the plan counted {n} rows but it was never reduced")
    totals = {
        "rows_in": sum(f["rows_in"] for f in files),
        "rows_excluded_by_subset": sum(f["rows_excluded_by_subset"] for f in files),
        "rows_rejected": sum(f["rows_rejected"] for f in files) + sum(s["rows_duplicate"] for s in shards),
        "rows_in_shards": sum(s["rows"] for s in shards),
        "rows_ra_wrapped": sum(f["rows_ra_wrapped"] for f in files),
        "close_pairs": sum(s["close_pairs"] for s in shards),
    }
    if totals["rows_in"] != totals["rows_excluded_by_subset"] + totals["rows_rejected"] + totals["rows_in_shards"]:
        problems.append(f"totals do not add up: {totals}")
    if problems:
        raise AccountingError(problems)
    return {"totals": totals, "files": files, "shards": shards}


def shard_record(stats: dict) -> dict:
    """What a reduce recorded of its shard (``stats.json``): ``rows``, ``sha256`` and ``bytes`` (the
    last two None from reduces of earlier versions), as :mod:`zshard.verify` checks them."""
    return {"rows": stats["n_out"], "sha256": stats.get("sha256"), "bytes": stats.get("bytes")}


def reduce_record(stats_path: str) -> dict:
    """:func:`shard_record` of a reduce's ``stats.json``."""
    return shard_record(read_json(stats_path))


def load_split_stats(split_dir: str) -> dict:
    return read_json(os.path.join(split_dir, SPLIT_STATS))


# --------------------------------------------------------------------------------------------
# HATS catalogue metadata
# --------------------------------------------------------------------------------------------
def shard_key_of_path(path: str) -> str:
    """The shard key of a HATS-style path ``…/Norder=K/Dir=D/Npix=P<suffix>``."""
    order = int(path.split("Norder=")[1].split(os.sep)[0])
    pixel = int(os.path.basename(path)[len("Npix="):].split(".")[0])
    return sky.Shard(order, pixel).key


def existing_shards(catalog_dir: str) -> set[str]:
    """Keys of the shard files present under ``<catalog_dir>/dataset``."""
    return {shard_key_of_path(path)
            for path in glob.glob(os.path.join(catalog_dir, "dataset", "Norder=*", "Dir=*", "Npix=*.parquet"))}


def plan_changes(previous: set[str], plan: dict) -> dict[str, list[str]]:
    """Shards a new plan adds and drops relative to the shards on disk."""
    current = {e["key"] for e in plan["shards"]}
    return {"added": sorted(current - previous), "removed": sorted(previous - current)}


def remove_stale_shards(catalog_dir: str, plan_keys: set[str]) -> list[str]:
    """Delete shard files that the current plan no longer has (after a pixel was split or merged)."""
    removed = []
    for key in sorted(existing_shards(catalog_dir) - plan_keys):
        os.remove(os.path.join(catalog_dir, sky.Shard.from_key(key).hats_path()))
        removed.append(key)
    return removed


def write_hats_metadata(catalog_dir: str, shards: list[dict], max_rows: int, catalog_name: str,
                        builder: str) -> dict:
    """Write the HATS catalogue metadata beside the shards, so that hats/LSDB can open the catalogue.

    Files (HATS IVOA Note, https://www.ivoa.net/documents/Notes/HATS/): ``properties`` (catalogue
    description, Java-properties format), ``partition_info.csv`` (Norder, Npix), and in ``dataset/``
    ``_common_metadata`` (the schema) and ``_metadata`` (every shard's row-group footers, with file
    paths relative to ``dataset/``), all in breadth-first (order, pixel) order.
    """
    import datetime

    ordered = sorted(shards, key=lambda s: (s["order"], s["pixel"]))
    dataset = os.path.join(catalog_dir, "dataset")
    combined = None
    schema = None
    total_bytes = 0
    for entry in ordered:
        relative = sky.Shard(entry["order"], entry["pixel"]).hats_path()[len("dataset/"):]
        path = os.path.join(dataset, relative)
        metadata = pq.read_metadata(path)
        total_bytes += os.path.getsize(path)
        metadata.set_file_path(relative)
        if combined is None:
            combined, schema = metadata, metadata.schema.to_arrow_schema()
        else:
            combined.append_row_groups(metadata)
    if combined is None:
        raise ValueError("no shards to describe")
    with atomic_path(os.path.join(dataset, "_common_metadata")) as tmp:
        pq.write_metadata(schema, tmp)
    with atomic_path(os.path.join(dataset, "_metadata")) as tmp:
        combined.write_metadata_file(tmp)
    with atomic_path(os.path.join(catalog_dir, "partition_info.csv")) as tmp:
        with open(tmp, "w") as handle:
            handle.write("Norder,Npix\n")
            handle.writelines(f"{s['order']},{s['pixel']}\n" for s in ordered)
    max_order = max(s["order"] for s in ordered)
    sky_fraction = sum(4.0 ** -s["order"] for s in ordered) / 12.0
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M%Z")
    properties = {
        "obs_collection": catalog_name, "dataproduct_type": "object",
        "hats_nrows": sum(s["rows"] for s in ordered), "hats_col_ra": "ra", "hats_col_dec": "dec",
        "hats_col_healpix": "_healpix_29", "hats_col_healpix_order": sky.HEALPIX29_ORDER,
        "hats_max_rows": max_rows, "hats_order": max_order, "moc_sky_fraction": f"{sky_fraction:.5f}",
        "hats_builder": builder, "hats_creation_date": now, "hats_estsize": total_bytes // 1024,
        "hats_release_date": now[:10], "hats_version": "v0.1",
    }
    with atomic_path(os.path.join(catalog_dir, "properties")) as tmp:
        with open(tmp, "w") as handle:
            handle.write("#HATS catalog\n")
            handle.writelines(f"{key}={value}\n" for key, value in properties.items())
    return properties
