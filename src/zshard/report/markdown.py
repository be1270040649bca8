"""The run's summary as a Markdown page (``summary/summary.md``)."""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from zshard.io.atomic import atomic_path
from zshard.report._format import fmt, is_scalar

__all__ = ["write_summary_markdown"]

_is_scalar = is_scalar


def _fmt(v) -> str:
    return fmt(v).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], body: Sequence[Sequence]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in body]
    return out


_DZ_COLUMNS = ["bin", "z_range", "method", "delta_z", "sigma", "sigma_total", "sigma_bootstrap",
               "sigma_sample_variance", "sigma_zero_point", "truth", "pull", "n", "n_science", "mean_z_ref",
               "mean_z_true", "mean_z_phot", "cosmos_vs_wz_sigma", "tension", "note"]


def _row_table(rows: Sequence[Mapping], preferred: Sequence[str] = ()) -> list[str]:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    cols = [k for k in preferred if k in keys] + [k for k in keys if k not in preferred]
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            if c == "bin" and isinstance(v, (numbers.Integral, np.integer)):
                v = int(v) + 1  # bins are shown 1-based, as in the n(z) files
            cells.append(v if _is_scalar(v) or v is None else str(v))
        body.append(cells)
    return _table(cols, body)


def write_summary_markdown(path: str | os.PathLike, metrics: Mapping, figures: Mapping[str, str],
                           notes: Sequence[str], title: str = "zshard photo-z summary") -> str:
    """Write a Markdown summary page, atomically.

    Layout: title; "Photo-z metrics" (the scalar entries of ``metrics`` as a two-column table,
    then every entry that is a mapping of scalars, e.g. ``{"before": {...}, "after": {...}}``, as
    one table with a column per entry); "Δz per tomographic bin" (``metrics["delta_z"]``, a list
    of per-bin dicts such as those of :mod:`zshard.validation`, one row per bin and method; bins
    shown 1-based); any other list-of-dict entries as their own tables; "Figures" (each as an
    image link relative to the page's directory); "Notes" (bullets).

    Parameters
    ----------
    metrics : mapping
        Metric name -> scalar, mapping of scalars, or list of dicts.
    figures : mapping
        Caption -> PNG path.
    notes : sequence of str
        Free-text notes, e.g. which steps were disabled and why.
    """
    path = Path(path)
    lines = [f"# {title}", ""]

    scalars = {k: v for k, v in metrics.items() if _is_scalar(v) or v is None}
    groups = {k: v for k, v in metrics.items()
              if isinstance(v, Mapping) and all(_is_scalar(x) or x is None for x in v.values())}
    tables = {k: list(v) for k, v in metrics.items()
              if isinstance(v, (list, tuple)) and v and all(isinstance(x, Mapping) for x in v)}

    lines += ["## Photo-z metrics", ""]
    if scalars:
        lines += _table(["metric", "value"], [[k, v] for k, v in scalars.items()]) + [""]
    if groups:
        names = list(dict.fromkeys(m for g in groups.values() for m in g))
        lines += _table(["metric", *groups], [[m, *(g.get(m) for g in groups.values())]
                                               for m in names]) + [""]
    if not scalars and not groups:
        lines += ["_none_", ""]

    lines += ["## Δz per tomographic bin", "",
              "Δz = ⟨z_true⟩ − ⟨z_phot⟩ per bin (Hoyle et al. 2018, MNRAS 478, 592).", ""]
    dz = tables.pop("delta_z", None)
    if dz:
        rows = sorted(dz, key=lambda r: (int(r.get("bin", -1)), str(r.get("method", ""))))
        lines += _row_table(rows, _DZ_COLUMNS) + [""]
    else:
        lines += ["_not computed_", ""]
    for name, rows in tables.items():
        lines += [f"## {name}", ""] + _row_table(rows) + [""]

    if figures:
        lines += ["## Figures", ""]
        for caption, fig_path in figures.items():
            rel = os.path.relpath(os.path.abspath(fig_path), os.path.abspath(path.parent or "."))
            rel = Path(rel).as_posix()
            lines += [f"### {caption}", "", f"![{caption}]({rel})", ""]

    lines += ["## Notes", ""]
    lines += [f"- {n}" for n in notes] if notes else ["_none_"]
    lines.append("")
    with atomic_path(path) as tmp:
        Path(tmp).write_text("\n".join(lines), encoding="utf-8")
    return str(path)
