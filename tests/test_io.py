import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.table import Table

from zshard.io import atomic, catalogs, ids, sampled


def _frame(n=50):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"OBJ": np.arange(n, dtype=np.int64) + 100, "RA": rng.uniform(0, 10, n),
                         "DEC": rng.uniform(-5, 5, n), "MAG_G": rng.uniform(20, 24, n),
                         "MAG_ERR_G": rng.uniform(0.01, 0.1, n), "MAG_R": rng.uniform(20, 24, n),
                         "MAG_ERR_R": rng.uniform(0.01, 0.1, n), "Z": rng.uniform(0, 2, n)})


SPEC = dict(bands=("g", "r"), id_column="OBJ", ra_column="RA", dec_column="DEC", magnitude_column="MAG_{BAND}",
            error_column="MAG_ERR_{BAND}", redshift_column="Z", sentinels=(-9.999e9, 99.0))


@pytest.mark.parametrize("suffix", [".parquet", ".fits", ".csv"])
def test_every_format_reads_in_chunks_into_canonical_columns(tmp_path, suffix):
    frame = _frame()
    frame.loc[3, "MAG_G"] = -9.999e9
    frame.loc[4, "MAG_R"] = 99.0
    path = str(tmp_path / f"cat{suffix}")
    if suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".fits":
        Table.from_pandas(frame).write(path)
    else:
        frame.to_csv(path, index=False)
    spec = catalogs.CatalogSpec(**SPEC)
    chunks = list(catalogs.iter_catalog(path, spec, chunk_rows=20 if suffix != ".csv" else 1000))
    table = pd.concat([c.table.to_pandas() for c in chunks], ignore_index=True)
    assert list(table.columns) == ["id", "ra", "dec", "mag_g", "mag_r", "magerr_g", "magerr_r", "z_spec"]
    assert len(table) == 50 and table["id"].tolist() == list(range(100, 150))
    assert np.isnan(table.loc[3, "mag_g"]) and np.isnan(table.loc[4, "mag_r"])
    assert np.isfinite(table.drop(index=[3, 4])[["mag_g", "mag_r"]].to_numpy()).all()
    if suffix != ".csv":
        assert [c.row_start for c in chunks] == [0, 20, 40]
    assert catalogs.count_rows(path) == 50


def test_missing_column_names_file_and_column(tmp_path):
    path = str(tmp_path / "cat.parquet")
    _frame().drop(columns=["MAG_R"]).to_parquet(path)
    with pytest.raises(catalogs.CatalogError, match=r"cat.parquet.*MAG_R"):
        list(catalogs.iter_catalog(path, catalogs.CatalogSpec(**SPEC)))


def test_non_numeric_values_name_the_row_range(tmp_path):
    path = str(tmp_path / "cat.parquet")
    frame = _frame()
    frame["RA"] = frame["RA"].astype(str)
    frame.loc[30, "RA"] = "twelve"
    frame.to_parquet(path)
    with pytest.raises(catalogs.CatalogError, match=r"'RA', rows 20–39"):
        list(catalogs.iter_catalog(path, catalogs.CatalogSpec(**SPEC), chunk_rows=20))


def test_id_subsets_are_complementary_and_deterministic():
    object_ids = np.arange(10_000)
    below = ids.subset_mask(object_ids, 0.3, seed=5, keep="below")
    above = ids.subset_mask(object_ids, 0.3, seed=5, keep="above")
    assert not np.any(below & above) and np.all(below | above)
    assert abs(below.mean() - 0.3) < 0.02
    assert np.array_equal(below, ids.subset_mask(object_ids, 0.3, seed=5))
    assert not np.array_equal(below, ids.subset_mask(object_ids, 0.3, seed=6))


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            pq.write_table(pa.table({"a": [1]}), tmp)
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []
    with atomic.atomic_path(target) as tmp:
        pq.write_table(pa.table({"a": [1]}), tmp)
    assert os.listdir(tmp_path) == ["out.parquet"]


def test_atomic_path_starts_without_a_stale_temporary(tmp_path):
    target = tmp_path / "out.fits"
    atomic.temporary_sibling(target).write_text("left by a killed job with the same pid")
    with atomic.atomic_path(target) as tmp:
        assert not os.path.exists(tmp)
        with open(tmp, "w") as handle:
            handle.write("new")
    assert os.listdir(tmp_path) == ["out.fits"] and target.read_text() == "new"


def test_the_temporaries_of_killed_writers_of_an_output_are_removed_by_its_next_writer(tmp_path):
    target = tmp_path / "Npix=107.parquet"
    (tmp_path / ".Npix=107.tmp4242.parquet").write_text("a killed job's half-written file")
    (tmp_path / ".Npix=107.tmp77.parquet").mkdir()  # a killed atomic_directory of the same name
    others = [".Npix=1070.tmp4242.parquet", ".Npix=107.tmp4242.npz", "Npix=108.parquet"]
    for name in others:
        (tmp_path / name).write_text("another output's")
    with atomic.atomic_path(target) as tmp:
        pq.write_table(pa.table({"a": [1]}), tmp)
    assert sorted(os.listdir(tmp_path)) == sorted(["Npix=107.parquet", *others])
    record = tmp_path / "Npix=108"
    (tmp_path / ".Npix=108.tmp4242").mkdir()
    with atomic.atomic_directory(record) as tmp:
        (tmp / "stats.json").write_text("{}")
    assert not (tmp_path / ".Npix=108.tmp4242").exists() and (record / "stats.json").exists()


def test_glob_that_matches_nothing_is_an_error(tmp_path):
    with pytest.raises(catalogs.CatalogError, match="no input file"):
        catalogs.expand_paths([str(tmp_path / "*.fits")])


def test_unparsable_csv_rows_are_set_aside_with_their_reason(tmp_path):
    path = tmp_path / "cat.csv"
    path.write_text("OBJ,RA,DEC,MAG_G,MAG_ERR_G,MAG_R,MAG_ERR_R,Z\n"
                    "1,10.0,1.0,22.0,0.1,21.0,0.1,0.5\n"
                    "2,11.0,2.0\n"                                   # too few fields
                    "3,twelve,3.0,22.0,0.1,21.0,0.1,0.5\n"           # not a number
                    "4,13.0,4.0,,0.1,21.0,0.1,0.5\n"                 # empty magnitude: missing, kept
                    "123456789012345678,14.0,5.0,22.0,0.1,21.0,0.1,0.5\n")
    chunks = list(catalogs.iter_catalog(str(path), catalogs.CatalogSpec(**SPEC)))
    assert sum(c.n_rows for c in chunks) == 5
    table = pa.concat_tables([c.table for c in chunks]).to_pandas()
    assert table["id"].tolist() == [1, 4, 123456789012345678]  # 64-bit ids survive exactly
    assert np.isnan(table.loc[1, "mag_g"])
    assert [r for c in chunks for r in c.rows] == [0, 3, 4]
    unparsable = [u for c in chunks for u in c.unparsable]
    assert [row for row, _ in unparsable] == [1, 2]
    assert "fields" in unparsable[0][1] and "'RA'" in unparsable[1][1]


def _shard_tables(tmp_path, n_files=4, n=5000):
    rng = np.random.default_rng(3)
    paths, frames = [], []
    for k in range(n_files):
        frame = pd.DataFrame({"id": rng.permutation(n).astype(np.int64) + k * n,
                              "tomo_bin": rng.integers(-1, 4, n).astype(np.int16),
                              "z_mean": rng.uniform(0, 2, n).astype(np.float32)})
        path = str(tmp_path / f"shard{k}.parquet")
        atomic.write_parquet(path, frame)
        paths.append(path)
        frames.append(frame)
    return paths, pd.concat(frames, ignore_index=True)


def test_sampled_reads_keep_what_a_global_job_needs_and_nothing_more(tmp_path):
    paths, everything = _shard_tables(tmp_path)
    assert sampled.parquet_rows(paths) == len(everything) == 20_000
    # no sample: the same frame as concatenating the files
    pd.testing.assert_frame_equal(sampled.read_rows(paths), everything)
    pd.testing.assert_frame_equal(sampled.read_rows(paths, ["id", "tomo_bin"]), everything[["id", "tomo_bin"]])
    # given ids: their rows, in file order
    wanted = np.array([7, 5003, 19_999, 123_456], dtype=np.int64)
    pd.testing.assert_frame_equal(sampled.read_rows(paths, ids=wanted),
                                  everything[everything["id"].isin(wanted)].reset_index(drop=True))
    assert sampled.read_rows(paths, ids=np.array([], dtype=np.int64)).empty
    # a bounded sample: the id-hashed subset, about max_objects of the rows
    fraction = sampled.sample_fraction(len(everything), 2000)
    assert fraction == 0.1 and sampled.sample_fraction(100, 2000) == 1.0 == sampled.sample_fraction(100, None)
    sample = sampled.read_rows(paths, fraction=fraction, seed=9)
    keep = ids.subset_mask(everything["id"].to_numpy(), fraction, 9)
    pd.testing.assert_frame_equal(sample, everything[keep].reset_index(drop=True))
    assert 1800 < len(sample) < 2200


def test_catalog_sample_streams_any_format_in_chunks(tmp_path):
    frame = _frame(400)
    spec = catalogs.CatalogSpec(**SPEC)
    frames = []
    for suffix in (".parquet", ".fits"):
        path = str(tmp_path / f"truth{suffix}")
        (frame.to_parquet(path) if suffix == ".parquet" else Table.from_pandas(frame).write(path))
        frames.append(path)
    whole = pd.concat([catalogs.read_catalog(p, spec) for p in frames], ignore_index=True)[["id", "z_spec"]]
    pd.testing.assert_frame_equal(
        sampled.read_catalog_sample(frames, spec, ["id", "z_spec"], fraction=1.0, seed=1, chunk_rows=64), whole)
    part = sampled.read_catalog_sample(frames, spec, ["id", "z_spec"], fraction=0.3, seed=1, chunk_rows=64)
    keep = ids.subset_mask(whole["id"].to_numpy(), 0.3, 1)
    pd.testing.assert_frame_equal(part, whole[keep].reset_index(drop=True))
