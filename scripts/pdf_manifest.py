"""Rule pdf_manifest: the SHA-256, size and rows of every p(z) table, for make verify (zshard.verify)."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import os

from zshard.io.atomic import write_json
from zshard.io.checksums import record

results = snakemake.params.results
tables = [{"path": os.path.relpath(path, results), "rule": rule, **record(path)}
          for rule, paths in (("predict_shard", snakemake.input.raw), ("calibrate_shard", snakemake.input.calibrated))
          for path in paths]
rows = {rule: sum(t["rows"] for t in tables if t["rule"] == rule) for rule in ("predict_shard", "calibrate_shard")}
write_json(snakemake.output.manifest, {"tables": tables, "rows": rows})
print(f"{len(tables)} tables recorded, rows {rows}")
