"""Shared fixtures: run the workflow once on a tiny mock survey, through the Snakemake CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def tiny_config(results: Path) -> dict:
    """The embedded default, shrunk so the whole workflow runs in well under a minute."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["results"] = str(results)
    config["mock"].update(n_objects=20_000, n_files=3, nside=64, area_deg2=100.0, deep_area_deg2=4.0)
    config["mock"]["specz_campaigns"] = [{"name": "wide", "mag_max": 22.5, "fraction": 0.6},
                                         {"name": "deep", "mag_max": 24.5, "fraction": 0.25}]
    config["partition"].update(max_rows_per_shard=5000, chunk_rows=4000)
    config["model"]["xgboost"]["n_estimators"] = 80
    config["validation"]["deep_reference"]["n_bootstrap"] = 20
    # the training stages, shrunk: a 1-draw, 2-fold zoo of small models, a small science sample
    config["representativeness"]["science_sample_size"] = 4000
    config["selection"].update(size_fractions=[0.5, 1.0], permutation_repeats=1)
    config["zoo"].update(n_draws=1, folds=2, spaces={a: {"n_estimators": {"int": [20, 40]}} for a in
                                                     ("xgboost_quantile", "xgboost", "random_forest", "adaboost")})
    return config


def run_snakemake(workdir: Path, config: dict, *args: str, check: bool = True,
                  timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the workflow's Snakefile in ``workdir`` with ``config`` written to a file there."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "XDG_CACHE_HOME": str(workdir / ".cache")}
    command = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(config_path), "--cores", "2", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({' '.join(args)}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


def dry_run_jobs(dry_run_output: str) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    table = dry_run_output.split("Job stats:", 1)[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


@pytest.fixture(scope="session")
def mock_run(tmp_path_factory):
    """The whole workflow on a tiny mock survey: (workdir, config, results)."""
    workdir = tmp_path_factory.mktemp("mock_run")
    config = tiny_config(workdir / "results")
    start = time.monotonic()
    run_snakemake(workdir, config)
    (workdir / "wall_s.txt").write_text(f"{time.monotonic() - start:.1f}")
    return workdir, config, Path(config["results"])


def product_digests(results: Path) -> dict[str, str]:
    """SHA-256 of the content of a run's products, to compare two runs of one config.

    Shards and p(z) tables: their rows sorted by id, without the file's metadata (which names the
    model version); n(z): the text table and the summary; Δz: the combined table, as JSON; the n(z)
    products' summary (priors and the realisations' spread), as JSON.
    """
    import hashlib
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    def table_digest(path: Path) -> str:
        table = pq.read_table(path).sort_by("id").combine_chunks().replace_schema_metadata(None)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()

    digests = {}
    for pattern in ("catalog/dataset/Norder=*/Dir=*/Npix=*.parquet",
                    "pdf/calibrated/*.parquet", "tomography/bins/*.parquet"):
        for path in sorted(results.glob(pattern)):
            digests[str(path.relative_to(results))] = table_digest(path)
    for name in ("nz/nz.txt", "nz/nz.json", "validation/delta_z_table.json", "nz/nz_products.json"):
        path = results / name
        if name.endswith(".json"):
            canonical = json.dumps(json.loads(path.read_text()), sort_keys=True)
            digests[name] = hashlib.sha256(canonical.encode()).hexdigest()
        else:
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests
