"""Rule calibrate_shard: apply the PIT calibration to one shard's PDFs."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from zshard.calibration import apply_calibration, load_calibration
from zshard.io.pdf_table import read_pdf_table, write_pdf_table

raw = read_pdf_table(snakemake.input.raw)
calibration = load_calibration(snakemake.input.calibration)
quantiles = apply_calibration(raw.quantiles, raw.levels, calibration, raw.z_min, raw.z_max)
levels = calibration.levels_for(raw.levels)
write_pdf_table(snakemake.output[0], raw.ids, quantiles, levels, raw.z_min, raw.z_max,
                metadata={"model_version": raw.metadata.get("model_version", ""), "calibrated": "true"},
                extra_columns=raw.extra_columns())  # z_phot, in_coverage, coverage_weight carried on
print(f"{len(raw.ids)} objects calibrated")
