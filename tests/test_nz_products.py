"""The n(z) products (zshard.tomography.ensemble, zshard.tomography.products): shifts, realisations,
and every file read back as sacc and CosmoSIS read them."""

import configparser
import os

import numpy as np
import pytest

from zshard.tomography.ensemble import mean_z, nz_realisations, set_mean_z, shift_nz
from zshard.tomography.partial import NzPartial
from zshard.tomography.products import (
    bin_priors,
    build_nz_products,
    cosmosis_priors_ini,
    cosmosis_values_ini,
    realisation_column,
    shifted_result,
    write_nz_products_sacc,
)

GRID = np.round(np.linspace(0.0, 3.0, 301), 10)
EDGES = np.array([0.2, 0.5, 0.9, 1.3])


def _gauss(mu, s):
    centres = 0.5 * (GRID[:-1] + GRID[1:])
    g = np.exp(-0.5 * ((centres - mu) / s) ** 2)
    return g / (g.sum() * 0.01)


def _partials(n_shards=12, seed=3):
    """Shards whose bin n(z) differ (a mean that wanders from shard to shard); bin 2 is empty."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(n_shards):
        counts = rng.integers(200, 400, 3)
        counts[2] = 0
        stacked = np.zeros((3, GRID.size - 1))
        for b, (mu, s) in enumerate([(0.35, 0.08), (0.7, 0.12)]):
            stacked[b] = counts[b] * _gauss(mu + rng.normal(0, 0.01), s) * 0.01
        parts.append(NzPartial(edges=EDGES, grid_edges=GRID, counts=counts, weight_sums=counts.astype(float),
                               stacked=stacked, z_point_sums=np.zeros(3), n_objects=int(counts.sum())))
    return parts


TABLE = {"methods": {"cosmos": True, "wz": True, "truth": False}, "bins": [
    {"bin": 0, "cosmos": {"delta_z": 0.02, "error": 0.015, "terms": {"bootstrap": 0.01, "sample_variance": 0.011,
                                                                     "zero_point": 0.002}},
     "wz": {"delta_z": -0.03, "error": 0.02, "z_range": [0.1, 0.6]}, "combined": {"delta_z": 0.002, "error": 0.012},
     "consistency": {"difference": 0.05, "error": 0.025, "n_sigma": 2.0, "tension": False}},
    {"bin": 1, "cosmos": {"delta_z": -0.01, "error": 0.02, "terms": {"bootstrap": 0.02, "sample_variance": 0.0,
                                                                     "zero_point": 0.0}},
     "wz": {"delta_z": None, "error": None, "z_range": None}, "combined": {"delta_z": -0.01, "error": 0.02},
     "consistency": {"difference": None, "error": None, "n_sigma": None, "tension": None}},
    {"bin": 2, "cosmos": {"delta_z": None, "error": None, "terms": {}}, "wz": None,
     "combined": {"delta_z": None, "error": None}, "consistency": None}]}


def test_shift_moves_the_mean_and_keeps_the_mass():
    nz = _gauss(0.6, 0.1)
    moved = shift_nz(GRID, nz, 0.05)  # five whole cells: the histogram moves exactly
    np.testing.assert_allclose(moved[5:], nz[:-5], atol=1e-12)
    assert (moved * 0.01).sum() == pytest.approx(1.0)
    assert float(mean_z(GRID, moved)) == pytest.approx(mean_z(GRID, nz) + 0.05, abs=1e-12)
    # a fractional shift, and one that pushes mass below z = 0: set_mean_z still hits the target
    for target in (0.6237, 0.05):
        out, shift = set_mean_z(GRID, nz, target)
        assert float(mean_z(GRID, out)) == pytest.approx(target, abs=1e-9) and (out >= 0).all()
        assert (out * 0.01).sum() == pytest.approx(1.0)
    assert shift < -0.55  # more than the naive 0.05 − 0.6: the cut tail is made up for
    with pytest.raises(ValueError, match="off the grid"):
        shift_nz(GRID, nz, -5.0)
    with pytest.raises(ValueError, match="no shift on the grid"):
        set_mean_z(GRID, nz, 0.001)  # below the first cell's centre: no shift reaches it


def test_realisations_spread_in_mean_z_is_the_prior_sigma():
    stacks = np.stack([p.stacked[1] for p in _partials()])
    sigma, n = 0.015, 400
    ens = nz_realisations(GRID, stacks, 0.72, sigma, n, np.random.default_rng(1))
    assert ens["nz"].shape == (n, GRID.size - 1) and ens["n_shards"] == 12
    np.testing.assert_allclose((ens["nz"] * 0.01).sum(axis=1), 1.0)
    np.testing.assert_allclose(mean_z(GRID, ens["nz"]), ens["mean_z"])
    # the sample standard deviation of n Gaussian draws scatters by sigma / sqrt(2 (n - 1))
    assert abs(np.std(ens["mean_z"], ddof=1) - sigma) < 3 * sigma / np.sqrt(2 * (n - 1))
    assert abs(np.mean(ens["mean_z"]) - 0.72) < 3 * sigma / np.sqrt(n)
    # the shapes carry the shards' scatter: realisations re-centred on one mean still differ
    centred = np.array([set_mean_z(GRID, r, 0.72)[0] for r in ens["nz"][:20]])
    assert np.ptp(centred, axis=0).max() > 1e-3
    assert 0 < ens["sigma_mean_z_shards"] < 0.01
    # deterministic for a seed; without a Δz the shapes keep their own bootstrap means
    again = nz_realisations(GRID, stacks, 0.72, sigma, n, np.random.default_rng(1))
    np.testing.assert_array_equal(again["nz"], ens["nz"])
    free = nz_realisations(GRID, stacks, np.nan, np.nan, 50, np.random.default_rng(2))
    assert np.std(free["mean_z"], ddof=1) == pytest.approx(free["sigma_mean_z_shards"])
    assert ens["n_redrawn"] == 0
    # a prior reaching below z = 0 is truncated there: those means are drawn again, and counted
    low = nz_realisations(GRID, stacks, 0.05, 0.05, 200, np.random.default_rng(3))
    assert low["n_redrawn"] > 20 and (low["mean_z"] > 0.005).all()
    np.testing.assert_allclose((low["nz"] * 0.01).sum(axis=1), 1.0)
    empty = nz_realisations(GRID, np.zeros((3, GRID.size - 1)), 0.5, 0.01, 5, np.random.default_rng(0))
    assert np.isnan(empty["mean_z"]).all() and not empty["nz"].any() and empty["n_shards"] == 0


def test_bin_priors_flatten_the_table():
    priors = bin_priors(TABLE, 3)
    assert priors[0]["delta_z"] == 0.002 and priors[0]["delta_z_sigma"] == 0.012
    assert priors[0]["delta_z_cosmos_sigma_sample_variance"] == 0.011 and priors[0]["delta_z_wz_z_hi"] == 0.6
    assert priors[0]["delta_z_cosmos_vs_wz_sigma"] == 2.0 and priors[0]["delta_z_methods_tension"] is False
    assert priors[1]["delta_z_wz"] is None and "delta_z_methods_tension" not in priors[1]
    assert np.isnan(priors[2]["delta_z"]) and np.isnan(bin_priors(None, 2)[1]["delta_z_sigma"])


def test_sacc_file_reads_back_with_priors_and_realisations(tmp_path):
    sacc = pytest.importorskip("sacc")
    result, priors, ens = build_nz_products(_partials(), TABLE, 100, seed=11)
    path = tmp_path / "nz_products.sacc.fits"
    assert write_nz_products_sacc(path, result, priors, ens, {"seed": 11, "note": "test"}) == str(path)
    assert os.listdir(tmp_path) == ["nz_products.sacc.fits"]
    s = sacc.Sacc.load_fits(str(path))
    assert sorted(s.tracers) == ["source_0", "source_1", "source_2"] and s.metadata["seed"] == 11
    for i in range(3):
        t = s.tracers[f"source_{i}"]
        assert t.tracer_type == "NZ" and t.quantity == "galaxy_shear"
        np.testing.assert_allclose(t.z, result.grid_centres)
        np.testing.assert_allclose(t.nz, result.nz[i])
        assert sorted(t.extra_columns) == [realisation_column(r) for r in range(100)]
        assert t.metadata["n_realisations"] == 100
    for i, prior in enumerate(priors[:2]):
        t = s.tracers[f"source_{i}"]
        assert t.metadata["delta_z_prior"] == "gaussian"
        assert t.metadata["delta_z"] == pytest.approx(prior["delta_z"])
        assert t.metadata["mean_z_calibrated"] == pytest.approx(result.mean_z[i] + prior["delta_z"])
        # the realisations as a reader sees them: unit area, their means spread by the stated σ
        real = np.array([t.extra_columns[realisation_column(r)] for r in range(100)])
        means = (real * t.z).sum(axis=1) / real.sum(axis=1)
        sigma = t.metadata["delta_z_sigma"]
        assert abs(np.std(means, ddof=1) - sigma) < 3 * sigma / np.sqrt(2 * 99)
        assert abs(np.mean(means) - t.metadata["mean_z_calibrated"]) < 3 * sigma / np.sqrt(100)
        assert t.metadata["realisations_mean_z_std"] == pytest.approx(np.std(means, ddof=1))
    assert s.tracers["source_0"].metadata["delta_z_cosmos_sigma_zero_point"] == 0.002
    assert s.tracers["source_0"].metadata["delta_z_wz"] == -0.03
    empty = s.tracers["source_2"].metadata
    assert "delta_z" not in empty and "delta_z_prior" not in empty and "mean_z" not in empty


def test_cosmosis_snippets_parse_as_cosmosis_reads_them(tmp_path):
    priors = bin_priors(TABLE, 3)
    values, prior_text = cosmosis_values_ini(priors, "wl_photoz_errors", 5.0), cosmosis_priors_ini(priors,
                                                                                                   "wl_photoz_errors")
    for comments in ((), (";", "#")):  # CosmoSIS's Inifile is a configparser.ConfigParser
        ini = configparser.ConfigParser(inline_comment_prefixes=comments)
        ini.read_string(values + "\n")
        lo, start, hi = (float(x) for x in ini["wl_photoz_errors"]["bias_1"].split())
        assert (lo, start, hi) == pytest.approx((0.002 - 0.06, 0.002, 0.002 + 0.06))
        assert [float(x) for x in ini["wl_photoz_errors"]["bias_2"].split()] == pytest.approx([-0.11, -0.01, 0.09])
        assert float(ini["wl_photoz_errors"]["bias_3"]) == 0.0  # no estimate: fixed
        pri = configparser.ConfigParser(inline_comment_prefixes=comments)
        pri.read_string(prior_text)
        kind, mean, sigma = pri["wl_photoz_errors"]["bias_1"].split()
        assert (kind, float(mean), float(sigma)) == ("gaussian", 0.002, 0.012)
        assert sorted(pri["wl_photoz_errors"]) == ["bias_1", "bias_2"]


def test_shifted_nz_has_the_calibrated_mean():
    result, priors, _ = build_nz_products(_partials(), TABLE, 2, seed=0)
    shifted = shifted_result(result, priors)
    assert shifted.mean_z[:2] == pytest.approx(result.mean_z[:2] + np.array([0.002, -0.01]), abs=1e-9)
    np.testing.assert_array_equal(shifted.nz[2], result.nz[2])
    np.testing.assert_allclose((shifted.nz[:2] * 0.01).sum(axis=1), 1.0)


def test_shifted_nz_files_load_as_cosmosis_loads_them(tmp_path):
    from astropy.io import fits

    from zshard.tomography.writers import write_nz_fits, write_nz_text

    result, priors, _ = build_nz_products(_partials(), TABLE, 2, seed=0)
    shifted = shifted_result(result, priors)
    write_nz_fits(tmp_path / "nz_shifted.fits", shifted)
    write_nz_text(tmp_path / "nz_shifted.txt", shifted)
    with fits.open(tmp_path / "nz_shifted.fits") as hdul:  # CosmoSIS load_nz_fits: Z_MID, BIN1..NBIN
        table, header = hdul["NZ_SOURCE"].data, hdul["NZ_SOURCE"].header
        for i in range(2):
            nz = table[f"BIN{i + 1}"]
            assert (nz * table["Z_MID"]).sum() / nz.sum() == pytest.approx(result.mean_z[i] + priors[i]["delta_z"])
            assert header[f"MEAN_Z_{i + 1}"] == pytest.approx(shifted.mean_z[i])
    text = np.loadtxt(tmp_path / "nz_shifted.txt")  # CosmoSIS load_nz: z first, one column per bin
    np.testing.assert_allclose(text[:, 1:].T, shifted.nz, rtol=1e-7, atol=1e-12)
