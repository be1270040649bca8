"""Figures, tables and the summary page of a run, and what Snakemake's report shows.

* :mod:`zshard.report.figures` – the PNG figures (PIT, z_phot–z_spec, n(z), Δz, clustering n(z),
  the sky map with the shards);
* :mod:`zshard.report.tables` – the tables' rows and their HTML pages for the report;
* :mod:`zshard.report.markdown` – the Markdown summary page;
* :mod:`zshard.report.items` – the report's categories, items and labels;
* :mod:`zshard.report.summary` – rule ``summary``: all of the above from the stages' products.
"""

from zshard.report.figures import (
    DPI,
    new_figure,
    new_grid,
    plot_clustering_nz,
    plot_delta_z,
    plot_nz,
    plot_pit_histograms,
    plot_sky_counts,
    plot_zphot_vs_zspec,
    save_figure,
)
from zshard.report.markdown import write_summary_markdown
from zshard.report.tables import Section, delta_z_rows, partition_sections, write_html_tables

__all__ = [
    "DPI",
    "new_figure",
    "new_grid",
    "save_figure",
    "plot_pit_histograms",
    "plot_zphot_vs_zspec",
    "plot_nz",
    "plot_delta_z",
    "plot_clustering_nz",
    "plot_sky_counts",
    "write_summary_markdown",
    "Section",
    "delta_z_rows",
    "partition_sections",
    "write_html_tables",
]
