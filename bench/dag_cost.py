"""What the shard list costs Snakemake: `snakemake -n` on synthetic plans of a 300M-object catalogue.

The plan of a real 300M-object catalogue (1M rows per shard) has a few hundred to a few thousand
shards. Building one needs the catalogue; the DAG does not: this benchmark writes tiny input files,
their real histograms, and a synthetic plan of N shards (as if each held 300M/N rows), then times a
dry run of the whole workflow, whose DAG has four jobs per shard (reduce, predict, calibrate,
tomography) plus the per-file and global jobs.

Each plan is dry-run twice: with the local settings, and with the SLURM profile (profiles/slurm, the
head process of a cluster run). From the SLURM dry run it counts the SLURM jobs a run would submit:
every job of a rule that is not a localrule, except that the jobs of a group (the per-shard chain,
the reduces) go to SLURM together, group-components shards per job (tests/test_slurm.py checks this
count against a real slurmctld). The embedded demo is counted the same way, after its real plan.

Run: make bench-dag  (or .venv/bin/python bench/dag_cost.py [N ...])
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from zshard.io.atomic import write_json
from zshard.io.catalogs import CatalogSpec
from zshard.partition import split_file
from zshard.sky import Shard

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
N_FILES = 20
TOTAL_ROWS = 300_000_000
GOAL_SECONDS = 30.0


def synthetic_workdir(n_shards: int, workdir: Path) -> Path:
    """Inputs, their splits and a plan of ``n_shards`` shards, with mtimes in pipeline order."""
    bands = ["u", "g", "r", "i", "z", "y"]
    rng = np.random.default_rng(0)
    inputs = workdir / "inputs"
    inputs.mkdir(parents=True)
    for k in range(N_FILES):
        frame = pd.DataFrame({"id": np.arange(10) + 10 * k, "ra": rng.uniform(0, 360, 10),
                              "dec": rng.uniform(-60, 60, 10),
                              **{f"mag_{b}": rng.uniform(20, 25, 10) for b in bands},
                              **{f"magerr_{b}": np.full(10, 0.05) for b in bands}})
        frame.to_parquet(inputs / f"part{k:03d}.parquet")
        if k == 0:
            frame.assign(z_spec=rng.uniform(0, 2, 10)).to_parquet(workdir / "specz.parquet")
    results = workdir / "results"
    splits = results / "partition/split"
    splits.mkdir(parents=True)
    spec = CatalogSpec(bands=tuple(bands))
    files = {}
    for k in range(N_FILES):
        path = str(inputs / f"part{k:03d}.parquet")
        info = split_file(path, f"part{k:03d}", spec, 6, str(splits / f"part{k:03d}"), 1000, ra_outside_range="reject")
        files[f"part{k:03d}"] = {"path": path, "histogram_order": 6, "n_rows": info["n_rows"]}
    order = 6 if n_shards > 3072 else 5
    pixels = np.sort(rng.choice(12 * 4**order, size=n_shards, replace=False))
    shards = [{"key": Shard(order, int(p)).key, "order": order, "pixel": int(p), "rows": TOTAL_ROWS // n_shards,
               "files": sorted({f"part{(i * 7) % N_FILES:03d}", f"part{(i * 7 + 1) % N_FILES:03d}"})}
              for i, p in enumerate(pixels)]
    time.sleep(0.05)
    write_json(results / "partition/plan.json", {"histogram_order": 6, "max_rows": TOTAL_ROWS // n_shards,
                                                 "lowest_order": 0, "n_rows_valid": TOTAL_ROWS,
                                                 "shards": shards, "files": files, "oversized_shards": []})
    np.savez(results / "partition/sky_histogram.npz", pixels=pixels, counts=np.ones(n_shards),
             histogram_order=order)
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config.update(source="files", results=str(results))
    config["inputs"] = {"photometry": {"paths": [str(inputs / "*.parquet")]},
                        "specz": {"paths": [str(workdir / "specz.parquet")], "columns": {"redshift": "z_spec"}}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return workdir


def rule_groups() -> dict[str, str]:
    """Rule name -> group, from the workflow's rule files."""
    groups = {}
    for path in (ROOT / "workflow/rules").glob("*.smk"):
        for name, body in re.findall(r"^(?:rule|checkpoint) (\w+):\n(.*?)(?=^\S|\Z)", path.read_text(), re.M | re.S):
            group = re.search(r"group:\s*\n\s*\"(\w+)\"", body)
            if group:
                groups[name] = group.group(1)
    return groups


def group_components() -> dict[str, int]:
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    return {k: int(v) for k, v in (entry.split("=") for entry in profile.get("group-components", []))}


def local_rules() -> set[str]:
    """The workflow's localrules (run in the head process), and the target rule."""
    text = (ROOT / "workflow/rules/common.smk").read_text()
    block = re.search(r"^localrules:\n((?:\s+\w+,?\n?)+)", text, re.M).group(1)
    return set(re.findall(r"\w+", block)) | {"all"}


def slurm_jobs(dry_output: str) -> tuple[int, int]:
    """SLURM jobs a run would submit, from a dry run's job counts: (grouped as the profile does, ungrouped)."""
    table = dry_output.split("Job stats:", 1)[1]
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
              if m.group(1) != "total"}
    remote = {rule: n for rule, n in counts.items() if rule not in local_rules()}
    groups, components = rule_groups(), group_components()
    grouped = sum(n for rule, n in remote.items() if rule not in groups)
    for group in set(groups.values()):  # a shard's chain is one component: its most numerous rule
        members = [n for rule, n in remote.items() if groups.get(rule) == group]
        if members:
            grouped += math.ceil(max(members) / components.get(group, 1))
    return grouped, sum(remote.values())


def dry_run(workdir: Path, *args: str) -> tuple[float, int, float, str]:
    """Wall seconds, number of jobs, peak RSS (MB) and the printed jobs of a dry run."""
    env = {**os.environ, "XDG_CACHE_HOME": str(workdir / ".cache")}
    command = ["/usr/bin/time", "-f", "%M", SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(workdir / "config.yaml"), "-n", "--cores", "2", *args]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    total = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("total")]
    jobs = int(total[-1].split()[-1]) if total else -1
    peak_mb = int(result.stderr.strip().splitlines()[-1]) / 1024
    return wall, jobs, peak_mb, result.stdout


def demo_workdir(workdir: Path) -> Path:
    """The embedded demo (config/config.yaml) up to its partition plan."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["results"] = str(workdir / "results")
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile",
                    str(workdir / "config.yaml"), "--cores", "2", "--quiet", "all", "--until", "partition_plan"],
                   check=True, capture_output=True, env={**os.environ, "XDG_CACHE_HOME": str(workdir / ".cache")})
    return workdir


def main(sizes: list[int]) -> int:
    profile = ("--profile", str(ROOT / "profiles/slurm"))
    print(f"snakemake -n on synthetic plans of a {TOTAL_ROWS / 1e6:.0f}M-object catalogue ({N_FILES} input files);"
          f" SLURM jobs with the profile's groups {group_components()} and without")
    print(f"{'shards':>7} {'rows/shard':>11} {'jobs':>7} {'dry-run s':>10} {'ms/job':>7} {'peak MB':>8}"
          f" {'SLURM dry s':>12} {'SLURM jobs':>11} {'ungrouped':>10}  goal < {GOAL_SECONDS:.0f} s")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = synthetic_workdir(n, Path(tmp))
            wall, jobs, peak, _ = dry_run(workdir, "--quiet", "rules")
            slurm_wall, _, _, printed = dry_run(workdir, *profile)
        grouped, ungrouped = slurm_jobs(printed)
        print(f"{n:>7} {TOTAL_ROWS // n:>11,} {jobs:>7} {wall:>10.1f} {1000 * wall / max(jobs, 1):>7.2f} {peak:>8.0f}"
              f" {slurm_wall:>12.1f} {grouped:>11} {ungrouped:>10}"
              f"  {'met' if max(wall, slurm_wall) < GOAL_SECONDS else 'MISSED'}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = demo_workdir(Path(tmp))
        shards = len(yaml.safe_load((workdir / "results/partition/plan.json").read_text())["shards"])
        _, jobs, _, printed = dry_run(workdir, *profile)
    grouped, ungrouped = slurm_jobs(printed)
    print(f"embedded demo ({shards} shards, {jobs} jobs after its plan): {grouped} SLURM jobs grouped,"
          f" {ungrouped} ungrouped (the mock and the splits, already run, not counted)")
    return 0


if __name__ == "__main__":
    sys.exit(main([int(a) for a in sys.argv[1:]] or [300, 1000, 3000]))
