"""What the shard list costs Snakemake: `snakemake -n` on synthetic plans of a 300M-object catalogue.

The plan of a real 300M-object catalogue (1M rows per shard) has a few hundred to a few thousand
shards. Building one needs the catalogue; the DAG does not: this benchmark writes tiny input files,
their real histograms, and a synthetic plan of N shards (as if each held 300M/N rows), then times a
dry run of the whole workflow, whose DAG has four jobs per shard (reduce, predict, calibrate,
tomography) plus the per-file and global jobs.

Run: make bench-dag  (or .venv/bin/python bench/dag_cost.py [N ...])
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from zshard.io import CatalogSpec, write_json
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
        info = split_file(path, f"part{k:03d}", spec, 6, str(splits / f"part{k:03d}"), 1000)
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


def dry_run(workdir: Path) -> tuple[float, int, float]:
    """Wall seconds, number of jobs and peak RSS (MB) of a dry run."""
    env = {**os.environ, "XDG_CACHE_HOME": str(workdir / ".cache")}
    command = ["/usr/bin/time", "-f", "%M", SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(workdir / "config.yaml"), "-n", "--cores", "2", "--quiet", "rules"]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    total = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("total")]
    jobs = int(total[-1].split()[-1]) if total else -1
    peak_mb = int(result.stderr.strip().splitlines()[-1]) / 1024
    return wall, jobs, peak_mb


def main(sizes: list[int]) -> int:
    print(f"snakemake -n on synthetic plans of a {TOTAL_ROWS / 1e6:.0f}M-object catalogue ({N_FILES} input files)")
    print(f"{'shards':>7} {'rows/shard':>11} {'jobs':>7} {'dry-run s':>10} {'ms/job':>7} {'peak MB':>8}  goal < {GOAL_SECONDS:.0f} s")
    worst = 0.0
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            wall, jobs, peak = dry_run(synthetic_workdir(n, Path(tmp)))
        worst = max(worst, wall)
        print(f"{n:>7} {TOTAL_ROWS // n:>11,} {jobs:>7} {wall:>10.1f} {1000 * wall / max(jobs, 1):>7.2f} {peak:>8.0f}"
              f"  {'met' if wall < GOAL_SECONDS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main([int(a) for a in sys.argv[1:]] or [300, 1000, 3000]))
