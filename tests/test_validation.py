import numpy as np
import pytest

from zshard.validation import (colour_matched_delta_z, impute_missing_features,
                               standardise_features, true_delta_z)

A, B = 0.1, np.array([1.0, 0.5])
SHIFT = 0.03
Z_EDGES = [0.2, 0.6, 1.0, 1.7]


def _toy(n_ref, n_sci=1500, seed=0):
    """Reference z = a + b.f exactly; science z_phot_mean = z_true - 0.03, so Δz = +0.03."""
    rng = np.random.default_rng(seed)
    f_ref = rng.uniform(0, 1, (n_ref, 2))
    z_ref = A + f_ref @ B
    f_sci = rng.uniform(0, 1, (n_sci, 2))
    z_phot = A + f_sci @ B - SHIFT
    bins = np.digitize(z_phot, Z_EDGES) - 1
    bins[(z_phot < Z_EDGES[0]) | (z_phot >= Z_EDGES[-1])] = -1
    return f_sci, bins, z_phot, f_ref, z_ref


def _run(n_ref, seed=0, **kw):
    f_sci, bins, z_phot, f_ref, z_ref = _toy(n_ref, seed=seed)
    kw.setdefault("n_bootstrap", 40)
    return colour_matched_delta_z(f_sci, bins, z_phot, f_ref, z_ref, 3, seed=seed, **kw)


KEYS = {"bin", "n_science", "n_matched_unique", "mean_z_ref", "mean_z_phot", "delta_z",
        "sigma_bootstrap", "sigma_sample_variance", "sigma_total", "note"}


def test_recovers_known_shift_within_two_sigma():
    rows = _run(2000)
    assert [r["bin"] for r in rows] == [0, 1, 2]
    for r in rows:
        assert KEYS <= set(r)
        assert r["n_science"] > 100 and r["n_matched_unique"] > 50
        assert r["sigma_bootstrap"] > 0
        assert abs(r["delta_z"] - SHIFT) < 2 * r["sigma_bootstrap"]
        assert r["sigma_sample_variance"] == 0.0
        assert r["sigma_total"] == pytest.approx(r["sigma_bootstrap"])
        assert r["delta_z"] == pytest.approx(r["mean_z_ref"] - r["mean_z_phot"])


def test_no_shift_is_not_detected_as_shift():
    # the estimator must respond to the shift: with z_phot unbiased it finds ~0, not 0.03
    f_sci, bins, z_phot, f_ref, z_ref = _toy(2000)
    rows = colour_matched_delta_z(f_sci, bins, z_phot + SHIFT, f_ref, z_ref, 3, n_bootstrap=20)
    for r in rows:
        assert abs(r["delta_z"]) < 3 * r["sigma_bootstrap"] + 1e-3


def test_error_shrinks_with_more_reference_objects():
    small = _run(200)
    large = _run(2000)
    for s, l in zip(small, large):
        assert s["sigma_bootstrap"] > 2 * l["sigma_bootstrap"]


def test_deterministic_with_seed():
    a = _run(500, seed=0, max_per_bin=200)
    b = _run(500, seed=0, max_per_bin=200)
    assert a == b
    f_sci, bins, z_phot, f_ref, z_ref = _toy(500, seed=0)
    c = colour_matched_delta_z(f_sci, bins, z_phot, f_ref, z_ref, 3, n_bootstrap=40, seed=1,
                               max_per_bin=200)
    assert [r["sigma_bootstrap"] for r in a] != [r["sigma_bootstrap"] for r in c]


def test_max_per_bin_subsamples():
    rows = _run(500, max_per_bin=100)
    for r in rows:
        assert r["n_used"] == 100 and r["n_science"] > 100
        assert r["n_matched_unique"] <= 100


def test_k_neighbours_and_reference_only_bootstrap():
    rows = _run(2000, k_neighbours=3, bootstrap_science=False)
    for r in rows:
        assert abs(r["delta_z"] - SHIFT) < 0.005
        assert r["n_matched_unique"] > 100


def test_nan_features_handled():
    f_sci, bins, z_phot, f_ref, z_ref = _toy(1000)
    rng = np.random.default_rng(3)
    f_sci = f_sci.copy()
    f_ref = f_ref.copy()
    # "non-detections": half of the values at the faint end (f > 0.85) are missing, in both samples
    f_sci[(f_sci > 0.85) & (rng.random(f_sci.shape) < 0.5)] = np.nan
    f_ref[(f_ref > 0.85) & (rng.random(f_ref.shape) < 0.5)] = np.nan
    assert np.isnan(f_sci).sum() > 100
    z_ref = z_ref.copy()
    z_ref[:10] = np.nan  # dropped
    rows = colour_matched_delta_z(f_sci, bins, z_phot, f_ref, z_ref, 3, n_bootstrap=10)
    for r in rows:
        assert np.isfinite(r["delta_z"]) and np.isfinite(r["sigma_total"])
        # missing values filled at the faint end match faint references: still close to the truth
        assert abs(r["delta_z"] - SHIFT) < 0.01


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


def test_empty_bin_and_no_reference():
    f_sci, bins, z_phot, f_ref, z_ref = _toy(300)
    rows = colour_matched_delta_z(f_sci, bins, z_phot, f_ref, z_ref, 4, n_bootstrap=5)
    assert len(rows) == 4
    assert rows[3]["n_science"] == 0 and np.isnan(rows[3]["delta_z"]) and rows[3]["note"]
    assert np.isfinite(rows[0]["delta_z"]) and rows[0]["note"] == ""
    rows = colour_matched_delta_z(f_sci, bins, z_phot, f_ref[:0], z_ref[:0], 3, n_bootstrap=5)
    assert all(np.isnan(r["delta_z"]) and "reference" in r["note"] for r in rows)


def test_sample_variance_fraction_and_jackknife():
    rows = _run(1000, sample_variance_fraction=0.01)
    for r in rows:
        assert r["sample_variance_method"] == "fraction"
        assert r["sigma_sample_variance"] == pytest.approx(0.01 * abs(r["mean_z_ref"]))
        assert r["sigma_total"] == pytest.approx(np.hypot(r["sigma_bootstrap"],
                                                          r["sigma_sample_variance"]))
    f_sci, bins, z_phot, f_ref, z_ref = _toy(1000)
    regions = (f_ref[:, 0] * 4).astype(int)  # 4 strips
    rows = colour_matched_delta_z(f_sci, bins, z_phot, f_ref, z_ref, 3, n_bootstrap=10,
                                  ref_regions=regions, sample_variance_fraction=0.01)
    for r in rows:
        assert r["sample_variance_method"] == "jackknife"
        assert r["sigma_sample_variance"] > 0
        assert r["sigma_total"] > r["sigma_bootstrap"]


def test_true_delta_z():
    z_true = np.array([0.3, 0.35, 0.5, 0.8, np.nan, 1.0])
    z_phot = np.array([0.25, 0.33, 0.45, 0.7, 0.6, 0.9])
    bins = np.array([0, 0, 1, 1, 1, -1])
    rows = true_delta_z(z_true, bins, z_phot, 3)
    assert rows[0]["n"] == 2 and rows[0]["delta_z"] == pytest.approx(0.035)
    assert rows[1]["n"] == 2 and rows[1]["delta_z"] == pytest.approx(0.075)
    assert rows[0]["mean_z_true"] == pytest.approx(0.325)
    assert rows[2]["n"] == 0 and np.isnan(rows[2]["delta_z"]) and rows[2]["note"]
