"""The range_split combination of the deep-field and clustering Δz (zshard.validation.combination):
clustering redshifts see a bin only inside their reference's range, the deep field sees it all."""

import math

import numpy as np
import pytest

from zshard.clustering.delta_z import in_range_mean
from zshard.validation import deep_field_delta_z, delta_z_table, true_delta_z
from zshard.validation.combination import range_split_combination


def _gaussian(grid, mean, sigma):
    return np.exp(-0.5 * ((grid - mean) / sigma) ** 2)


def test_in_range_mean_of_a_bin_well_inside_the_range_is_its_shifted_mean():
    grid = np.arange(0.0025, 3.0, 0.005)
    nz = _gaussian(grid, 0.6, 0.08)
    out = in_range_mean(grid, nz, (0.1, 1.5), 0.03, 0.01)
    assert out["z_range"] == [0.1, 1.5]
    assert out["mean_z_phot"] == pytest.approx(0.6, abs=1e-3)
    assert out["mean_z"] == pytest.approx(0.63, abs=1e-3)
    assert out["error"] == pytest.approx(0.01, rel=1e-2)  # a shift moves a mean far from the edges by itself
    # near an edge a shift moves the truncated mean by less than itself, and the error shrinks with it
    edge = in_range_mean(grid, _gaussian(grid, 1.45, 0.1), (0.1, 1.5), 0.0, 0.01)
    assert 0 < edge["error"] < 0.01


def test_range_split_arithmetic_and_consistency_on_in_range_means():
    cosmos = {"delta_z": 0.05, "sigma_total": 0.02,
              "in_range": {"z_range": [0.1, 1.5], "fraction": 0.9, "mean_z_ref": 0.50, "sigma": 0.01}}
    wz = {"delta_z": 0.0, "error": 0.01, "z_range": [0.3, 0.7],
          "in_range": {"z_range": [0.1, 1.5], "mean_z": 0.52, "error": 0.01}}
    out = range_split_combination(cosmos, wz)
    # in-range mean: (0.50 + 0.52) / 2 ± 0.01/√2; Δz = 0.05 + 0.9 × 0.01
    assert out["in_range"]["mean_z"] == pytest.approx(0.51)
    assert out["delta_z"] == pytest.approx(0.059)
    assert out["wz_weight"] == pytest.approx(0.5)
    assert out["error"] == pytest.approx(math.sqrt(0.02 ** 2 - 0.009 ** 2 + (0.9 * 0.01 / math.sqrt(2)) ** 2))
    assert out["error"] < cosmos["sigma_total"]
    rows = delta_z_table([0.2, 0.5], cosmos={"bins": [{"bin": 0, **cosmos}]}, clustering={"bins": [{"bin": 0, **wz}]},
                         tension_sigma=3.0, combination="range_split")
    assert rows[0]["combined"]["method"] == "range_split"
    assert rows[0]["consistency"]["quantity"] == "in-range mean redshift"
    assert rows[0]["consistency"]["n_sigma"] == pytest.approx(-0.02 / math.hypot(0.01, 0.01))
    # without an in-range part (an older product, or no estimate) the table falls back, and says so
    bare = delta_z_table([0.2, 0.5], cosmos={"bins": [{"bin": 0, "delta_z": 0.05, "sigma_total": 0.02}]},
                         clustering={"bins": [{"bin": 0, **wz}]}, tension_sigma=3.0, combination="range_split")
    assert bare[0]["combined"]["method"].startswith("inverse_variance")
    assert bare[0]["combined"]["delta_z"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="combination"):
        delta_z_table([0.2, 0.5], tension_sigma=3.0, combination="average")


def test_range_split_recovers_a_bin_with_interlopers_beyond_the_reference():
    """A bin whose photo-z n(z) misses its 8% interlopers at z ~ 1.8, beyond a reference to z = 1.5:
    the truth is large, clustering redshifts (given the exact in-range mean) see only the core, so
    their inverse-variance mean with the deep field is pulled low; range_split is not."""
    rng = np.random.default_rng(3)
    n = 200_000
    z_true = np.where(rng.random(n) < 0.08, rng.uniform(1.6, 2.0, n), rng.normal(0.5, 0.08, n))
    grid = np.arange(0.0025, 3.0, 0.005)
    nz_phot = _gaussian(grid, 0.5, 0.08)  # the photo-z n(z): the core only
    mean_phot = float(np.sum(nz_phot * grid) / nz_phot.sum())
    z_range = (0.1, 1.5)
    truth = true_delta_z(z_true, np.zeros(n, dtype=int), [mean_phot], np.arange(0, 2.01, 0.01), z_range=z_range)[0]
    assert truth["delta_z_true"] == pytest.approx(0.08 * 1.3, abs=0.01)
    assert truth["fraction_in_range"] == pytest.approx(0.92, abs=0.005)
    # the deep field: 2000 of the bin's objects with their redshifts, photo-z means at the n(z)'s mean
    deep_z = z_true[:2000]
    deep = deep_field_delta_z(deep_z, np.zeros(2000, dtype=int), np.full(2000, mean_phot), 1, n_bootstrap=200,
                              sample_variance_fraction=0.0, seed=1, z_range=z_range)[0]
    assert deep["in_range"]["fraction"] == pytest.approx(np.mean((deep_z > 0.1) & (deep_z <= 1.5)))
    assert deep["in_range"]["mean_z_ref"] == pytest.approx(deep_z[(deep_z > 0.1) & (deep_z <= 1.5)].mean())
    assert 0 < deep["in_range"]["sigma"] < deep["sigma_total"]
    # clustering: the in-range shape measured exactly (Δz of the core 0), with a small error
    wz_row = {"delta_z": 0.0, "error": 0.005,
              "in_range": in_range_mean(grid, nz_phot, z_range, 0.0, 0.005)}
    table = {mode: delta_z_table([0.3, 0.7], cosmos={"bins": [deep]}, clustering={"bins": [{"bin": 0, **wz_row}]},
                                 tension_sigma=3.0, combination=mode)[0]["combined"]
             for mode in ("range_split", "inverse_variance")}
    split, ivw = table["range_split"], table["inverse_variance"]
    assert abs(split["delta_z"] - truth["delta_z_true"]) < 2 * split["error"]
    assert split["error"] < deep["sigma_total"]
    assert abs(ivw["delta_z"] - truth["delta_z_true"]) > 5 * ivw["error"]  # WZ's blind spot pulls it low
