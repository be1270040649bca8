"""The n(z) products of the workflow (rule nz_products) on the tiny mock, read back as sacc and CosmoSIS
read them; the Δz table's comparison of the two methods."""

import configparser
import json

import numpy as np
import pytest

pytestmark = pytest.mark.integration


def test_nz_products_read_back_as_sacc_and_cosmosis_do(mock_run):
    sacc = pytest.importorskip("sacc")
    _, config, results = mock_run
    cfg = config["nz_products"]
    table = json.loads((results / "validation/delta_z_table.json").read_text())
    delivered = sacc.Sacc.load_fits(str(results / "nz/nz.sacc.fits"))
    s = sacc.Sacc.load_fits(str(results / "nz/nz_products.sacc.fits"))
    values, priors = configparser.ConfigParser(), configparser.ConfigParser()
    values.read(results / "nz/cosmosis_values.ini")
    priors.read(results / "nz/cosmosis_priors.ini")
    section = cfg["cosmosis_section"]
    n = cfg["n_realisations"]
    with_prior = 0
    for row in table["bins"]:
        i, combined = row["bin"], row["combined"]
        t = s.tracers[f"source_{i}"]
        np.testing.assert_allclose(t.nz, delivered.tracers[f"source_{i}"].nz)
        assert len(t.extra_columns) == n == t.metadata["n_realisations"]
        real = np.array(list(t.extra_columns.values()))
        dz = np.diff(t.z).mean()
        np.testing.assert_allclose(real.sum(axis=1) * dz, 1.0, rtol=1e-6)
        means = (real * t.z).sum(axis=1) / real.sum(axis=1)
        if combined["delta_z"] is None:
            assert "delta_z_prior" not in t.metadata and f"bias_{i + 1}" not in priors[section]
            assert float(values[section][f"bias_{i + 1}"]) == 0.0
            continue
        with_prior += 1
        sigma = combined["error"]
        assert t.metadata["delta_z"] == pytest.approx(combined["delta_z"])
        assert t.metadata["delta_z_sigma"] == pytest.approx(sigma)
        # the realisations' spread in mean z is the stated σ within its sampling error
        assert abs(np.std(means, ddof=1) - sigma) < 3 * sigma / np.sqrt(2 * (n - 1))
        assert abs(np.mean(means) - t.metadata["mean_z_calibrated"]) < 3 * sigma / np.sqrt(n)
        kind, mean, width = priors[section][f"bias_{i + 1}"].split()
        assert kind == "gaussian" and float(mean) == pytest.approx(combined["delta_z"], abs=1e-6)
        assert float(width) == pytest.approx(sigma, abs=1e-6)
        lo, start, hi = (float(x) for x in values[section][f"bias_{i + 1}"].split())
        assert lo < start < hi and start == pytest.approx(combined["delta_z"], abs=1e-6)
        if row["cosmos"] and row["cosmos"]["error"] is not None:
            assert t.metadata["delta_z_cosmos_sigma_bootstrap"] == pytest.approx(row["cosmos"]["terms"]["bootstrap"])
    assert with_prior >= 1  # the deep field gives every populated bin of the tiny mock a Δz
    summary = (results / "summary/summary.md").read_text()
    assert "n(z) products: Δz priors and realisations" in summary


def test_delta_z_table_compares_the_methods(mock_run):
    _, config, results = mock_run
    table = json.loads((results / "validation/delta_z_table.json").read_text())
    assert table["tension_sigma"] == config["validation"]["tension_sigma"]
    flagged = []
    for row in table["bins"]:
        c = row["consistency"]
        if c["n_sigma"] is None:
            assert c["tension"] is None
            continue
        if c["quantity"] == "in-range mean redshift":  # range_split: what both methods see
            assert row["combined"]["method"] == "range_split" == table["combination"]
            deep, wz = row["cosmos"]["in_range"], row["wz"]["in_range"]
            assert deep["z_range"] == wz["z_range"] == [config["validation"]["clustering"]["zmin"],
                                                         config["validation"]["clustering"]["zmax"]]
            x_deep, x_wz, joint = deep["mean_z_ref"], wz["mean_z"], np.hypot(deep["sigma"], wz["error"])
            assert 0 <= row["combined"]["wz_weight"] <= 1
        else:
            x_deep, x_wz = row["cosmos"]["delta_z"], row["wz"]["delta_z"]
            joint = np.hypot(row["cosmos"]["error"], row["wz"]["error"])
        assert c["n_sigma"] == pytest.approx((x_deep - x_wz) / joint)
        if c["tension"]:
            flagged.append(row["bin"])
    assert table["tension_bins"] == flagged
