"""Rule summary: metrics.json, the Markdown page, the figures and the report's tables (zshard.report.summary)."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

from pathlib import Path

from zshard.report.summary import SummaryInputs, write_summary

inp, out = snakemake.input, snakemake.output


def optional(name):
    """An input that is there only when its stage ran: a list of 0 or 1 path."""
    return inp[name][0] if inp[name] else None


write_summary(
    SummaryInputs(manifest=inp.manifest, plan=inp.plan, sky=inp.sky, samples=inp.samples,
                  model_manifest=inp.model_manifest, photoz=inp.photoz, predictions=inp.predictions, nz=inp.nz,
                  representativeness=inp.representativeness, anomalies=inp.anomalies, selection=inp.selection,
                  delta_z=optional("delta_z"), delta_z_table=optional("delta_z_table"),
                  clustering=optional("clustering"), truth=optional("truth"), leaderboard=optional("leaderboard"),
                  nz_products=inp.nz_products,
                  training_figures={Path(p).stem: p for p in inp.training_figures}),
    source=snakemake.params.source, metrics_path=out.metrics, markdown_path=out.markdown,
    figures={Path(p).stem: p for p in out.figures}, tables={Path(p).stem: p for p in out.tables})
print(f"summary written to {out.markdown}")
