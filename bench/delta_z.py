"""Δz benchmark: the whole workflow on the mock survey for several seeds, each method against the truth.

Run with ``make bench-deltaz`` (or ``.venv/bin/python bench/delta_z.py [--seeds 101 102 103 104 105]``:
five seeds that no default was chosen on; docs/mock_clustering.md lists the seeds that chose them). For
each seed the workflow runs on the embedded default (the generated mock survey; ``--configfile``
adds settings) with the top-level ``seed`` set and its own results directory,
``bench/out/delta_z/seed<S>/``. Then, per method, bin and seed, it prints the estimated Δz, its
error, the true Δz and the pull ``(estimate − truth) / error``, and two figures of merit (issue 6,
as in Hoyle et al. 2018's validation of the DES Y1 n(z) on simulations):

* **coverage**: the fraction of bin×seed cases whose estimate lies within 2σ of the truth
  (goal ≥ 90%);
* **error / scatter**: the mean quoted error over the between-seed scatter (standard deviation over
  seeds, pooled over bins) of estimate − truth (goal 0.7–1.5: the errors are neither inflated nor
  optimistic). Needs at least two seeds.

and the goals of issue 15 (each printed as met or NOT met): WZ's per-bin error ≤ 0.03, every
bin×seed case with a WZ estimate, and the combined Δz's error smaller than either method's in every
case. ``--skip-existing`` runs only the seeds whose results directory has no Δz table yet, so that a
benchmark too long for one sitting is run a few seeds at a time.

Where it reads the numbers (per results directory):

* ``validation/delta_z_table.json`` when present: per bin, the methods ``cosmos``, ``wz``,
  ``combined`` as ``{"delta_z", "error"}`` and ``truth`` as ``{"delta_z"}``; the bins either as a
  list under ``"bins"`` (each with ``"bin"``) or as a mapping from bin to methods;
* otherwise method ``cosmos`` from ``validation/delta_z.json`` (``delta_z``, ``sigma_total``) and
  the truth from ``validation/truth.json`` (``delta_z_true``).

The truth is the mock's: mean true redshift of a bin's objects minus the mean of its stacked n(z).
Prints whether each goal is met; exits non-zero only if a workflow run fails. Results also go to
``bench/out/delta_z/results.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from zshard.io.atomic import write_json

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("cosmos", "wz", "combined")
#: What each method measures inside the clustering reference's range (``in_range`` of the Δz table):
#: the in-range mean redshift against the truth's; WZ can be right there while blind beyond it.
IN_RANGE_METHODS = ("cosmos_in_range", "wz_in_range")


def run_workflow(seed: int, results: Path, cores: int, configfile: str | None, snakemake: str) -> float:
    """Run the workflow for one seed into ``results``; returns the wall time in seconds."""
    command = [snakemake, "--cores", str(cores), "--directory", str(ROOT), "-s", str(ROOT / "Snakefile")]
    if configfile:
        command += ["--configfile", configfile]
    command += ["--config", f"seed={seed}", f"results={results}"]
    log = results.parent / f"seed{seed}.log"
    results.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.run(command, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT,
                              env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = log.read_text()[-3000:]
        raise SystemExit(f"workflow failed for seed {seed} (log {log}):\n{tail}")
    return wall


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and value is not None else math.nan


def _error_of(entry: dict) -> float:
    for key in ("error", "sigma", "sigma_total"):
        if key in entry and entry[key] is not None:
            return float(entry[key])
    return math.nan


def read_estimates(results: Path) -> tuple[list[dict], str]:
    """Rows ``{method, bin, delta_z, error, truth}`` of one results directory, and where they came from."""
    table_path = results / "validation/delta_z_table.json"
    rows = []
    if table_path.exists():
        table = json.loads(table_path.read_text())
        bins = table.get("bins", table) if isinstance(table, dict) else table
        items = (bins.items() if isinstance(bins, dict)
                 else ((entry.get("bin", i), entry) for i, entry in enumerate(bins)))
        for b, entry in items:
            truth = _number((entry.get("truth") or {}).get("delta_z"))
            for method in METHODS:
                est = entry.get(method)
                if isinstance(est, dict) and est.get("delta_z") is not None:
                    rows.append({"method": method, "bin": int(b), "delta_z": _number(est["delta_z"]),
                                 "error": _error_of(est), "truth": truth})
            truth_in = _number((entry.get("truth") or {}).get("mean_z_in_range"))
            for method, key, error_key in (("cosmos_in_range", "mean_z_ref", "sigma"),
                                           ("wz_in_range", "mean_z", "error")):
                part = (entry.get(method.removesuffix("_in_range")) or {}).get("in_range") or {}
                if part.get(key) is not None and math.isfinite(truth_in):
                    rows.append({"method": method, "bin": int(b), "delta_z": _number(part[key]),
                                 "error": _number(part.get(error_key)), "truth": truth_in})
        return rows, str(table_path)
    delta = json.loads((results / "validation/delta_z.json").read_text())
    truth = json.loads((results / "validation/truth.json").read_text())
    true_dz = {int(b["bin"]): _number(b["delta_z_true"]) for b in truth["bins"]}
    for entry in delta["bins"]:
        rows.append({"method": "cosmos", "bin": int(entry["bin"]), "delta_z": _number(entry["delta_z"]),
                     "error": _number(entry["sigma_total"]), "truth": true_dz.get(int(entry["bin"]), math.nan),
                     "errors": entry.get("errors")})
    return rows, f"{results / 'validation/delta_z.json'} + truth.json (no delta_z_table.json)"


def beyond_range(results: Path) -> list[dict]:
    """Per bin, the truth's part beyond the clustering reference's range (``validation/truth.json``):
    the fraction of the bin's objects there and how far they move its mean,
    ``(1 − f)(⟨z⟩_out − ⟨z⟩_in) = ⟨z⟩ − ⟨z⟩_in``: what clustering redshifts cannot see."""
    path = results / "validation/truth.json"
    if not path.exists():
        return []
    rows = []
    for b in json.loads(path.read_text())["bins"]:
        if b.get("mean_z_true_in_range") is None:
            continue
        rows.append({"bin": int(b["bin"]), "fraction_beyond": 1.0 - _number(b["fraction_in_range"]),
                     "shift_beyond": _number(b["mean_z_true"]) - _number(b["mean_z_true_in_range"]),
                     "delta_z_true": _number(b["delta_z_true"])})
    return rows


def _std(values: list[float]) -> float:
    if len(values) < 2:
        return math.nan
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def figures_of_merit(rows: list[dict], n_expected: int | None = None) -> dict:
    """Coverage within 2σ and the error / between-seed scatter ratio of one method's rows.

    ``n_expected`` (bins × seeds): cases without a usable estimate (no row, or a non-finite one)
    count as *not* within 2σ.
    """
    usable = [r for r in rows if all(math.isfinite(r[k]) for k in ("delta_z", "error", "truth")) and r["error"] > 0]
    within = [abs(r["delta_z"] - r["truth"]) <= 2 * r["error"] for r in usable]
    n_cases = max(len(usable), n_expected or 0)
    per_bin = {}
    for r in usable:
        per_bin.setdefault(r["bin"], []).append(r)
    scatter_var, errors, ratio_per_bin = [], [], {}
    for b, rs in sorted(per_bin.items()):
        residuals = [r["delta_z"] - r["truth"] for r in rs]
        sd = _std(residuals)
        mean_error = sum(r["error"] for r in rs) / len(rs)
        errors.extend(r["error"] for r in rs)
        if math.isfinite(sd):
            scatter_var.append(sd ** 2)
            ratio_per_bin[b] = mean_error / sd if sd > 0 else math.inf
    pooled_scatter = math.sqrt(sum(scatter_var) / len(scatter_var)) if scatter_var else math.nan
    mean_error = sum(errors) / len(errors) if errors else math.nan
    ratio = ((mean_error / pooled_scatter if pooled_scatter > 0 else math.inf) if scatter_var
             else math.nan)  # nan: fewer than 2 seeds
    return {"n_cases": n_cases, "n_missing": n_cases - len(usable), "n_within_2sigma": int(sum(within)),
            "fraction_within_2sigma": sum(within) / n_cases if n_cases else math.nan,
            "mean_error": mean_error, "between_seed_scatter": pooled_scatter,
            "error_over_scatter": ratio, "error_over_scatter_per_bin": ratio_per_bin}


def issue_goals(rows: list[dict], n_seeds: int) -> dict[str, tuple[str, bool]]:
    """Issue 15's goals beyond coverage and error / scatter: WZ's per-bin error ≤ 0.03, a WZ estimate
    for every bin×seed case, and a combined error below either method's in every case."""
    def usable(r: dict) -> bool:
        return math.isfinite(r["delta_z"]) and math.isfinite(r["error"]) and r["error"] > 0

    cases = {(r["bin"], r["seed"]) for r in rows}
    by_case = {}
    for r in rows:
        if usable(r) and r["method"] in METHODS:
            by_case.setdefault((r["bin"], r["seed"]), {})[r["method"]] = r["error"]
    wz = [e["wz"] for e in by_case.values() if "wz" in e]
    smaller = [e["combined"] < min(e["wz"], e["cosmos"]) for e in by_case.values() if len(e) == 3]
    return {
        "WZ error ≤ 0.03 per bin": (f"{sum(x <= 0.03 for x in wz)}/{len(wz)}, largest "
                                    f"{max(wz) if wz else math.nan:.4f}", bool(wz) and max(wz) <= 0.03),
        "every bin gets a WZ estimate": (f"{len(wz)}/{len(cases)} over {n_seeds} seeds", len(wz) == len(cases)),
        "combined error < either method's": (f"{sum(smaller)}/{len(cases)}", len(smaller) == len(cases)
                                             and all(smaller)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104, 105])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench/out/delta_z"))
    parser.add_argument("--configfile", default=None, help="extra settings over the embedded default")
    parser.add_argument("--no-run", action="store_true", help="only read the results already in --out")
    parser.add_argument("--skip-existing", action="store_true",
                        help="run only the seeds without validation/delta_z_table.json in --out")
    parser.add_argument("--snakemake", default=str(Path(sys.executable).with_name("snakemake")))
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()

    all_rows, sources, walls = [], {}, {}
    for seed in args.seeds:
        results = out / f"seed{seed}"
        done = (results / "validation/delta_z_table.json").exists()
        if not args.no_run and not (args.skip_existing and done):
            print(f"seed {seed}: running the workflow into {results} ...", flush=True)
            walls[seed] = run_workflow(seed, results, args.cores, args.configfile, args.snakemake)
            print(f"seed {seed}: done in {walls[seed]:.0f} s", flush=True)
        try:
            rows, sources[seed] = read_estimates(results)
        except FileNotFoundError as err:
            raise SystemExit(f"seed {seed}: no Δz results in {results} ({err.filename}); run without --no-run") from err
        for r in rows:
            r["seed"] = seed
        all_rows.extend(rows)

    order = METHODS + IN_RANGE_METHODS
    print("\nΔz per method, bin and seed (pull = (estimate - truth) / error); *_in_range: the mean redshift "
          "inside the clustering reference's range, against the truth's")
    print(f"{'method':<15} {'bin':>3} {'seed':>5} {'estimate':>9} {'error':>8} {'truth':>9} {'pull':>6}")
    for r in sorted(all_rows, key=lambda r: (order.index(r["method"]), r["bin"], r["seed"])):
        pull = (r["delta_z"] - r["truth"]) / r["error"] if r["error"] and r["error"] > 0 else math.nan
        r["pull"] = pull
        print(f"{r['method']:<15} {r['bin']:>3} {r['seed']:>5} {r['delta_z']:>+9.4f} {r['error']:>8.4f} "
              f"{r['truth']:>+9.4f} {pull:>+6.2f}")

    beyond = {seed: beyond_range(out / f"seed{seed}") for seed in args.seeds}
    if any(beyond.values()):
        print("\nThe truth beyond the clustering reference's range (what WZ cannot see): fraction of each bin's "
              "objects there, and the shift of the bin's mean they cause, <z> - <z>_in")
        for seed, rows in beyond.items():
            print(f"seed {seed}: " + "; ".join(f"bin {r['bin']} {r['fraction_beyond']:.1%} {r['shift_beyond']:+.4f} "
                                              f"(Δz_true {r['delta_z_true']:+.4f})" for r in rows))

    summary = {"beyond_range": beyond}
    print("\nFigures of merit (goals: ≥ 90% within 2σ; mean error / between-seed scatter in 0.7–1.5)")
    for method in order:
        rows = [r for r in all_rows if r["method"] == method]
        if not rows:
            continue
        fom = figures_of_merit(rows, n_expected=len({(r["bin"], r["seed"]) for r in all_rows}))
        summary[method] = fom
        frac, ratio = fom["fraction_within_2sigma"], fom["error_over_scatter"]
        cover_ok = "met" if frac >= 0.9 else "NOT met"
        ratio_txt = (f"{ratio:.2f} ({'met' if 0.7 <= ratio <= 1.5 else 'NOT met'})" if not math.isnan(ratio)
                     else "n/a (needs ≥ 2 seeds)")
        missing = f", {fom['n_missing']} without an estimate" if fom["n_missing"] else ""
        print(f"{method:<15} within 2σ: {fom['n_within_2sigma']}/{fom['n_cases']} = {frac:.0%} ({cover_ok}{missing}); "
              f"mean error {fom['mean_error']:.4f}, between-seed scatter {fom['between_seed_scatter']:.4f}, "
              f"error / scatter {ratio_txt}")
    goals = issue_goals(all_rows, len(args.seeds))
    summary["goals"] = goals
    print("\nGoals of issue 15")
    for name, (value, met) in goals.items():
        print(f"  {name}: {value} ({'met' if met else 'NOT met'})")
    for seed, source in sources.items():
        print(f"seed {seed}: read {source}")

    write_json(out / "results.json", {"seeds": args.seeds, "wall_s": walls, "sources": sources, "rows": all_rows,
                                      "figures_of_merit": summary})  # NaN and inf written as null
    print(f"\nresults: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
