"""The run's tables: rows built from the stages' JSON products, and written as HTML pages for
Snakemake's report (each page a report item; the Markdown summary shows the same rows).

A page is a list of :class:`Section`; what a section holds decides how it is drawn:

* a list of dicts: a table, one row per dict, a column per key (in order of first appearance);
* a mapping of scalars: a two-column table (quantity, value);
* a mapping of mappings of scalars: a table with a row per quantity and a column per mapping;
* a list of strings: a bulleted list;
* a string: a paragraph.

Bins (the key ``bin``) are shown 1-based, as in the n(z) files and the Markdown page.
"""

from __future__ import annotations

import html
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zshard.io.atomic import atomic_path
from zshard.report._format import finite_num, fmt, is_scalar

__all__ = ["Section", "COLUMN_LABELS", "delta_z_rows", "partition_sections", "write_html_tables"]

#: Column headers of the HTML tables, for the keys that have a nicer name than the key itself.
COLUMN_LABELS = {
    "bin": "bin", "z_range": "z range", "method": "method", "delta_z": "Δz", "sigma": "σ total",
    "sigma_bootstrap": "σ bootstrap", "sigma_sample_variance": "σ sample variance",
    "sigma_zero_point": "σ zero point", "truth": "Δz true", "pull": "(Δz − Δz true) / σ", "n": "objects",
    "note": "note", "window": "WZ window", "mean_z": "mean z", "mean_z_true": "true mean z",
    "rows_in": "rows in", "rows_placed": "rows placed", "rows_rejected": "rows rejected",
    "rows_excluded_by_subset": "rows excluded by subset", "rows": "rows", "rows_duplicate": "duplicate ids",
    "area_deg2": "area (deg²)",
}


_SPHERE_DEG2 = 4 * math.pi * (180 / math.pi) ** 2


@dataclass(frozen=True)
class Section:
    """A heading, its content (see the module docstring) and an optional note under the heading."""

    heading: str
    content: object
    note: str = ""
    #: for a list of dicts: the keys to show, in order (default: every key)
    columns: tuple[str, ...] | None = None


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------
def delta_z_rows(table: Mapping | None, deep: Mapping | None = None, clustering: Mapping | None = None,
                 truth: Mapping | None = None) -> list[dict]:
    """Δz per tomographic bin and method, with every error term: the rows of the summary's Δz table
    and of :func:`zshard.report.figures.plot_delta_z`.

    Parameters
    ----------
    table : ``validation/delta_z_table.json`` (method 1 ``cosmos``, method 2 ``wz`` and their
        ``combined``, per bin: ``zshard.validation.combination``), or None where neither method ran.
    deep : ``validation/delta_z.json`` (method 1's error terms per bin), optional.
    clustering : ``validation/clustering_delta_z.json`` (method 2's objects and patches), optional.
    truth : ``validation/truth.json`` (the true Δz and the objects matched per bin), optional.

    Returns
    -------
    list of dict, per bin ``deep reference``, ``clustering (WZ)``, ``combined`` (for the methods
    that ran) and ``truth`` (where known), each with ``bin`` (0-based), ``z_range``, ``method``,
    ``delta_z``, ``sigma`` (the total error; None for the truth), for the deep reference also
    ``sigma_bootstrap``, ``sigma_sample_variance``, ``sigma_zero_point``, for WZ its redshift
    ``window``, for the combined estimate ``cosmos_vs_wz_sigma`` ((Δz_cosmos − Δz_wz) / their joint
    σ, where both methods gave a value) and ``tension`` (True above the configured limit);
    ``truth`` (the bin's true Δz) and ``pull`` ((Δz − truth) / σ) where the truth is
    known; ``n`` (reference objects; objects of the bin for WZ; matched objects for the truth) and
    ``note`` (why a value is missing, where the stage said so).
    """
    deep_bins = {int(b["bin"]): b for b in (deep or {}).get("bins", [])}
    wz_bins = {int(b["bin"]): b for b in (clustering or {}).get("bins", [])}
    true_bins = {int(b["bin"]): b for b in (truth or {}).get("bins", [])}
    entries = list((table or {}).get("bins", []))
    if not entries:  # neither method ran: the truth alone
        entries = [{"bin": b, "truth": {"delta_z": t.get("delta_z_true")}} for b, t in sorted(true_bins.items())]
    rows = []
    for entry in entries:
        b = int(entry["bin"])
        z_range = (f"{entry['z_lo']:.2f}–{entry['z_hi']:.2f}" if finite_num(entry.get("z_lo"))
                   and finite_num(entry.get("z_hi")) else "")
        true_dz = (entry.get("truth") or {}).get("delta_z")
        for key, method in (("cosmos", "deep reference"), ("wz", "clustering (WZ)"), ("combined", "combined")):
            m = entry.get(key)
            if not m or (key == "combined" and not (entry.get("cosmos") or entry.get("wz"))):
                continue
            row = {"bin": b, "z_range": z_range, "method": method, "delta_z": m.get("delta_z"),
                   "sigma": m.get("error")}
            note = ""
            if key == "cosmos" and b in deep_bins:
                d = deep_bins[b]
                row.update(sigma_bootstrap=d.get("sigma_bootstrap"),
                           sigma_sample_variance=d.get("sigma_sample_variance"),
                           sigma_zero_point=d.get("sigma_zero_point"), n=d.get("n_reference"))
                note = d.get("note") or ""
            elif key == "wz":
                w = wz_bins.get(b, {})
                if w.get("n_unknown") is not None:
                    row["n"] = w["n_unknown"]
                if m.get("z_range"):
                    row["window"] = "{:.2f}–{:.2f}".format(*m["z_range"])
                note = w.get("note") or ""
            elif key == "combined":
                if m.get("method") == "range_split" and finite_num(m.get("wz_weight")):
                    lo, hi = m["in_range"]["z_range"]
                    note = (f"range split: WZ's weight {m['wz_weight']:.2f} in the mean inside {lo:g}–{hi:g}, "
                            "the deep field's alone beyond")
                if (entry.get("consistency") or {}).get("tension") is not None:
                    row.update(cosmos_vs_wz_sigma=entry["consistency"]["n_sigma"],
                               tension=entry["consistency"]["tension"])
                    if entry["consistency"]["tension"]:
                        note = "the deep-field and clustering estimates disagree"
            if finite_num(true_dz):
                row["truth"] = true_dz
                if finite_num(row["delta_z"]) and finite_num(row["sigma"]) and row["sigma"] > 0:
                    row["pull"] = (row["delta_z"] - true_dz) / row["sigma"]
            row["note"] = note
            rows.append(row)
        if b in true_bins:
            t = true_bins[b]
            rows.append({"bin": b, "z_range": z_range, "method": "truth", "delta_z": t.get("delta_z_true"),
                         "sigma": None, "n": t.get("n"), "note": ""})
    return rows


def partition_sections(manifest: Mapping) -> list[Section]:
    """The partition's statistics from ``catalog/manifest.json``: totals, the plan's settings, rows
    per input file and per shard (with its area)."""
    totals = manifest["totals"]
    summary = {
        "rows in (all input files)": totals["rows_in"],
        "rows placed in shards": totals["rows_in_shards"],
        "rows rejected (catalog/rejects.parquet)": totals["rows_rejected"],
        "rows excluded by the subset selection": totals.get("rows_excluded_by_subset", 0),
        "shards": len(manifest["shards"]),
        "ids in several shards": manifest.get("ids_in_several_shards", 0),
    }
    plan_settings = manifest.get("plan", {})
    settings = {
        "histogram order (counting pixels)": plan_settings.get("histogram_order"),
        "max rows per shard": plan_settings.get("max_rows"),
        "lowest shard order": plan_settings.get("lowest_order"),
        "shards above the row limit": ", ".join(plan_settings.get("oversized_shards") or []) or "none",
    }
    if manifest.get("removed_stale_shards"):
        settings["stale shards removed (from an earlier plan)"] = ", ".join(manifest["removed_stale_shards"])
    files = [{"file": os.path.basename(f["file"]), "rows_in": f["rows_in"], "rows_placed": f["rows_placed"],
              "rows_rejected": f["rows_rejected"], "rows_excluded_by_subset": f.get("rows_excluded_by_subset", 0)}
             for f in manifest.get("files", [])]
    shards = []
    for s in sorted(manifest["shards"], key=lambda s: (int(s["order"]), int(s["pixel"]))):
        area = _SPHERE_DEG2 / (12 * 4 ** int(s["order"]))
        shards.append({"shard": s["shard"], "order": int(s["order"]), "pixel": int(s["pixel"]),
                       "area_deg2": area, "rows": s["rows"], "rows_duplicate": s.get("rows_duplicate", 0)})
    sections = [Section("Totals", summary, "Every input row is in exactly one shard or in the rejects file."),
                Section("Plan", settings)]
    sections.append(Section("Per input file", files))
    sections.append(Section("Per shard", shards, "HEALPix pixels (NESTED) of their own order, in the HATS layout "
                                                 "catalog/dataset/Norder=K/Dir=D/Npix=P.parquet."))
    return sections


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       font-size: 14px; line-height: 1.4; color: #1e293b; background: #ffffff; margin: 1.2em 1.6em 3em; }
h1 { font-size: 1.25em; margin: 0 0 .4em; }
h2 { font-size: 1.05em; margin: 1.6em 0 .3em; color: #0f172a; }
p { margin: .3em 0 .6em; max-width: 60em; }
p.note { color: #475569; font-size: .92em; }
table { border-collapse: collapse; margin: .4em 0 1em; }
th, td { padding: .28em .75em; border-bottom: 1px solid #e2e8f0; text-align: left; vertical-align: top; }
th { background: #e2e8f0; font-weight: 600; position: sticky; top: 0; }
tr:nth-child(even) td { background: #f8fafc; }
td { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { white-space: normal; min-width: 16em; max-width: 36em; }
td.empty { color: #94a3b8; }
ul { margin: .3em 0 1em 1.2em; padding: 0; }
"""


def _cell(value, key: str | None = None) -> str:
    if key == "bin" and isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        value = int(value) + 1
    if value is None or (isinstance(value, str) and value == ""):
        return '<td class="empty"></td>'
    if not is_scalar(value):
        value = str(value)
    text = html.escape(fmt(value))
    numeric = isinstance(value, (numbers.Number, np.number)) and not isinstance(value, (bool, np.bool_))
    if numeric:
        return f'<td class="num">{text}</td>'
    return f'<td class="text">{text}</td>' if len(text) > 40 else f"<td>{text}</td>"


def _header(keys: Sequence[str]) -> str:
    return "<tr>" + "".join(f"<th>{html.escape(COLUMN_LABELS.get(k, k))}</th>" for k in keys) + "</tr>"


def _html_content(content, columns: Sequence[str] | None = None) -> str:
    if isinstance(content, str):
        return f"<p>{html.escape(content)}</p>"
    if isinstance(content, Mapping):
        if content and all(isinstance(v, Mapping) for v in content.values()):
            names = list(dict.fromkeys(k for v in content.values() for k in v))
            body = "".join("<tr><th>" + html.escape(str(n)) + "</th>"
                           + "".join(_cell(v.get(n)) for v in content.values()) + "</tr>" for n in names)
            return "<table>" + _header(["", *content]) + body + "</table>"
        body = "".join(f"<tr><th>{html.escape(str(k))}</th>{_cell(v)}</tr>" for k, v in content.items())
        return "<table>" + _header(["quantity", "value"]) + body + "</table>"
    items = list(content)
    if not items:
        return '<p class="note">none</p>'
    if all(isinstance(x, str) for x in items):
        return "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in items) + "</ul>"
    keys = list(columns) if columns else list(dict.fromkeys(k for row in items for k in row))
    body = "".join("<tr>" + "".join(_cell(row.get(k), k) for k in keys) + "</tr>" for row in items)
    return "<table>" + _header(keys) + body + "</table>"


def write_html_tables(path: str | os.PathLike, title: str, sections: Sequence[Section], intro: str = "") -> str:
    """Write a self-contained HTML page (inline style, no script) of ``sections``, atomically;
    returns the path."""
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{html.escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
             f"<h1>{html.escape(title)}</h1>"]
    if intro:
        parts.append(f"<p>{html.escape(intro)}</p>")
    for section in sections:
        parts.append(f"<h2>{html.escape(section.heading)}</h2>")
        if section.note:
            parts.append(f'<p class="note">{html.escape(section.note)}</p>')
        parts.append(_html_content(section.content, section.columns))
    parts += ["</body>", "</html>", ""]
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_text("\n".join(parts), encoding="utf-8")
    return str(path)
