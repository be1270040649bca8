"""Snakemake's HTML report of the tiny mock run (`snakemake --report`): every stage's figure and
table is in it, in its category, and the figures load in a browser (headless Chromium)."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_snakemake

from zshard.report.items import REPORT_ITEMS

pytestmark = pytest.mark.integration

# What a reader must find, per category (the tiny config runs every stage: deep field, clustering
# redshifts, truth, model zoo).
EXPECTED = {
    "1. Overview": {"overview.html"},
    "2. Partition": {"sky.png", "partition_statistics.html"},
    "3. Training": {"representativeness.png", "representativeness_tests.html", "anomalies.png",
                    "anomaly_flags.html", "features.png", "selection.png", "feature_rankings.html", "zoo.png",
                    "zoo_leaderboard.html", "model_artefact.html"},
    "4. p(z)": {"pit.png", "zphot_vs_zspec.png", "photoz_metrics.html"},
    "5. Tomography and n(z)": {"nz.png", "nz_bins.html"},
    "6. Δz validation": {"delta_z.png", "clustering_nz.png", "delta_z_errors.html"},
}
TRAINING_SUBCATEGORIES = {"3.1 Representativeness", "3.2 Anomalies", "3.3 Features and selection",
                          "3.4 Model zoo", "3.5 Model artefact"}


@pytest.fixture(scope="module")
def report_html(mock_run, tmp_path_factory) -> Path:
    """The report of the shared mock run, built into a file."""
    workdir, config, _ = mock_run
    path = tmp_path_factory.mktemp("report") / "report.html"
    run_snakemake(workdir, config, "--report", str(path))
    return path


def _script_value(page: str, script_id: str, name: str):
    """The JSON value of ``var <name> = …;`` in the report's ``<script id="<script_id>">``."""
    match = re.search(rf'<script id="{script_id}">\s*var {name} = (.*?);\s*</script>', page, re.S)
    assert match, name
    return json.loads(match.group(1))


def _decoded(data_uri: str) -> bytes:
    header, _, data = data_uri.partition(",")
    assert header.startswith("data:") and header.endswith(";base64"), header[:80]
    return base64.b64decode(data)


def test_report_holds_every_stage_figure_and_table(mock_run, report_html):
    _, _, results = mock_run
    page = report_html.read_text(encoding="utf-8")
    categories = _script_value(page, "categories", "categories")
    items = _script_value(page, "results", "results")
    description = _script_value(page, "workflow-desc", "workflow_desc")

    assert set(categories) == set(EXPECTED)
    assert set(categories["3. Training"]) == TRAINING_SUBCATEGORIES
    for category, expected in EXPECTED.items():
        paths = [p for paths in categories[category].values() for p in paths]
        assert {Path(p).name for p in paths} == expected, category
        for path in paths:
            item = items[path]
            name = Path(path).stem
            assert item["labels"] == {"item": REPORT_ITEMS[name].label}, path
            assert len(item["caption"]) > 100 and "system-message" not in item["caption"], path
            data = _decoded(item["data_uri"])
            if path.endswith(".png"):
                assert item["mime_type"] == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n", path
            else:
                assert item["mime_type"] == "text/html" and b"<table>" in data, path

    def table(name):
        path = next(p for p in items if Path(p).name == name)
        return _decoded(items[path]["data_uri"]).decode("utf-8")

    delta_z = table("delta_z_errors.html")
    for text in ("σ bootstrap", "σ sample variance", "σ zero point", "σ total", "deep reference", "clustering (WZ)",
                 "combined", "WZ window", "Δz true", "Method 2: clustering redshifts (WZ)"):
        assert text in delta_z, text
    manifest = json.loads((results / "catalog/manifest.json").read_text())
    partition = table("partition_statistics.html")
    for text in ("rows in", "rows placed", "rows rejected", *(s["shard"] for s in manifest["shards"])):
        assert text in partition, text
    leaderboard = json.loads((results / "zoo/leaderboard.json").read_text())
    assert all(html.escape(r["algorithm"]) in table("zoo_leaderboard.html") for r in leaderboard["ranking"])

    for text in ("colour-matched resampling", "Clustering redshifts", "yet_another_wizz", "Partition", "Training",
                 "p(z)", "Tomography and n(z)", "Δz validation"):
        assert text in description, text


# --------------------------------------------------------------------------------------------
# In a browser
# --------------------------------------------------------------------------------------------
# Walks the report's own app (its globals `app`, `categories`, `results`, `ToggleViewManager`)
# through every category and subcategory, shows every item as a reader's click would, and checks
# that each figure decodes into pixels and each table's page is there; writes what it found into
# <pre id="zshard-check"> for --dump-dom, and a console error per failure.
CHECK_SCRIPT = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const found = {checked: [], failed: []};
  await sleep(500);
  const viewer = new ToggleViewManager(app);
  for (const category of Object.keys(categories)) {
    app.showCategory(category);
    await sleep(100);
    for (const subcategory of Object.keys(categories[category])) {
      app.setView({navbarMode: "subcategory", category: category, subcategory: subcategory});
      await sleep(100);
      for (const path of categories[category][subcategory]) {
        const entry = results[path];
        viewer.handleSelectedResult(path);
        await sleep(200);
        try {
          if (entry.mime_type.startsWith("image/")) {
            const img = [...document.querySelectorAll("img")].find(i => i.getAttribute("src") === entry.data_uri);
            if (!img) throw new Error("not displayed");
            // polled, not img.decode(): virtual time runs on while a decode is awaited
            for (let k = 0; k < 100 && !(img.complete && img.naturalWidth > 0); k++) await sleep(50);
            if (!(img.naturalWidth > 0 && img.naturalHeight > 0)) throw new Error("no pixels");
          } else {
            const frame = [...document.querySelectorAll("iframe")].find(f => f.getAttribute("src") === entry.data_uri);
            if (!frame) throw new Error("not displayed");
            if (!atob(entry.data_uri.split(",")[1]).includes("<table")) throw new Error("no table");
          }
          found.checked.push(entry.filename);
        } catch (err) {
          found.failed.push(entry.filename + ": " + err.message);
          console.error("zshard-check failed: " + entry.filename + ": " + err.message);
        }
      }
    }
  }
  const pre = document.createElement("pre");
  pre.id = "zshard-check";
  pre.textContent = JSON.stringify(found);
  document.body.appendChild(pre);
})().catch(err => console.error("zshard-check crashed: " + err));
"""
EXPECTED_CONSOLE = ("cdn.tailwindcss.com should not be used in production",)


def _chromium() -> str:
    """Debian's chromium: found, or installed with apt-get when running as root; else skip."""
    found = shutil.which("chromium")
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed, and installing it needs root and apt-get "
                    "(apt-get install -y chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        except subprocess.TimeoutExpired:
            pytest.skip(f"{' '.join(command)} took more than 15 minutes")
        if done.returncode != 0:
            pytest.skip(f"could not install chromium ({' '.join(command)}): {(done.stdout + done.stderr)[-500:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("apt-get installed chromium, but no chromium binary is on PATH")
    return found


def test_report_figures_load_in_headless_chromium(report_html, tmp_path):
    chromium = _chromium()
    page = report_html.read_text(encoding="utf-8")
    cut = page.rfind("</body>")  # the last one: the app's bundled scripts hold the string too
    checked = tmp_path / "report_checked.html"
    checked.write_text(page[:cut] + f"<script>{CHECK_SCRIPT}</script>" + page[cut:], encoding="utf-8")
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=30000", "--dump-dom", checked.as_uri()],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(tmp_path)})
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    unexpected = [line for line in console if not any(text in line for text in EXPECTED_CONSOLE)]
    assert not unexpected, "\n".join(unexpected)
    match = re.search(r'<pre id="zshard-check">(.*?)</pre>', result.stdout, re.S)
    assert match, f"the check did not finish:\n{result.stderr[-3000:]}"
    found = json.loads(html.unescape(match.group(1)))
    assert found["failed"] == []
    assert sorted(found["checked"]) == sorted(name for names in EXPECTED.values() for name in names)
