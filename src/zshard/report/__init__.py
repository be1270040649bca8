"""Figures, tables and the summary page of a run, and what Snakemake's report shows.

* :mod:`zshard.report.figures` – the PNG figures (PIT, z_phot–z_spec, n(z), Δz, clustering n(z),
  the sky map with the shards);
* :mod:`zshard.report.tables` – the tables' rows and their HTML pages for the report;
* :mod:`zshard.report.markdown` – the Markdown summary page;
* :mod:`zshard.report.items` – the report's categories, items and labels;
* :mod:`zshard.report.summary` – rule ``summary``: all of the above from the stages' products.
"""
