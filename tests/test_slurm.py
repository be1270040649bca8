"""The workflow on a real SLURM cluster: profiles/slurm against slurmctld and two slurmd nodes.

tests/slurm/cluster.sh installs Debian's slurm-wlm and munge and starts a cluster on this machine:
node n1 in the machine's own network namespace, n2 in a namespace of its own with its own address;
both share the file system, as a cluster's nodes share theirs. The tiny workflow runs through
sbatch with the SLURM profile (one shard's job is made to fail once), and its products must be
identical in content to a local run of the same config. Skipped, with the reason, where the
cluster cannot be started (not root, no apt).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, dry_run_jobs, run_snakemake, tiny_config

from zshard.verify import content_digests

pytestmark = [pytest.mark.slurm, pytest.mark.integration]

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
PROFILE = ROOT / "profiles" / "slurm"
# The profile, with the polling of a test (the profile's own intervals suit a real queue) and the
# node's cores: a group job asks for at most --cores CPUs.
SLURM_ARGS = ("--profile", str(PROFILE), "--cores", "2", "--jobs", "20", "--retries", "1", "--latency-wait", "10",
              "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2")
RUN_TIMEOUT_S = 900


def _cannot_start() -> str | None:
    if os.geteuid() != 0:
        return "the test cluster needs root (apt-get, /etc/slurm/slurm.conf, network namespaces)"
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        return "slurm-wlm is not installed and there is no apt-get to install it"
    return None


@pytest.fixture(scope="module")
def cluster():
    """Start the two-node cluster for this module; stop it after. Yields the node names."""
    reason = _cannot_start()
    if reason:
        pytest.skip(reason)
    started = subprocess.run(["bash", str(CLUSTER), "start", "2"], capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        pytest.fail(f"tests/slurm/cluster.sh start failed:\n{started.stdout}\n{started.stderr}")
    try:
        yield ["n1", "n2"]
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop"], capture_output=True, text=True, timeout=120)


def slurm_jobs(workdir: Path) -> dict[int, dict[str, str]]:
    """Every job slurmctld knows (MinJobAge keeps finished ones) whose working directory is ``workdir``."""
    out = subprocess.run(["scontrol", "show", "jobs", "-o"], capture_output=True, text=True, check=True).stdout
    jobs = {}
    for line in out.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if fields.get("WorkDir") == str(workdir):
            jobs[int(fields["JobId"])] = fields
    return jobs


def run_on_slurm(workdir: Path, config: dict, *args: str, check: bool = True):
    """The workflow through the SLURM profile: (result, the SLURM jobs it submitted, wall seconds)."""
    before = set(slurm_jobs(workdir))
    start = time.monotonic()
    try:
        result = run_snakemake(workdir, config, *SLURM_ARGS, *args, check=check, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        logs = sorted((workdir / ".snakemake" / "log").glob("*.log"))
        tail = logs[-1].read_text()[-6000:] if logs else "(no Snakemake log)"
        pytest.fail(f"the SLURM run hung past {RUN_TIMEOUT_S} s and was killed; its log ends:\n{tail}\n"
                    f"squeue:\n{subprocess.run(['squeue'], capture_output=True, text=True).stdout}")
    wall = time.monotonic() - start
    jobs = {k: v for k, v in slurm_jobs(workdir).items() if k not in before}
    return result, jobs, wall


def chain_jobs(jobs: dict) -> list[dict]:
    """The SLURM jobs of the grouped per-shard chain (the plugin puts the group's name in the comment)."""
    return [job for job in jobs.values() if job["Comment"].startswith("rule_shard_chain")]


def group_components(group: str) -> int:
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    return int(dict(entry.split("=") for entry in profile["group-components"])[group])


@pytest.fixture(scope="module")
def slurm_run(cluster, mock_run, tmp_path_factory):
    """The tiny workflow on the cluster, with the first shard's fan-out job failing its first attempt."""
    local_workdir, local_config, local_results = mock_run
    plan = yaml.safe_load((local_results / "partition" / "plan.json").read_text())
    shards = [entry["key"] for entry in plan["shards"]]
    workdir = tmp_path_factory.mktemp("slurm_run")
    config = tiny_config(workdir / "results")
    config["fault_injection"] = {"rule": "fanout_shard", "shard": shards[0], "failures": 1}
    result, jobs, wall = run_on_slurm(workdir, config)
    local_wall = float((local_workdir / "wall_s.txt").read_text())
    print(f"\nSLURM run: {wall:.0f} s wall, {len(jobs)} SLURM jobs; the same workflow locally: {local_wall:.0f} s")
    return {"workdir": workdir, "config": config, "results": Path(config["results"]), "shards": shards,
            "jobs": jobs, "stdout": result.stdout + result.stderr, "wall": wall}


def test_products_equal_the_local_run(slurm_run, mock_run):
    local = content_digests(mock_run[2])
    remote = content_digests(slurm_run["results"])
    assert set(remote) == set(local)
    assert len([name for name in local if name.startswith("catalog/")]) == len(slurm_run["shards"])
    assert [name for name in local if remote[name] != local[name]] == []


def test_jobs_went_through_sbatch_on_both_nodes_grouped(slurm_run, cluster):
    jobs = slurm_run["jobs"]
    comments = [job["Comment"] for job in jobs.values()]
    # every submitted rule is a real job; the cheap global rules ran in the head process (localrules)
    for local_rule in ("partition_plan", "partition_manifest", "reduce_nz", "summary"):
        assert not any(local_rule in comment for comment in comments)
    assert "rule_mock_survey" in comments and "rule_train_model" in comments
    # one job per group of shards' fan-out jobs, plus the failed attempt
    n_groups = math.ceil(len(slurm_run["shards"]) / group_components("shard_chain"))
    chains = chain_jobs(jobs)
    assert len(chains) == n_groups + 1
    assert sorted(job["JobState"] for job in chains) == ["COMPLETED"] * n_groups + ["FAILED"]
    # a fan-out job is nowhere submitted alone; each reduce is a job of its own
    assert not any(c.startswith("rule_fanout_shard") for c in comments)
    assert len([c for c in comments if c.startswith("rule_partition_reduce")]) == len(slurm_run["shards"])
    # the jobs ran on both nodes
    assert {job["NodeList"] for job in jobs.values()} == set(cluster)


def test_a_failed_shard_job_is_retried(slurm_run):
    shard = slurm_run["config"]["fault_injection"]["shard"]
    attempts = (slurm_run["results"] / ".fault_injection" / f"fanout_shard-{shard}.attempts").read_text().splitlines()
    assert len(attempts) == 2
    log = (slurm_run["results"] / "logs" / "fanout_shard" / f"{shard}.log").read_text()
    assert "fails attempt 1 of the first 1" in log or "fails attempt 1" in slurm_run["stdout"]


def test_a_hard_failure_names_its_log_and_the_rerun_submits_only_what_is_missing(slurm_run, mock_run):
    workdir, results, config = slurm_run["workdir"], slurm_run["results"], dict(slurm_run["config"])
    shard = slurm_run["shards"][1]
    # as if the run had stopped before this shard's fan-out job: its products and the n(z) are not
    # there, and the job now fails on every attempt
    for product in ("pdf/calibrated", "tomography/bins", "tomography/samples"):
        (results / product / f"{shard}.parquet").unlink()
    (results / "tomography" / "partials" / f"{shard}.npz").unlink()
    for product in (results / "nz").iterdir():
        product.unlink()
    config["fault_injection"] = {"rule": "fanout_shard", "shard": shard, "failures": 99}
    failed, jobs, _ = run_on_slurm(workdir, config, check=False)
    assert failed.returncode != 0
    output = failed.stdout + failed.stderr
    assert f"logs/fanout_shard/{shard}.log" in output
    assert len(chain_jobs(jobs)) == 2  # the attempt and its retry
    assert not (results / "pdf" / "calibrated" / f"{shard}.parquet").exists()

    # the next invocation, fault gone, resubmits only that shard's job and what follows from it
    del config["fault_injection"]
    planned = dry_run_jobs(run_on_slurm(workdir, config, "-n")[0].stdout)
    assert planned["fanout_shard"] == 1
    assert not {"mock_survey", "partition_split", "partition_reduce", "train_model", "model_zoo"} & set(planned)
    rerun, jobs, wall = run_on_slurm(workdir, config)
    chains = chain_jobs(jobs)
    assert len(chains) == 1 and chains[0]["JobState"] == "COMPLETED"
    print(f"\nrerun after the hard failure: {len(jobs)} SLURM jobs, {wall:.0f} s")
    assert content_digests(results) == content_digests(mock_run[2])
