"""RAIL's FlexZBoost and KNN on a benchmark split: run inside bench/out/rail-venv (never zshard's venv).

Called by ``bench/photoz.py``: reads the training and evaluation tables it wrote (Parquet, columns
``mag_<b>``, ``magerr_<b>``, ``z_spec``), informs each estimator with RAIL 2.0 defaults (FlexZBoost:
pz-rail-flexzboost; KNN: pz-rail-sklearn) and writes, per method, the p(z) on RAIL's default grid
(301 points on [z_min, z_max], ``qp.interp``) of the evaluation objects and of a throughput set,
with the inform and estimate wall times, to one ``.npz`` per method.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd


def as_rail_table(frame: pd.DataFrame, bands: list[str]) -> dict:
    # writable copies: RAIL replaces non-detections in place (pandas' arrays are read-only views)
    data = {f"mag_{b}": np.array(frame[f"mag_{b}"], dtype=np.float64) for b in bands}
    data.update({f"magerr_{b}": np.array(frame[f"magerr_{b}"], dtype=np.float64) for b in bands})
    if "z_spec" in frame:
        data["redshift"] = np.array(frame["z_spec"], dtype=np.float64)
    data["object_id"] = np.arange(len(frame))
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--eval", required=True)
    parser.add_argument("--throughput", required=True)
    parser.add_argument("--bands", required=True, help="comma-separated band names")
    parser.add_argument("--z-max", type=float, default=3.0)
    parser.add_argument("--methods", default="flexzboost,knn")
    parser.add_argument("--out", required=True, help="prefix of the output .npz files")
    args = parser.parse_args()
    bands = args.bands.split(",")
    train = pd.read_parquet(args.train)
    evaluation = pd.read_parquet(args.eval)
    throughput = pd.read_parquet(args.throughput)
    # Missing magnitudes (NaN) are non-detections for RAIL: replaced by a faint limit with error 1.
    limits = {f"mag_{b}": float(np.nanpercentile(train[f"mag_{b}"], 99.5)) + 1.0 for b in bands}
    common = dict(hdf5_groupname="", bands=[f"mag_{b}" for b in bands], ref_band="mag_i" if "i" in bands
                  else f"mag_{bands[-1]}", mag_limits=limits, nondetect_val=np.nan, zmin=0.0, zmax=args.z_max,
                  nzbins=301)
    for method in args.methods.split(","):
        if method == "flexzboost":
            from rail.interactive.estimation.algos import flexzboost as module

            inform, estimate = module.flex_z_boost_informer, module.flex_z_boost_estimator
            options = dict(common, err_bands=[f"magerr_{b}" for b in bands])
        elif method == "knn":
            from rail.interactive.estimation.algos import k_nearneigh as module

            inform, estimate = module.k_near_neigh_informer, module.k_near_neigh_estimator
            options = dict(common)
        else:
            raise SystemExit(f"unknown method {method}")
        start = time.perf_counter()
        model = inform(training_data=as_rail_table(train, bands), **options)["model"]
        inform_s = time.perf_counter() - start
        ensembles = {}
        seconds = {}
        for name, frame in (("eval", evaluation), ("throughput", throughput)):
            start = time.perf_counter()
            ensembles[name] = estimate(input_data=as_rail_table(frame, bands), model=model, **options)["output"]
            seconds[name] = time.perf_counter() - start
        grid = np.linspace(0.0, args.z_max, 301)
        pdfs = ensembles["eval"].pdf(grid).astype(np.float32)
        np.savez(f"{args.out}_{method}.npz", grid=grid, pdfs=pdfs,
                 timing=json.dumps({"inform_s": inform_s, "estimate_eval_s": seconds["eval"],
                                    "estimate_throughput_s": seconds["throughput"],
                                    "n_throughput": len(throughput)}))
        print(f"{method}: inform {inform_s:.1f} s, estimate {len(throughput)} objects in "
              f"{seconds['throughput']:.1f} s", flush=True)


if __name__ == "__main__":
    main()
