"""Partitioning benchmark: zshard's partition rules vs hats-import vs the read+write floor.

One run, the same generated input (N rows in 20 Parquet files covering the whole sky with uneven
density; ra, dec, 6 magnitudes and 6 errors), for each contender: wall time, CPU-seconds per
million rows (all processes, workers included), rows per second and the peak RSS of the largest
single process. Contenders:

- floor: pyarrow reads every input file and writes it once (snappy): the I/O no partitioner avoids;
- zshard: the workflow's partition rules (split, plan, reduce, manifest) run by Snakemake,
  ``--cores 2``, 1M rows per shard;
- hats-import 0.11 (pip-installed into bench/out/peers-venv by ``make bench-partition``, never a
  dependency of zshard) with a local Dask client of 2 single-threaded workers, once with its
  defaults (zstd level 15 shards) and once writing snappy.

Goals (issue "Partition 300M objects"): zshard ≥ 2× the rows/s of hats-import's defaults and ≥ its
snappy rows/s, ≤ 3 CPU-s per million rows, peak RSS per job < 1.5 GB and independent of the
catalogue size (the run is repeated on a tenth of the rows, in a tenth of the files). zshard and the
floor run ``--repeat`` times (default 3) at full size and the run of median CPU is reported, with
every run's CPU: on this kind of VM one run's CPU varies by about ±10%.

Run: make bench-partition  (ROWS=20000000 by default)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
PEERS_PYTHON = OUT / "peers-venv" / "bin" / "python"
BANDS = ["u", "g", "r", "i", "z", "y"]
N_FILES = 20

MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[1:])
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": code, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "maxrss_mb": usage.ru_maxrss / 1024}))
"""


def measure(command: list[str], env: dict | None = None) -> dict:
    """Run ``command`` under a fresh parent so that CPU and peak RSS cover it and its descendants only."""
    result = subprocess.run([PYTHON, "-c", MEASURE, *command], capture_output=True, text=True,
                            env={**os.environ, **(env or {})})
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    if stats["rc"] != 0:
        raise RuntimeError(f"{command[:3]} failed (rc {stats['rc']}): {result.stderr[-3000:]}")
    return stats


def generate(n_rows: int, directory: Path, n_files: int = N_FILES, seed: int = 1) -> list[str]:
    """Whole-sky positions, half uniform and half in 200 Gaussian clumps of varied size and weight."""
    paths = sorted(str(p) for p in directory.glob("part*.parquet"))
    if len(paths) == n_files and sum(pq.ParquetFile(p).metadata.num_rows for p in paths) == n_rows:
        return paths
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    centres = np.column_stack([rng.uniform(0, 360, 200), np.degrees(np.arcsin(rng.uniform(-1, 1, 200)))])
    widths = rng.uniform(0.5, 8.0, 200)
    weights = rng.dirichlet(np.full(200, 0.3))
    per_file = n_rows // n_files
    for k in range(n_files):
        n = per_file if k < n_files - 1 else n_rows - per_file * (n_files - 1)
        clumped = rng.random(n) < 0.5
        ra = rng.uniform(0, 360, n)
        dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
        which = rng.choice(200, size=int(clumped.sum()), p=weights)
        ra[clumped] = (centres[which, 0] + rng.normal(0, 1, which.size) * widths[which]) % 360
        dec[clumped] = np.clip(centres[which, 1] + rng.normal(0, 1, which.size) * widths[which], -90, 90)
        columns = {"id": np.arange(k * per_file, k * per_file + n, dtype=np.int64), "ra": ra, "dec": dec}
        base = rng.uniform(20, 25.5, n)
        for b in BANDS:
            columns[f"mag_{b}"] = (base + rng.normal(0, 0.5, n)).astype(np.float32)
        for b in BANDS:
            columns[f"magerr_{b}"] = rng.uniform(0.01, 0.3, n).astype(np.float32)
        pq.write_table(pa.table(columns), directory / f"part{k:03d}.parquet", compression="snappy")
    return sorted(str(p) for p in directory.glob("part*.parquet"))


FLOOR = r"""
import sys, pyarrow.parquet as pq
out = sys.argv[1]
for i, path in enumerate(sys.argv[2:]):
    pq.write_table(pq.read_table(path), f"{out}/copy{i:03d}.parquet", compression="snappy")
"""


def run_floor(paths: list[str], work: Path) -> dict:
    out = work / "floor"
    out.mkdir()
    return measure([PYTHON, "-c", FLOOR, str(out), *paths])


# Snakemake run in-process under this wrapper, so that its own CPU (parsing, DAG, scheduling) is measured
# apart from its jobs' processes: RUSAGE_SELF at exit, written to the file named by ZSHARD_BENCH_OWN_CPU.
SNAKEMAKE_MEASURED = r"""
import atexit, json, os, resource, sys
def _own():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["ZSHARD_BENCH_OWN_CPU"], "w") as handle:
        json.dump({"cpu": usage.ru_utime + usage.ru_stime}, handle)
atexit.register(_own)
from snakemake.cli import main
sys.argv = ["snakemake", *sys.argv[1:]]
main()
"""


def run_zshard(paths: list[str], work: Path) -> dict:
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    results = work / "zshard"
    config.update(source="files", results=str(results))
    specz = work / "specz.parquet"
    pq.write_table(pq.read_table(paths[0]).slice(0, 100).append_column("z_spec", pa.array(np.full(100, 0.5))), specz)
    config["inputs"] = {"photometry": {"paths": paths, "sentinels": [99.0]},
                        "specz": {"paths": [str(specz)], "columns": {"redshift": "z_spec"}}}
    config["partition"].update(histogram_order=8, max_rows_per_shard=1_000_000, chunk_rows=500_000)
    (work / "zshard.yaml").write_text(yaml.safe_dump(config))
    own = work / "snakemake_own_cpu.json"
    stats = measure([PYTHON, "-c", SNAKEMAKE_MEASURED, str(results / "catalog/manifest.json"),
                     "-s", str(ROOT / "Snakefile"), "--directory", str(work), "--configfile", str(work / "zshard.yaml"),
                     "--cores", "2", "--quiet", "all"],
                    env={"XDG_CACHE_HOME": str(work / ".cache"), "ZSHARD_BENCH_OWN_CPU": str(own)})
    stats["snakemake_own_cpu"] = json.loads(own.read_text())["cpu"]
    manifest = json.loads((results / "catalog/manifest.json").read_text())
    stats["rows_out"] = manifest["totals"]["rows_in_shards"]
    stats["shards"] = len(manifest["shards"])
    # Peak RSS of each job, from Snakemake's own benchmark records.
    job_rss = []
    per_rule: dict[str, list[float]] = {}
    for tsv in (results / "benchmarks").rglob("*.tsv"):
        lines = tsv.read_text().splitlines()
        header, values = lines[0].split("\t"), lines[-1].split("\t")
        rss = values[header.index("max_rss")]
        if rss not in ("NA", "-"):
            job_rss.append(float(rss))
        rule = tsv.relative_to(results / "benchmarks").parts[0].removesuffix(".tsv")
        per_rule.setdefault(rule, []).append(float(values[header.index("cpu_time")]))
    stats["max_job_rss_mb"] = max(job_rss) if job_rss else float("nan")
    stats["cpu_by_rule"] = {rule: (len(v), sum(v)) for rule, v in sorted(per_rule.items())}
    return stats


HATS_IMPORT = r"""
import json, sys
from dask.distributed import Client
from hats_import.catalog.arguments import ImportArguments
from hats_import.pipeline import pipeline_with_client
out, compression, *paths = sys.argv[1:]
kwargs = {} if compression == "default" else {"write_table_kwargs": {"compression": compression}}
args = ImportArguments(output_artifact_name="bench", output_path=out, input_file_list=paths, file_reader="parquet",
                       ra_column="ra", dec_column="dec", pixel_threshold=1_000_000, progress_bar=False,
                       tmp_dir=out + "/tmp", resume=False, **kwargs)
with Client(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as client:
    pipeline_with_client(args, client)
"""


def run_hats_import(paths: list[str], work: Path, compression: str) -> dict:
    out = work / f"hats_{compression}"
    stats = measure([str(PEERS_PYTHON), "-c", HATS_IMPORT, str(out), compression, *paths])
    properties = (out / "bench" / "hats.properties")
    if not properties.exists():
        properties = out / "bench" / "properties"
    stats["rows_out"] = int(next(line.split("=")[1] for line in properties.read_text().splitlines()
                                 if line.startswith("hats_nrows")))
    stats["shards"] = len((out / "bench" / "partition_info.csv").read_text().splitlines()) - 1
    return stats


def row(name: str, stats: dict, n_rows: int) -> str:
    rate = n_rows / stats["wall"]
    job = stats.get("max_job_rss_mb", stats["maxrss_mb"])
    return (f"{name:<26} {stats['wall']:>7.1f} {stats['cpu'] / (n_rows / 1e6):>9.2f} {rate:>12,.0f} "
            f"{stats['maxrss_mb']:>10.0f} {job:>9.0f} {stats.get('shards', ''):>7}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--skip-peers", action="store_true", help="do not run hats-import")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of zshard and of the floor at full size; the run of median CPU is reported "
                             "(hats-import, minutes per run, runs once)")
    args = parser.parse_args()
    if not args.skip_peers and not PEERS_PYTHON.exists():
        print(f"{PEERS_PYTHON} missing: run `make bench-partition`, which installs hats-import there", file=sys.stderr)
        return 2
    small = max(args.rows // 10, N_FILES * 1000)
    results = {}
    # The memory check: a tenth of the rows in a tenth of the files, so that files (and chunks) are
    # the same size and only the catalogue's size changes.
    for n_rows, n_files in ((args.rows, N_FILES), (small, max(N_FILES // 10, 1))):
        paths = generate(n_rows, OUT / f"partition_input_{n_rows}_{n_files}files", n_files)
        repeats = args.repeat if n_rows == args.rows else 1
        for name, run in (("floor", run_floor), ("zshard", run_zshard)):
            runs = []
            for _ in range(max(repeats, 1)):
                with tempfile.TemporaryDirectory(dir=OUT) as tmp:
                    runs.append(run(paths, Path(tmp)))
            runs.sort(key=lambda stats: stats["cpu"])
            results[(name, n_rows)] = {**runs[len(runs) // 2], "cpu_runs": [r["cpu"] for r in runs]}
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            work = Path(tmp)
            if n_rows == args.rows and not args.skip_peers:
                results[("hats-import (zstd defaults)", n_rows)] = run_hats_import(paths, work, "default")
                results[("hats-import (snappy)", n_rows)] = run_hats_import(paths, work, "snappy")
    for key, stats in results.items():
        if "rows_out" in stats and stats["rows_out"] != key[1]:
            print(f"WARNING: {key[0]} wrote {stats['rows_out']} rows of {key[1]}")
    print(f"\n{'':<26} {'wall s':>7} {'CPU-s/Mrow':>9} {'rows/s':>12} {'peak RSS MB':>10} {'job RSS':>9} {'shards':>7}")
    for (name, n_rows), stats in results.items():
        print(row(f"{name} [{n_rows / 1e6:g}M]", stats, n_rows))
    big = args.rows
    for name in ("floor", "zshard"):
        cpu_runs = results[(name, big)]["cpu_runs"]
        if len(cpu_runs) > 1:
            print(f"{name} [{big / 1e6:g}M]: median of {len(cpu_runs)} runs; CPU-s per million rows of each run: "
                  + ", ".join(f"{c / (big / 1e6):.2f}" for c in cpu_runs))
    z = results[("zshard", big)]
    jobs_cpu = sum(cpu for _, cpu in z["cpu_by_rule"].values())
    print(f"\nzshard [{big / 1e6:g}M], CPU-s by rule (jobs, CPU-s): "
          + ", ".join(f"{rule} ({n}, {cpu:.1f})" for rule, (n, cpu) in z["cpu_by_rule"].items())
          + f"; Snakemake's own process {z['snakemake_own_cpu']:.1f}; job CPU not seen by Snakemake's 0.5 s "
          f"benchmark sampling {z['cpu'] - jobs_cpu - z['snakemake_own_cpu']:.1f}")
    z_rate = big / z["wall"]
    print("\nGoals:")
    if not args.skip_peers:
        default = big / results[("hats-import (zstd defaults)", big)]["wall"]
        snappy = big / results[("hats-import (snappy)", big)]["wall"]
        print(f"  rows/s ≥ 2× hats-import defaults: {z_rate / default:.2f}× → "
              f"{'met' if z_rate >= 2 * default else 'MISSED'}")
        print(f"  rows/s ≥ hats-import snappy:      {z_rate / snappy:.2f}× → {'met' if z_rate >= snappy else 'MISSED'}")
    floor = results[("floor", big)]
    cpu = z["cpu"] / (big / 1e6)
    print(f"  ≤ 3 CPU-s per million rows:       {cpu:.2f} ({cpu / (floor['cpu'] / (big / 1e6)):.1f}× the floor) → "
          f"{'met' if cpu <= 3 else 'MISSED'}")
    job_big, job_small = z["max_job_rss_mb"], results[("zshard", small)]["max_job_rss_mb"]
    print(f"  peak RSS per job < 1.5 GB:         {job_big:.0f} MB at {big / 1e6:g}M, {job_small:.0f} MB at "
          f"{small / 1e6:g}M → {'met' if job_big < 1536 else 'MISSED'}; ratio {job_big / job_small:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
