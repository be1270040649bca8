import numpy as np
import pandas as pd
import pytest

from zshard.features import FeatureSpec, build_features


def test_features_are_magnitudes_then_colours_with_missing_kept_missing():
    frame = pd.DataFrame({"mag_g": [22.0, np.nan], "mag_r": [21.5, 21.0], "mag_i": [21.0, 20.0]})
    spec = FeatureSpec(("g", "r", "i"))
    X = build_features(frame, spec)
    assert spec.names == ["mag_g", "mag_r", "mag_i", "g-r", "r-i"]
    np.testing.assert_allclose(X[0], [22.0, 21.5, 21.0, 0.5, 0.5])
    assert np.isnan(X[1, 0]) and np.isnan(X[1, 3]) and X[1, 4] == pytest.approx(1.0)
    assert FeatureSpec(("g", "r", "i"), "all").names[-3:] == ["g-r", "g-i", "r-i"]
    assert FeatureSpec.from_dict(spec.to_dict()) == spec


def test_missing_band_is_a_clear_error():
    with pytest.raises(KeyError, match="mag_z"):
        build_features(pd.DataFrame({"mag_g": [1.0]}), FeatureSpec(("g", "z")))


def _frame(n=500, seed=0):
    rng = np.random.default_rng(seed)
    r = rng.uniform(19, 23, n)
    frame = pd.DataFrame({"mag_g": r + rng.uniform(0, 1.5, n), "mag_r": r, "mag_i": r - rng.uniform(0, 0.8, n)})
    for band in "gri":
        frame[f"magerr_{band}"] = 0.01 * 10 ** (0.3 * (frame[f"mag_{band}"] - 20))
    return frame


def test_pool_with_errors_pca_and_a_selection_round_trips():
    from zshard.features import build_pool, fit_pca

    frame = _frame()
    frame.loc[3, "mag_g"] = np.nan
    spec = fit_pca(frame, FeatureSpec(("g", "r", "i"), "all", errors=True), 2)
    assert spec.pool_names == ["mag_g", "mag_r", "mag_i", "g-r", "g-i", "r-i", "magerr_g", "magerr_r", "magerr_i",
                               "pca_1", "pca_2"]
    pool = build_pool(frame, spec)
    assert pool.shape == (500, 11) and np.isfinite(pool[3, -2:]).all()  # PCA of a missing band: imputed
    pca = pool[:, -2:].astype(np.float64)
    assert abs(np.corrcoef(pca.T)[0, 1]) < 0.1 and pca[:, 0].var() > pca[:, 1].var()
    chosen = spec.with_selection(["r-i", "pca_1", "mag_r"])
    X = build_features(frame, chosen)
    np.testing.assert_array_equal(X, pool[:, [5, 9, 1]])
    again = FeatureSpec.from_dict(chosen.to_dict())
    assert again == chosen and again.names == ["r-i", "pca_1", "mag_r"]
    np.testing.assert_array_equal(build_features(frame, again), X)
    with pytest.raises(ValueError, match="not in the pool"):
        spec.with_selection(["u-g"])


def test_pool_summary_reports_missing_fractions_and_correlation_with_z():
    from zshard.features import pool_summary

    frame = _frame()
    frame["z_spec"] = 0.5 * (frame["mag_g"] - frame["mag_r"])
    frame.loc[:49, "mag_i"] = np.nan
    rows = {r["feature"]: r for r in pool_summary(frame, frame.iloc[:100], FeatureSpec(("g", "r", "i"), "all"))}
    assert rows["g-r"]["spearman_z"] == pytest.approx(1.0)
    assert rows["mag_i"]["missing_train"] == pytest.approx(0.1) and rows["mag_i"]["missing_science"] == 0.5
