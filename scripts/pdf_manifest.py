"""Rule pdf_manifest: the SHA-256, size and rows of every p(z) table, for make verify (zshard.verify).

Fails if a table's rows differ from its shard's (zshard.verify.pdf_rows_problems).
"""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import os

from zshard.io.atomic import read_json, write_json
from zshard.io.checksums import record
from zshard.verify import pdf_rows_problems

results = snakemake.params.results
tables = [{"path": os.path.relpath(path, results), "rule": rule, **record(path)}
          for rule, paths in (("predict_shard", snakemake.input.raw), ("calibrate_shard", snakemake.input.calibrated))
          for path in paths]
rows = {rule: sum(t["rows"] for t in tables if t["rule"] == rule) for rule in ("predict_shard", "calibrate_shard")}
problems = pdf_rows_problems(read_json(snakemake.input.catalog)["shards"], tables)
if problems:
    raise RuntimeError("the p(z) tables do not conserve their shards' rows:\n  " + "\n  ".join(problems))
write_json(snakemake.output.manifest, {"tables": tables, "rows": rows})
print(f"{len(tables)} tables recorded, rows {rows}")
