# Config validation, the catalogue sources, the shard list and input functions.
import json
import math
import os
import sys

from snakemake.utils import validate

from zshard.config import check_config
from zshard.io.atomic import read_json
from zshard.partition import file_ids
from zshard.report.items import REPORT_ITEMS, SUMMARY_FIGURES, SUMMARY_TABLES
from zshard.sources import (
    catalog_sources,
    check_input_columns,
    mock_directory,
    mock_photometry_files,
    source_files,
)
from zshard.sky import Shard

check_config(config)  # one line naming a bad key (snakemake's validate prints the whole sub-schema)
validate(config, schema="../schemas/config.schema.yaml")

R = config["results"]
SEED = config["seed"]
BANDS = config["bands"]
SCRIPTS = os.path.join(workflow.basedir, "scripts")
# Training is the fan-out's critical path (every shard waits for the model) but a handful of jobs
# among hundreds of partition reduces: without a priority Snakemake ran the reduces first and the
# 100M-object run (make bench-scale) trained on one idle machine afterwards, for 10 minutes.
TRAINING_PRIORITY = 50


wildcard_constraints:
    shard=r"o\d+_p\d+",
    order=r"\d+",
    hatsdir=r"\d+",
    pixel=r"\d+",
    split=r"train|validation|test",


# PARTITION_JOB_NOTE: the per-file (partition_split) and per-shard (partition_reduce) jobs run their
# scripts through shell:, not script:. The script directive's preamble imports Snakemake in every
# job, 0.16 CPU-s measured here: for a catalogue of 1M-row files and ~0.4M-row shards, about a
# sixth of the partition's CPU. Their scripts take arguments, so they also run by hand.
def _deploys_environments():
    """Whether Snakemake runs jobs in environments it deploys (--use-conda, containers)."""
    try:
        from snakemake.settings.types import DeploymentMethod

        methods = workflow.deployment_settings.deployment_method
    except (ImportError, AttributeError):
        return False
    return DeploymentMethod.CONDA in methods or DeploymentMethod.APPTAINER in methods


if not _deploys_environments():
    # Shell jobs call `python`: the interpreter that runs Snakemake, whose venv need not be active.
    shell.prefix(f"set -euo pipefail; export PATH={os.path.dirname(sys.executable)}:\"$PATH\"; ")


def log_of(rule_name, job=None):
    """A job's log: <results>/logs/<rule>.log, or <results>/logs/<rule>/<job>.log for a job of many
    (``job`` names it by its wildcards, e.g. "{shard}")."""
    return _job_file("logs", rule_name, job, ".log")


def benchmark_of(rule_name, job=None):
    """A job's Snakemake benchmark record, laid out as :func:`log_of`."""
    return _job_file("benchmarks", rule_name, job, ".tsv")


def _job_file(kind, rule_name, job, suffix):
    return os.path.join(R, kind, rule_name, *([job] if job else [])) + suffix


def report_item(path, name):
    """``path`` flagged for Snakemake's report as item ``name`` of zshard.report.items.REPORT_ITEMS:
    its category, subcategory and label from there, its caption workflow/report/captions/<name>.rst."""
    item = REPORT_ITEMS[name]
    return report(path, caption=f"../report/captions/{name}.rst", category=item.category,
                  subcategory=item.subcategory, labels={"item": item.label})


def res(rule_name, key):
    """A resource of a rule from config["resources"], falling back to the default entry."""
    table = config.get("resources", {})
    default = {"mem_mb": 2000, "runtime": 30, "threads": 1, "mem_mb_per_million_rows": 0,
               "runtime_per_million_rows": 0, **table.get("default", {})}
    return table.get(rule_name, {}).get(key, default[key])


def job_resource(rule_name, key):
    """``mem_mb`` or ``runtime`` (minutes) of a rule's job, as Snakemake evaluates it per job.

    The rule's base from config["resources"]; for a per-shard job, plus the shard's rows (from the
    partition plan) times the rule's ``<key>_per_million_rows``; times the attempt, so that a job
    retried after running out of memory or time asks for more (profiles/slurm sets ``retries``).
    """
    base, per_million = res(rule_name, key), res(rule_name, f"{key}_per_million_rows")

    def resource(wildcards, attempt):
        rows = shard_rows(wildcards) if per_million else 0
        return math.ceil((base + per_million * rows / 1e6) * attempt)

    return resource


# --------------------------------------------------------------------------------------------
# Catalogue sources: the mock's products, or the user's files (config "inputs").
# --------------------------------------------------------------------------------------------
MOCK_DIR = mock_directory(config)
SOURCES = catalog_sources(config)  # role -> complete catalogue section (zshard.sources)
# Before any job runs: each user file has the columns its role reads (headers only; names file and
# column). Once, in the process that plans the run: not again in every job that a cluster starts.
if workflow.is_main_process:
    check_input_columns(config, SOURCES)
PHOTOMETRY_FILES = source_files(config, SOURCES["photometry"])
SPECZ_FILES = source_files(config, SOURCES["specz"])
INPUTS = file_ids(PHOTOMETRY_FILES)  # file id -> path
# How to read a photometry file, without the file list: a per-file job's parameter, so that adding
# a file does not change (and rerun) the jobs of the other files.
PHOTOMETRY_READER = {key: value for key, value in SOURCES["photometry"].items() if key != "paths"}

# Stages that need data the user may not have: on only when it is there, and said so in the summary.
ZOO = config["zoo"]["enabled"]
DEEP_REFERENCE = config["validation"]["deep_reference"]["enabled"] and bool(SOURCES["deep_reference"]["paths"])
TRUTH = bool(SOURCES["truth"]["paths"])
# Clustering redshifts need a spectroscopic reference sample with positions (inputs.clustering_reference).
CLUSTERING = config["validation"]["clustering"]["enabled"] and bool(SOURCES["clustering_reference"]["paths"])
# The redshift range clustering redshifts see (the reference's slices): the deep field and the truth
# also report each bin's mean inside it, what the two methods share (zshard.validation.combination).
CLUSTERING_RANGE = ([config["validation"]["clustering"]["zmin"], config["validation"]["clustering"]["zmax"]]
                    if CLUSTERING else None)


def science_sample_files(wildcards):
    """The photometry files the science sample is drawn from, as a snapshot ("train once").

    ancient(): an edited file does not redraw it. Once drawn, its input is the list of files it was
    drawn from (recorded in its summary), so that adding a file does not redraw it either; if one of
    those files is gone, it is drawn again from the current files.
    """
    summary = f"{R}/representativeness/science_sample.json"
    files = PHOTOMETRY_FILES
    if os.path.exists(summary):
        drawn = read_json(summary).get("files")
        if drawn and set(drawn) <= set(PHOTOMETRY_FILES):
            files = drawn
    return [ancient(path) for path in files]


# --------------------------------------------------------------------------------------------
# Shards: known once the partition plan (a checkpoint) exists.
# --------------------------------------------------------------------------------------------
class PlanIndex:
    """The partition plan with the look-ups the input functions need, read once per plan file.

    Input functions are called for every job of the DAG (four per shard); re-reading and scanning
    a plan of thousands of shards each time would make a dry run quadratic in the shard count.
    """

    _cache = {}

    def __init__(self, plan):
        self.plan = plan
        self.keys = [entry["key"] for entry in plan["shards"]]
        self.files_of_shard = {entry["key"]: entry["files"] for entry in plan["shards"]}
        self.rows_of_shard = {entry["key"]: entry["rows"] for entry in plan["shards"]}

    @classmethod
    def load(cls, path):
        stamp = (path, os.path.getmtime(path))
        if stamp not in cls._cache:
            cls._cache.clear()
            cls._cache[stamp] = cls(read_json(path))
        return cls._cache[stamp]


def partition_plan():
    """The plan (waits for the partition_plan checkpoint)."""
    return PlanIndex.load(checkpoints.partition_plan.get().output["plan"])


def shard_keys(wildcards=None):
    return partition_plan().keys


def shard_key(wildcards):
    """The shard of a per-shard job: its ``shard`` wildcard, or its HATS ``order`` and ``pixel``."""
    if "shard" in wildcards.keys():
        return wildcards.shard
    return Shard(int(wildcards.order), int(wildcards.pixel)).key


def shard_rows(wildcards):
    """The rows of a per-shard job's shard, from the plan."""
    return partition_plan().rows_of_shard[shard_key(wildcards)]


def shard_path(key, root=f"{R}/catalog/dataset", suffix=".parquet"):
    """HATS-style path of a shard's product: <root>/Norder=K/Dir=D/Npix=P<suffix>."""
    shard = Shard.from_key(key)
    return f"{root}/Norder={shard.order}/Dir={shard.directory}/Npix={shard.pixel}{suffix}"


def split_dirs_of_shard(wildcards):
    """The split outputs of the files that contribute rows to one shard (from the plan)."""
    return [f"{R}/partition/split/{fid}" for fid in partition_plan().files_of_shard[shard_key(wildcards)]]


def split_runs(path):
    """A split's sorted rows (partition/runs/, about the catalogue's size again), read only by the reduces.

    partition.keep_runs: false makes them temp(): deleted once every reduce that reads them has run
    (Snakemake defers it until the plan checkpoint has added the reduces to the DAG). The price: a later
    reduce (an edited or added file, a new plan) needs the runs of every file it reads, and Snakemake
    remakes them by running those files' splits again.
    """
    return path if config["partition"]["keep_runs"] else temp(path)


def split_rows_of_shard(wildcards):
    """Their sorted rows, in the same order (partition/runs/, temp() with partition.keep_runs: false)."""
    return [f"{R}/partition/runs/{fid}.arrow" for fid in partition_plan().files_of_shard[shard_key(wildcards)]]


def per_shard(pattern):
    """Input function: ``pattern`` expanded over every shard of the plan."""

    def inputs(wildcards):
        return expand(pattern, shard=shard_keys())

    return inputs


def final_products():
    products = [
        f"{R}/catalog/manifest.json",
        f"{R}/pdf/manifest.json",
        f"{R}/nz/nz.fits",
        f"{R}/validation/photoz_metrics.json",
        f"{R}/summary/summary.md",
    ]
    if DEEP_REFERENCE:
        products.append(f"{R}/validation/delta_z.json")
    if CLUSTERING:
        products.append(f"{R}/validation/clustering_delta_z.json")
    if DEEP_REFERENCE or CLUSTERING:
        products.append(f"{R}/validation/delta_z_table.json")
    products.append(f"{R}/nz/nz_products.sacc.fits")  # rule nz_products (products.smk)
    if TRUTH:
        products.append(f"{R}/validation/truth.json")
    return products


# Seconds of work on small inputs (the plan, the manifest, the n(z) reduce, the Δz combination, the
# summary): on a cluster they run in the head process instead of waiting in the queue.
localrules:
    partition_plan,
    partition_manifest,
    tomography_edges,
    reduce_nz,
    combine_delta_z,
    nz_products,
    summary,
