"""zshard's file input and output, one concept per submodule (import from the submodule):

* :mod:`zshard.io.atomic` -- atomic files and directories, JSON and Parquet writers.
* :mod:`zshard.io.catalogs` -- catalogue readers in canonical columns (column mapping, sentinels,
  chunked reads), file formats and globs.
* :mod:`zshard.io.ids` -- id hashing, id-hashed subsets and derived seeds.
* :mod:`zshard.io.sampled` -- per-shard tables of the whole catalogue read in bounded memory (an
  id-hashed sample of bounded size, or given ids).
* :mod:`zshard.io.pdf_table` -- the p(z) table: quantiles (uint16-coded) plus point summaries.
* :mod:`zshard.io.nopandas` -- keeping pandas out of the partition jobs.
"""
