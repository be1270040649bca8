import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.table import Table

from zshard import partition, sky
from zshard.io import catalogs

BANDS = ("g", "r")


def _write_inputs(tmp_path):
    rng = np.random.default_rng(2)
    paths = []
    first = None
    for k, suffix in enumerate([".parquet", ".fits", ".csv"]):
        n = 3000
        frame = pd.DataFrame({"id": np.arange(n, dtype=np.int64) + k * n,
                              "ra": rng.normal(150, 3, n) % 360, "dec": np.clip(rng.normal(2, 3, n), -90, 90),
                              "mag_g": rng.uniform(20, 25, n), "magerr_g": 0.05, "mag_r": rng.uniform(20, 25, n),
                              "magerr_r": 0.05})
        if k == 1:
            frame.loc[10, "ra"] = np.nan
            frame.loc[11, "dec"] = 95.0
        if k == 0:
            first = frame
        if k == 2:  # object 5 of file 0 again (an overlap between input tiles): same id, same position
            frame.loc[0, ["id", "ra", "dec"]] = [5, first.loc[5, "ra"], first.loc[5, "dec"]]
            frame["ra"] = frame["ra"].astype(object)
            frame.loc[7, "ra"] = "n/a"  # a CSV row that cannot be read
        path = str(tmp_path / f"part{k}{suffix}")
        if suffix == ".parquet":
            frame.to_parquet(path)
        elif suffix == ".fits":
            Table.from_pandas(frame).write(path)
        else:
            frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def _run(tmp_path, paths, max_rows=1500):
    spec = catalogs.CatalogSpec(bands=BANDS)
    inputs = partition.file_ids(paths)
    split_dirs = {}
    for fid, path in inputs.items():
        split_dirs[fid] = str(tmp_path / "split" / fid)
        partition.split_file(path, fid, spec, 8, split_dirs[fid], chunk_rows=1000, ra_outside_range="reject")
    plan, _ = partition.make_plan(split_dirs, inputs, max_rows=max_rows, lowest_order=0)
    splits = list(split_dirs.values())
    reduces = []
    for entry in plan["shards"]:
        shard = sky.Shard(entry["order"], entry["pixel"])
        dirs = [str(tmp_path / "split" / f) for f in entry["files"]]
        reduces.append(partition.reduce_shard(shard, dirs, str(tmp_path / "cat" / shard.hats_path()),
                                              str(tmp_path / "reduce" / shard.key), "snappy",
                                              close_pair_arcsec=0.5))
    return plan, splits, reduces


def test_partition_conserves_rows_and_writes_sorted_hats_shards(tmp_path):
    paths = _write_inputs(tmp_path)
    plan, splits, reduces = _run(tmp_path, paths)
    assert len(plan["shards"]) > 3 and max(e["rows"] for e in plan["shards"]) <= 1500
    manifest = partition.check_row_accounting(plan, [partition.load_split_stats(d) for d in splits], reduces)
    totals = manifest["totals"]
    assert totals["rows_in"] == 9000
    assert totals["rows_rejected"] == 4  # two bad coordinates, one unparsable row, one duplicate id
    assert totals["rows_in_shards"] == 8996
    ids = []
    for entry in plan["shards"]:
        shard = sky.Shard(entry["order"], entry["pixel"])
        table = pq.read_table(tmp_path / "cat" / shard.hats_path()).to_pandas()
        assert table.columns[0] == "_healpix_29"
        assert table["_healpix_29"].is_monotonic_increasing
        # every row really lies in its shard's pixel
        assert (sky.assign_shards(table["_healpix_29"].to_numpy(), [shard], 29) == 0).all()
        ids.extend(table["id"])
    assert len(ids) == len(set(ids)) == 8996
    rejects = pd.read_parquet(tmp_path / "split" / "part1" / "_rejects.parquet")
    assert sorted(rejects["row"]) == [10, 11]
    assert rejects.sort_values("row")["reason"].tolist() == [partition.REJECT_COORDINATES_NOT_FINITE,
                                                             partition.REJECT_DEC_OUT_OF_RANGE]
    assert rejects["file"].iloc[0].endswith("part1.fits")
    csv_rejects = pd.read_parquet(tmp_path / "split" / "part2" / "_rejects.parquet")
    assert csv_rejects["row"].tolist() == [7] and "'n/a'" in csv_rejects["reason"].iloc[0]


def test_accounting_fails_loudly_when_rows_go_missing(tmp_path):
    paths = _write_inputs(tmp_path)
    plan, splits, reduces = _run(tmp_path, paths)
    split_stats = [partition.load_split_stats(d) for d in splits]
    lost = {**reduces[0], "n_in": reduces[0]["n_in"] - 1, "n_out": reduces[0]["n_out"] - 1}
    with pytest.raises(partition.AccountingError, match=reduces[0]["shard"]):
        partition.check_row_accounting(plan, split_stats, [lost, *reduces[1:]])
    # a reduce that took a row fewer from one file than the split placed: that file is named
    fid = next(f for f, n in reduces[0]["rows_from"].items() if n)
    short = {**reduces[0], "rows_from": {**reduces[0]["rows_from"], fid: reduces[0]["rows_from"][fid] - 1}}
    with pytest.raises(partition.AccountingError, match=f"{fid}.*placed"):
        partition.check_row_accounting(plan, split_stats, [short, *reduces[1:]])
    with pytest.raises(partition.AccountingError, match="never reduced"):
        partition.check_row_accounting(plan, split_stats, reduces[1:])


@pytest.mark.parametrize("batch_rows", [128, 32_768])
def test_split_rows_are_sorted_runs_and_a_shard_is_a_binary_search(tmp_path, monkeypatch, batch_rows):
    """Each chunk of a file is one sorted run (in batches); a shard's rows come from every run."""
    monkeypatch.setattr(partition, "SPLIT_BATCH_ROWS", batch_rows)
    paths = _write_inputs(tmp_path)
    plan, splits, reduces = _run(tmp_path, paths)
    with pa.memory_map(os.path.join(splits[0], partition.SPLIT_ROWS)) as source:
        reader = pa.ipc.open_file(source)
        assert reader.num_record_batches == 3 * -(-1000 // batch_rows)  # 3000 rows in chunks of 1000
        for i in range(reader.num_record_batches):
            assert pd.Series(reader.get_batch(i).column(0).to_numpy()).is_monotonic_increasing
    split_stats = [partition.load_split_stats(d) for d in splits]
    assert partition.check_row_accounting(plan, split_stats, reduces)["totals"]["rows_in_shards"] == 8996
    pixels, counts, info = partition.read_histogram(splits[0])
    assert counts.sum() == info["n_selected"] - info["n_invalid"] == 3000
    for entry in plan["shards"]:
        shard = sky.Shard(entry["order"], entry["pixel"])
        rows = partition.shard_rows(splits[0], shard)
        assert (sky.assign_shards(rows.column(partition.SPATIAL_COLUMN).to_numpy(), [shard], 29) == 0).all()
        in_shard = sky.assign_shards(pixels, [shard], info["histogram_order"]) == 0
        assert rows.num_rows == counts[in_shard].sum()


def test_ids_in_several_shards_are_found_in_bounded_passes(tmp_path):
    """The same id at two far-apart positions lands in two shards: the manifest's check finds it."""
    paths = _write_inputs(tmp_path)
    far = pd.DataFrame({"id": [17, 10**6], "ra": [300.0, 301.0], "dec": [-60.0, -61.0], "mag_g": [22.0, 22.0],
                        "magerr_g": [0.1, 0.1], "mag_r": [21.0, 21.0], "magerr_r": [0.1, 0.1]})
    far.to_parquet(tmp_path / "far.parquet")  # id 17 is also object 17 of part0, near (150, 2)
    plan, _, reduces = _run(tmp_path, paths + [str(tmp_path / "far.parquet")])
    id_files = {e["key"]: str(tmp_path / "reduce" / e["key"] / partition.REDUCE_IDS) for e in plan["shards"]}
    for max_ids in (50_000_000, 1000):  # one pass, and several
        found = partition.ids_in_several_shards(id_files, max_ids_per_pass=max_ids).to_pandas()
        assert found["id"].tolist() == [17, 17] and found["shard"].nunique() == 2, found
    far_shard = next(e["key"] for e in plan["shards"] if "far" in e["files"])
    assert far_shard in set(found["shard"])
    # without the far file: no id in two shards (the within-shard duplicate was rejected by its reduce)
    del id_files[far_shard]
    assert partition.ids_in_several_shards(id_files, max_ids_per_pass=1000).num_rows == 0


def test_reduce_reads_only_the_files_that_touch_a_shard(tmp_path):
    paths = _write_inputs(tmp_path)
    far = pd.DataFrame({"id": [10**6], "ra": [300.0], "dec": [-60.0], "mag_g": [22.0], "magerr_g": [0.1],
                        "mag_r": [21.0], "magerr_r": [0.1]})
    far.to_parquet(tmp_path / "far.parquet")
    plan, _, _ = _run(tmp_path, paths + [str(tmp_path / "far.parquet")])
    touched = [e for e in plan["shards"] if "far" in e["files"]]
    assert len(touched) == 1 and touched[0]["files"] == ["far"] and touched[0]["rows"] == 1


def test_split_is_atomic_directory(tmp_path):
    paths = _write_inputs(tmp_path)
    _run(tmp_path, paths)
    assert not any(name.startswith(".") for name in os.listdir(tmp_path / "split"))
    assert os.path.exists(tmp_path / "split" / "part0" / "_stats.json")
    assert not any(name.startswith(".") for name in os.listdir(tmp_path / "reduce"))
    record = next((tmp_path / "reduce").iterdir())
    assert sorted(os.listdir(record)) == sorted([partition.REDUCE_STATS, partition.REDUCE_REJECTS,
                                                 partition.REDUCE_IDS, partition.REDUCE_CLOSE_PAIRS])


def test_same_file_name_twice_is_refused(tmp_path):
    with pytest.raises(ValueError, match="same name"):
        partition.file_ids([str(tmp_path / "a" / "cat.fits"), str(tmp_path / "b" / "cat.fits")])
