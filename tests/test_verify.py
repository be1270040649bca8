"""make verify (zshard.verify): damaged products are found against the manifests' checksums."""

import json
import os

import pyarrow.parquet as pq
import pytest
from test_bad_inputs import _frame, _partition, _write

from zshard import verify


def _catalog(tmp_path):
    """A partition under tmp_path/results/catalog with its manifest, as rule partition_manifest writes it."""
    results = tmp_path / "results"
    paths = [_write(_frame(300), tmp_path / "a.parquet"),
             _write(_frame(300, first_id=1000, seed=1), tmp_path / "b.csv")]
    manifest, _, _ = _partition(results, paths)
    os.rename(results / "cat", results / "catalog")
    (results / "catalog" / "manifest.json").write_text(json.dumps(manifest))
    return results, manifest


def test_an_intact_catalogue_verifies(tmp_path):
    results, manifest = _catalog(tmp_path)
    assert len(manifest["shards"]) >= 3 and all(s["sha256"] and s["bytes"] for s in manifest["shards"])
    assert verify.verify(str(results)) == (len(manifest["shards"]), [])
    assert verify.main([str(results)]) == 0


def test_a_truncated_an_altered_and_a_missing_shard_are_named_with_how_to_regenerate_them(tmp_path, capsys):
    results, manifest = _catalog(tmp_path)
    truncated, altered, missing = (results / "catalog" / s["path"] for s in manifest["shards"][:3])
    truncated.write_bytes(truncated.read_bytes()[:-100])
    table = pq.read_table(altered)
    pq.write_table(table.slice(1), altered)  # one row fewer, a valid file
    missing.unlink()
    checked, problems = verify.verify(str(results))
    assert checked == len(manifest["shards"]) and len(problems) == 3
    by_file = {problem.split(": ", 1)[0]: problem for problem in problems}
    assert "bytes, the manifest recorded" in by_file[str(truncated)]
    assert "unreadable as Parquet" in by_file[str(truncated)]
    assert "SHA-256 differs" in by_file[str(altered)]
    assert f"{table.num_rows - 1} rows, the manifest recorded {table.num_rows}" in by_file[str(altered)]
    assert "missing" in by_file[str(missing)]
    assert all(f"run the same snakemake command with --forcerun {p.split(': ', 1)[0]} (-R)" in p for p in problems)
    assert "its partition_reduce job and every job that depends on it rerun" in by_file[str(truncated)]
    assert verify.main([str(results)]) == 1
    assert f"{checked} files checked against their manifests, 3 problems" in capsys.readouterr().out


def test_a_job_refuses_a_truncated_or_altered_shard_naming_it_and_how_to_regenerate_it(tmp_path):
    """The check before downstream use (rule fanout_shard): the shard against its reduce's record."""
    from zshard.partition import REDUCE_STATS, reduce_record

    results, manifest = _catalog(tmp_path)
    intact, truncated, altered = ((str(results / "catalog" / shard["path"]),
                                   reduce_record(str(results / "reduce" / shard["shard"] / REDUCE_STATS)))
                                  for shard in manifest["shards"][:3])
    assert intact[1] == {k: manifest["shards"][0][k] for k in ("rows", "sha256", "bytes")}
    verify.require_intact(*intact, "partition_reduce")
    path, expected = truncated
    with open(path, "r+b") as handle:
        handle.truncate(expected["bytes"] - 100)
    with pytest.raises(verify.DamagedInput, match="truncated") as error:
        verify.require_intact(path, expected, "partition_reduce")
    assert str(error.value).startswith(f"damaged input: {path}: ")
    assert f"--forcerun {path} (-R): its partition_reduce job" in str(error.value)
    path, expected = altered
    table = pq.read_table(path)
    pq.write_table(table.slice(1), path)
    with pytest.raises(verify.DamagedInput, match=f"{table.num_rows - 1} rows, the manifest recorded"):
        verify.require_intact(path, expected, "partition_reduce")


@pytest.mark.integration
def test_the_workflow_records_what_verify_checks(mock_run):
    _, _, results = mock_run
    checked, problems = verify.verify(str(results))
    assert not problems, problems
    manifest = json.loads((results / "catalog" / "manifest.json").read_text())
    assert checked >= len(manifest["shards"]) > 0


@pytest.mark.integration
def test_the_content_digest_ignores_row_order_file_layout_and_metadata(mock_run, tmp_path, capsys):
    """What the determinism and crash tests compare (zshard.verify.content_digests)."""
    import shutil

    _, _, results = mock_run
    digests = verify.content_digests(results)
    assert {"nz/nz.txt", "validation/delta_z_table.json"} <= set(digests)
    assert sum(name.startswith("pdf/calibrated/") for name in digests) == len(list(results.glob("pdf/calibrated/*")))
    copy = tmp_path / "results"
    for name in digests:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(results / name, copy / name)
    shard = next(name for name in digests if name.startswith("catalog/"))
    table = pq.read_table(results / shard)
    pq.write_table(table.take(list(range(table.num_rows))[::-1]).replace_schema_metadata({"x": "y"}), copy / shard,
                   row_group_size=max(1, table.num_rows // 3))
    (copy / ".hidden.tmp1.parquet").write_bytes(b"a killed writer's")
    assert verify.content_digests(copy) == digests
    pq.write_table(table.slice(1), copy / shard)
    assert verify.content_digests(copy)[shard] != digests[shard]
    assert verify.main([str(results), "--digest"]) == 0
    assert f"{len(digests)} products of {results}" in capsys.readouterr().out


def test_a_damaged_pdf_table_is_named_with_the_rule_that_remakes_it(tmp_path):
    import shutil

    from zshard.io.checksums import record

    results, manifest = _catalog(tmp_path)
    (results / "pdf" / "calibrated").mkdir(parents=True)
    entries = []
    for shard in manifest["shards"]:  # stand-ins for the p(z) tables: one row per object of the shard
        table = results / "pdf" / "calibrated" / f"{shard['shard']}.parquet"
        shutil.copy(results / "catalog" / shard["path"], table)
        entries.append({"path": f"pdf/calibrated/{table.name}", "rule": "fanout_shard", **record(table)})
    (results / "pdf" / "manifest.json").write_text(json.dumps({"tables": entries}))
    checked, problems = verify.verify(str(results))
    assert checked == 2 * len(manifest["shards"]) and not problems
    table = results / entries[0]["path"]
    table.write_bytes(table.read_bytes()[: entries[0]["bytes"] // 2])
    checked, problems = verify.verify(str(results))
    assert len(problems) == 1 and problems[0].startswith(f"{table}: ") and "fanout_shard" in problems[0]


def test_pdf_tables_conserve_their_shards_rows():
    shards = [{"shard": "o1_p2", "rows": 10}, {"shard": "o1_p3", "rows": 5}]
    tables = [{"path": "tomography/bins/o1_p2.parquet", "rule": "fanout_shard", "rows": 10},
              {"path": "tomography/bins/o1_p3.parquet", "rule": "fanout_shard", "rows": 5},
              {"path": "pdf/calibrated/o1_p2.parquet", "rule": "fanout_shard", "rows": 9}]
    assert verify.pdf_rows_problems(shards, tables[:2]) == []
    assert verify.pdf_rows_problems(shards, tables) == [
        "shard o1_p3: no table in pdf/calibrated/",
        "pdf/calibrated/o1_p2.parquet (fanout_shard): 9 rows, its shard has 10"]
    partials = [{"path": "tomography/partials/o1_p2.npz", "rule": "fanout_shard", "rows": 10},
                {"path": "tomography/partials/o1_p3.npz", "rule": "fanout_shard", "rows": 6}]
    assert verify.pdf_rows_problems(shards, partials) == [
        "tomography/partials/o1_p3.npz (fanout_shard): 6 rows, its shard has 5"]
