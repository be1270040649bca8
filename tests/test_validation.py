import numpy as np
import pytest

from zshard.validation import (
    deep_field_delta_z,
    impute_missing_features,
    jackknife_delta_z,
    jackknife_patches,
    nearest_science_neighbours,
    standardise_features,
    zero_point_delta_z,
)

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
    kw.setdefault("sample_variance_fraction", 0.0)
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
    for row in deep_field_delta_z(z_ref, bins, z_ref, 3, n_bootstrap=50, sample_variance_fraction=0.0, seed=1):
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
    rows = deep_field_delta_z(np.array([0.3, 0.4, 0.35]), np.array([0, 0, -1]), np.array([0.3, 0.3, 0.3]), 2,
                              n_bootstrap=100, sample_variance_fraction=0.0)
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


# --------------------------------------------------------------------------------------------
# The error terms of the deep-field method, each on a toy where the answer is known
# --------------------------------------------------------------------------------------------
def _field(n, rng, size_deg=3.0):
    """Positions uniform in a small square field around (150, 2) deg."""
    return 150.0 + rng.uniform(0, size_deg, n), 2.0 + rng.uniform(0, size_deg, n)


def test_jackknife_patches_are_compact_even_and_deterministic():
    rng = np.random.default_rng(2)
    ra, dec = _field(5000, rng)
    ra[:3] = np.nan
    labels = jackknife_patches(ra, dec, 10, seed=4)
    assert np.all(labels[:3] == -1)
    sizes = np.bincount(labels[labels >= 0])
    assert sizes.size == 10 and sizes.min() > 0.5 * sizes.mean()
    np.testing.assert_array_equal(labels, jackknife_patches(ra, dec, 10, seed=4))
    # compact: each patch spans much less than the field
    for k in range(10):
        assert np.ptp(ra[labels == k]) < 2.5 and np.ptp(dec[labels == k]) < 2.5
    with pytest.raises(ValueError):
        jackknife_patches(ra[:5], dec[:5], 10)


def _patchy(seed, tau):
    """4000 reference objects in 20 patches; z_ref - z_phot = 0.02 + patch offset (sd tau) + noise 0.05."""
    rng = np.random.default_rng(seed)
    ra, dec = _field(4000, rng)
    patches = jackknife_patches(ra, dec, 20, seed=seed)
    offsets = rng.normal(0.0, tau, 20) if tau > 0 else np.zeros(20)
    z_phot = rng.uniform(0.3, 0.5, ra.size)
    z_ref = z_phot + 0.02 + offsets[patches] + rng.normal(0, 0.05, ra.size)
    return z_ref, np.zeros(ra.size, int), z_phot, patches, offsets


def test_jackknife_of_a_homogeneous_field_gives_a_small_sample_variance_term():
    z_ref, bins, z_phot, patches, _ = _patchy(1, 0.0)
    (row,) = deep_field_delta_z(z_ref, bins, z_phot, 1, n_bootstrap=200, sample_variance_fraction=0.0, seed=1,
                                patches=patches)
    assert row["sample_variance_method"] == "jackknife"
    # the raw jackknife error is the shot noise, like the bootstrap; the excess is small
    assert row["sigma_jackknife"] == pytest.approx(row["sigma_bootstrap"], rel=0.5)
    assert row["sigma_sample_variance"] < row["sigma_bootstrap"]
    assert row["delta_z"] == pytest.approx(0.02, abs=4 * row["sigma_total"])


def test_jackknife_of_a_clustered_field_recovers_the_patch_to_patch_variance():
    for seed in (2, 3, 4):
        z_ref, bins, z_phot, patches, offsets = _patchy(seed, 0.02)
        (row,) = deep_field_delta_z(z_ref, bins, z_phot, 1, n_bootstrap=100, sample_variance_fraction=0.0,
                                    seed=1, patches=patches)
        # Δz is (nearly) the mean of 20 equal patches: its variance from the offsets is var(offsets)/20
        expected = np.std(offsets, ddof=1) / np.sqrt(20)
        assert row["sigma_sample_variance"] == pytest.approx(expected, rel=0.3), (row, expected)
        assert row["sigma_sample_variance"] > 3 * row["sigma_bootstrap"]
        sigma, k = jackknife_delta_z(z_ref, bins, z_phot, patches, 1)
        assert k == 20 and sigma[0] == pytest.approx(row["sigma_jackknife"])


def test_without_positions_the_sample_variance_comes_from_config():
    z_ref, bins, z_phot, _, _ = _patchy(1, 0.0)
    (row,) = deep_field_delta_z(z_ref, bins, z_phot, 1, n_bootstrap=20, sample_variance_fraction=0.01)
    assert row["sample_variance_method"] == "fraction" and row["sigma_jackknife"] is None
    assert row["sigma_sample_variance"] == pytest.approx(0.01 * row["mean_z_ref"])


def _linear_survey(rng, n, slopes):
    """Two-band magnitudes uniform in [20, 22]^2 and a redshift that is linear in them."""
    mags = rng.uniform(20.0, 22.0, (n, 2))
    return mags, 0.5 + (mags - 21.0) @ np.asarray(slopes)


def test_zero_point_offsets_propagate_to_the_known_shift():
    """z = a·m: a zero-point offset d moves each match to m - d, so Δz shifts by a·d; rms = σ|a|."""
    rng = np.random.default_rng(8)
    slopes = np.array([0.1, 0.05])
    sci_mags, sci_z = _linear_survey(rng, 60_000, slopes)
    ref_mags, ref_z = _linear_survey(rng, 2000, slopes)
    bins = np.zeros(sci_z.size, int)
    sigma = 0.05
    out = zero_point_delta_z(ref_mags, ref_z, sci_mags, bins, sci_z, 1, sigma_mag=sigma, n_draws=60, seed=3)
    # each draw's shift is the linear response to its offsets (Δz = <z_ref> - <z_phot>, z_phot = a·(m - d))
    np.testing.assert_allclose(out["shifts"][:, 0], out["offsets"] @ slopes, atol=0.0015)
    assert out["sigma"][0] == pytest.approx(sigma * np.hypot(*slopes), rel=0.3)
    assert abs(out["delta_z_matched"][0]) < 0.002  # no offset: the matched photo-z are unbiased


def test_zero_point_sigma_zero_gives_zero_and_errors_add_in_quadrature():
    rng = np.random.default_rng(9)
    sci_mags, sci_z = _linear_survey(rng, 5000, [0.1, 0.05])
    ref_mags, ref_z = _linear_survey(rng, 500, [0.1, 0.05])
    bins = (sci_z > 0.5).astype(int)
    out = zero_point_delta_z(ref_mags, ref_z, sci_mags, bins, sci_z, 2, sigma_mag=0.0, n_draws=10, seed=1)
    np.testing.assert_array_equal(out["sigma"], [0.0, 0.0])
    same = zero_point_delta_z(ref_mags, ref_z, sci_mags, bins, sci_z, 2, sigma_mag=0.02, n_draws=10, seed=1)
    np.testing.assert_array_equal(same["shifts"], zero_point_delta_z(ref_mags, ref_z, sci_mags, bins, sci_z, 2,
                                                                      sigma_mag=0.02, n_draws=10, seed=1)["shifts"])
    assert np.all(same["sigma"] > 0)
    with pytest.raises(ValueError):
        zero_point_delta_z(ref_mags, ref_z, sci_mags, bins, sci_z, 2, sigma_mag=-0.01, n_draws=10)

    z_ref, zbins, z_phot, patches, _ = _patchy(5, 0.01)
    rows = deep_field_delta_z(z_ref, zbins, z_phot, 1, n_bootstrap=50, sample_variance_fraction=0.0, seed=2,
                              patches=patches, sigma_zero_point=[0.004])
    row = rows[0]
    e = row["errors"]
    assert set(e) == {"bootstrap", "sample_variance", "zero_point", "total"}
    assert (e["bootstrap"], e["sample_variance"], e["zero_point"], e["total"]) == (
        row["sigma_bootstrap"], row["sigma_sample_variance"], row["sigma_zero_point"], row["sigma_total"])
    assert e["zero_point"] == 0.004
    assert e["total"] == pytest.approx(np.sqrt(e["bootstrap"] ** 2 + e["sample_variance"] ** 2 + 0.004 ** 2))


def _deep_field_inputs(rng, match_by_id: bool):
    """A wide survey biased low by SHIFT (two colours as 'magnitudes' g, r) and a deep field in it."""
    import pandas as pd

    f, bins, z_phot = _science(rng)
    wide = pd.DataFrame({"id": np.arange(len(bins)), "mag_g": f[:, 0], "mag_r": f[:, 1], "tomo_bin": bins,
                         "z_mean": z_phot})
    f_ref, z_ref = _population(3000, rng)
    ids = rng.choice(len(bins), 3000, replace=False) if match_by_id else np.arange(10**6, 10**6 + 3000)
    if match_by_id:
        f_ref, z_ref = f[ids], 0.1 + f[ids] @ np.array([1.0, 0.5])
    reference = pd.DataFrame({"id": ids, "z_ref": z_ref, "mag_g": f_ref[:, 0], "mag_r": f_ref[:, 1],
                              "ra": rng.uniform(149, 151, 3000), "dec": rng.uniform(1, 3, 3000)})
    return reference, wide[["id", "tomo_bin", "z_mean"]], wide.sample(5000, random_state=1)


@pytest.mark.parametrize("match", ["id", "colour"])
def test_deep_field_validation_recovers_the_shift_with_every_error_term(match):
    from zshard.config import with_defaults
    from zshard.validation import deep_field_validation

    cfg = with_defaults({"match": match, "n_bootstrap": 50, "n_jackknife": 5,
                         "zero_point": {"sigma_mag": 0.01, "n_draws": 5}}, "validation.deep_reference")
    reference, wide_bins, wide_sample = _deep_field_inputs(np.random.default_rng(5), match == "id")
    result = deep_field_validation(reference, wide_bins, wide_sample, cfg, ["g", "r"], 3, seed=7)
    assert result["sample_variance"]["method"] == "jackknife" and result["n_reference"] == 3000
    for row in result["bins"]:
        assert abs(row["delta_z"] - SHIFT) < 3 * row["sigma_total"] + 0.003, row
        assert row["sigma_zero_point"] > 0 and row["sigma_bootstrap"] > 0
    again = deep_field_validation(reference, wide_bins, wide_sample, cfg, ["g", "r"], 3, seed=7)
    assert [r["delta_z"] for r in again["bins"]] == [r["delta_z"] for r in result["bins"]]


def test_true_delta_z_is_the_truth_minus_the_mean_of_the_delivered_nz():
    from zshard.validation import true_delta_z

    z_true = np.array([0.3, 0.5, 0.4, 1.0, 1.2, np.nan, 2.0])
    bins = np.array([0, 0, 0, 1, 1, 1, -1])
    rows = true_delta_z(z_true, bins, [0.38, 1.05, 1.5], np.arange(0, 2.1, 0.1))
    assert [r["n"] for r in rows] == [3, 2, 0]
    assert rows[0]["delta_z_true"] == pytest.approx(0.4 - 0.38)
    assert rows[1]["delta_z_true"] == pytest.approx(1.1 - 1.05)
    assert rows[0]["sigma"] == pytest.approx(0.1 / np.sqrt(3))
    assert np.isnan(rows[2]["delta_z_true"]) and np.isnan(rows[2]["sigma"])
    assert np.sum(rows[0]["true_nz"]) * 0.1 == pytest.approx(1.0)
