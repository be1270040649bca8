"""Scale benchmark: the whole workflow on a mock survey of N objects, cost per rule, per object, per byte.

Run with ``make bench-scale N=10000000`` (or ``.venv/bin/python bench/scale.py --n 10000000``).
Issue "scale": 100M objects end to end on a 2-core machine in ≤ 30 min, linear in N, with a cost model.

What it does, in ``bench/out/scale/N<N>/``:

1. Writes ``config.yaml``, the overrides of the embedded default (``config/config.yaml``): the
   results directory ``results/``, ``mock.n_objects = N`` in ``ceil(N / rows_per_file)`` files of
   ``--rows-per-file`` rows (default 2.5M, a realistic catalogue file), 1M-row shards
   (``partition.max_rows_per_shard``) and ``partition.keep_runs: false`` (``--keep-runs``: keep
   them); ``--configfile`` adds your own settings on top.
2. Generates the mock survey (rule ``mock_survey`` alone), timed apart: it is the input, not part of
   the end-to-end time. An existing mock of the same configuration is reused (Snakemake finds
   nothing to do); ``--regenerate-mock`` makes it again. Everything else in ``results/`` is removed
   first (``--keep-results`` keeps it: a rerun then does only what is missing).
3. Runs the whole workflow, ``--cores`` (default 2) with ``profiles/local``.

Then prints, from Snakemake's benchmark records (``results/benchmarks``) and the products:

* per rule: jobs, wall (sum, max), CPU-s (``cpu_time``), peak RSS (``max_rss``, largest job), rows
  it processed (per-file and per-shard rules: the file's and the shard's rows) and objects per
  CPU-second (rows / CPU-s: per core). Snakemake samples a job's CPU every ~0.5 s, so jobs shorter
  than a few seconds are under-counted (a 0.4 s job reads 0); the total CPU of every process that
  ran (the kernel's count for the Snakemake process and its children) is printed beside their sum;
* the end-to-end wall time, from the start of the first partition job to the end of the last job
  (and to the Δz table), from the benchmark records' end times and durations; whether it is
  ≤ 30 min (at N = 1e8; at smaller N, the linear extrapolation of the cost model below);
* the disk bytes per object of every product directory, and the peak size of the partition's
  sorted runs (``partition/runs/``, sampled every few seconds; deleted once reduced unless
  ``--keep-runs``);
* the CPU that other processes used on the machine during the run (``/proc/stat`` minus ours): the
  timings are only clean where it is near 0;
* with results for several N in ``bench/out/scale/``: the fan-out linearity (CPU-s per object of the
  per-shard rules at each N) and each rule's CPU at each N;
* the cost model at 1e8 objects from the largest N (:func:`cost_model`): the partition (linear CPU
  over the cores) beside the training chain (serial; its samples are bounded by the caps, so
  constant), then the fan-out (linear CPU over the cores), then the global jobs after it (bounded
  samples) — and the fan-out CPU per object that the 30-min goal leaves.

Everything printed is also in ``results.json`` beside the config. Exit status: non-zero only if a
workflow run fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from zshard.sky import Shard

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "scale"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
GOAL_S = 30 * 60
GOAL_N = 100_000_000
# Rules with one job per file or per shard: their rows are known, their cost per object is the point.
PER_FILE = ("partition_split",)
# The fan-out is one rule (fanout_shard); results of runs before it was one (predict_shard,
# calibrate_shard, tomography_shard: docs/scaling.md's earlier rows) still load and print.
FAN_OUT = ("fanout_shard", "predict_shard", "calibrate_shard", "tomography_shard")
PER_SHARD = ("partition_reduce", *FAN_OUT)
PARTITION_LINEAR = ("partition_split", "partition_reduce")
# Trained once, before any per-shard p(z): the critical path beside the partition.
TRAINING_CHAIN = ("science_sample", "prepare_samples", "representativeness", "anomalies", "features",
                  "select_features", "model_zoo", "train_model", "fit_calibration", "tomography_edges")
# After the fan-out.
TAIL = ("reduce_nz", "validate_delta_z", "validate_truth", "validate_clustering", "validate_photoz",
        "combine_delta_z", "summary")
# Directories whose size is reported (relative to results/); each one's bytes exclude its listed children.
DISK_DIRS = ("mock/photometry", "mock", "partition/split", "partition/runs", "partition/reduce", "partition",
             "catalog", "pdf/raw", "pdf/calibrated", "tomography/bins", "tomography/samples",
             "tomography/partials", "tomography", "nz", "validation", "representativeness", "samples", "model",
             "summary", "logs", "benchmarks")


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------
def bench_config(n: int, rows_per_file: int, max_rows: int, keep_runs: bool, results: Path) -> dict:
    """The overrides of config/config.yaml for one N."""
    return {"results": str(results),
            "mock": {"n_objects": n, "n_files": max(1, math.ceil(n / rows_per_file))},
            "partition": {"max_rows_per_shard": max_rows, "keep_runs": keep_runs}}


def cpu_busy_seconds() -> float:
    """CPU-seconds the whole machine has been busy since boot (all cores, /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class DirectorySampler(threading.Thread):
    """Samples the size of a directory every ``period`` seconds and keeps the largest."""

    def __init__(self, path: Path, period: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.path, self.period, self.peak = path, period, 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, tree_bytes(self.path))
            self._halt.wait(self.period)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, tree_bytes(self.path))
        return self.peak


def run_snakemake(args: list[str], log: Path, cores: int) -> dict:
    """Run Snakemake (profile local) from the project root; its wall time, CPU (it and every job) and
    the machine's busy CPU over the same time."""
    command = [SNAKEMAKE, "--profile", "profiles/local", "--cores", str(cores), "-s", str(ROOT / "Snakefile"),
               "--directory", str(ROOT), *args]
    busy, ours = cpu_busy_seconds(), children_cpu()
    start = time.perf_counter()
    with open(log, "w") as handle:
        code = subprocess.call(command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT,
                               env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    wall = time.perf_counter() - start
    busy, ours = cpu_busy_seconds() - busy, children_cpu() - ours
    if code != 0:
        raise SystemExit(f"snakemake failed (rc {code}); its log: {log}\n" + log.read_text()[-4000:])
    return {"wall_s": wall, "cpu_s": ours, "machine_busy_cpu_s": busy, "other_cpu_s": max(busy - ours, 0.0),
            "command": " ".join(command)}


def reset_results(results: Path, keep_mock: bool) -> None:
    """Remove everything in ``results`` (but the mock, its log and benchmark record, when kept)."""
    if not results.exists():
        return
    keep = {results / "mock", results / "logs" / "mock_survey.log", results / "benchmarks" / "mock_survey.tsv"}
    for path in sorted(results.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if keep_mock and any(path == k or k in path.parents or path in k.parents for k in keep):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------
def tree_bytes(path: Path) -> int:
    """Apparent size of every file under ``path`` (0 if absent)."""
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except FileNotFoundError:  # removed while walking (temp files, atomic renames)
                pass
    return total


def read_benchmark(path: Path) -> dict:
    with open(path) as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    row = rows[-1]

    def number(key: str) -> float:
        value = row.get(key, "NA")
        return float(value) if value not in ("NA", "-", "", None) else math.nan

    return {"s": number("s"), "cpu_time": number("cpu_time"), "max_rss": number("max_rss"),
            "end": path.stat().st_mtime}


def job_rows(results: Path) -> dict[str, dict[str, int]]:
    """Rows per job of the per-file and per-shard rules, keyed by the job's benchmark name."""
    plan = json.loads((results / "partition/plan.json").read_text())
    rows: dict[str, dict[str, int]] = {rule: {} for rule in (*PER_FILE, *PER_SHARD)}
    for fid, info in plan["files"].items():
        rows["partition_split"][fid] = int(info["n_rows"])
    for entry in plan["shards"]:
        shard = Shard(entry["order"], entry["pixel"])
        rows["partition_reduce"][f"Norder={shard.order}/Dir={shard.directory}/Npix={shard.pixel}"] = int(entry["rows"])
        for rule in FAN_OUT:
            rows[rule][entry["key"]] = int(entry["rows"])
    return rows


def rule_table(results: Path) -> tuple[dict[str, dict], list[dict]]:
    """Per rule: jobs, wall sum and max, CPU, peak RSS, rows, objects per CPU-s; and every job's record."""
    benchmarks = results / "benchmarks"
    rows = job_rows(results)
    per_rule: dict[str, dict] = {}
    jobs = []
    for tsv in sorted(benchmarks.rglob("*.tsv")):
        relative = tsv.relative_to(benchmarks)
        rule = relative.parts[0].removesuffix(".tsv")
        job = str(Path(*relative.parts[1:])).removesuffix(".tsv") if len(relative.parts) > 1 else ""
        record = {"rule": rule, "job": job, **read_benchmark(tsv)}
        jobs.append(record)
        entry = per_rule.setdefault(rule, {"jobs": 0, "wall_sum_s": 0.0, "wall_max_s": 0.0, "cpu_s": 0.0,
                                           "max_rss_mb": 0.0, "rows": None})
        entry["jobs"] += 1
        entry["wall_sum_s"] += record["s"]
        entry["wall_max_s"] = max(entry["wall_max_s"], record["s"])
        entry["cpu_s"] += 0.0 if math.isnan(record["cpu_time"]) else record["cpu_time"]
        entry["max_rss_mb"] = max(entry["max_rss_mb"], 0.0 if math.isnan(record["max_rss"]) else record["max_rss"])
        if rule in rows:
            entry["rows"] = (entry["rows"] or 0) + rows[rule].get(job, 0)
    for entry in per_rule.values():
        entry["objects_per_cpu_s"] = (entry["rows"] / entry["cpu_s"]) if entry["rows"] and entry["cpu_s"] > 0 else None
    return per_rule, jobs


CHAIN_GOAL = 200_000  # objects/s per core of the per-shard chain (issue 13)


def chain_floor(results: Path) -> dict:
    """The I/O floor of the per-shard chain, measured on the largest shard in this run: reading the
    shard's columns and writing the chain's products again (the same tables, Parquet, snappy, no dictionary),
    one thread, CPU-s per object. The chain can be no cheaper than moving its bytes."""
    import tempfile

    import pyarrow.parquet as pq

    plan = json.loads((results / "partition/plan.json").read_text())
    entry = max(plan["shards"], key=lambda e: int(e["rows"]))
    shard = Shard(entry["order"], entry["pixel"])
    key, rows = entry["key"], int(entry["rows"])
    source = results / f"catalog/dataset/Norder={shard.order}/Dir={shard.directory}/Npix={shard.pixel}.parquet"
    products = [results / f"pdf/raw/{key}.parquet", results / f"pdf/calibrated/{key}.parquet",
                results / f"tomography/bins/{key}.parquet", results / f"tomography/samples/{key}.parquet"]
    # outside the clock: the floor writes them (pdf/raw only from runs before rule fanout_shard)
    tables = [pq.read_table(path) for path in products if path.exists()]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.process_time()
        pq.read_table(source)
        read_s = time.process_time() - start
        start = time.process_time()
        for i, table in enumerate(tables):
            pq.write_table(table, f"{tmp}/{i}.parquet", compression="snappy", use_dictionary=False)
        write_s = time.process_time() - start
    return {"shard": key, "rows": rows, "read_cpu_s": read_s, "write_cpu_s": write_s,
            "cpu_us_per_object": (read_s + write_s) / rows * 1e6}


def end_to_end(jobs: list[dict], results: Path) -> dict:
    """First partition job's start to the last job's end (and to the Δz table's), from the records."""
    partition = [j["end"] - j["s"] for j in jobs if j["rule"] == "partition_split"]
    workflow = [j for j in jobs if j["rule"] != "mock_survey"]
    start = min(partition)
    last = max(j["end"] for j in workflow)
    table = results / "validation/delta_z_table.json"
    # Time during which at least one job ran: the wall without idle gaps (a run stopped and resumed
    # with --keep-results, where first → last counts the pause too).
    busy, until = 0.0, -math.inf
    for begin, end in sorted((j["end"] - j["s"], j["end"]) for j in workflow):
        busy += max(0.0, end - max(begin, until))
        until = max(until, end)
    return {"first_partition_start": start, "last_job_end": last, "wall_s": last - start, "jobs_running_s": busy,
            "to_delta_z_table_s": (table.stat().st_mtime - start) if table.exists() else None}


def disk_usage(results: Path, n: int, runs_peak: int) -> dict[str, dict]:
    """Bytes and bytes per object of each reported directory (a parent's bytes exclude its listed children)."""
    usage = {}
    for name in DISK_DIRS:
        path = results / name
        if not path.exists() and name != "partition/runs":
            continue
        size = tree_bytes(path)
        children = [c for c in DISK_DIRS if c.startswith(name + "/")]
        size -= sum(tree_bytes(results / c) for c in children)
        usage[name] = {"bytes": size, "bytes_per_object": size / n}
    usage["partition/runs"]["peak_bytes"] = runs_peak
    usage["partition/runs"]["peak_bytes_per_object"] = runs_peak / n
    return usage


def sample_counts(results: Path) -> dict:
    summary = json.loads((results / "mock/summary.json").read_text())
    plan = json.loads((results / "partition/plan.json").read_text())
    return {"n_specz": summary["n_specz"], "n_deep": summary["n_deep"], "n_clustering_ref": summary["n_clustering_ref"],
            "n_selected_before_cap": summary.get("n_selected_before_cap"), "n_files": len(summary["files"]),
            "n_shards": len(plan["shards"]), "max_shard_rows": max(e["rows"] for e in plan["shards"])}


# --------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------
def fmt(value, spec: str = ",.1f", empty: str = "–") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return empty
    return format(value, spec)


def print_run(result: dict) -> None:
    n = result["n"]
    mock, run = result["mock"], result["workflow"]
    counts = result["counts"]
    print(f"\n=== zshard at N = {n:,} objects ({counts['n_files']} files of ≤ {result['rows_per_file']:,} rows, "
          f"{counts['n_shards']} shards of ≤ {result['max_rows_per_shard']:,} rows, "
          f"largest {counts['max_shard_rows']:,}; --cores {result['cores']}) ===")
    reused = " (reused: generated by an earlier run)" if mock["reused"] else ""
    print(f"mock generation{reused}: {fmt(mock['wall_s'])} s wall, {fmt(mock['cpu_s'])} CPU-s, peak RSS "
          f"{fmt(mock['max_rss_mb'], ',.0f')} MB → {fmt(mock['objects_per_s'], ',.0f')} objects/s, a few seconds of "
          f"set-up (colour table, density fields) included (at this rate 100M objects take "
          f"{fmt(mock['seconds_per_1e8'] / 60, '.0f')} min; the cost model below separates the two)")
    print(f"samples: spec-z {counts['n_specz']:,}, deep field {counts['n_deep']:,}, clustering reference "
          f"{counts['n_clustering_ref']:,} (what the selections found before their caps: "
          f"{counts['n_selected_before_cap']})")
    header = (f"{'rule':<22} {'jobs':>5} {'wall sum s':>11} {'wall max s':>11} {'CPU-s':>9} {'peak RSS MB':>12} "
              f"{'rows':>13} {'obj/CPU-s':>11} {'CPU-µs/obj':>11}")
    print("\n" + header + "\n" + "-" * len(header))
    rules = result["rules"]
    order = sorted(rules, key=lambda r: -rules[r]["cpu_s"])
    for rule in order:
        e = rules[rule]
        per_object = e["cpu_s"] / n * 1e6
        print(f"{rule:<22} {e['jobs']:>5} {fmt(e['wall_sum_s']):>11} {fmt(e['wall_max_s']):>11} "
              f"{fmt(e['cpu_s']):>9} {fmt(e['max_rss_mb'], ',.0f'):>12} {fmt(e['rows'], ',d'):>13} "
              f"{fmt(e['objects_per_cpu_s'], ',.0f'):>11} {fmt(per_object, ',.2f'):>11}")
    jobs_cpu = sum(e["cpu_s"] for r, e in rules.items() if r != "mock_survey")
    print("-" * len(header))
    print(f"{'sum of jobs':<22} {sum(e['jobs'] for r, e in rules.items() if r != 'mock_survey'):>5} "
          f"{fmt(sum(e['wall_sum_s'] for r, e in rules.items() if r != 'mock_survey')):>11} {'':>11} {fmt(jobs_cpu):>9}"
          f"   (mock_survey excluded; CPU-µs/obj = CPU-s / N for every rule)")
    if not result.get("resumed"):
        print(f"CPU of every process of the run (kernel): {fmt(run['cpu_s'])} CPU-s; jobs' benchmark records sum to "
              f"{fmt(jobs_cpu)}: Snakemake's own process and job CPU its ~0.5 s sampling misses (short jobs read 0) "
              f"make the {fmt(run['cpu_s'] - jobs_cpu)} CPU-s between them")
    e2e = result["end_to_end"]
    chain_cpu = sum(rules[r]["cpu_s"] for r in FAN_OUT if r in rules)
    chain_rows = max((rules[r].get("rows") or 0 for r in FAN_OUT if r in rules), default=0)
    if chain_rows and chain_cpu > 0 and "chain_floor" in result:
        floor = result["chain_floor"]
        rate = chain_rows / chain_cpu
        print(f"\nper-shard chain (predict, calibrate, bin, partial n(z); start-up included): "
              f"{chain_cpu / chain_rows * 1e6:.2f} CPU-µs/object = {rate:,.0f} objects/s per core "
              f"(goal ≥ {CHAIN_GOAL:,}: {'MET' if rate >= CHAIN_GOAL else 'NOT MET'}); I/O floor on the largest "
              f"shard ({floor['rows']:,} rows: read its columns {floor['read_cpu_s']:.2f} CPU-s, write its products "
              f"{floor['write_cpu_s']:.2f} CPU-s) {floor['cpu_us_per_object']:.2f} CPU-µs/object: the chain costs "
              f"{chain_cpu / chain_rows * 1e6 / floor['cpu_us_per_object']:.1f}× the floor")
    print(f"\nend to end (first partition job → last job): {fmt(e2e['wall_s'])} s = "
          f"{fmt(e2e['wall_s'] / 60, '.1f')} min; to the Δz table {fmt(e2e['to_delta_z_table_s'])} s; "
          f"the snakemake command {fmt(run['wall_s'])} s "
          f"(DAG building and checks included); {fmt(n / e2e['wall_s'], ',.0f')} objects/s; "
          f"time with at least one job running {fmt(e2e['jobs_running_s'])} s")
    if result.get("resumed"):
        print("NOTE: results/ was kept (--keep-results): jobs of an earlier, interrupted run are counted, the "
              "command's wall and CPU are this run's only, and first → last includes the pause")
    if n >= GOAL_N:
        print(f"goal ≤ 30 min at {GOAL_N:,}: {'met' if e2e['wall_s'] <= GOAL_S else 'MISSED'}")
    other = run["other_cpu_s"]
    print(f"other processes on the machine used {fmt(other)} CPU-s during the run "
          f"({fmt(100 * other / (run['wall_s'] * os.cpu_count()), '.0f')}% of its {os.cpu_count()} cores): "
          f"{'timings clean' if other < 0.05 * run['cpu_s'] else 'timings INFLATED by the other load'}")
    print(f"\n{'directory (results/)':<22} {'bytes':>16} {'bytes/object':>13}")
    for name, d in result["disk"].items():
        extra = ""
        if name == "partition/runs":
            extra = (f"   peak {d['peak_bytes']:,} ({d['peak_bytes_per_object']:.1f} B/object), "
                     + ("kept" if result["keep_runs"] else "deleted once reduced (partition.keep_runs: false)"))
        print(f"{name:<22} {d['bytes']:>16,} {d['bytes_per_object']:>13.1f}{extra}")
    total = sum(d["bytes"] for d in result["disk"].values())
    print(f"{'total':<22} {total:>16,} {total / n:>13.1f}   (a parent's bytes exclude its listed children)")


def load_all() -> list[dict]:
    found = []
    for path in sorted(OUT.glob("N*/results.json")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    return sorted(found, key=lambda r: r["n"])


def print_scaling(all_results: list[dict], cores: int) -> dict | None:
    """Fan-out linearity, each rule's growth with N, and the critical-path cost model at 1e8."""
    if not all_results:
        return None
    ns = [r["n"] for r in all_results]
    if len(all_results) > 1:
        parts = []
        for r in all_results:
            cpu = sum(r["rules"].get(rule, {}).get("cpu_s", 0.0) for rule in FAN_OUT)
            parts.append(f"N={r['n']:.0e}: {cpu / r['n'] * 1e6:.1f}")
        print("\nfan-out linearity, CPU-µs per object of the per-shard chain: " + ", ".join(parts)
              + " (constant = linear)")
        largest = all_results[-1]["rules"]
        rules = sorted({rule for r in all_results for rule in r["rules"]},
                       key=lambda name: (name == "mock_survey", -largest.get(name, {}).get("cpu_s", 0.0)))
        print("\nCPU-s per rule at each N; growth = CPU ratio / N ratio, smallest to largest N "
              "(1: linear, 0: constant)")
        header = f"{'rule':<22} " + " ".join(f"{'@' + format(n, '.0e'):>10}" for n in ns) + f" {'growth':>7}"
        print(header + "\n" + "-" * len(header))
        for rule in rules:
            ys = [r["rules"][rule]["cpu_s"] if rule in r["rules"] else math.nan for r in all_results]
            growth = (ys[-1] / ys[0]) / (ns[-1] / ns[0]) if ys[0] and ys[0] > 0 else math.nan
            print(f"{rule:<22} " + " ".join(f"{fmt(y):>10}" for y in ys) + f" {fmt(growth, '.2f'):>7}")
    return cost_model(all_results[-1], cores)


def cost_model(largest: dict, cores: int) -> dict:
    """The wall time at 1e8 objects from the largest N measured, along the workflow's critical path.

    The partition runs beside the training chain (serial, on samples bounded by the caps: constant
    past them); the fan-out starts when both are done and is linear in N, spread over the cores; the
    global jobs after it read bounded samples (constant, plus one pass over a few columns of every
    shard, ~0.1-0.3 CPU-µs per object each, not extrapolated here).
    """
    n, rules = largest["n"], largest["rules"]

    def cpu(names):
        return sum(rules[name]["cpu_s"] for name in names if name in rules)

    def wall(names):
        return sum(rules[name]["wall_sum_s"] for name in names if name in rules)

    scale = GOAL_N / n
    partition = cpu(PARTITION_LINEAR) * scale / cores + wall(("partition_plan", "partition_manifest"))
    training = wall(TRAINING_CHAIN)
    fan_out = cpu(FAN_OUT) * scale / cores
    tail = wall(TAIL)
    total = max(partition, training) + fan_out + tail
    print(f"\ncost model at {GOAL_N:.0e} objects, from N = {n:.0e} (linear rules scaled by {scale:g}; jobs on "
          f"bounded samples taken as measured):")
    print(f"  {'partition (split + reduce CPU / ' + str(cores) + ' cores, + plan, manifest)':<84} "
          f"{partition / 60:6.1f} min  ┐ side by side")
    chain = (f"training chain (wall of its {sum(r in rules for r in TRAINING_CHAIN)} serial jobs, "
             "science_sample … train_model)")
    print(f"  {chain:<84} {training / 60:6.1f} min  ┘")
    fan = (f"fan-out (per-shard chain CPU / {cores} cores: {cpu(FAN_OUT) / n * 1e6:.1f} "
           "CPU-µs per object)")
    print(f"  {fan:<84} {fan_out / 60:6.1f} min")
    print(f"  {'global jobs after it (wall of reduce_nz, validate_*, combine_delta_z, summary)':<84} "
          f"{tail / 60:6.1f} min")
    print(f"  total ≈ {total / 60:.1f} min → goal ≤ 30 min: {'on track' if total <= GOAL_S else 'NOT on track'} "
          f"(an extrapolation, not a measurement); for 30 min the fan-out may take "
          f"{max(GOAL_S - max(partition, training) - tail, 0) * cores / GOAL_N * 1e6:.1f} CPU-µs per object")
    return {"from_n": n, "partition_s": partition, "training_chain_s": training, "fan_out_s": fan_out,
            "tail_s": tail, "total_s": total}


# --------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, required=True, help="objects in the mock survey")
    parser.add_argument("--rows-per-file", type=int, default=2_500_000, help="rows per photometric file (default 2.5M)")
    parser.add_argument("--max-rows-per-shard", type=int, default=1_000_000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep-runs", action="store_true",
                        help="keep the partition's sorted runs (partition.keep_runs)")
    parser.add_argument("--regenerate-mock", action="store_true", help="make the mock again even if it exists")
    parser.add_argument("--keep-results", action="store_true",
                        help="do not clear results/ (but the mock) first: Snakemake then runs only what is missing")
    parser.add_argument("--configfile", help="more config overrides, applied after the bench's")
    parser.add_argument("--report-only", action="store_true", help="print the results already in bench/out/scale")
    args = parser.parse_args()

    if args.report_only:  # the per-rule records are read again from each results directory
        found = load_all()
        for result in found:
            results = OUT / f"N{result['n']}" / "results"
            result["rules"], jobs = rule_table(results)
            result["end_to_end"] = end_to_end(jobs, results)
            print_run(result)
        print_scaling(found, args.cores)
        return 0

    work = OUT / f"N{args.n}"
    results = work / "results"
    work.mkdir(parents=True, exist_ok=True)
    config_path = work / "config.yaml"
    config_path.write_text(yaml.safe_dump(bench_config(args.n, args.rows_per_file, args.max_rows_per_shard,
                                                       args.keep_runs, results)))
    configfiles = [str(config_path)] + ([args.configfile] if args.configfile else [])
    common = ["--configfile", *configfiles]

    if args.regenerate_mock:
        shutil.rmtree(results / "mock", ignore_errors=True)
    if not args.keep_results:
        reset_results(results, keep_mock=True)
    mock_tsv = results / "benchmarks/mock_survey.tsv"
    had_mock = (results / "mock/summary.json").exists()
    print(f"[{time.strftime('%H:%M:%S')}] mock survey of {args.n:,} objects → {results / 'mock'}", flush=True)
    mock_run = run_snakemake([*common, "--until", "mock_survey"], work / "mock.log", args.cores)
    reused = had_mock and "Nothing to be done" in (work / "mock.log").read_text()
    record = read_benchmark(mock_tsv)
    mock = {"reused": reused, "wall_s": record["s"], "cpu_s": record["cpu_time"], "max_rss_mb": record["max_rss"],
            "snakemake_wall_s": mock_run["wall_s"], "objects_per_s": args.n / record["s"],
            "seconds_per_1e8": record["s"] / args.n * GOAL_N}

    print(f"[{time.strftime('%H:%M:%S')}] workflow (log {work / 'workflow.log'})", flush=True)
    sampler = DirectorySampler(results / "partition/runs")
    sampler.start()
    try:
        run = run_snakemake(common, work / "workflow.log", args.cores)
    finally:
        runs_peak = sampler.stop()
    print(f"[{time.strftime('%H:%M:%S')}] done", flush=True)

    rules, jobs = rule_table(results)
    result = {"n": args.n, "rows_per_file": args.rows_per_file, "max_rows_per_shard": args.max_rows_per_shard,
              "cores": args.cores, "keep_runs": args.keep_runs, "configfiles": configfiles,
              "resumed": args.keep_results,
              "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine_cores": os.cpu_count(),
              "mock": mock, "workflow": run, "rules": rules, "end_to_end": end_to_end(jobs, results),
              "disk": disk_usage(results, args.n, runs_peak), "counts": sample_counts(results),
              "chain_floor": chain_floor(results)}
    (work / "results.json").write_text(json.dumps(result, indent=1))
    print_run(result)
    result["cost_model"] = print_scaling(load_all(), args.cores)
    (work / "results.json").write_text(json.dumps(result, indent=1))
    print(f"\nresults: {work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
