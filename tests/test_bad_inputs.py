"""The bad-input matrix (issue 16): one test per case, each ending in either a reject record with its
reason and provenance (input file, row), or a clear error naming the file, the column and the row
range — never a silently dropped row or a silently changed value. ``docs/reliability.md`` lists the
cases with their outcomes.

Most cases run the partitioner (split → plan → reduce → accounting) or the readers on tiny files;
the ones that need the workflow's parse-time checks run Snakemake's dry run (``-n``, no job runs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from astropy.table import Table

from zshard import partition, sky
from zshard.io import catalogs

BANDS = ("g", "r")
SPEC = catalogs.CatalogSpec(bands=BANDS)


def _frame(n: int = 200, first_id: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": np.arange(n, dtype=np.int64) + first_id, "ra": rng.uniform(10.0, 20.0, n),
                         "dec": rng.uniform(-5.0, 5.0, n), "mag_g": rng.uniform(20, 24, n).astype(np.float32),
                         "magerr_g": np.float32(0.05), "mag_r": rng.uniform(20, 24, n).astype(np.float32),
                         "magerr_r": np.float32(0.05)})


def _write(frame: pd.DataFrame, path) -> str:
    path = str(path)
    if path.endswith(".parquet"):
        frame.to_parquet(path)
    elif path.endswith(".fits"):
        Table.from_pandas(frame).write(path)
    else:
        frame.to_csv(path, index=False)
    return path


def _partition(tmp_path, paths: list[str], ra_outside_range: str = "reject", spec=SPEC, max_rows: int = 150):
    """Split, plan, reduce and check the accounting; returns the manifest, the shards' rows and every reject."""
    inputs = partition.file_ids(paths)
    split_dirs = {}
    for fid, path in inputs.items():
        split_dirs[fid] = str(tmp_path / "split" / fid)
        partition.split_file(path, fid, spec, 6, split_dirs[fid], chunk_rows=64, ra_outside_range=ra_outside_range)
    plan, _ = partition.make_plan(split_dirs, inputs, max_rows=max_rows, lowest_order=0)
    reduces, shards, rejects = [], [], []
    for entry in plan["shards"]:
        shard = sky.Shard(entry["order"], entry["pixel"])
        record = tmp_path / "reduce" / shard.key
        reduces.append(partition.reduce_shard(shard, [split_dirs[f] for f in entry["files"]],
                                              str(tmp_path / "cat" / shard.hats_path()), str(record), "snappy"))
        shards.append(pq.read_table(tmp_path / "cat" / shard.hats_path()).to_pandas())
        rejects.append(pd.read_parquet(record / partition.REDUCE_REJECTS))
    split_stats = [partition.load_split_stats(d) for d in split_dirs.values()]
    rejects += [pd.read_parquet(f"{d}/{partition.SPLIT_REJECTS}") for d in split_dirs.values()]
    manifest = partition.check_row_accounting(plan, split_stats, reduces)
    placed = pd.concat(shards, ignore_index=True) if shards else pd.DataFrame(columns=["id"])
    rejected = pd.concat([r for r in rejects if len(r)], ignore_index=True) if any(len(r) for r in rejects) else \
        pd.DataFrame(columns=["file", "row", "id", "ra", "dec", "reason"])
    # conservation: every row read is in one shard, or rejected with its reason, or left out by a subset
    totals = manifest["totals"]
    assert totals["rows_in"] == totals["rows_in_shards"] + totals["rows_rejected"] + totals["rows_excluded_by_subset"]
    assert len(placed) == totals["rows_in_shards"] and len(rejected) == totals["rows_rejected"]
    assert placed["id"].is_unique
    return manifest, placed, rejected


# --------------------------------------------------------------------------------------------
# Coordinates
# --------------------------------------------------------------------------------------------
BAD_POSITIONS = {  # row: (ra, dec, reason when ra_outside_range is reject)
    3: (-10.0, 1.0, partition.REJECT_RA_OUT_OF_RANGE),
    4: (360.0, 1.0, partition.REJECT_RA_OUT_OF_RANGE),
    5: (370.0, 1.0, partition.REJECT_RA_OUT_OF_RANGE),
    6: (12.0, 91.0, partition.REJECT_DEC_OUT_OF_RANGE),
    7: (12.0, -90.5, partition.REJECT_DEC_OUT_OF_RANGE),
    8: (np.nan, 1.0, partition.REJECT_COORDINATES_NOT_FINITE),
    9: (12.0, np.inf, partition.REJECT_COORDINATES_NOT_FINITE),
    10: (-1000.0, 1.0, partition.REJECT_RA_OUT_OF_RANGE),
}


def _bad_positions(tmp_path, suffix: str) -> str:
    frame = _frame()
    for row, (ra, dec, _) in BAD_POSITIONS.items():
        frame.loc[row, ["ra", "dec"]] = [ra, dec]
    return _write(frame, tmp_path / f"positions{suffix}")


@pytest.mark.parametrize("suffix", [".parquet", ".fits", ".csv"])
def test_ra_and_dec_out_of_range_are_rejected_with_their_reason_file_and_row(tmp_path, suffix):
    path = _bad_positions(tmp_path, suffix)
    manifest, placed, rejected = _partition(tmp_path, [path])
    assert len(placed) == 200 - len(BAD_POSITIONS)
    assert ((placed["ra"] >= 0) & (placed["ra"] < 360) & (placed["dec"].abs() <= 90)).all()
    rejected = rejected.sort_values("row")
    assert rejected["row"].tolist() == sorted(BAD_POSITIONS)
    assert rejected["reason"].tolist() == [BAD_POSITIONS[r][2] for r in sorted(BAD_POSITIONS)]
    assert set(rejected["file"]) == {path}
    assert rejected["id"].tolist() == sorted(BAD_POSITIONS)  # ids equal rows in _frame
    assert manifest["totals"]["rows_ra_wrapped"] == 0


def test_ra_outside_range_wraps_when_asked_and_counts_it(tmp_path):
    path = _bad_positions(tmp_path, ".parquet")
    manifest, placed, rejected = _partition(tmp_path, [path], ra_outside_range="wrap")
    by_id = placed.set_index("id")
    assert by_id.loc[3, "ra"] == pytest.approx(350.0) and by_id.loc[4, "ra"] == 0.0
    assert by_id.loc[5, "ra"] == pytest.approx(10.0)
    assert manifest["totals"]["rows_ra_wrapped"] == manifest["files"][0]["rows_ra_wrapped"] == 3
    assert ((placed["ra"] >= 0) & (placed["ra"] < 360)).all()
    # a shard holds only rows of its own pixel: the wrapped value is the one placed
    reasons = dict(zip(rejected["row"], rejected["reason"]))
    assert reasons == {6: partition.REJECT_DEC_OUT_OF_RANGE, 7: partition.REJECT_DEC_OUT_OF_RANGE,
                       8: partition.REJECT_COORDINATES_NOT_FINITE, 9: partition.REJECT_COORDINATES_NOT_FINITE,
                       10: partition.REJECT_RA_TOO_FAR}


def test_check_coordinates_wraps_into_the_half_open_range():
    ra, problem, wrapped = sky.check_coordinates(np.array([-1e-17, -180.0, 359.999, 719.0, 720.0]),
                                                 np.zeros(5), "wrap")
    assert ra[:4].tolist() == [0.0, 180.0, 359.999, pytest.approx(359.0)]
    assert wrapped.tolist() == [True, True, False, True, False]
    assert problem.tolist() == [0, 0, 0, 0, sky.RA_OUT_OF_RANGE]
    with pytest.raises(ValueError, match="ra_outside_range"):
        sky.check_coordinates(ra, np.zeros(5), "clip")


# --------------------------------------------------------------------------------------------
# Duplicate ids
# --------------------------------------------------------------------------------------------
def test_duplicate_id_within_one_file_names_the_file_and_row(tmp_path):
    frame = _frame()
    frame.loc[57, "id"] = 12  # row 57 repeats the id of row 12, near it on the sky
    frame.loc[57, ["ra", "dec"]] = frame.loc[12, ["ra", "dec"]].to_numpy() + 1e-5
    path = _write(frame, tmp_path / "dups.parquet")
    _, placed, rejected = _partition(tmp_path, [path])
    assert len(placed) == 199
    assert rejected[["file", "row", "id", "reason"]].values.tolist() == [[path, 57, 12, partition.REJECT_DUPLICATE_ID]]


def test_duplicate_id_across_files_names_the_later_file_and_its_row(tmp_path):
    first = _frame()
    second = _frame(first_id=1000, seed=1)
    second.loc[33, ["id", "ra", "dec"]] = [150, first.loc[150, "ra"], first.loc[150, "dec"]]  # an overlap
    paths = [_write(first, tmp_path / "tile_a.parquet"), _write(second, tmp_path / "tile_b.fits")]
    _, placed, rejected = _partition(tmp_path, paths)
    assert len(placed) == 399
    assert rejected[["file", "row", "id"]].values.tolist() == [[paths[1], 33, 150]]
