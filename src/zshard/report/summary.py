"""The summary of a run (rule ``summary``): ``summary/metrics.json``, the Markdown page, the figures
and the tables of Snakemake's report, all from the stages' products.

Each fact is read once from the product that holds it and turned into rows once; the Markdown page,
the metrics file and the report's HTML tables are three views of the same rows. Which optional
stages ran is read from which optional products are given (``None``: the stage was off).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from zshard.io.atomic import read_json, write_json
from zshard.report import figures as fig
from zshard.report.items import REPORT_ITEMS
from zshard.report.markdown import write_summary_markdown
from zshard.report.tables import Section, delta_z_rows, partition_sections, write_html_tables

__all__ = ["SummaryInputs", "Products", "stage_notes", "summary_metrics", "report_tables", "write_summary"]


@dataclass(frozen=True)
class SummaryInputs:
    """Paths of the products the summary reads (the optional ones None when their stage was off)."""

    manifest: str
    plan: str
    sky: str
    samples: str
    model_manifest: str
    photoz: str
    predictions: str
    nz: str
    representativeness: str
    anomalies: str
    selection: str
    delta_z: str | None = None
    delta_z_table: str | None = None
    clustering: str | None = None
    truth: str | None = None
    leaderboard: str | None = None
    nz_products: str | None = None
    #: figure name -> path of the training stages' figures (shown on the Markdown page)
    training_figures: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Products:
    """The JSON products, read (the optional ones None)."""

    manifest: dict
    plan: dict
    samples: dict
    model: dict
    photoz: dict
    nz: dict
    representativeness: dict
    anomalies: dict
    selection: dict
    delta_z: dict | None
    delta_z_table: dict | None
    clustering: dict | None
    truth: dict | None
    leaderboard: dict | None
    nz_products: dict | None = None

    @classmethod
    def read(cls, paths: SummaryInputs) -> Products:
        def optional(path):
            return read_json(path) if path else None

        return cls(manifest=read_json(paths.manifest), plan=read_json(paths.plan), samples=read_json(paths.samples),
                   model=read_json(paths.model_manifest), photoz=read_json(paths.photoz), nz=read_json(paths.nz),
                   representativeness=read_json(paths.representativeness), anomalies=read_json(paths.anomalies),
                   selection=read_json(paths.selection), delta_z=optional(paths.delta_z),
                   delta_z_table=optional(paths.delta_z_table), clustering=optional(paths.clustering),
                   truth=optional(paths.truth), leaderboard=optional(paths.leaderboard),
                   nz_products=optional(paths.nz_products))


def stage_notes(p: Products) -> list[str]:
    """What was switched off, and the partition's warnings."""
    notes = []
    if p.delta_z is None:
        notes.append("Δz against a deep reference field: switched off (no deep reference catalogue configured, "
                     "or validation.deep_reference.enabled is false).")
    if p.clustering is None:
        notes.append("Δz from clustering redshifts: switched off (no clustering reference catalogue configured, "
                     "or validation.clustering.enabled is false).")
    if p.truth is None:
        notes.append("Validation against true redshifts: switched off (no truth catalogue configured).")
    table = p.delta_z_table or {}
    if table.get("tension_bins"):
        rows = {int(r["bin"]): r for r in table["bins"]}
        where = ", ".join(f"bin {b + 1} ({rows[b]['consistency']['n_sigma']:+.1f}σ)" for b in table["tension_bins"])
        how = {"range_split": "range-split combination (the in-range mean from both methods)",
               "inverse_variance": "inverse-variance mean"}.get(table.get("combination"), "combination")
        notes.append(f"Δz: the deep-field and clustering estimates disagree by more than {table['tension_sigma']:g}σ "
                     f"in {where}; the combined Δz there is their {how} all the same.")
    if p.leaderboard is None:
        notes.append("Model zoo: switched off (zoo.enabled is false); the model is the configured xgboost.")
    if p.manifest["plan"]["oversized_shards"]:
        notes.append("Shards above the row threshold (raise partition.histogram_order): "
                     f"{p.manifest['plan']['oversized_shards']}")
    return notes


def summary_metrics(p: Products, source: str) -> dict:
    """The metrics of ``summary/metrics.json`` and the Markdown page: scalars, groups of scalars
    and tables (lists of rows), in page order."""
    from zshard.training_report import summary_sections

    manifest, photoz, nz, samples = p.manifest, p.photoz, p.nz, p.samples
    edges = np.asarray(nz["edges"])
    metrics = {
        "source": source,
        "objects_in": manifest["totals"]["rows_in"],
        "objects_in_shards": manifest["totals"]["rows_in_shards"],
        "objects_rejected": manifest["totals"]["rows_rejected"],
        "shards": len(manifest["shards"]),
        "spec-z train / validation / test": f"{samples['n_train']} / {samples['n_validation']} / {samples['n_test']}",
        "model_version": p.model["version"],
        "test: point estimates": photoz["point"],
        "test: raw PDFs": {k: v for k, v in photoz["pdf_raw"].items() if k != "pit_histogram"},
        "test: calibrated PDFs": {k: v for k, v in photoz["pdf_calibrated"].items() if k != "pit_histogram"},
    }
    if "outlier_fraction_floor" in photoz:
        metrics["calibration: outlier floor (fitted on validation)"] = photoz["outlier_fraction_floor"]
    if photoz.get("magnitude_bins"):
        band = photoz["magnitude_bins"]["band"]
        metrics[f"test per {band} magnitude bin (calibrated PDFs)"] = [
            {f"{band} from": b["lo"], "to": b["hi"], "n": b["point"]["n"], "nmad": b["point"]["nmad"],
             "outliers": b["point"]["outlier_fraction"], "PIT KS": b["pdf"]["pit_ks_stat"],
             "PIT catastrophic": b["pdf"]["pit_catastrophic_fraction"], "CDE loss": b["pdf"]["cde_loss"],
             "CRPS": b["pdf"]["crps"]} for b in photoz["magnitude_bins"]["calibrated"]]
    if p.truth:
        metrics["science sample vs truth"] = p.truth["point"]
    true_bins = {int(b["bin"]): b for b in (p.truth or {}).get("bins", [])}
    metrics["n(z) per bin"] = [
        {"bin": i, "z_range": f"{edges[i]:.2f}–{edges[i + 1]:.2f}", "n": nz["counts"][i], "mean_z": nz["mean_z"][i],
         **({"mean_z_true": true_bins[i].get("mean_z_true")} if i in true_bins else {})}
        for i in range(len(edges) - 1)]
    metrics["delta_z"] = delta_z_rows(p.delta_z_table, deep=p.delta_z, clustering=p.clustering, truth=p.truth)
    if p.nz_products:
        metrics[NZ_PRODUCTS_KEY] = nz_products_rows(p.nz_products)
    metrics.update(summary_sections(p.representativeness, p.anomalies, p.selection, p.leaderboard, p.model))
    return metrics


#: The metrics' entry of the n(z) products (rule nz_products): the Δz prior and realisations per bin.
NZ_PRODUCTS_KEY = "n(z) products: Δz priors and realisations"


def nz_products_rows(products: Mapping) -> list[dict]:
    """Per bin of ``nz/nz_products.json``: the shift prior and the realisations' measured spread."""
    return [{"bin": r["bin"], "z_range": "{:.2f}–{:.2f}".format(*r["z_range"]), "mean_z": r["mean_z"],
             "delta_z": r["delta_z"], "sigma": r["delta_z_sigma"], "mean_z_calibrated": r["mean_z_calibrated"],
             "realisations: mean of mean_z": r["realisations_mean_z_mean"],
             "realisations: std of mean_z": r["realisations_mean_z_std"],
             "shard bootstrap: std of mean_z": r["realisations_sigma_mean_z_shards"]}
            for r in products["bins"]]


_HEADLINE_POINT = ("nmad", "sigma68", "bias_median", "outlier_fraction")
_HEADLINE_PDF = ("pit_ks_stat", "coverage68", "crps")


def report_tables(p: Products, metrics: Mapping, notes: list[str]) -> dict[str, tuple[str, list[Section]]]:
    """The report's tables: name (:data:`zshard.report.items.REPORT_ITEMS`) -> (intro, sections)."""
    scalars = {k: v for k, v in metrics.items() if not isinstance(v, (Mapping, list))}
    headline = {f"test {k} (z_phot)": p.photoz["point"][k] for k in _HEADLINE_POINT if k in p.photoz["point"]}
    headline.update({f"test {k} (calibrated p(z))": p.photoz["pdf_calibrated"][k] for k in _HEADLINE_PDF
                     if k in p.photoz["pdf_calibrated"]})
    combined = [r for r in metrics["delta_z"] if r["method"] == "combined"]
    if combined:
        worst = max((abs(r["delta_z"]) for r in combined if r["delta_z"] is not None and np.isfinite(r["delta_z"])),
                    default=None)
        headline["largest |Δz| of the combined estimate"] = worst
    tables = {
        "overview": ("The run's inputs and headline numbers; each category of this report holds one stage.",
                     [Section("Run", scalars), Section("Headline metrics", headline),
                      Section("Stages switched off, warnings", notes or ["none: every stage ran"])]),
        "partition_statistics": ("", partition_sections(p.manifest)),
    }

    def training(key, heading):
        return [Section(heading, metrics[key])] if key in metrics else [Section(heading, "switched off")]

    tables["representativeness_tests"] = ("Labelled (spec-z) sample against the science sample.",
                                          training("training: representativeness", "Representativeness"))
    tables["anomaly_flags"] = ("", training("training: anomalies", "Anomalies"))
    tables["feature_rankings"] = ("Rank 1 at the top; the used ranking's top features are chosen.",
                                  training("training: feature rankings", "Feature rankings"))
    if p.leaderboard is None:
        tables["zoo_leaderboard"] = ("", [Section("Model zoo", "switched off (zoo.enabled is false)")])
    else:
        tables["zoo_leaderboard"] = (
            f"{p.leaderboard.get('folds')}-fold cross-validation on the training sample, best draw per algorithm, "
            f"ranked by {p.leaderboard.get('rank_by')}.",
            training("training: model zoo leaderboard (CV)", "Leaderboard"))
    tables["model_artefact"] = ("", training("training: model artefact", "Model artefact"))

    band_key = next((k for k in metrics if k.startswith("test per ")), None)
    photoz = [Section(f"Test sample ({p.photoz.get('n_test')} objects)",
                      {"point estimates (z_phot)": metrics["test: point estimates"],
                       "p(z) before calibration": metrics["test: raw PDFs"],
                       "p(z) after calibration": metrics["test: calibrated PDFs"]})]
    if band_key:
        photoz.append(Section(band_key, metrics[band_key]))
    if p.truth:
        photoz.append(Section(f"Science sample against the truth ({p.truth.get('n_matched')} objects)",
                              metrics["science sample vs truth"]))
    tables["photoz_metrics"] = ("", photoz)
    nz_sections = [Section("Tomographic bins", metrics["n(z) per bin"])]
    if NZ_PRODUCTS_KEY in metrics:
        nz_sections.append(Section(
            "For an analysis: the Δz priors and the n(z) realisations", metrics[NZ_PRODUCTS_KEY],
            f"nz/nz_products.sacc.fits holds each bin's n(z), its Gaussian Δz prior (the combined estimate) and "
            f"{p.nz_products['n_realisations']} n(z) realisations (shapes bootstrapped over the shards, means "
            f"drawn from the prior); nz/cosmosis_values.ini and nz/cosmosis_priors.ini hold the shift parameters "
            f"(section {p.nz_products['cosmosis_section']})."))
    tables["nz_bins"] = ("n(z) per bin: the calibrated p(z) of the bin's objects, stacked over every shard.",
                         nz_sections)
    rows = metrics["delta_z"]
    deep_rows = [r for r in rows if r["method"] == "deep reference"]
    notes_per_bin = [f"bin {r['bin'] + 1}, {r['method']}: {r['note']}" for r in rows if r.get("note")]
    tables["delta_z_errors"] = (
        "Δz = ⟨z_true⟩ − ⟨z_phot⟩ per tomographic bin (Hoyle et al. 2018, MNRAS 478, 592).",
        [Section("Δz per bin and method", rows or "not computed: no method ran",
                 "σ total: for the deep reference field the quadrature sum of the terms below; for clustering "
                 "redshifts a jackknife over sky patches, Δz measured inside the WZ window; combined: "
                 "validation.combination (range_split: the mean inside the clustering reference's range from "
                 "both methods, the part beyond it from the deep field alone; inverse_variance: the two Δz "
                 "averaged); cosmos_vs_wz_sigma: the two methods' difference in units of their joint σ, of the "
                 "in-range mean with range_split (tension: beyond validation.tension_sigma).",
                 columns=("bin", "z_range", "method", "delta_z", "sigma", "truth", "pull", "n", "window",
                          "cosmos_vs_wz_sigma", "tension")),
         *([Section("Deep reference field: the error terms", deep_rows,
                    columns=("bin", "z_range", "delta_z", "sigma_bootstrap", "sigma_sample_variance",
                             "sigma_zero_point", "sigma"))] if deep_rows else []),
         *([Section("Notes", notes_per_bin)] if notes_per_bin else []),
         *_delta_z_method_sections(p)])
    return tables


def _delta_z_method_sections(p: Products) -> list[Section]:
    sections = []
    if p.delta_z:
        d = p.delta_z
        sections.append(Section("Method 1: deep reference field", {
            "method": d.get("method"), "reference objects": d.get("n_reference"), "matching": d.get("note"),
            "sample variance": (d.get("sample_variance") or {}).get("note"),
            "zero-point σ per band (mag)": (d.get("zero_point") or {}).get("sigma_mag"),
            "zero-point draws": (d.get("zero_point") or {}).get("n_draws")}))
    if p.clustering:
        c, cfg = p.clustering, p.clustering.get("config") or {}
        sections.append(Section("Method 2: clustering redshifts (WZ)", {
            "method": c.get("method"), "reference objects": c.get("n_reference"),
            "photometric objects": c.get("n_unknown"),
            "reference slices": f"{cfg.get('n_slices')} over z = {cfg.get('zmin')}–{cfg.get('zmax')}",
            "scales (kpc)": f"{cfg.get('rmin_kpc')}–{cfg.get('rmax_kpc')}",
            "bias correction": cfg.get("bias_correction"), "jackknife patches": cfg.get("n_patches")}))
    return sections


def _title(name: str) -> str:
    title = REPORT_ITEMS[name].title
    return title[0].upper() + title[1:]


def write_figures(p: Products, paths: SummaryInputs, figures: Mapping[str, str], rows: list[dict]) -> None:
    """Draw the summary's figures: name (``sky``, ``pit``, ``zphot_vs_zspec``, ``nz``, ``delta_z``,
    ``clustering_nz``) -> path."""
    import pandas as pd

    unknown = set(figures) - {"sky", "pit", "zphot_vs_zspec", "nz", "delta_z", "clustering_nz"}
    if unknown:
        raise ValueError(f"no such summary figure: {sorted(unknown)}")
    nz = p.nz
    if "pit" in figures or "zphot_vs_zspec" in figures:
        predictions = pd.read_parquet(paths.predictions)
        if "pit" in figures:
            fig.plot_pit_histograms(figures["pit"], predictions["pit_raw"].to_numpy(),
                                    predictions["pit_calibrated"].to_numpy())
        if "zphot_vs_zspec" in figures:
            fig.plot_zphot_vs_zspec(figures["zphot_vs_zspec"], predictions["z_spec"].to_numpy(),
                                    predictions["z_phot"].to_numpy(), p.photoz["point"])
    if "nz" in figures:
        true_nz = None
        if p.truth:
            grid = np.asarray(p.truth["grid_edges"])
            true_nz = (0.5 * (grid[1:] + grid[:-1]), np.asarray([b["true_nz"] for b in p.truth["bins"]]))
        fig.plot_nz(figures["nz"], np.asarray(nz["grid_centres"]), np.asarray(nz["nz"]), np.asarray(nz["edges"]),
                    true_nz=true_nz)
    if "delta_z" in figures:
        fig.plot_delta_z(figures["delta_z"], rows)
    if "clustering_nz" in figures:
        if not p.clustering:
            raise ValueError("the clustering n(z) figure needs validation/clustering_delta_z.json")
        fig.plot_clustering_nz(figures["clustering_nz"], p.clustering["slice_edges"], p.clustering["bins"],
                               np.asarray(nz["grid_centres"]), np.asarray(nz["nz"]))
    if "sky" in figures:
        with np.load(paths.sky) as sky:
            fig.plot_sky_counts(figures["sky"], int(sky["histogram_order"]), sky["pixels"], sky["counts"],
                                shards=[(int(s["order"]), int(s["pixel"])) for s in p.plan["shards"]])


def write_summary(paths: SummaryInputs, *, source: str, metrics_path: str | os.PathLike,
                  markdown_path: str | os.PathLike, figures: Mapping[str, str], tables: Mapping[str, str]) -> None:
    """Write ``metrics.json``, the Markdown page, the ``figures`` (name -> path) and the report's
    ``tables`` (name -> HTML path) of a run."""
    p = Products.read(paths)
    notes = stage_notes(p)
    metrics = summary_metrics(p, source)
    write_figures(p, paths, figures, metrics["delta_z"])
    pages = report_tables(p, metrics, notes)
    unknown = set(tables) - set(pages)
    if unknown:
        raise ValueError(f"no such summary table: {sorted(unknown)}")
    for name, path in tables.items():
        intro, sections = pages[name]
        write_html_tables(path, _title(name), sections, intro)
    write_json(metrics_path, {**metrics, "notes": notes, "photoz": p.photoz,
                              "nz": {k: p.nz[k] for k in ("edges", "counts", "mean_z")},
                              "delta_z_deep_reference": p.delta_z, "delta_z_table": p.delta_z_table,
                              "truth": {k: p.truth[k] for k in ("point", "n_matched")} if p.truth else None})
    shown = {_title(name): path for name, path in figures.items()}
    shown.update({_title(name): path for name, path in paths.training_figures.items()})
    write_summary_markdown(markdown_path, metrics, shown, notes)
