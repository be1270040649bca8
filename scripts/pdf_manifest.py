"""Rule pdf_manifest: the SHA-256, size and rows of every per-shard table (calibrated p(z), bins),
for make verify (zshard.verify).

Fails if a table's rows differ from its shard's (zshard.verify.pdf_rows_problems).
"""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import os

from zshard.io.atomic import read_json, write_json
from zshard.io.checksums import record
from zshard.verify import pdf_rows_problems

RULE = "fanout_shard"  # the rule that writes both kinds of table (workflow/rules/fanout.smk)
results = snakemake.params.results
tables = [{"path": os.path.relpath(path, results), "rule": RULE, **record(path)}
          for paths in (snakemake.input.pdf, snakemake.input.bins) for path in paths]
rows = {kind: sum(t["rows"] for t in tables if os.path.dirname(t["path"]) == kind)
        for kind in sorted({os.path.dirname(t["path"]) for t in tables})}
problems = pdf_rows_problems(read_json(snakemake.input.catalog)["shards"], tables)
if problems:
    raise RuntimeError("the per-shard tables do not conserve their shards' rows:\n  " + "\n  ".join(problems))
write_json(snakemake.output.manifest, {"tables": tables, "rows": rows})
print(f"{len(tables)} tables recorded, rows {rows}")
