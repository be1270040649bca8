"""Partition a catalogue into HEALPix shards: map → plan → split → reduce, with row accounting.

The stage design follows hats-import (astronomy-commons): a per-file pixel histogram (map), an
adaptive plan that splits a pixel until its shard holds at most ``max_rows`` rows (the HATS
"alignment"), a per-file split into per-shard fragments, and a per-shard reduce that writes the
shard sorted by its ``_healpix_29`` spatial index. Every stage writes its own product and its row
counts; :func:`check_row_accounting` proves that every input row is in exactly one shard or in a
reject file with its reason.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zshard import sky
from zshard.io import CatalogSpec, atomic_path, iter_catalog, read_json, write_json, write_parquet

REJECT_INVALID_COORDINATES = "invalid coordinates (non-finite or out of range)"
# Unparsable rows (CSV) are rejected with a reason that starts "unparsable" and says what was wrong.
REJECT_DUPLICATE_ID = "duplicate id"
REJECT_COLUMNS = ["file", "row", "id", "ra", "dec", "reason"]


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
    """Rejected rows with where they came from (file, or shard for duplicates; file row, −1 if unknown)."""
    n = table.num_rows
    return pa.table({"file": pa.array([source] * n, pa.string()), "row": pa.array(rows, pa.int64()),
                     "id": table.column("id").cast(pa.int64()), "ra": table.column("ra").cast(pa.float64()),
                     "dec": table.column("dec").cast(pa.float64()), "reason": pa.array([reason] * n, pa.string())},
                    schema=REJECT_SCHEMA)


# --------------------------------------------------------------------------------------------
# Map: pixel histogram per input file
# --------------------------------------------------------------------------------------------
def map_file(path: str, spec: CatalogSpec, histogram_order: int, out_path: str, chunk_rows: int) -> dict:
    """Count the valid rows of one file per pixel at ``histogram_order``; write a sparse ``.npz``.

    Only the id and coordinate columns are read (a columnar read for Parquet).
    """
    spec = dataclasses.replace(spec, with_photometry=False, redshift_column=None, extra_columns={})
    counts = np.zeros(12 * 4**histogram_order, dtype=np.int64)
    n_rows = n_selected = n_invalid = 0
    for chunk in iter_catalog(path, spec, chunk_rows):
        n_rows += chunk.n_rows
        n_selected += chunk.table.num_rows
        ra, dec = chunk.table.column("ra").to_numpy(), chunk.table.column("dec").to_numpy()
        valid = sky.valid_coordinates(ra, dec)
        n_invalid += int((~valid).sum())
        pixels = sky.radec_to_healpix(ra[valid], dec[valid], histogram_order)
        counts += np.bincount(pixels, minlength=counts.size)
    nonzero = np.flatnonzero(counts)
    with atomic_path(out_path) as tmp:
        np.savez(tmp, pixels=nonzero, counts=counts[nonzero], histogram_order=histogram_order,
                 n_rows=n_rows, n_selected=n_selected, n_invalid=n_invalid)
    return {"n_rows": n_rows, "n_selected": n_selected, "n_invalid": n_invalid}


def load_histogram(path: str) -> tuple[np.ndarray, dict]:
    with np.load(path) as data:
        order = int(data["histogram_order"])
        counts = np.zeros(12 * 4**order, dtype=np.int64)
        counts[data["pixels"]] = data["counts"]
        info = {k: int(data[k]) for k in ("histogram_order", "n_rows", "n_selected", "n_invalid")}
    return counts, info


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------
def make_plan(histograms: dict[str, str], inputs: dict[str, str], max_rows: int, lowest_order: int) -> dict:
    """Adaptive shards from the per-file histograms (see :func:`zshard.sky.plan_partitions`).

    ``histograms`` and ``inputs`` map file id → histogram path / input path. The plan lists every
    shard with its rows and the files that contribute to it, so that a reduce depends only on the
    files that touch its pixel.
    """
    total = None
    per_file: dict[str, np.ndarray] = {}
    files = {}
    for fid, hist_path in histograms.items():
        counts, info = load_histogram(hist_path)
        per_file[fid] = counts
        files[fid] = {"path": inputs[fid], **info}
        total = counts.copy() if total is None else total + counts
    if total is None:
        raise ValueError("no input files to plan")
    order = files[next(iter(files))]["histogram_order"]
    shards = sky.plan_partitions(total, order, max_rows, lowest_order)
    shard_list = [s for s, _ in shards]
    entries = []
    touching = {fid: sky.assign_shards(np.flatnonzero(c), shard_list, order) for fid, c in per_file.items()}
    for index, (shard, rows) in enumerate(shards):
        contributors = [fid for fid, idx in touching.items() if np.any(idx == index)]
        entries.append({"key": shard.key, "order": shard.order, "pixel": shard.pixel, "rows": rows,
                        "files": contributors})
    oversized = [e["key"] for e in entries if e["rows"] > max_rows]
    return {"histogram_order": order, "max_rows": max_rows, "lowest_order": lowest_order,
            "n_rows_valid": int(total.sum()), "shards": entries, "files": files,
            "oversized_shards": oversized}


# --------------------------------------------------------------------------------------------
# Split: one file into per-shard fragments
# --------------------------------------------------------------------------------------------
def write_fragment(table: pa.Table, path: str | os.PathLike) -> None:
    """A split fragment: Arrow IPC, uncompressed. Fragments live only until the reduce reads them,
    so they skip Parquet's encoding and compression (the shards are Parquet)."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def read_fragment(path: str | os.PathLike) -> pa.Table:
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()


def split_file(path: str, fid: str, spec: CatalogSpec, shards: list[sky.Shard], histogram_order: int,
               out_dir: str, chunk_rows: int) -> dict:
    """Write this file's rows as fragments ``<shard key>.c<chunk>.arrow`` in ``out_dir``.

    ``shards`` are the plan's shards that this file touches (its histogram says which); a row that
    falls in none of them means the plan is stale, and the split fails. Rows with invalid
    coordinates go to ``_rejects.parquet`` with their file row number and reason. The directory is
    assembled under a temporary name and renamed when complete. Returns (and writes to
    ``_stats.json``) the row accounting of the file.
    """
    order = histogram_order
    final = Path(out_dir)
    tmp = final.with_name(f".{final.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    per_shard: dict[str, int] = {}
    rejects = []
    n_rows = n_selected = 0
    try:
        for chunk_index, chunk in enumerate(iter_catalog(path, spec, chunk_rows)):
            n_rows += chunk.n_rows
            table = chunk.table
            if chunk.unparsable:
                rows, reasons = zip(*chunk.unparsable)
                rejects.append(pa.table({"file": pa.array([path] * len(rows), pa.string()),
                                         "row": pa.array(rows, pa.int64()), "id": pa.nulls(len(rows), pa.int64()),
                                         "ra": pa.nulls(len(rows), pa.float64()),
                                         "dec": pa.nulls(len(rows), pa.float64()),
                                         "reason": pa.array(reasons, pa.string())}, schema=REJECT_SCHEMA))
            n_selected += table.num_rows + len(chunk.unparsable)
            ra, dec = table.column("ra").to_numpy(), table.column("dec").to_numpy()
            valid = sky.valid_coordinates(ra, dec)
            if not valid.all():
                rejects.append(reject_table(path, chunk.rows[~valid], table.filter(pa.array(~valid)),
                                            REJECT_INVALID_COORDINATES))
                table = table.filter(pa.array(valid))
            # The HATS spatial index, computed once here: sorting by it groups the rows by shard (a
            # shard is a range of order-29 pixels) and sorts each fragment, so the reduce only merges.
            spatial = healpix29(ra[valid], dec[valid])
            shard_index = sky.assign_shards(spatial >> (2 * (sky.HEALPIX29_ORDER - order)), shards, order)
            if np.any(shard_index < 0):
                raise RuntimeError(f"{path}, {chunk.row_range}: {int((shard_index < 0).sum())} rows fall outside "
                                   "the plan's shards for this file; the plan is stale (rerun partition_plan)")
            by_position = np.argsort(spatial, kind="stable")
            sorted_index = shard_index[by_position]
            bounds = np.flatnonzero(np.diff(sorted_index)) + 1
            table = table.take(pa.array(by_position)).add_column(0, SPATIAL_COLUMN, pa.array(spatial[by_position]))
            for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(sorted_index)]):
                if stop <= start:
                    continue
                key = shards[int(sorted_index[start])].key
                write_fragment(table.slice(start, stop - start), tmp / f"{key}.c{chunk_index:05d}.arrow")
                per_shard[key] = per_shard.get(key, 0) + int(stop - start)
        rejected = pa.concat_tables(rejects) if rejects else REJECT_SCHEMA.empty_table()
        write_parquet(tmp / "_rejects.parquet", rejected)
        reasons, counts = np.unique(np.asarray(rejected.column("reason").to_pylist(), dtype=object).astype(str),
                                    return_counts=True)
        stats = {"file": path, "file_id": fid, "n_rows": n_rows, "n_excluded_by_subset": n_rows - n_selected,
                 "n_rejected": rejected.num_rows,
                 "rejected_by_reason": {str(r): int(c) for r, c in zip(reasons, counts)},
                 "rows_per_shard": dict(sorted(per_shard.items()))}
        write_json(tmp / "_stats.json", stats)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return stats


# --------------------------------------------------------------------------------------------
# Reduce: one shard from the fragments of the files that touch it
# --------------------------------------------------------------------------------------------
SPATIAL_COLUMN = "_healpix_29"


def healpix29(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """The ``_healpix_29`` spatial index of HATS: nested pixel at order 29."""
    return sky.radec_to_healpix(ra, dec, sky.HEALPIX29_ORDER)


def reduce_shard(shard: sky.Shard, split_dirs: list[str], out_path: str, rejects_path: str,
                 compression: str = "snappy") -> dict:
    """Concatenate a shard's fragments, drop duplicate ids (to rejects), sort by ``_healpix_29``, write.

    Fragments are read in file-id order, so which copy of a duplicated id is kept is deterministic.
    """
    fragments = []
    for directory in sorted(split_dirs):
        fragments.extend(sorted(glob.glob(os.path.join(directory, f"{shard.key}.c*.arrow"))))
    if not fragments:
        raise FileNotFoundError(f"shard {shard.key}: no fragments in {split_dirs}")
    tables = [read_fragment(f) for f in fragments]
    table = pa.concat_tables(tables)
    n_in = table.num_rows
    ids = table.column("id")
    if pc.count_distinct(ids).as_py() == n_in:  # a hash count: the common case needs no sort
        rejects = REJECT_SCHEMA.empty_table()
    else:
        _, first = np.unique(ids.to_numpy(), return_index=True)
        keep = np.zeros(n_in, dtype=bool)
        keep[first] = True
        duplicates = table.filter(pa.array(~keep))
        rejects = reject_table(f"shard {shard.key}", np.full(duplicates.num_rows, -1), duplicates,
                               REJECT_DUPLICATE_ID)
        table = table.filter(pa.array(keep))
    # each fragment is sorted by the spatial index (split_file): a stable sort merges the runs
    order = np.argsort(table.column(SPATIAL_COLUMN).to_numpy(), kind="stable")
    table = table.take(pa.array(order))
    write_parquet(rejects_path, rejects)
    write_parquet(out_path, table, compression=compression, use_dictionary=False)
    return {"shard": shard.key, "order": shard.order, "pixel": shard.pixel, "n_in": n_in,
            "n_out": table.num_rows, "n_duplicates": rejects.num_rows}


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
    into_shard: dict[str, int] = {}
    for stats in split_stats:
        placed = sum(stats["rows_per_shard"].values())
        accounted = placed + stats["n_rejected"] + stats["n_excluded_by_subset"]
        if accounted != stats["n_rows"]:
            problems.append(f"{stats['file']}: {stats['n_rows']} rows read but {placed} placed + "
                            f"{stats['n_rejected']} rejected + {stats['n_excluded_by_subset']} excluded")
        planned = plan["files"].get(stats["file_id"], {}).get("n_rows")
        if planned is not None and planned != stats["n_rows"]:
            problems.append(f"{stats['file']}: {stats['n_rows']} rows at split but {planned} when mapped "
                            "(file changed between map and split?)")
        for key, n in stats["rows_per_shard"].items():
            into_shard[key] = into_shard.get(key, 0) + n
        files.append({"file": stats["file"], "rows_in": stats["n_rows"], "rows_placed": placed,
                      "rows_rejected": stats["n_rejected"], "rows_excluded_by_subset": stats["n_excluded_by_subset"]})
    shards = []
    for stats in reduce_stats:
        expected = into_shard.pop(stats["shard"], 0)
        if stats["n_in"] != expected:
            problems.append(f"shard {stats['shard']}: reduce read {stats['n_in']} rows, splits wrote {expected}")
        if stats["n_out"] + stats["n_duplicates"] != stats["n_in"]:
            problems.append(f"shard {stats['shard']}: {stats['n_in']} in ≠ {stats['n_out']} out + "
                            f"{stats['n_duplicates']} duplicates")
        shards.append({"shard": stats["shard"], "order": stats["order"], "pixel": stats["pixel"],
                       "rows": stats["n_out"], "rows_duplicate": stats["n_duplicates"]})
    for key, n in into_shard.items():
        problems.append(f"shard {key}: {n} rows split into it but it was never reduced")
    totals = {
        "rows_in": sum(f["rows_in"] for f in files),
        "rows_excluded_by_subset": sum(f["rows_excluded_by_subset"] for f in files),
        "rows_rejected": sum(f["rows_rejected"] for f in files) + sum(s["rows_duplicate"] for s in shards),
        "rows_in_shards": sum(s["rows"] for s in shards),
    }
    if totals["rows_in"] != totals["rows_excluded_by_subset"] + totals["rows_rejected"] + totals["rows_in_shards"]:
        problems.append(f"totals do not add up: {totals}")
    if problems:
        raise AccountingError(problems)
    return {"totals": totals, "files": files, "shards": shards}


def load_split_stats(split_dir: str) -> dict:
    return read_json(os.path.join(split_dir, "_stats.json"))


# --------------------------------------------------------------------------------------------
# HATS catalogue metadata
# --------------------------------------------------------------------------------------------
def existing_shards(catalog_dir: str) -> set[str]:
    """Keys of the shard files present under ``<catalog_dir>/dataset``."""
    keys = set()
    for path in glob.glob(os.path.join(catalog_dir, "dataset", "Norder=*", "Dir=*", "Npix=*.parquet")):
        order = int(path.split("Norder=")[1].split(os.sep)[0])
        pixel = int(os.path.basename(path)[len("Npix="):-len(".parquet")])
        keys.add(sky.Shard(order, pixel).key)
    return keys


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
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M%Z")
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
