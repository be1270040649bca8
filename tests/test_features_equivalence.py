"""features.build_features (selected columns straight into the matrix) against the pool and a selection."""

import numpy as np
import pandas as pd
import pytest

from zshard.features import FeatureSpec, build_features, build_pool, fit_pca

BANDS = ("u", "g", "r", "i", "z", "y")


def _catalog(n: int, dtype) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    data = {}
    for k, b in enumerate(BANDS):
        mag = rng.normal(23 + 0.3 * k, 1.5, n)
        mag[rng.random(n) < 0.1] = np.nan  # non-detections
        data[f"mag_{b}"] = mag.astype(dtype)
        data[f"magerr_{b}"] = rng.uniform(0.01, 0.3, n).astype(dtype)
    return pd.DataFrame(data)


def _old(catalog, spec):  # the previous build_features
    pool = build_pool(catalog, spec)
    if spec.selected is None:
        return pool
    index = {name: i for i, name in enumerate(spec.pool_names)}
    return np.ascontiguousarray(pool[:, [index[name] for name in spec.selected]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("colours", ["adjacent", "all", "none"])
@pytest.mark.parametrize("errors", [False, True])
@pytest.mark.parametrize("pca", [0, 3])
def test_build_features_equals_the_pool_selection(dtype, colours, errors, pca):
    catalog = _catalog(3000, dtype)
    spec = FeatureSpec(BANDS, colours=colours, errors=errors)
    if pca:
        spec = fit_pca(catalog, spec, pca)
    rng = np.random.default_rng(1)
    for selected in (None, list(rng.permutation(spec.pool_names)[: max(1, len(spec.pool_names) // 2)]),
                     [spec.pool_names[0]]):
        s = spec.with_selection(selected)
        new, old = build_features(catalog, s), _old(catalog, s)
        assert new.dtype == old.dtype == np.float32 and new.flags["C_CONTIGUOUS"]
        np.testing.assert_array_equal(new, old)  # the same bits, NaN where NaN


def test_build_features_reports_missing_columns():
    catalog = _catalog(10, np.float32).drop(columns=["mag_y", "magerr_u"])
    with pytest.raises(KeyError, match="magnitude column"):
        build_features(catalog, FeatureSpec(BANDS, selected=("mag_u",)))
    with pytest.raises(KeyError, match="magnitude-error"):
        build_features(catalog.assign(mag_y=1.0), FeatureSpec(BANDS, errors=True))
