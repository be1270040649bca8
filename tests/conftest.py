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


# the binned p(z), shrunk for the tests' trainings (tiny_config, test_training, the DES workflow test)
SMALL_BINNED_PDZ = {"n_bins": 25, "n_estimators": 40, "learning_rate": 0.3}


def tiny_config(results: Path) -> dict:
    """The embedded default, shrunk so the whole workflow runs in well under a minute."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["results"] = str(results)
    config["mock"].update(n_objects=20_000, n_files=3, nside=64, area_deg2=100.0, deep_area_deg2=4.0)
    config["mock"]["specz_campaigns"] = [{"name": "wide", "mag_max": 22.5, "fraction": 0.6},
                                         {"name": "deep", "mag_max": 24.5, "fraction": 0.25}]
    config["partition"].update(max_rows_per_shard=5000, chunk_rows=4000)
    config["model"]["xgboost"]["n_estimators"] = 80
    # the binned p(z), shrunk: its 50-class booster was 3/4 of a tiny run's critical path (36 of 48 s of
    # train_model); 25 bins and 40 rounds at a higher rate keep it the chosen p(z) (calibrated CDE loss -5.4
    # against the quantile booster's -4.7), so the fan-out and the determinism test still go through it
    config["model"]["xgboost_bins"].update(SMALL_BINNED_PDZ)
    config["validation"]["deep_reference"]["n_bootstrap"] = 20
    # the training stages, shrunk: a 1-draw, 2-fold zoo of small models, a small science sample
    config["representativeness"]["science_sample_size"] = 4000
    config["selection"].update(size_fractions=[0.5, 1.0], permutation_repeats=1)
    config["zoo"].update(n_draws=1, folds=2, spaces={a: {"n_estimators": {"int": [20, 40]}} for a in
                                                     ("xgboost_quantile", "xgboost", "random_forest", "adaboost")})
    return config


def snakemake_command(workdir: Path, config: dict, *args: str) -> tuple[list[str], dict]:
    """The command line and environment that run the workflow's Snakefile in ``workdir`` with
    ``config`` written to a file there (``--cores 2`` unless ``args`` give ``--cores`` again)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "XDG_CACHE_HOME": str(workdir / ".cache")}
    command = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(config_path), "--cores", "2", *args]
    return command, env


def run_snakemake(workdir: Path, config: dict, *args: str, check: bool = True,
                  timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the workflow's Snakefile in ``workdir`` with ``config`` written to a file there."""
    command, env = snakemake_command(workdir, config, *args)
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
