import os
from pathlib import Path

import numpy as np
import pytest

from zshard.report import figures, markdown, tables
from zshard.report.figures import _draw_shards, _ra_origin

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png(tmp_path, returned, name):
    path = tmp_path / name
    assert returned == str(path)
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_SIGNATURE
    # nothing else (no temporary file) is left in the directory
    assert os.listdir(tmp_path) == [name]


def test_pit_histograms(tmp_path):
    rng = np.random.default_rng(0)
    before = rng.beta(2, 2, 500)
    after = np.append(rng.uniform(size=500), np.nan)
    out = figures.plot_pit_histograms(tmp_path / "pit.png", before, after, n_bins=10)
    _check_png(tmp_path, out, "pit.png")


def test_pit_histogram_single(tmp_path):
    out = figures.plot_pit_histograms(tmp_path / "pit.png", np.random.default_rng(1).random(50))
    _check_png(tmp_path, out, "pit.png")


def test_zphot_vs_zspec(tmp_path):
    rng = np.random.default_rng(0)
    zs = rng.uniform(0, 2, 800)
    zp = zs + 0.03 * (1 + zs) * rng.standard_normal(800)
    zp[:20] = rng.uniform(0, 2, 20)
    zp[20] = np.nan
    out = figures.plot_zphot_vs_zspec(tmp_path / "zz.png", zs, zp, None)
    _check_png(tmp_path, out, "zz.png")
    out = figures.plot_zphot_vs_zspec(tmp_path / "zz.png", zs, zp,
                                     {"sigma_nmad": 0.03, "outlier_fraction": 0.02, "x": [1]})
    _check_png(tmp_path, out, "zz.png")


def test_plot_nz(tmp_path):
    edges = np.array([0.2, 0.43, 0.63, 0.9, 1.3])
    z = np.linspace(0.005, 2.995, 300)
    nz = np.array([np.exp(-0.5 * ((z - c) / 0.1) ** 2) for c in (0.3, 0.5, 0.75, 1.1)])
    nz /= nz.sum(axis=1, keepdims=True) * 0.01
    out = figures.plot_nz(tmp_path / "nz.png", z, nz, edges, true_nz=nz * 0.9)
    _check_png(tmp_path, out, "nz.png")
    zc = np.linspace(0.05, 2.95, 30)
    out = figures.plot_nz(tmp_path / "nz.png", z, nz, edges, true_nz=(zc, nz[:, ::10]))
    _check_png(tmp_path, out, "nz.png")
    with pytest.raises(ValueError):
        figures.plot_nz(tmp_path / "bad.png", z, nz[:3], edges)


def test_plot_delta_z(tmp_path):
    rows = []
    for b in range(4):
        rows.append({"bin": b, "method": "colour_matched", "delta_z": 0.01 * b,
                     "sigma_total": 0.005, "truth": 0.012 * b})
        rows.append({"bin": b, "method": "clustering", "delta_z": -0.01 * b, "sigma": 0.01})
    rows.append({"bin": 3, "method": "other", "delta_z": float("nan"), "sigma": float("nan")})
    out = figures.plot_delta_z(tmp_path / "dz.png", rows)
    _check_png(tmp_path, out, "dz.png")


def test_plot_sky_counts(tmp_path):
    import healpy as hp

    order = 6
    nside = 2 ** order
    # a small footprint straddling RA = 0
    ra = np.array([358.0, 359.0, 0.5, 1.5, 2.0])
    dec = np.array([-1.0, 0.0, 1.0, -0.5, 2.0])
    pix = np.unique(hp.ang2pix(nside, ra, dec, nest=True, lonlat=True))
    disc = hp.query_disc(nside, hp.ang2vec(0.0, 0.0, lonlat=True), np.radians(3.0), nest=True)
    counts = np.arange(disc.size) + 1
    out = figures.plot_sky_counts(tmp_path / "sky.png", order, disc, counts)
    _check_png(tmp_path, out, "sky.png")
    assert _ra_origin(np.array([358.0, 359.0, 0.5, 2.0])) == 358.0
    out = figures.plot_sky_counts(tmp_path / "sky.png", order, pix, np.ones(pix.size))
    _check_png(tmp_path, out, "sky.png")
    with pytest.raises(ValueError):
        figures.plot_sky_counts(tmp_path / "bad.png", order, [12 * nside ** 2], [1])


def test_sky_map_outlines_the_shards_across_ra_zero(tmp_path):
    import healpy as hp
    from matplotlib import patheffects

    order = 6
    disc = hp.query_disc(2 ** order, hp.ang2vec(0.0, 0.0, lonlat=True), np.radians(3.0), nest=True)
    # the shards: the order-3 parents of the footprint's pixels (NESTED: drop 2 bits per order)
    shards = [(3, int(p)) for p in np.unique(disc >> (2 * (6 - 3)))]
    assert len(shards) > 2
    out = figures.plot_sky_counts(tmp_path / "sky.png", order, disc, np.ones(disc.size), shards=shards)
    _check_png(tmp_path, out, "sky.png")
    # every shard around the footprint is in view (RA unwrapped across 0); one on the far side is not
    fig, (ax,) = figures.new_figure()
    ra_grid, dec_grid = np.linspace(4.0, -4.0, 200), np.linspace(-4.0, 4.0, 200)  # RA unwrapped across 0
    assert _draw_shards(ax, shards, ra_grid, dec_grid, 60, patheffects) == len(shards)
    labels = {t.get_text(): t.get_position() for t in ax.texts}
    assert set(labels) == {f"o3_p{p}" for _, p in shards}
    for (_, p) in shards:  # each label lies inside its shard
        x, y = labels[f"o3_p{p}"]
        assert hp.ang2pix(8, x % 360.0, y, nest=True, lonlat=True) == p
    far = hp.ang2pix(2, 180.0, -60.0, nest=True, lonlat=True)
    assert _draw_shards(ax, [(1, int(far))], ra_grid, dec_grid, 60, patheffects) == 0


def test_plot_clustering_nz(tmp_path):
    edges = np.linspace(0.1, 1.5, 15)
    centres = 0.5 * (edges[1:] + edges[:-1])
    z = np.linspace(0.005, 2.995, 300)
    nz = np.array([np.exp(-0.5 * ((z - c) / 0.1) ** 2) for c in (0.3, 0.6, 0.9)])
    rows = [{"bin": 0, "z_lo": 0.2, "z_hi": 0.4, "nz_wz": list(np.exp(-0.5 * ((centres - 0.3) / 0.1) ** 2)),
             "nz_wz_error": [0.1] * 14, "z_range": [0.1, 0.6], "delta_z": 0.01, "error": 0.02, "note": ""},
            {"bin": 1, "z_lo": 0.4, "z_hi": 0.8, "nz_wz": [None] * 14, "nz_wz_error": [None] * 14,
             "z_range": None, "delta_z": None, "error": None, "note": "no objects in this bin"},
            {"bin": 2, "nz_wz": [], "nz_wz_error": [], "delta_z": float("nan"), "error": float("nan"), "note": ""}]
    out = figures.plot_clustering_nz(tmp_path / "wz.png", edges, rows, z, nz)
    _check_png(tmp_path, out, "wz.png")


DELTA_Z_TABLE = {"bins": [
    {"bin": 0, "z_lo": 0.2, "z_hi": 0.43, "cosmos": {"delta_z": 0.01, "error": 0.005},
     "wz": {"delta_z": 0.03, "error": 0.02, "z_range": [0.1, 0.8]}, "combined": {"delta_z": 0.012, "error": 0.0048},
     "truth": {"delta_z": 0.011}},
    {"bin": 1, "z_lo": 0.43, "z_hi": 0.63, "cosmos": {"delta_z": None, "error": None},
     "wz": {"delta_z": None, "error": None, "z_range": None}, "combined": {"delta_z": None, "error": None},
     "truth": {"delta_z": -0.02}}]}
DEEP = {"bins": [{"bin": 0, "n_reference": 50, "sigma_bootstrap": 0.004, "sigma_sample_variance": 0.002,
                  "sigma_zero_point": 0.001, "sigma_total": 0.005, "note": ""},
                 {"bin": 1, "n_reference": 1, "note": "fewer than 2 reference objects in this bin"}]}
CLUSTERING = {"config": {"n_patches": 16}, "bins": [{"bin": 0, "n_unknown": 900, "note": ""},
                                                    {"bin": 1, "n_unknown": 0, "note": "no objects in this bin"}]}
TRUTH = {"bins": [{"bin": 0, "n": 1000, "delta_z_true": 0.011}, {"bin": 1, "n": 10, "delta_z_true": -0.02}]}


def test_delta_z_rows_carry_every_error_term_and_the_truth():
    rows = tables.delta_z_rows(DELTA_Z_TABLE, deep=DEEP, clustering=CLUSTERING, truth=TRUTH)
    by = {(r["bin"], r["method"]): r for r in rows}
    assert [m for b, m in by if b == 0] == ["deep reference", "clustering (WZ)", "combined", "truth"]
    deep = by[0, "deep reference"]
    assert (deep["delta_z"], deep["sigma"], deep["sigma_bootstrap"], deep["sigma_sample_variance"],
            deep["sigma_zero_point"], deep["n"]) == (0.01, 0.005, 0.004, 0.002, 0.001, 50)
    assert deep["truth"] == 0.011 and deep["pull"] == pytest.approx((0.01 - 0.011) / 0.005)
    assert deep["z_range"] == "0.20–0.43"
    wz = by[0, "clustering (WZ)"]
    assert wz["window"] == "0.10–0.80" and wz["n"] == 900 and wz["sigma"] == 0.02
    assert by[0, "truth"]["delta_z"] == 0.011 and by[0, "truth"]["n"] == 1000 and by[0, "truth"]["sigma"] is None
    # a bin without values keeps its rows, with the stages' reasons
    assert by[1, "deep reference"]["note"] == "fewer than 2 reference objects in this bin"
    assert by[1, "clustering (WZ)"]["note"] == "no objects in this bin" and "pull" not in by[1, "combined"]
    # neither method ran: the truth alone; nothing at all: no rows
    only_truth = tables.delta_z_rows(None, truth=TRUTH)
    assert [(r["bin"], r["method"]) for r in only_truth] == [(0, "truth"), (1, "truth")]
    assert tables.delta_z_rows(None) == []


def test_plot_delta_z_takes_the_summary_rows(tmp_path):
    rows = tables.delta_z_rows(DELTA_Z_TABLE, deep=DEEP, clustering=CLUSTERING, truth=TRUTH)
    _check_png(tmp_path, figures.plot_delta_z(tmp_path / "dz.png", rows), "dz.png")
    only_truth = tables.delta_z_rows(None, truth=TRUTH)
    _check_png(tmp_path, figures.plot_delta_z(tmp_path / "dz.png", only_truth), "dz.png")


MANIFEST = {
    "totals": {"rows_in": 100, "rows_excluded_by_subset": 5, "rows_rejected": 3, "rows_in_shards": 92},
    "files": [{"file": "/data/a.parquet", "rows_in": 60, "rows_placed": 55, "rows_rejected": 3,
               "rows_excluded_by_subset": 2},
              {"file": "/data/b.fits", "rows_in": 40, "rows_placed": 37, "rows_rejected": 0,
               "rows_excluded_by_subset": 3}],
    "shards": [{"shard": "o4_p1700", "order": 4, "pixel": 1700, "rows": 50, "rows_duplicate": 0},
               {"shard": "o2_p107", "order": 2, "pixel": 107, "rows": 42, "rows_duplicate": 1}],
    "plan": {"histogram_order": 8, "max_rows": 60, "lowest_order": 0, "oversized_shards": []},
    "ids_in_several_shards": 1, "removed_stale_shards": []}


def test_partition_statistics_page(tmp_path):
    sections = tables.partition_sections(MANIFEST)
    assert [s.heading for s in sections] == ["Totals", "Plan", "Per input file", "Per shard"]
    totals = sections[0].content
    assert totals["rows in (all input files)"] == 100 and totals["rows placed in shards"] == 92
    assert totals["rows rejected (catalog/rejects.parquet)"] == 3 and totals["shards"] == 2
    shards = sections[3].content
    assert [s["shard"] for s in shards] == ["o2_p107", "o4_p1700"]  # by order, then pixel
    assert shards[0]["area_deg2"] == pytest.approx(41252.96 / 192, rel=1e-6)
    assert [f["file"] for f in sections[2].content] == ["a.parquet", "b.fits"]
    out = tables.write_html_tables(tmp_path / "partition.html", "Partition <statistics>", sections, "intro & more")
    assert out == str(tmp_path / "partition.html") and os.listdir(tmp_path) == ["partition.html"]
    page = (tmp_path / "partition.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "Partition &lt;statistics&gt;" in page and "intro &amp; more" in page
    for text in ("rows in", "rows placed", "rows rejected", "o2_p107", "o4_p1700", "a.parquet", "214.8592"):
        assert text in page, text
    assert '<td class="num">92</td>' in page


def test_html_tables_show_each_kind_of_content(tmp_path):
    rows = tables.delta_z_rows(DELTA_Z_TABLE, deep=DEEP, clustering=CLUSTERING, truth=TRUTH)
    sections = [tables.Section("Δz", rows, "a note", columns=("bin", "method", "delta_z", "sigma_bootstrap")),
                tables.Section("groups", {"before": {"nmad": 0.1}, "after": {"nmad": 0.05, "n": 3}}),
                tables.Section("bullets", ["first", "second"]), tables.Section("text", "switched off"),
                tables.Section("empty", [])]
    page = Path(tables.write_html_tables(tmp_path / "t.html", "t", sections)).read_text()
    # the chosen columns only, with their labels; bins 1-based; NaN as n/a, None empty
    assert "<th>σ bootstrap</th>" in page and "σ sample variance" not in page and "WZ window" not in page
    assert '<td class="num">1</td><td>deep reference</td><td class="num">0.0100</td>' in page
    assert '<td class="num">2</td>' in page and '<td class="num">0</td><td>deep' not in page
    assert "<th>before</th><th>after</th>" in page and '<td class="empty"></td>' in page
    assert "<li>first</li>" in page and "<p>switched off</p>" in page and '<p class="note">none</p>' in page


def test_summary_markdown(tmp_path):
    fig_dir = tmp_path / "figures"
    fig_dir.mkdir()
    fig = fig_dir / "nz.png"
    fig.write_bytes(PNG_SIGNATURE)
    metrics = {
        "sigma_nmad": 0.0312, "outlier_fraction": 0.0456, "n_validation": 1234,
        "calibration": {"before": 0.11, "after": 0.02},
        "delta_z": [
            {"bin": 0, "method": "colour_matched", "delta_z": 0.0123, "sigma_total": 0.004,
             "note": ""},
            {"bin": 0, "method": "truth", "delta_z": 0.0101, "sigma": 0.001, "note": ""},
            {"bin": 1, "method": "colour_matched", "delta_z": float("nan"),
             "sigma_total": float("nan"), "note": "no science objects in bin"},
        ],
    }
    notes = ["clustering redshifts: disabled — no clustering reference sample configured",
             "mock run"]
    out_path = tmp_path / "report" / "summary.md"
    out = markdown.write_summary_markdown(out_path, metrics, {"Tomographic n(z)": str(fig)}, notes)
    assert out == str(out_path)
    assert os.listdir(out_path.parent) == ["summary.md"]
    text = out_path.read_text()
    for s in ("| sigma_nmad | 0.0312 |", "| outlier_fraction | 0.0456 |", "| n_validation | 1234 |",
              "before", "after", "0.0123", "0.0101", "colour_matched", "truth",
              "no science objects in bin", "n/a", *(f"- {n}" for n in notes),
              "![Tomographic n(z)](../figures/nz.png)"):
        assert s in text, s
    # Δz rows are shown 1-based
    assert "| 1 | colour_matched | 0.0123" in text
    assert text.index("## Δz") < text.index("## Figures") < text.index("## Notes")


def test_every_report_item_has_a_caption_that_renders():
    """Each item of the report (zshard.report.items) has workflow/report/captions/<name>.rst, and it
    and the workflow description render (Jinja, then reStructuredText) without a docutils message."""
    import types

    import yaml
    from docutils.core import publish_parts
    from jinja2 import Environment

    from zshard.report.items import CATEGORIES, REPORT_ITEMS, SUMMARY_FIGURES, SUMMARY_TABLES

    root = Path(__file__).resolve().parents[1]
    captions = root / "workflow" / "report" / "captions"
    assert {p.stem for p in captions.glob("*.rst")} == set(REPORT_ITEMS)
    assert set(SUMMARY_FIGURES) | set(SUMMARY_TABLES) <= set(REPORT_ITEMS)
    assert {item.category for item in REPORT_ITEMS.values()} == set(CATEGORIES)
    assert list(CATEGORIES) == sorted(CATEGORIES)  # the report's menu sorts them: the numbers keep the order
    assert len({item.label for item in REPORT_ITEMS.values()}) == len(REPORT_ITEMS)
    snakemake = types.SimpleNamespace(config=yaml.safe_load((root / "config" / "config.yaml").read_text()))
    for path in [*sorted(captions.glob("*.rst")), root / "workflow" / "report" / "workflow.rst"]:
        text = Environment().from_string(path.read_text()).render(snakemake=snakemake)
        body = publish_parts(text, writer="html", settings_overrides={"report_level": 1})["body"]
        assert "system-message" not in body and len(body) > 100, (path.name, body)


def _products(**optional):
    from zshard.report.summary import Products

    point = {"n": 10, "bias_median": 0.001, "sigma68": 0.03, "nmad": 0.025, "outlier_fraction": 0.05}
    pdf = {"n": 10, "pit_ks_stat": 0.05, "coverage68": 0.66, "crps": 0.1, "pit_histogram": [1, 2]}
    features = [{"feature": f} for f in ("g-r", "r-i", "mag_i")]
    products = dict(
        manifest=MANIFEST, plan={"shards": []}, samples={"n_train": 6, "n_validation": 2, "n_test": 2},
        model={"version": "abc123", "feature_names": ["g-r", "r-i"], "n_train": 6},
        photoz={"n_test": 10, "point": point, "pdf_raw": pdf, "pdf_calibrated": pdf},
        nz={"edges": [0.2, 0.5, 1.0], "counts": [40, 52], "mean_z": [0.35, 0.7]},
        representativeness={"classifier_two_sample_test": {"auc": 0.7}, "ks_max": 0.3, "ks_weighted_max": 0.2,
                            "coverage": {"science_fraction_in_coverage": 0.9, "science_mean_coverage_weight": 0.8},
                            "cells": {"science_fraction_in_cells_without_specz": 0.1},
                            "weights": {"effective_sample_size": 5.0}},
        anomalies={"n_flagged": 1, "n_removed": 1, "methods": {"neighbour_redshift": {"n_flagged": 1}}},
        selection={"rankings": {"gain": features, "permutation": features, "mint": features}, "n_chosen": 2,
                   "ranking_used": "mint"},
        delta_z=None, delta_z_table=None, clustering=None, truth=None, leaderboard=None)
    products.update(optional)
    return Products(**products)


def test_summary_says_which_stages_were_off_and_fills_every_table(tmp_path):
    from zshard.report.items import SUMMARY_TABLES
    from zshard.report.summary import report_tables, stage_notes, summary_metrics

    p = _products()
    notes = stage_notes(p)
    assert len(notes) == 4 and all("switched off" in n for n in notes)
    metrics = summary_metrics(p, "mock")
    assert metrics["delta_z"] == [] and metrics["objects_in"] == 100 and metrics["shards"] == 2
    pages = report_tables(p, metrics, notes)
    assert set(pages) == set(SUMMARY_TABLES)
    for name, (intro, sections) in pages.items():
        page = Path(tables.write_html_tables(tmp_path / f"{name}.html", name, sections, intro)).read_text()
        assert "<h2>" in page, name
    assert "switched off" in (tmp_path / "zoo_leaderboard.html").read_text()
    assert "not computed" in (tmp_path / "delta_z_errors.html").read_text()
    assert "Model zoo: switched off" in (tmp_path / "overview.html").read_text()

    on = _products(delta_z_table=DELTA_Z_TABLE, delta_z={**DEEP, "method": "deep reference field, matched by id"},
                   clustering=CLUSTERING, truth={**TRUTH, "point": {"nmad": 0.05}, "n_matched": 1010})
    assert len(stage_notes(on)) == 1  # only the zoo is off
    metrics = summary_metrics(on, "mock")
    sections = dict((s.heading, s) for s in report_tables(on, metrics, [])["delta_z_errors"][1])
    assert [r["method"] for r in sections["Deep reference field: the error terms"].content] == ["deep reference"] * 2
    assert "Method 1: deep reference field" in sections and "Method 2: clustering redshifts (WZ)" in sections
    assert metrics["n(z) per bin"][0]["z_range"] == "0.20–0.50"


def test_a_bin_where_the_methods_disagree_says_so_in_the_summary():
    from zshard.report.summary import stage_notes, summary_metrics

    disagree = {"difference": -0.05, "error": 0.0125, "n_sigma": -4.0, "tension": True}
    table = {"tension_sigma": 3.0, "combination": "inverse_variance", "tension_bins": [0], "bins": [
        {**DELTA_Z_TABLE["bins"][0], "consistency": disagree},
        {**DELTA_Z_TABLE["bins"][1], "consistency": {**disagree, "n_sigma": float("nan"), "tension": None}}]}
    p = _products(delta_z_table=table, delta_z=DEEP, clustering=CLUSTERING, truth={**TRUTH, "point": {}})
    tension = [n for n in stage_notes(p) if "disagree" in n]
    assert tension == ["Δz: the deep-field and clustering estimates disagree by more than 3σ in bin 1 (-4.0σ); "
                       "the combined Δz there is their inverse-variance mean all the same."]
    combined = {r["bin"]: r for r in summary_metrics(p, "mock")["delta_z"] if r["method"] == "combined"}
    assert combined[0]["cosmos_vs_wz_sigma"] == -4.0 and combined[0]["tension"] is True
    assert "disagree" in combined[0]["note"] and "tension" not in combined[1]


def test_the_nz_products_show_in_the_summary(tmp_path):
    from zshard.report.summary import NZ_PRODUCTS_KEY, report_tables, summary_metrics

    row = {"bin": 0, "z_range": [0.2, 0.5], "mean_z": 0.35, "delta_z": 0.01, "delta_z_sigma": 0.012,
           "mean_z_calibrated": 0.36, "realisations_mean_z_mean": 0.361, "realisations_mean_z_std": 0.0118,
           "realisations_sigma_mean_z_shards": 0.001}
    p = _products(nz_products={"n_realisations": 100, "cosmosis_section": "wl_photoz_errors", "bins": [row]})
    metrics = summary_metrics(p, "mock")
    assert metrics[NZ_PRODUCTS_KEY][0]["realisations: std of mean_z"] == 0.0118
    assert metrics[NZ_PRODUCTS_KEY][0]["z_range"] == "0.20–0.50"
    intro, sections = report_tables(p, metrics, [])["nz_bins"]
    page = Path(tables.write_html_tables(tmp_path / "nz_bins.html", "nz", sections, intro)).read_text()
    assert "nz_products.sacc.fits" in page and "0.0118" in page
    assert NZ_PRODUCTS_KEY not in summary_metrics(_products(), "mock")


def test_a_range_split_combination_names_wz_weight_in_the_summary():
    from zshard.report.summary import summary_metrics

    split = {"delta_z": 0.03, "error": 0.01, "method": "range_split", "wz_weight": 0.25,
             "in_range": {"z_range": [0.1, 1.5], "fraction": 0.9, "mean_z": 0.5, "error": 0.005}}
    table = {"tension_sigma": 3.0, "combination": "range_split", "tension_bins": [],
             "bins": [{**DELTA_Z_TABLE["bins"][0], "combined": split}]}
    p = _products(delta_z_table=table, delta_z=DEEP, clustering=CLUSTERING, truth={**TRUTH, "point": {}})
    combined = [r for r in summary_metrics(p, "mock")["delta_z"] if r["method"] == "combined"]
    assert combined[0]["delta_z"] == 0.03
    assert combined[0]["note"] == ("range split: WZ's weight 0.25 in the mean inside 0.1–1.5, "
                                   "the deep field's alone beyond")
