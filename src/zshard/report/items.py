"""What Snakemake's report (``snakemake --report``) shows, and where: one entry per figure or table.

The rules flag their outputs with ``report()`` through ``report_item`` (workflow/rules/common.smk),
which takes the category, subcategory and label from :data:`REPORT_ITEMS` and the caption from
``workflow/report/captions/<name>.rst``; the Markdown summary titles its figures from the same
entries. The report's menu sorts categories and subcategories by name, hence the numbers: they
follow the workflow's order.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ReportItem", "REPORT_ITEMS", "CATEGORIES", "SUMMARY_FIGURES", "SUMMARY_TABLES"]

OVERVIEW = "1. Overview"
PARTITION = "2. Partition"
TRAINING = "3. Training"
PZ = "4. p(z)"
NZ = "5. Tomography and n(z)"
DELTA_Z = "6. Δz validation"
CATEGORIES = (OVERVIEW, PARTITION, TRAINING, PZ, NZ, DELTA_Z)


@dataclass(frozen=True)
class ReportItem:
    """One figure or table of the report: its ``kind`` (``figure`` or ``table``), ``category``,
    ``subcategory`` (None: shown directly under the category) and ``title``."""

    kind: str
    category: str
    subcategory: str | None
    title: str

    @property
    def label(self) -> str:
        """The entry's name in the report's list of results: ``Figure: …`` or ``Table: …`` (so a
        category lists its figures first)."""
        return f"{self.kind.capitalize()}: {self.title}"


def _figure(category, title, subcategory=None):
    return ReportItem("figure", category, subcategory, title)


def _table(category, title, subcategory=None):
    return ReportItem("table", category, subcategory, title)


REPRESENTATIVENESS = "3.1 Representativeness"
ANOMALIES = "3.2 Anomalies"
FEATURES = "3.3 Features and selection"
ZOO = "3.4 Model zoo"
MODEL = "3.5 Model artefact"

#: name -> item; the name is the file's stem and the caption's file name.
REPORT_ITEMS: dict[str, ReportItem] = {
    "overview": _table(OVERVIEW, "the run at a glance"),
    "sky": _figure(PARTITION, "sky map with the shard boundaries"),
    "partition_statistics": _table(PARTITION, "rows in, placed and rejected"),
    "representativeness": _figure(TRAINING, "representativeness of the spec-z sample", REPRESENTATIVENESS),
    "representativeness_tests": _table(TRAINING, "representativeness tests", REPRESENTATIVENESS),
    "anomalies": _figure(TRAINING, "anomalous training objects", ANOMALIES),
    "anomaly_flags": _table(TRAINING, "objects flagged and removed", ANOMALIES),
    "features": _figure(TRAINING, "feature correlations", FEATURES),
    "selection": _figure(TRAINING, "feature rankings and size scan", FEATURES),
    "feature_rankings": _table(TRAINING, "feature rankings", FEATURES),
    "zoo": _figure(TRAINING, "cross-validated metrics of every draw", ZOO),
    "zoo_leaderboard": _table(TRAINING, "model zoo leaderboard", ZOO),
    "model_artefact": _table(TRAINING, "the trained model", MODEL),
    "pit": _figure(PZ, "PIT before and after calibration"),
    "zphot_vs_zspec": _figure(PZ, "z_phot against z_spec"),
    "photoz_metrics": _table(PZ, "photo-z metrics of the test sample"),
    "nz": _figure(NZ, "n(z) per tomographic bin"),
    "nz_bins": _table(NZ, "tomographic bins"),
    "delta_z": _figure(DELTA_Z, "Δz per bin and method"),
    "clustering_nz": _figure(DELTA_Z, "clustering-redshift n(z) per bin"),
    "delta_z_errors": _table(DELTA_Z, "Δz with every error term"),
}

#: The summary rule's figures (clustering_nz only when clustering redshifts run) and tables; the
#: other items are the training stages' figures, flagged for the report by their own rules.
SUMMARY_FIGURES = ("sky", "pit", "zphot_vs_zspec", "nz", "delta_z", "clustering_nz")
SUMMARY_TABLES = ("overview", "partition_statistics", "representativeness_tests", "anomaly_flags",
                  "feature_rankings", "zoo_leaderboard", "model_artefact", "photoz_metrics", "nz_bins",
                  "delta_z_errors")
