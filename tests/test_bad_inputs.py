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


def _partition(tmp_path, paths: list[str], ra_outside_range: str = "reject", spec=SPEC, max_rows: int = 150,
               close_pair_arcsec: float = 0.5):
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
                                              str(tmp_path / "cat" / shard.hats_path()), str(record), "snappy",
                                              close_pair_arcsec=close_pair_arcsec))
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


def test_one_object_under_two_ids_from_overlapping_tiles_is_reported(tmp_path):
    first = _frame()
    second = _frame(first_id=1000, seed=1)
    # row 40 of tile b is object 150 of tile a, 0.2 arcsec away, under its own id; row 41 is 2 arcsec away
    second.loc[40, ["ra", "dec"]] = [first.loc[150, "ra"], first.loc[150, "dec"] + 0.2 / 3600]
    second.loc[41, ["ra", "dec"]] = [first.loc[151, "ra"], first.loc[151, "dec"] + 2.0 / 3600]
    paths = [_write(first, tmp_path / "tile_a.parquet"), _write(second, tmp_path / "tile_b.parquet")]
    manifest, placed, rejected = _partition(tmp_path, paths)
    assert len(placed) == 400 and len(rejected) == 0  # reported, not removed
    assert manifest["totals"]["close_pairs"] == 1
    pairs = pd.concat([pd.read_parquet(p) for p in (tmp_path / "reduce").rglob(partition.REDUCE_CLOSE_PAIRS)])
    assert len(pairs) == 1
    pair = pairs.iloc[0]
    assert {(pair["id"], pair["file"], pair["row"]), (pair["other_id"], pair["other_file"], pair["other_row"])} == {
        (150, paths[0], 150), (1040, paths[1], 40)}
    assert pair["separation_arcsec"] == pytest.approx(0.2, rel=1e-3)
    _, _, _ = _partition(tmp_path / "off", paths, close_pair_arcsec=0.0)
    assert not any(len(pd.read_parquet(p)) for p in (tmp_path / "off" / "reduce").rglob(partition.REDUCE_CLOSE_PAIRS))


def test_duplicate_id_across_files_names_the_later_file_and_its_row(tmp_path):
    first = _frame()
    second = _frame(first_id=1000, seed=1)
    second.loc[33, ["id", "ra", "dec"]] = [150, first.loc[150, "ra"], first.loc[150, "dec"]]  # an overlap
    paths = [_write(first, tmp_path / "tile_a.parquet"), _write(second, tmp_path / "tile_b.fits")]
    _, placed, rejected = _partition(tmp_path, paths)
    assert len(placed) == 399
    assert rejected[["file", "row", "id"]].values.tolist() == [[paths[1], 33, 150]]


# --------------------------------------------------------------------------------------------
# Magnitudes and errors: missing values are kept as NaN (the learners are NaN-aware), and counted
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".parquet", ".fits", ".csv"])
def test_nan_and_inf_magnitudes_and_errors_are_missing_and_counted(tmp_path, suffix):
    frame = _frame()
    frame.loc[[1, 2], "mag_g"] = [np.nan, np.inf]
    frame.loc[3, "mag_r"] = -np.inf
    frame.loc[[4, 5], "magerr_g"] = [np.nan, np.inf]
    path = _write(frame, tmp_path / f"nan{suffix}")
    manifest, placed, rejected = _partition(tmp_path, [path])
    assert len(placed) == 200 and len(rejected) == 0  # no object is lost for a missing magnitude
    by_id = placed.set_index("id")
    assert by_id.loc[[1, 2], "mag_g"].isna().all() and np.isnan(by_id.loc[3, "mag_r"])
    assert by_id.loc[[4, 5], "magerr_g"].isna().all()
    assert np.isfinite(by_id.drop(index=[1, 2, 3, 4, 5])[["mag_g", "mag_r", "magerr_g"]].to_numpy()).all()
    assert manifest["files"][0]["values_set_missing"] == {"mag_g": {"not finite": 2}, "mag_r": {"not finite": 1},
                                                          "magerr_g": {"not finite": 2}}


SENTINELS = (99.0, -99.0, -99.9, 99.99, -9.999e9)


@pytest.mark.parametrize("sentinel", SENTINELS)
def test_every_sentinel_style_is_missing_and_counted(tmp_path, sentinel):
    frame = _frame()
    frame.loc[[7, 8], "mag_r"] = sentinel
    frame.loc[9, "magerr_r"] = sentinel
    frame.loc[10, "mag_g"] = 99.5  # near a sentinel but not one: kept as it is
    path = _write(frame, tmp_path / "sentinels.parquet")
    spec = catalogs.CatalogSpec(bands=BANDS, sentinels=SENTINELS)
    manifest, placed, _ = _partition(tmp_path, [path], spec=spec)
    by_id = placed.set_index("id")
    assert by_id.loc[[7, 8], "mag_r"].isna().all() and np.isnan(by_id.loc[9, "magerr_r"])
    assert by_id.loc[10, "mag_g"] == pytest.approx(99.5)
    assert manifest["files"][0]["values_set_missing"] == {"mag_r": {"sentinel": 2}, "magerr_r": {"sentinel": 1}}


def test_negative_errors_are_missing_and_counted(tmp_path):
    frame = _frame()
    frame.loc[[20, 21], "magerr_g"] = [-0.02, -1.0]
    frame.loc[22, "mag_g"] = -1.0  # a negative magnitude is a (very bright) magnitude: kept
    path = _write(frame, tmp_path / "negative.parquet")
    manifest, placed, _ = _partition(tmp_path, [path])
    by_id = placed.set_index("id")
    assert by_id.loc[[20, 21], "magerr_g"].isna().all() and by_id.loc[22, "mag_g"] == -1.0
    assert manifest["files"][0]["values_set_missing"] == {"magerr_g": {"negative error": 2}}


# --------------------------------------------------------------------------------------------
# Columns: checked from the headers before any job runs (zshard.sources.check_input_columns)
# --------------------------------------------------------------------------------------------
def _files_config(tmp_path, **roles) -> dict:
    from zshard.config import with_defaults

    config = {"source": "files", "results": str(tmp_path / "results"), "bands": list(BANDS), "inputs": roles}
    return with_defaults(config)


def _specz(path: str) -> dict:
    """A spec-z role for the column checks (any numeric column serves as its redshift there)."""
    return {"paths": [path], "columns": {"redshift": "ra"}}


def _check(config):
    from zshard.sources import catalog_sources, check_input_columns

    check_input_columns(config, catalog_sources(config))


@pytest.mark.parametrize("suffix", [".parquet", ".fits", ".csv"])
@pytest.mark.parametrize("column", ["id", "ra", "mag_r", "magerr_g"])
def test_a_missing_column_is_named_with_its_file_before_any_job_runs(tmp_path, suffix, column):
    good = _write(_frame(), tmp_path / "good.parquet")
    bad = _write(_frame().drop(columns=[column]), tmp_path / f"bad{suffix}")
    specz = {"paths": [good], "columns": {"redshift": "mag_g"}}
    with pytest.raises(catalogs.CatalogError, match=rf"bad{suffix} \(photometry\): column '{column}'.*missing"):
        _check(_files_config(tmp_path, photometry={"paths": [good, bad]}, specz=specz))


def test_a_band_without_a_column_names_the_band_and_the_template(tmp_path):
    good = _write(_frame(), tmp_path / "good.parquet")
    config = _files_config(tmp_path, photometry={"paths": [good]}, specz=_specz(good))
    config["bands"] = ["g", "r", "i"]
    with pytest.raises(catalogs.CatalogError, match=r"'mag_i' \(mag_i; config inputs.photometry.columns.magnitude"):
        _check(config)


def test_each_role_requires_only_the_columns_it_uses(tmp_path):
    frame = _frame().assign(z=np.linspace(0.1, 2.0, 200))
    phot = _write(frame, tmp_path / "phot.parquet")
    truth = _write(frame[["id", "z"]], tmp_path / "truth.fits")  # no positions, no photometry
    reference = _write(frame[["ra", "dec", "z"]], tmp_path / "reference.csv")  # no ids
    roles = dict(photometry={"paths": [phot]}, specz={"paths": [phot], "columns": {"redshift": "z"}},
                 truth={"paths": [truth], "columns": {"redshift": "z"}},
                 clustering_reference={"paths": [reference], "columns": {"redshift": "z"}})
    config = _files_config(tmp_path, **roles)
    _check(config)  # nothing missing
    from zshard.io.sampled import read_catalog_sample
    from zshard.sources import catalog_sources

    sources = catalog_sources(config)
    truth_spec = catalogs.CatalogSpec.from_config(sources["truth"], [], redshift_name="z_true")
    read = read_catalog_sample([truth], truth_spec, ["id", "z_true"], fraction=0.5, seed=1, chunk_rows=64)
    assert 50 < len(read) < 150 and list(read.columns) == ["id", "z_true"]
    reference_spec = catalogs.CatalogSpec.from_config(sources["clustering_reference"], [], redshift_name="z_spec")
    read = catalogs.read_catalog([reference], reference_spec)
    assert list(read.columns) == ["ra", "dec", "z_spec"] and len(read) == 200
    # what they do use must be there: the reference's positions, the truth's redshift
    roles["clustering_reference"]["paths"] = [_write(frame[["id", "dec", "z"]], tmp_path / "no_ra.parquet")]
    with pytest.raises(catalogs.CatalogError, match=r"no_ra.parquet \(clustering_reference\): column 'ra'"):
        _check(_files_config(tmp_path, **roles))
    roles["clustering_reference"]["paths"] = [reference]
    roles["truth"]["columns"]["redshift"] = "z_true"
    with pytest.raises(catalogs.CatalogError, match=r"truth.fits \(truth\): column 'z_true'.*columns.redshift"):
        _check(_files_config(tmp_path, **roles))


@pytest.mark.parametrize("suffix", [".parquet", ".fits"])
def test_text_in_a_numeric_column_is_refused_from_the_header(tmp_path, suffix):
    frame = _frame()
    frame["mag_g"] = frame["mag_g"].map(lambda v: f"{v:.3f}")
    frame.loc[5, "mag_g"] = "faint"
    bad = _write(frame, tmp_path / f"text{suffix}")
    good = _write(_frame(), tmp_path / "good.parquet")
    with pytest.raises(catalogs.CatalogError, match=rf"text{suffix} \(photometry\): column 'mag_g'.*text.*every row"):
        _check(_files_config(tmp_path, photometry={"paths": [bad]}, specz=_specz(good)))


def test_text_in_a_numeric_csv_column_rejects_that_row_with_its_reason(tmp_path):
    frame = _frame().astype({"mag_g": object})
    frame.loc[5, "mag_g"] = "faint"
    path = _write(frame, tmp_path / "text.csv")
    _, placed, rejected = _partition(tmp_path, [path])
    assert len(placed) == 199
    assert rejected[["file", "row"]].values.tolist() == [[path, 5]]
    assert "'faint'" in rejected["reason"].iloc[0] and "'mag_g'" in rejected["reason"].iloc[0]


def test_a_glob_that_matches_nothing_is_an_error_before_any_job_runs(tmp_path):
    good = _write(_frame(), tmp_path / "good.parquet")
    config = _files_config(tmp_path, photometry={"paths": [str(tmp_path / "tiles" / "*.parquet")]},
                           specz={"paths": [good], "columns": {"redshift": "ra"}})
    with pytest.raises(catalogs.CatalogError, match=r"no input file matches .*tiles/\*\.parquet"):
        _check(config)


# --------------------------------------------------------------------------------------------
# Files: empty, empty after the subset, truncated or corrupt, differing schemas, odd paths
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".parquet", ".fits", ".csv"])
def test_an_empty_file_contributes_no_row_and_is_accounted(tmp_path, suffix):
    full = _write(_frame(), tmp_path / "full.parquet")
    empty = _write(_frame(0), tmp_path / f"empty{suffix}")
    manifest, placed, rejected = _partition(tmp_path, [full, empty])
    assert len(placed) == 200 and len(rejected) == 0
    assert {f["file"]: f["rows_in"] for f in manifest["files"]} == {full: 200, empty: 0}


def test_a_file_empty_after_the_subset_cut_is_accounted(tmp_path):
    """Ids 0…199 in one file, 10⁶… in the other: a subset keeps a fraction of the ids; the file
    whose ids it all leaves out still reads as 200 rows, all of them excluded."""
    from zshard.io.ids import subset_mask

    spec = catalogs.CatalogSpec(bands=BANDS, subset_fraction=0.5, subset_seed=3, subset_keep="below")
    ids = np.arange(10**6, 10**6 + 5000)
    kept = ids[subset_mask(ids, 0.5, 3, "below")][:200]
    left_out = ids[~subset_mask(ids, 0.5, 3, "below")][:200]
    paths = [_write(_frame().assign(id=kept), tmp_path / "kept.parquet"),
             _write(_frame(seed=1).assign(id=left_out), tmp_path / "cut.parquet")]
    manifest, placed, _ = _partition(tmp_path, paths, spec=spec)
    assert sorted(placed["id"]) == sorted(kept)
    files = {f["file"]: f for f in manifest["files"]}
    assert files[paths[1]]["rows_in"] == files[paths[1]]["rows_excluded_by_subset"] == 200
    assert files[paths[1]]["rows_placed"] == 0


def test_no_row_left_to_place_is_a_clear_error(tmp_path):
    spec = catalogs.CatalogSpec(bands=BANDS, subset_fraction=0.0, subset_keep="below")
    path = _write(_frame(), tmp_path / "cut.parquet")
    with pytest.raises(ValueError, match=r"no row to place.*1 input file.*200 rows read, 200 excluded by the subset"):
        _partition(tmp_path, [path], spec=spec)


@pytest.mark.filterwarnings("ignore:File may have been truncated")
@pytest.mark.parametrize("suffix", [".parquet", ".fits"])
def test_a_truncated_file_is_refused_before_any_job_runs_or_named_where_it_fails(tmp_path, suffix):
    path = _write(_frame(5000), tmp_path / f"whole{suffix}")
    data = open(path, "rb").read()
    truncated = tmp_path / f"truncated{suffix}"
    truncated.write_bytes(data[: len(data) // 2])
    good = _write(_frame(), tmp_path / "good.parquet")
    config = _files_config(tmp_path, photometry={"paths": [str(truncated)]},
                           specz={"paths": [good], "columns": {"redshift": "ra"}})
    # Parquet: the footer is gone; FITS: the file is shorter than its header says
    with pytest.raises(catalogs.CatalogError, match=rf"truncated{suffix}: (not a readable Parquet|truncated FITS)"):
        _check(config)
    if suffix == ".fits":  # read anyway (the check skipped), the reader names the file and the row
        with pytest.raises(catalogs.CatalogError, match=rf"truncated{suffix}: unreadable from data row \d+"):
            list(catalogs.iter_catalog(str(truncated), SPEC, chunk_rows=1000))


def test_a_corrupt_parquet_page_names_the_file_and_the_row(tmp_path):
    path = tmp_path / "corrupt.parquet"
    pq.write_table(pa_table(_frame(5000)), path, row_group_size=1000, compression="none")
    data = bytearray(path.read_bytes())
    start = pq.ParquetFile(path).metadata.row_group(2).column(1).data_page_offset
    data[start:start + 64] = bytes(64)  # zero the page header of row group 2's ra; the footer is intact
    path.write_bytes(bytes(data))
    catalogs.file_columns(str(path))  # the header reads
    with pytest.raises(catalogs.CatalogError, match=r"corrupt.parquet: unreadable from data row 2000 on"):
        list(catalogs.iter_catalog(str(path), SPEC, chunk_rows=1000))


def pa_table(frame):
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def test_files_whose_schemas_differ_give_shards_of_one_schema(tmp_path):
    first = _frame()
    second = _frame(first_id=1000, seed=1).astype({"id": np.int32, "mag_g": np.float64, "magerr_r": np.float64})
    second["extra"] = 1  # a column no role reads
    second = second[list(reversed(second.columns))]  # another column order
    paths = [_write(first, tmp_path / "a.parquet"), _write(second, tmp_path / "b.fits")]
    manifest, placed, _ = _partition(tmp_path, paths)
    assert len(placed) == 400
    schemas = {str(pq.read_schema(p)) for p in (tmp_path / "cat").rglob("*.parquet")}
    assert len(schemas) == 1


def test_paths_with_spaces_and_non_ascii_characters(tmp_path):
    directory = tmp_path / "relevé de ciel" / "tuile n°1"
    directory.mkdir(parents=True)
    paths = [_write(_frame(), directory / "Żółw 1.parquet"),
             _write(_frame(first_id=1000, seed=1), directory / "ß 2.csv")]
    manifest, placed, _ = _partition(tmp_path, paths)
    assert len(placed) == 400 and {f["file"] for f in manifest["files"]} == set(paths)
    assert set(partition.file_ids(paths)) == {"Żółw_1", "ß_2"}  # job names: no space


# --------------------------------------------------------------------------------------------
# The spec-z sample: rows that cannot be labels are rejected with their file and row
# --------------------------------------------------------------------------------------------
def _specz_sample(tmp_path, n: int = 400, bad: dict | None = None):
    from zshard.samples import split_labelled

    frame = _frame(n).assign(z=np.linspace(0.05, 2.5, n))
    for row, z in (bad or {}).items():
        frame.loc[row, "z"] = z
    path = _write(frame, tmp_path / "specz.fits")
    spec = catalogs.CatalogSpec(bands=BANDS, redshift_column="z", sentinels=(-99.0,))
    catalog = catalogs.read_catalog([path], spec, chunk_rows=100, provenance=True)
    return path, catalog, lambda **kw: split_labelled(catalog, {"train": 0.6, "validation": 0.2, "test": 0.2},
                                                     seed=1, z_min=0.0, z_max=kw.get("z_max", 2.0),
                                                     min_train=kw.get("min_train", 10))


def test_specz_rows_that_cannot_be_labels_are_rejected_with_file_row_and_reason(tmp_path):
    bad = {3: 0.0, 4: -0.01, 5: np.nan, 6: -99.0, 7: np.inf, 8: 2.2}  # row 8 and the ramp's tail: above z_max
    path, catalog, split = _specz_sample(tmp_path, bad=bad)
    splits, summary, rejects = split()
    above = catalog.index[catalog["z_spec"] > 2.0].tolist()
    assert set(rejects["row"]) == {3, 4, 5, 6, 7, *above} and set(rejects["file"]) == {path}
    reasons = dict(zip(rejects["row"], rejects["reason"]))
    assert reasons[3] == reasons[4] == "redshift <= 0"
    assert reasons[5] == reasons[6] == reasons[7] == "no redshift (NaN, infinite or a sentinel)"
    assert reasons[8] == "redshift above model.z_max (2)"
    kept = pd.concat(splits.values())
    assert len(kept) + len(rejects) == 400 == summary["n_input"]  # conservation
    assert kept["z_spec"].between(0, 2.0, inclusive="right").all()
    assert "_file" not in kept and "_row" not in kept
    assert sum(summary["rejected_by_reason"].values()) == len(rejects)


def test_a_specz_sample_too_small_to_train_on_is_a_clear_error(tmp_path):
    from zshard.samples import SampleError

    path, _, split = _specz_sample(tmp_path, n=60, bad={k: np.nan for k in range(30)})
    with pytest.raises(SampleError, match=rf"too small to train on: \d+ training objects \(samples.min_train is 50\) "
                                          rf"from 60 rows of \['{path}'\]; rejected: .*no redshift.*30"):
        split(min_train=50)


# --------------------------------------------------------------------------------------------
# The workflow: errors before any job runs, and odd paths through Snakemake's shell jobs
# --------------------------------------------------------------------------------------------
def _user_config(tmp_path, photometry: list[str], specz: str) -> dict:
    import yaml
    from conftest import ROOT

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    specz_role = {"paths": [specz], "columns": {"redshift": "z"}}
    config.update(source="files", results=str(tmp_path / "results"), bands=list(BANDS),
                  inputs={"photometry": {"paths": photometry}, "specz": specz_role})
    config["partition"].update(max_rows_per_shard=150, histogram_order=6)
    return config


def _failed_before_any_job(result, tmp_path) -> str:
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Job stats" not in output and "rule " not in output  # no job was scheduled, none ran
    assert not (tmp_path / "results").exists()
    return output


def test_a_config_that_fails_the_schema_is_one_line_naming_the_key(tmp_path):
    from conftest import run_snakemake

    specz = _write(_frame().assign(z=1.0), tmp_path / "specz.parquet")
    config = _user_config(tmp_path, [specz], specz)
    config["partition"]["ra_outside_range"] = "clip"
    output = _failed_before_any_job(run_snakemake(tmp_path / "run", config, check=False), tmp_path)
    assert ("config key partition.ra_outside_range: 'clip' is not one of ['reject', 'wrap'] (each key: "
            "config/README.md") in output
    assert "Failed validating" not in output  # not snakemake's page of schema


def test_a_missing_column_stops_the_workflow_before_any_job_runs(tmp_path):
    from conftest import run_snakemake

    specz = _write(_frame().assign(z=1.0), tmp_path / "specz.parquet")
    bad = _write(_frame(first_id=1000).drop(columns=["magerr_r"]), tmp_path / "tile 2.fits")
    output = _failed_before_any_job(run_snakemake(tmp_path / "run", _user_config(tmp_path, [specz, bad], specz),
                                                  check=False), tmp_path)
    assert f"{bad} (photometry): column 'magerr_r' (magerr_r; config inputs.photometry.columns.error) is missing" \
        in output


@pytest.mark.integration
def test_the_partition_runs_on_paths_with_spaces_and_non_ascii_characters(tmp_path):
    """Snakemake's shell jobs (partition_split, partition_reduce) quote their paths."""
    import json

    from conftest import run_snakemake

    directory = tmp_path / "relevé de ciel"
    directory.mkdir()
    paths = [_write(_frame(), directory / "Żółw 1.parquet"),
             _write(_frame(first_id=1000, seed=1), directory / "ß 2.csv")]
    specz = _write(_frame(first_id=5000).assign(z=1.0), directory / "spec z.fits")
    config = _user_config(tmp_path, paths, specz)
    run_snakemake(tmp_path / "run", config, str(tmp_path / "results" / "catalog" / "manifest.json"))
    manifest = json.loads((tmp_path / "results" / "catalog" / "manifest.json").read_text())
    assert manifest["totals"]["rows_in"] == manifest["totals"]["rows_in_shards"] == 400
    assert {f["file"] for f in manifest["files"]} == set(paths)


# --------------------------------------------------------------------------------------------
# A shard entirely outside the training coverage: flagged object by object, not dropped
# --------------------------------------------------------------------------------------------
def test_a_shard_outside_the_training_coverage_is_flagged_not_dropped():
    from zshard.features import build_features
    from zshard.representativeness import RobustScaling, comparison_space, fit_coverage

    space = comparison_space(BANDS, "adjacent")
    train = _frame(500)
    science = _frame(500, seed=1)
    scaling = RobustScaling.fit(build_features(train, space))
    model, _ = fit_coverage(scaling.transform(build_features(train, space)),
                            scaling.transform(build_features(science, space)), space, scaling, k=10, quantile=0.99)
    inside = model.assess_exact(_frame(200, seed=2))
    outside_shard = _frame(200, seed=3).assign(mag_g=lambda f: f["mag_g"] + 6.0, mag_r=lambda f: f["mag_r"] - 3.0)
    outside = model.assess_exact(outside_shard)
    assert inside["in_coverage"].mean() > 0.9
    assert len(outside["in_coverage"]) == 200 and not outside["in_coverage"].any()  # every object is kept, flagged
    assert (outside["coverage_distance"] > model.threshold).all()
