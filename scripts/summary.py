"""Rule summary: the metrics table (JSON), the figures and a Markdown page a person can read."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import os

import numpy as np
import pandas as pd

from zshard import report
from zshard.io.atomic import read_json, write_json

inp, out, params = snakemake.input, snakemake.output, snakemake.params
manifest = read_json(inp.manifest)
model = read_json(inp.model_manifest)
photoz = read_json(inp.photoz)
nz = read_json(inp.nz)
samples = read_json(inp.samples)
delta_z = read_json(inp.delta_z[0]) if inp.delta_z else None
truth = read_json(inp.truth[0]) if inp.truth else None
delta_z_table = read_json(inp.delta_z_table[0]) if inp.delta_z_table else None
edges = np.asarray(nz["edges"])

notes = []
if not params.deep_reference:
    notes.append("Δz against a deep reference field: switched off (no deep reference catalogue configured, "
                 "or validation.deep_reference.enabled is false).")
if not params.clustering:
    notes.append("Δz from clustering redshifts: switched off (no clustering reference catalogue configured, "
                 "or validation.clustering.enabled is false).")
if not params.truth:
    notes.append("Validation against true redshifts: switched off (no truth catalogue configured).")
if manifest["plan"]["oversized_shards"]:
    notes.append("Shards above the row threshold (raise partition.histogram_order): "
                 f"{manifest['plan']['oversized_shards']}")

rows = []
for i in range(len(edges) - 1):
    true_dz = truth["bins"][i]["delta_z_true"] if truth else None
    if delta_z:
        entry = delta_z["bins"][i]
        rows.append({"bin": i, "method": "deep reference", "delta_z": entry["delta_z"],
                     "sigma": entry["sigma_total"], "n": entry["n_reference"], "truth": true_dz})
    if truth:
        rows.append({"bin": i, "method": "truth", "delta_z": true_dz, "sigma": 0.0, "n": truth["bins"][i]["n"]})

metrics = {
    "source": params.config["source"],
    "objects_in": manifest["totals"]["rows_in"],
    "objects_in_shards": manifest["totals"]["rows_in_shards"],
    "objects_rejected": manifest["totals"]["rows_rejected"],
    "shards": len(manifest["shards"]),
    "spec-z train / validation / test": f"{samples['n_train']} / {samples['n_validation']} / {samples['n_test']}",
    "model_version": model["version"],
    "test: point estimates": photoz["point"],
    "test: raw PDFs": {k: v for k, v in photoz["pdf_raw"].items() if k != "pit_histogram"},
    "test: calibrated PDFs": {k: v for k, v in photoz["pdf_calibrated"].items() if k != "pit_histogram"},
}
if "outlier_fraction_floor" in photoz:
    metrics["calibration: uniform outlier floor (fitted on validation)"] = photoz["outlier_fraction_floor"]
if photoz.get("magnitude_bins"):
    band = photoz["magnitude_bins"]["band"]
    metrics[f"test per {band} magnitude bin (calibrated PDFs)"] = [
        {f"{band} from": b["lo"], "to": b["hi"], "n": b["point"]["n"], "nmad": b["point"]["nmad"],
         "outliers": b["point"]["outlier_fraction"], "PIT KS": b["pdf"]["pit_ks_stat"],
         "PIT catastrophic": b["pdf"]["pit_catastrophic_fraction"], "CDE loss": b["pdf"]["cde_loss"],
         "CRPS": b["pdf"]["crps"]} for b in photoz["magnitude_bins"]["calibrated"]]
if truth:
    metrics["science sample vs truth"] = truth["point"]
metrics["n(z) per bin"] = [{"bin": i, "z_range": f"{edges[i]:.2f}–{edges[i + 1]:.2f}", "n": nz["counts"][i],
                            "mean_z": nz["mean_z"][i]} for i in range(len(edges) - 1)]
if delta_z_table:  # method 1, method 2 and their inverse-variance combination, each with the truth
    rows = report.delta_z_rows_from_table(delta_z_table)
    if truth:
        rows += [{"bin": i, "method": "truth", "delta_z": b["delta_z_true"], "sigma": 0.0, "n": b["n"]}
                 for i, b in enumerate(truth["bins"])]
metrics["delta_z"] = rows

figures_dir = os.path.dirname(out.figures[0])
fig = {name: os.path.join(figures_dir, f"{name}.png") for name in ("pit", "zphot_vs_zspec", "nz", "delta_z", "sky")}
predictions = pd.read_parquet(inp.predictions)
report.plot_pit_histograms(fig["pit"], predictions["pit_raw"].to_numpy(), predictions["pit_calibrated"].to_numpy())
report.plot_zphot_vs_zspec(fig["zphot_vs_zspec"], predictions["z_spec"].to_numpy(), predictions["z_phot"].to_numpy(),
                           photoz["point"])
true_nz = None
if truth:
    grid = np.asarray(truth["grid_edges"])
    true_nz = (0.5 * (grid[1:] + grid[:-1]), np.asarray([b["true_nz"] for b in truth["bins"]]))
report.plot_nz(fig["nz"], np.asarray(nz["grid_centres"]), np.asarray(nz["nz"]), edges, true_nz=true_nz)
report.plot_delta_z(fig["delta_z"], [r for r in rows if r["method"] != "truth"] if delta_z or delta_z_table else rows)
with np.load(inp.sky) as sky:
    report.plot_sky_counts(fig["sky"], int(sky["histogram_order"]), sky["pixels"], sky["counts"])

# The training stages (zshard.training_report): a table per stage, their figures beside the others.
import shutil

from zshard.io.atomic import atomic_path
from zshard.training_report import summary_sections

metrics.update(summary_sections(read_json(inp.representativeness), read_json(inp.anomalies), read_json(inp.selection),
                                read_json(inp.leaderboard[0]) if inp.leaderboard else None, model))
for source, target, caption in zip(inp.training_figures, out.training_figures, params.training_captions):
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    fig[caption] = target

write_json(out.metrics, {**metrics, "notes": notes, "photoz": photoz,
                         "nz": {k: nz[k] for k in ("edges", "counts", "mean_z")},
                         "delta_z_deep_reference": delta_z, "delta_z_table": delta_z_table,
                         "truth": {k: truth[k] for k in ("point", "n_matched")} if truth else None})
captions = {"pit": "PIT before and after calibration (test sample)", "zphot_vs_zspec": "z_phot vs z_spec (test sample)",
            "nz": "n(z) per tomographic bin", "delta_z": "Δz per bin", "sky": "Objects per HEALPix pixel"}
report.write_summary_markdown(out.markdown, metrics, {captions.get(k, k): v for k, v in fig.items()}, notes)
print(f"summary written to {out.markdown}")
