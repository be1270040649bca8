"""Determinism and crashes: the tiny workflow's products do not depend on the cores, nor on a kill -9.

Every run is compared with the shared uninterrupted run (``mock_run``, ``--cores 2``) by
:func:`zshard.verify.content_digests` (rows sorted by id, without metadata).

The crash test works on a copy of that run whose partition splits are made newer, so that the next
runs redo the partition reduces and everything after them (not the training). It kills, one after
another: a ``partition_reduce`` job while it writes its shard, a ``fanout_shard`` job while it writes
its tables, the Snakemake process itself (with its jobs, as a node crash would) while a
``fanout_shard`` job writes, and the ``reduce_nz`` job while it writes. After each it runs what the
README's troubleshooting says: the same command (with ``profiles/local``, which sets
``rerun-incomplete``), after ``--unlock`` where Snakemake itself was killed. Then it truncates a
shard: the fan-out job that reads it refuses it, naming it and the ``--forcerun`` that remakes it,
and that command completes the run. One chain rather than one test per crash: each run goes on
from the last crash, so the crashes together cost about one run of the per-shard stages.

"A job while it writes": the watcher polls the directories the rule writes for an atomic writer's
temporary file (``.<name>.tmp<pid>.<suffix>``, :mod:`zshard.io.atomic`), checks that the process
``pid`` belongs to this Snakemake's session and runs the rule's script, and kills it with SIGKILL.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_snakemake, snakemake_command

from zshard.verify import content_digests, verify

pytestmark = pytest.mark.integration

PROFILE = ["--profile", str(ROOT / "profiles" / "local")]
TEMPORARY = re.compile(r"^\..*\.tmp(\d+)(\.[\w.]+)?$")
# what each rule writes (directories under the results) and the script its job runs
WRITES = {
    "partition_reduce": ("catalog/dataset/Norder=*/Dir=*", "partition_reduce.py"),
    "fanout_shard": ("pdf/calibrated", "fanout_shard.py"),
    "reduce_nz": ("nz", "reduce_nz.py"),
}
# the fan-out also writes bins, partial n(z) and matched samples: any of them is "while it writes"
FANOUT_DIRECTORIES = ("pdf/calibrated", "tomography/bins", "tomography/partials", "tomography/samples")


def _writer(results: Path, rule: str, session: int) -> tuple[int, Path] | None:
    """(pid, temporary file) of a job of ``rule`` of this session caught writing, if any now."""
    patterns = FANOUT_DIRECTORIES if rule == "fanout_shard" else (WRITES[rule][0],)
    script = WRITES[rule][1]
    for pattern in patterns:
        for directory in results.glob(pattern):
            try:
                names = os.listdir(directory)
            except FileNotFoundError:
                continue
            for name in names:
                match = TEMPORARY.match(name)
                if not match:
                    continue
                pid = int(match.group(1))
                try:
                    if os.getsid(pid) != session:
                        continue
                    with open(f"/proc/{pid}/cmdline", "rb") as handle:
                        if script.encode() not in handle.read():
                            continue
                except (ProcessLookupError, FileNotFoundError):
                    continue  # finished in the meantime
                return pid, directory / name
    return None


def _kill_session(session: int) -> None:
    """SIGKILL to Snakemake (the session's leader) and every job it started (its session), at once."""
    pids = [int(name) for name in os.listdir("/proc") if name.isdigit() and _session_of(int(name)) == session]
    for pid in sorted(pids, key=lambda pid: pid != session):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _session_of(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def _final(temporary: Path) -> Path:
    """The output a temporary file was to become (``.x.tmp123.parquet`` -> ``x.parquet``)."""
    return temporary.with_name(re.sub(r"\.tmp\d+", "", temporary.name[1:], count=1))


def run_and_kill(workdir: Path, config: dict, rule: str, *, whole_run: bool, timeout: float = 1800):
    """Start the workflow; kill -9 a job of ``rule`` caught writing (``whole_run``: the Snakemake
    process and its jobs, its whole process group, at that moment). Returns (return code, output,
    the temporary file the job was writing)."""
    command, env = snakemake_command(workdir, config, *PROFILE)
    log = workdir / f"run-{rule}-{'snakemake' if whole_run else 'job'}.log"
    results = Path(config["results"])
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        caught, deadline = None, time.monotonic() + timeout
        try:
            while process.poll() is None and time.monotonic() < deadline:
                caught = _writer(results, rule, process.pid)
                if caught:
                    if whole_run:
                        _kill_session(process.pid)
                    else:
                        os.kill(caught[0], signal.SIGKILL)
                    break
                time.sleep(0.001)
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            if process.poll() is None:
                _kill_session(process.pid)
                process.wait()
    output = log.read_text()
    assert caught, f"no {rule} job was caught writing; the run ended with {process.returncode}:\n{output[-3000:]}"
    return process.returncode, output, caught[1]


def test_runs_on_one_and_on_two_cores_give_identical_products(mock_run, tmp_path):
    _, base, reference = mock_run
    config = {**base, "results": str(tmp_path / "results")}
    run_snakemake(tmp_path, config, "--cores", "1")
    digests = content_digests(config["results"])
    expected = content_digests(reference)
    assert set(digests) == set(expected) and len(digests) > 10
    assert [name for name in expected if digests[name] != expected[name]] == []
    # one model version: the forest pickled with n_jobs 1 or 2 is the same model (zshard.models.pickled_identity)
    manifests = [json.loads((Path(r) / "model" / "manifest.json").read_text()) for r in (config["results"], reference)]
    assert manifests[0]["version"] == manifests[1]["version"]
    # the binned p(z) is the one compared: tiny_config's smaller booster must keep it the chosen p(z)
    assert manifests[0]["pdf_estimator"]["chosen"] == manifests[1]["pdf_estimator"]["chosen"] == "xgboost_bins"


@pytest.fixture
def copy_to_redo(mock_run, tmp_path):
    """A copy of the shared run (without Snakemake's metadata) whose partition splits look newer than
    everything else: the next run re-partitions and redoes every per-shard job and every global
    reduction after them, not the training (which reads the input files, not the shards)."""
    workdir, base, _ = mock_run
    copy = tmp_path / "run"
    shutil.copytree(workdir, copy, symlinks=True, ignore=shutil.ignore_patterns(".snakemake", ".cache"))
    config = {**base, "results": str(copy / "results")}
    now = time.time()
    for path in [*(copy / "results" / "partition" / "split").rglob("*"),
                 *(copy / "results" / "partition" / "runs").rglob("*")]:
        os.utime(path, (now, now))
    return copy, config


def test_kill_9_mid_write_then_the_readme_command_gives_the_uninterrupted_products(mock_run, copy_to_redo):
    workdir, config = copy_to_redo
    results, reference = Path(config["results"]), mock_run[2]

    # a partition reduce killed while it writes its shard: the job fails, its shard is not there
    code, output, temporary = run_and_kill(workdir, config, "partition_reduce", whole_run=False)
    assert code != 0 and "partition_reduce" in output
    assert not _final(temporary).exists()

    # the same command: goes on; a fan-out job killed while it writes
    code, output, temporary = run_and_kill(workdir, config, "fanout_shard", whole_run=False)
    assert code != 0 and "fanout_shard" in output
    assert not _final(temporary).exists()

    # Snakemake itself killed (with its jobs) while a fan-out job writes: its lock stays behind
    code, _, _ = run_and_kill(workdir, config, "fanout_shard", whole_run=True)
    assert code == -signal.SIGKILL
    locked = run_snakemake(workdir, config, *PROFILE, check=False)
    assert locked.returncode != 0 and "cannot be locked" in locked.stdout + locked.stderr
    run_snakemake(workdir, config, *PROFILE, "--unlock")

    # the same command: the n(z) reduce killed while it writes
    code, output, _ = run_and_kill(workdir, config, "reduce_nz", whole_run=False)
    assert code != 0 and "reduce_nz" in output
    assert not (results / "nz" / "nz.json").exists()

    # a shard damaged on disk meanwhile: its fan-out job refuses it, naming it and how to remake it
    manifest = json.loads((results / "catalog" / "manifest.json").read_text())
    shard = results / "catalog" / manifest["shards"][0]["path"]
    with open(shard, "r+b") as handle:
        handle.truncate(shard.stat().st_size - 100)
    refused = run_snakemake(workdir, config, *PROFILE, check=False)
    assert refused.returncode != 0
    log = (results / "logs" / "fanout_shard" / f"{manifest['shards'][0]['shard']}.log").read_text()
    assert f"damaged input: {shard}: " in log and f"--forcerun {shard} (-R)" in log

    # what the message says completes the run, with the uninterrupted run's products
    run_snakemake(workdir, config, *PROFILE, "--forcerun", str(shard))
    digests, expected = content_digests(results), content_digests(reference)
    assert set(digests) == set(expected)
    assert [name for name in expected if digests[name] != expected[name]] == []
    assert verify(str(results))[1] == []
    left = [str(p.relative_to(results)) for p in results.rglob(".*") if TEMPORARY.match(p.name)]
    assert left == [], f"temporary files of killed jobs left behind: {left}"
