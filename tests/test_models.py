import numpy as np
import pandas as pd

from zshard import metrics
from zshard.features import FeatureSpec
from zshard.models import PhotozModel, train_quantile_model

LEVELS = np.array([0.05, 0.16, 0.5, 0.84, 0.95])


def _toy(n, seed):
    """A colour-redshift relation with known scatter: z = 0.5 (g − r) + N(0, 0.03)."""
    rng = np.random.default_rng(seed)
    colour = rng.uniform(0, 3, n)
    z = 0.5 * colour + rng.normal(0, 0.03, n)
    r = rng.uniform(20, 23, n)
    return pd.DataFrame({"id": np.arange(n), "mag_g": r + colour, "mag_r": r, "z_spec": z})


def test_quantile_model_learns_the_relation_and_round_trips(tmp_path):
    spec = FeatureSpec(("g", "r"))
    model = train_quantile_model(_toy(3000, 0), spec, LEVELS, params={"n_estimators": 150}, seed=1)
    test = _toy(1000, 1)
    quantiles = model.predict_quantiles(test)
    assert quantiles.shape == (1000, 5)
    assert np.all(np.diff(quantiles, axis=1) > 0)
    z = test["z_spec"].to_numpy()
    assert metrics.nmad(quantiles[:, 2], z) < 0.05
    coverage = np.mean((z > quantiles[:, 1]) & (z < quantiles[:, 3]))
    assert 0.55 < coverage < 0.80  # the 16–84% interval holds about 68%

    path = str(tmp_path / "model.json")
    model.save(path)
    loaded = PhotozModel.load(path)
    np.testing.assert_array_equal(loaded.predict_quantiles(test), quantiles)
    assert loaded.manifest["training_data_sha256"] == model.manifest["training_data_sha256"]
    assert loaded.features == spec and np.allclose(loaded.levels, LEVELS)
    assert "xgboost" in " ".join(loaded.manifest["library_versions"])


def test_training_is_deterministic_for_a_seed():
    spec = FeatureSpec(("g", "r"))
    data = _toy(500, 3)
    a = train_quantile_model(data, spec, LEVELS, params={"n_estimators": 20}, seed=4).predict_quantiles(data)
    b = train_quantile_model(data, spec, LEVELS, params={"n_estimators": 20}, seed=4).predict_quantiles(data)
    np.testing.assert_array_equal(a, b)
