"""Partition a catalogue into HEALPix shards: map → plan → split → reduce, with row accounting.

The stage design follows hats-import (astronomy-commons): a per-file pixel histogram (map), an
adaptive plan that splits a pixel until its shard holds at most ``max_rows`` rows (the HATS
"alignment"), a per-file split into per-shard fragments, and a per-shard reduce that writes the
shard sorted by its ``_healpix_29`` spatial index. Every stage writes its own product and its row
counts; :func:`check_row_accounting` proves that every input row is in exactly one shard or in a
reject file with its reason.
"""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from zshard import sky
from zshard.io import CatalogSpec, atomic_path, iter_catalog, read_json, write_json, write_parquet

REJECT_INVALID_COORDINATES = "invalid coordinates (non-finite or out of range)"
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


def _reject_frame(path: str, rows: np.ndarray, frame: pd.DataFrame, reason: str) -> pd.DataFrame:
    return pd.DataFrame({"file": path, "row": rows, "id": frame["id"].to_numpy(), "ra": frame["ra"].to_numpy(),
                         "dec": frame["dec"].to_numpy(), "reason": reason})


# --------------------------------------------------------------------------------------------
# Map: pixel histogram per input file
# --------------------------------------------------------------------------------------------
def map_file(path: str, spec: CatalogSpec, histogram_order: int, out_path: str, chunk_rows: int) -> dict:
    """Count the valid rows of one file per pixel at ``histogram_order``; write a sparse ``.npz``."""
    counts = np.zeros(12 * 4**histogram_order, dtype=np.int64)
    n_rows = n_selected = n_invalid = 0
    for chunk in iter_catalog(path, spec, chunk_rows):
        n_rows += chunk.n_rows
        n_selected += len(chunk.frame)
        ra, dec = chunk.frame["ra"].to_numpy(), chunk.frame["dec"].to_numpy()
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


def plan_shards(plan: dict) -> list[sky.Shard]:
    return [sky.Shard(e["order"], e["pixel"]) for e in plan["shards"]]


# --------------------------------------------------------------------------------------------
# Split: one file into per-shard fragments
# --------------------------------------------------------------------------------------------
def split_file(path: str, fid: str, spec: CatalogSpec, plan: dict, out_dir: str, chunk_rows: int,
               compression: str = "snappy") -> dict:
    """Write this file's rows as fragments ``<shard key>.c<chunk>.parquet`` in ``out_dir``.

    Rows with invalid coordinates go to ``_rejects.parquet`` with their file row number and reason.
    The directory is assembled under a temporary name and renamed when complete. Returns (and writes
    to ``_stats.json``) the row accounting of the file.
    """
    shards = plan_shards(plan)
    order = plan["histogram_order"]
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
            frame = chunk.frame
            n_selected += len(frame)
            ra, dec = frame["ra"].to_numpy(), frame["dec"].to_numpy()
            valid = sky.valid_coordinates(ra, dec)
            if not valid.all():
                rejects.append(_reject_frame(path, chunk.rows[~valid], frame[~valid], REJECT_INVALID_COORDINATES))
            frame = frame[valid]
            shard_index = sky.assign_shards(sky.radec_to_healpix(ra[valid], dec[valid], order), shards, order)
            if np.any(shard_index < 0):
                raise RuntimeError(f"{path}: {int((shard_index < 0).sum())} rows fall outside the plan's shards; "
                                   "the plan is stale (rerun the partition plan)")
            by_shard = np.argsort(shard_index, kind="stable")
            sorted_index = shard_index[by_shard]
            bounds = np.flatnonzero(np.diff(sorted_index)) + 1
            table = pa.Table.from_pandas(frame.iloc[by_shard], preserve_index=False)
            for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(sorted_index)]):
                if stop <= start:
                    continue
                key = shards[int(sorted_index[start])].key
                pq.write_table(table.slice(start, stop - start), tmp / f"{key}.c{chunk_index:05d}.parquet",
                               compression=compression)
                per_shard[key] = per_shard.get(key, 0) + int(stop - start)
        reject_frame = (pd.concat(rejects, ignore_index=True) if rejects
                        else pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                                           zip(REJECT_COLUMNS, ["str", "int64", "int64", "float64", "float64", "str"])}))
        write_parquet(tmp / "_rejects.parquet", reject_frame)
        stats = {"file": path, "file_id": fid, "n_rows": n_rows, "n_excluded_by_subset": n_rows - n_selected,
                 "n_rejected": len(reject_frame),
                 "rejected_by_reason": reject_frame["reason"].value_counts().to_dict(),
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
        fragments.extend(sorted(glob.glob(os.path.join(directory, f"{shard.key}.c*.parquet"))))
    if not fragments:
        raise FileNotFoundError(f"shard {shard.key}: no fragments in {split_dirs}")
    tables = [pq.read_table(f) for f in fragments]
    table = pa.concat_tables(tables)
    n_in = table.num_rows
    ids = table.column("id").to_numpy()
    _, first = np.unique(ids, return_index=True)
    keep = np.zeros(n_in, dtype=bool)
    keep[first] = True
    duplicates = table.filter(pa.array(~keep)).to_pandas()
    rejects = pd.DataFrame({"file": f"shard {shard.key}", "row": np.full(len(duplicates), -1, dtype=np.int64),
                            "id": duplicates["id"].to_numpy(np.int64), "ra": duplicates["ra"].to_numpy(np.float64),
                            "dec": duplicates["dec"].to_numpy(np.float64), "reason": REJECT_DUPLICATE_ID})
    table = table.filter(pa.array(keep))
    spatial = healpix29(table.column("ra").to_numpy(), table.column("dec").to_numpy())
    order = np.argsort(spatial, kind="stable")
    table = table.take(pa.array(order)).add_column(0, "_healpix_29", pa.array(spatial[order]))
    write_parquet(rejects_path, rejects)
    write_parquet(out_path, table, compression=compression,
                  metadata={"zshard.shard": shard.key})
    return {"shard": shard.key, "order": shard.order, "pixel": shard.pixel, "n_in": n_in,
            "n_out": table.num_rows, "n_duplicates": len(rejects)}


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
