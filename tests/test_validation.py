import numpy as np
import pytest

from zshard.validation import (deep_field_delta_z, impute_missing_features, nearest_science_neighbours,
                               standardise_features, true_delta_z)

SHIFT = 0.03
EDGES = [0.2, 0.6, 1.0, 1.7]


def _population(n, rng):
    """Galaxies whose redshift is a known function of two colours: z = 0.1 + f·(1, 0.5)."""
    f = rng.uniform(0, 1, (n, 2))
    return f, 0.1 + f @ np.array([1.0, 0.5])


def _science(rng, n=20_000):
    """A wide survey whose photo-z (p(z) mean) is biased low by SHIFT: true Δz = +SHIFT per bin."""
    f, z = _population(n, rng)
    z_phot = z - SHIFT + rng.normal(0, 0.01, n)
    bins = np.digitize(z_phot, EDGES) - 1
    bins[(z_phot < EDGES[0]) | (z_phot >= EDGES[-1])] = -1
    return f, bins, z_phot


def _colour_matched(n_ref, seed=0, **kw):
    rng = np.random.default_rng(seed)
    f_sci, bins, z_phot = _science(rng)
    f_ref, z_ref = _population(n_ref, rng)
    nearest = nearest_science_neighbours(f_ref, f_sci)
    return deep_field_delta_z(z_ref, bins[nearest], z_phot[nearest], 3, n_bootstrap=100, seed=seed, **kw)


def test_colour_matched_reference_recovers_a_known_shift():
    for row in _colour_matched(3000):
        assert row["n_reference"] > 300
        assert abs(row["delta_z"] - SHIFT) < 2 * row["sigma_total"] + 0.002, row
        assert 0 < row["sigma_bootstrap"] < 0.01


def test_no_shift_is_not_mistaken_for_one():
    rng = np.random.default_rng(5)
    f_ref, z_ref = _population(2000, rng)
    bins = np.digitize(z_ref, EDGES) - 1
    for row in deep_field_delta_z(z_ref, bins, z_ref, 3, n_bootstrap=50, seed=1):
        assert row["delta_z"] == pytest.approx(0.0, abs=1e-12)


def test_errors_shrink_with_more_reference_objects():
    small = np.array([r["sigma_bootstrap"] for r in _colour_matched(300)])
    large = np.array([r["sigma_bootstrap"] for r in _colour_matched(5000)])
    assert np.all(large < small / 2)


def test_deterministic_for_a_seed_and_sample_variance_adds_in_quadrature():
    assert _colour_matched(500, seed=3) == _colour_matched(500, seed=3)
    for row in _colour_matched(500, sample_variance_fraction=0.02):
        assert row["sigma_sample_variance"] == pytest.approx(0.02 * row["mean_z_ref"])
        assert row["sigma_total"] == pytest.approx(np.hypot(row["sigma_bootstrap"], row["sigma_sample_variance"]))


def test_empty_bins_say_why():
    rows = deep_field_delta_z(np.array([0.3, 0.4, 0.35]), np.array([0, 0, -1]), np.array([0.3, 0.3, 0.3]), 2)
    assert rows[0]["n_reference"] == 2 and rows[0]["delta_z"] == pytest.approx(0.05)
    assert np.isnan(rows[1]["delta_z"]) and rows[1]["note"]


def test_impute_rule():
    sci = np.array([[20.0, np.nan], [21.0, 1.0], [np.nan, 2.0]])
    ref = np.array([[22.0, 3.0], [23.0, np.inf]])
    s, r, fill = impute_missing_features(sci, ref)
    np.testing.assert_allclose(fill, [np.percentile([20, 21, 22, 23], 99),
                                      np.percentile([1, 2, 3], 99)])
    assert s[2, 0] == fill[0] and s[0, 1] == fill[1] and r[1, 1] == fill[1]
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(r))
    assert np.isnan(sci[0, 1])  # inputs untouched
    # a feature that is missing everywhere becomes a constant
    s, r, fill = impute_missing_features(np.full((2, 1), np.nan), np.full((3, 1), np.nan))
    assert fill[0] == 0.0 and np.all(s == 0) and np.all(r == 0)


def test_standardise_by_reference():
    ref = np.array([[0.0, 5.0], [2.0, 5.0]])
    sci = np.array([[4.0, 6.0]])
    s, r = standardise_features(sci, ref)
    np.testing.assert_allclose(r, [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(s, [[3.0, 1.0]])


def test_true_delta_z():
    z_true = np.array([0.3, 0.35, 0.5, 0.8, np.nan, 1.0])
    z_phot = np.array([0.25, 0.33, 0.45, 0.7, 0.6, 0.9])
    bins = np.array([0, 0, 1, 1, 1, -1])
    rows = true_delta_z(z_true, bins, z_phot, 3)
    assert rows[0]["n"] == 2 and rows[0]["delta_z"] == pytest.approx(0.035)
    assert rows[1]["n"] == 2 and rows[1]["delta_z"] == pytest.approx(0.075)
    assert rows[0]["mean_z_true"] == pytest.approx(0.325)
    assert rows[2]["n"] == 0 and np.isnan(rows[2]["delta_z"]) and rows[2]["note"]
