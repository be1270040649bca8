"""Figures and summary tables of the training stages (representativeness … model zoo).

Each stage's rule draws its own figure here (same conventions as :mod:`zshard.report`: an Agg
figure written atomically as PNG); :func:`summary_sections` turns the stages' JSON reports into
the tables of the summary page (``scripts/summary.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from zshard.report.figures import new_figure, new_grid, save_figure

__all__ = ["plot_representativeness", "plot_anomalies", "plot_features", "plot_selection", "plot_zoo",
           "summary_sections"]


def _middle(seq):
    return seq[len(seq) // 2]


def plot_representativeness(path: str | os.PathLike, rep, train: pd.DataFrame, redshift_column: str = "z_spec") -> str:
    """Four panels: KS per feature (before/after weighting); the kNN distance to the labelled set
    of labelled (leave-one-out) and science objects with the coverage threshold; the labelled n(z)
    unweighted and weighted; the k-means cells in a colour–magnitude plane coloured by density ratio."""
    fig, (ax_ks, ax_d, ax_nz, ax_cells) = new_grid(2, 2, width=6.0, height=4.4)

    names = [row["feature"] for row in rep.ks]
    x = np.arange(len(names))
    ax_ks.bar(x - 0.2, [row["ks"] for row in rep.ks], 0.4, label="unweighted")
    if "ks_weighted" in rep.ks[0]:
        ax_ks.bar(x + 0.2, [row["ks_weighted"] for row in rep.ks], 0.4, label="Lima weights")
    ax_ks.set_xticks(x, names, rotation=60, fontsize=7)
    auc = rep.report["classifier_two_sample_test"]
    ax_ks.set(ylabel="KS statistic (labelled vs science)",
              title=f"classifier AUC {auc['auc']:.3f}" + (f", weighted {auc['auc_weighted_used']:.3f}"
                                                           if "auc_weighted_used" in auc else ""))
    ax_ks.title.set_fontsize(9)
    ax_ks.legend(fontsize=8)

    d_train = np.asarray(rep.train_distance)
    d_sci = np.asarray(rep.science_assessment["coverage_distance"])
    hi = float(np.percentile(np.concatenate([d_train, d_sci]), 99.5)) * 1.05 or 1.0
    bins = np.linspace(0, hi, 60)
    ax_d.hist(np.clip(d_train, 0, hi), bins, density=True, histtype="step", label="labelled (leave-one-out)")
    ax_d.hist(np.clip(d_sci, 0, hi), bins, density=True, histtype="step", label="science")
    ax_d.axvline(rep.coverage.threshold, color="r", ls="--",
                 label=f"coverage threshold (q={rep.coverage.quantile:g})")
    frac = rep.report["coverage"]["science_fraction_in_coverage"]
    ax_d.set(xlabel=f"distance to the {rep.coverage.k}-th labelled neighbour (standardised)", ylabel="density",
             title=f"{100 * frac:.1f}% of the science sample in coverage")
    ax_d.title.set_fontsize(9)
    ax_d.legend(fontsize=8)

    z = train[redshift_column].to_numpy(dtype=np.float64)
    zbins = np.linspace(0, max(0.5, float(np.percentile(z, 99.5))), 50)
    ax_nz.hist(z, zbins, density=True, histtype="step", label="labelled")
    ax_nz.hist(z, zbins, weights=rep.weights, density=True, histtype="step",
               label="labelled, weighted (Lima et al. 2008)")
    ax_nz.set(xlabel="z", ylabel="n(z)",
              title=f"effective sample size {rep.report['weights']['effective_sample_size']:.0f} of {len(z)}")
    ax_nz.title.set_fontsize(9)
    ax_nz.legend(fontsize=8)

    centres = rep.cell_centres * rep.scaling.scale + rep.scaling.centre
    space = rep.space.names
    colours = [i for i, n in enumerate(space) if "-" in n]
    mags = [i for i, n in enumerate(space) if n.startswith("mag_")]
    cx = _middle(colours) if colours else 0
    cy = _middle(mags) if mags else min(1, len(space) - 1)
    ratio = rep.cells["density_ratio"].to_numpy(dtype=np.float64)
    n_sci = rep.cells["n_science"].to_numpy(dtype=np.float64)
    empty = rep.cells["n_train"].to_numpy() == 0
    size = 10 + 200 * n_sci / max(n_sci.max(), 1)
    sc = ax_cells.scatter(centres[~empty, cx], centres[~empty, cy], s=size[~empty],
                          c=np.log10(np.clip(ratio[~empty], 1e-3, None)), cmap="coolwarm_r", vmin=-2, vmax=2)
    ax_cells.scatter(centres[empty, cx], centres[empty, cy], s=size[empty], marker="x", color="k",
                     label="no spec-z in cell")
    fig.colorbar(sc, ax=ax_cells, label="log10 labelled/science density ratio")
    share = rep.report["cells"]["science_fraction_in_cells_without_specz"]
    ax_cells.set(xlabel=space[cx], ylabel=space[cy],
                 title=f"{len(ratio)} k-means cells; {100 * share:.1f}% of the science sample in cells without spec-z")
    ax_cells.invert_yaxis()
    ax_cells.title.set_fontsize(9)
    ax_cells.legend(fontsize=8, loc="lower left")
    return save_figure(fig, path)


def plot_anomalies(path: str | os.PathLike, train: pd.DataFrame, table: pd.DataFrame, bands: Sequence[str],
                   redshift_column: str = "z_spec") -> str:
    """A colour against redshift with the flagged objects marked, and the score distributions."""
    fig, (ax, ax_s) = new_figure(2, width=5.5, height=4.4)
    a, b = bands[len(bands) // 2 - 1], bands[len(bands) // 2]
    colour = (train[f"mag_{a}"] - train[f"mag_{b}"]).to_numpy(dtype=np.float64)
    z = train[redshift_column].to_numpy(dtype=np.float64)
    flagged = table["flagged"].to_numpy(dtype=bool)
    ax.scatter(z[~flagged], colour[~flagged], s=2, alpha=0.3, color="0.4", label="kept")
    ax.scatter(z[flagged], colour[flagged], s=10, color="r", label=f"flagged ({flagged.sum()})")
    ax.set(xlabel="z_spec", ylabel=f"{a} − {b}")
    ax.legend(fontsize=8)
    scores = [c for c in table.columns if c.endswith("_score")]
    for column in scores:
        s = table[column].to_numpy(dtype=np.float64)
        ax_s.hist(s[np.isfinite(s)], 60, histtype="step", label=column.replace("_score", ""), log=True)
    ax_s.set(xlabel="abnormality score (higher = more anomalous)", ylabel="objects")
    if scores:
        ax_s.legend(fontsize=8)
    else:
        ax_s.text(0.5, 0.5, "no detector enabled", transform=ax_s.transAxes, ha="center")
    return save_figure(fig, path)


def plot_features(path: str | os.PathLike, X: np.ndarray, names: Sequence[str], rows: Sequence[Mapping]) -> str:
    """Spearman correlation matrix of the pool (training sample) and |ρ| of each feature with z."""
    from scipy import stats

    fig, (ax, ax_z) = new_figure(2, width=5.8, height=5.0)
    Xf = np.where(np.isfinite(X), X, np.nanmedian(X, axis=0))
    rho = stats.spearmanr(Xf).statistic if X.shape[1] > 1 else np.ones((1, 1))
    rho = np.atleast_2d(rho)
    im = ax.imshow(rho, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
    ax.set_yticks(range(len(names)), names, fontsize=6)
    fig.colorbar(im, ax=ax, label="Spearman ρ", shrink=0.8)
    values = [abs(r["spearman_z"]) if np.isfinite(r["spearman_z"]) else 0.0 for r in rows]
    ax_z.barh(range(len(names)), values)
    ax_z.set_yticks(range(len(names)), names, fontsize=6)
    ax_z.invert_yaxis()
    ax_z.set(xlabel="|Spearman ρ| with z_spec")
    return save_figure(fig, path)


def plot_selection(path: str | os.PathLike, report: Mapping) -> str:
    """The three rankings (top to bottom = rank 1 …) and the CV metric against the number of features."""
    rankings = report["rankings"]
    fig, axes = new_grid(1, 4, width=3.6, height=4.8)
    panels = [("gain", "gain_share", "share of total gain"), ("permutation", "nmad_increase", "NMAD increase"),
              ("mint", "criterion", "relevance − redundancy (nats)")]
    chosen = set(report.get("chosen", []))
    for ax, (name, key, label) in zip(axes, panels):
        rows = rankings[name]
        ax.barh(range(len(rows)), [r[key] for r in rows],
                color=["C0" if r["feature"] in chosen else "0.7" for r in rows])
        ax.set_yticks(range(len(rows)), [r["feature"] for r in rows], fontsize=6)
        ax.invert_yaxis()
        ax.set(xlabel=label, title=name + (" (used)" if name == report.get("ranking_used") else ""))
    ax = axes[3]
    scan = report.get("size_scan") or []
    if scan:
        rank_by = report.get("rank_by", "nmad")
        ax.plot([r["n_features"] for r in scan], [r[rank_by] for r in scan], "o-")
        ax.axvline(report["n_chosen"], color="r", ls="--", label=f"chosen: {report['n_chosen']}")
        ax.set(xlabel="number of features (top of the used ranking)", ylabel=f"CV {rank_by}")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "selection disabled", transform=ax.transAxes, ha="center")
    return save_figure(fig, path)


def plot_zoo(path: str | os.PathLike, leaderboard: Mapping) -> str:
    """CV NMAD and outlier fraction of every draw, per algorithm; the best draws and the stack marked."""
    fig, (ax_n, ax_o) = new_figure(2, width=6.0, height=4.4)
    algorithms = list(leaderboard["algorithms"])
    for i, name in enumerate(algorithms):
        draws = [d for d in leaderboard["draws"] if d["algorithm"] == name]
        best = leaderboard["algorithms"][name]["best"]
        for ax, key in ((ax_n, "nmad"), (ax_o, "outlier_fraction")):
            ax.scatter(np.full(len(draws), i) + np.linspace(-0.15, 0.15, max(len(draws), 1))[:len(draws)],
                       [d[key] for d in draws], s=14, color="0.5")
            ax.scatter([i], [best[key]], s=50, marker="*", color="C1", zorder=3)
    stack = leaderboard.get("stack")
    winner = (leaderboard.get("winner") or {}).get("algorithm")
    for ax, key, label in ((ax_n, "nmad", "CV NMAD"), (ax_o, "outlier_fraction", "CV outlier fraction")):
        if stack:
            ax.axhline(stack[key], color="C2", ls="--", label=f"stack ({stack[key]:.4f})")
        ax.set_xticks(range(len(algorithms)), algorithms, rotation=30, fontsize=8)
        ax.set(ylabel=label, yscale="log", title=f"winner: {winner}" if key == "nmad" else "")
        if stack:
            ax.legend(fontsize=8)
    return save_figure(fig, path)


# --------------------------------------------------------------------------------------------
# Summary tables
# --------------------------------------------------------------------------------------------
def _rows(values: Mapping) -> list[dict]:
    return [{"quantity": k, "value": v} for k, v in values.items() if v is not None]


def _decision(decision: Mapping | None, key: str, word: str) -> str | None:
    """A correction's decision as a table value: 'applied (reason)' or 'not applied (reason)'."""
    if not decision:
        return None
    return f"{'' if decision[key] else 'not '}{word} ({decision['reason']})"


def summary_sections(rep: Mapping, anomalies: Mapping, selection: Mapping, leaderboard: Mapping | None,
                     model_manifest: Mapping) -> dict:
    """Entries for :func:`zshard.report.write_summary_markdown`: one table (a list of rows) per
    stage, so that each gets its own section of the page."""
    auc = rep["classifier_two_sample_test"]
    out = {
        "training: representativeness": {
            "classifier AUC (labelled vs science)": auc["auc"],
            "classifier AUC, Lima-weighted": auc.get("auc_weighted_used"),
            "max KS (unweighted)": rep["ks_max"], "max KS (weighted)": rep["ks_weighted_max"],
            "science fraction in coverage": rep["coverage"]["science_fraction_in_coverage"],
            "science mean coverage weight": rep["coverage"]["science_mean_coverage_weight"],
            "science fraction in cells without spec-z": rep["cells"]["science_fraction_in_cells_without_specz"],
            "training weights effective N": rep["weights"]["effective_sample_size"],
            "training weights": _decision(rep["weights"].get("decision"), "applied", "applied"),
        },
        "training: anomalies": {"flagged": anomalies["n_flagged"], "removed": anomalies["n_removed"],
                                "removal": _decision(anomalies.get("decision"), "remove", "removed"),
                                **{f"{name}: flagged": m["n_flagged"] for name, m in anomalies["methods"].items()}},
    }
    effect = anomalies.get("effect_on_validation")
    if effect:
        for key in ("nmad", "sigma68", "outlier_fraction"):
            out["training: anomalies"][f"validation {key}, trained on all"] = effect["all"][key]
            out["training: anomalies"][f"validation {key}, anomalies removed"] = effect["cleaned"][key]
    rankings = selection["rankings"]
    n = len(rankings["mint"])
    out["training: feature rankings"] = [
        {"rank": i + 1, "gain": rankings["gain"][i]["feature"], "permutation": rankings["permutation"][i]["feature"],
         "MINT": rankings["mint"][i]["feature"],
         "chosen (MINT order)" if selection.get("ranking_used") == "mint" else "chosen":
             "yes" if i < selection.get("n_chosen", n) else ""}
        for i in range(n)]
    if leaderboard:
        winner = (leaderboard["winner"] or {}).get("algorithm")  # None: no draw within the fan-out budget
        out["training: model zoo leaderboard (CV)"] = [
            {"algorithm": r["algorithm"], "nmad": r["nmad"], "sigma68": r["sigma68"], "bias": r["bias_median"],
             "outlier_fraction": r["outlier_fraction"], "nmad_fold_std": r["nmad_fold_std"],
             "draws": leaderboard["algorithms"].get(r["algorithm"], {}).get("n_evaluated", ""),
             "µs per object (est.)": r.get("predict_cost_us", ""),
             "within fan-out budget": {True: "yes", False: "no"}.get(r.get("within_budget"), ""),
             "winner": "yes" if r["algorithm"] == winner else ""}
            for r in leaderboard["ranking"]]
    for name in ("training: representativeness", "training: anomalies"):
        out[name] = _rows(out[name])
    point = model_manifest.get("point_estimate", {})
    validation = model_manifest.get("validation_metrics", {})
    out["training: model artefact"] = _rows({
        "version": model_manifest.get("version"), "z_phot from": point.get("algorithm"),
        "quantile model parameters from": model_manifest.get("quantile_model_params_from"),
        "p(z) re-centred on z_phot": model_manifest.get("recentre_pdf"),
        "features": len(model_manifest.get("feature_names", [])), "n_train": model_manifest.get("n_train"),
        "validation nmad (z_phot)": validation.get("z_phot", {}).get("nmad"),
        "validation outlier fraction (z_phot)": validation.get("z_phot", {}).get("outlier_fraction"),
    })
    return out
