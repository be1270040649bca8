import numpy as np
import pandas as pd
import pytest

from zshard import metrics
from zshard.config import with_defaults
from zshard.features import FeatureSpec
from zshard.models import PhotozModel
from zshard.models import train_quantile_model as _train_quantile_model
from zshard.pdf.summary import summaries

LEVELS = np.array([0.05, 0.16, 0.5, 0.84, 0.95])
MODEL = with_defaults({}, "model")


def train_quantile_model(*args, **kw):
    """The quantile model with the config's default ``model`` settings unless given."""
    settings = {key: MODEL[key] for key in ("z_min", "z_max", "max_density", "multi_output_tree")}
    return _train_quantile_model(*args, **{**settings, **kw})


def _toy(n, seed):
    """A colour-redshift relation with known scatter: z = 0.5 (g − r) + N(0, 0.03)."""
    rng = np.random.default_rng(seed)
    colour = rng.uniform(0, 3, n)
    z = 0.5 * colour + rng.normal(0, 0.03, n)
    r = rng.uniform(20, 23, n)
    return pd.DataFrame({"id": np.arange(n), "mag_g": r + colour, "mag_r": r, "z_spec": z})


@pytest.mark.parametrize("multi_output_tree, lowest_coverage", [(False, 0.55), (True, 0.45)])
def test_quantile_model_learns_the_relation_and_round_trips(tmp_path, multi_output_tree, lowest_coverage):
    spec = FeatureSpec(("g", "r"))
    model = train_quantile_model(_toy(3000, 0), spec, LEVELS, params={"n_estimators": 150}, seed=1,
                                 multi_output_tree=multi_output_tree)
    test = _toy(1000, 1)
    quantiles = model.predict_quantiles(test)
    assert quantiles.shape == (1000, 5)
    assert np.all(np.diff(quantiles, axis=1) > 0)
    z = test["z_spec"].to_numpy()
    assert metrics.nmad(quantiles[:, 2], z) < 0.05
    coverage = np.mean((z > quantiles[:, 1]) & (z < quantiles[:, 3]))
    # the 16–84% interval holds about 68%; one tree for all quantiles gives narrower raw p(z)
    # (here ~55%), which the PIT calibration widens
    assert lowest_coverage < coverage < 0.80

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


def test_artefact_holds_point_model_and_coverage_and_detects_tampering(tmp_path):
    import json

    from sklearn.neighbors import KNeighborsRegressor

    from zshard import training
    from zshard.features import build_features

    spec = FeatureSpec(("g", "r"), "adjacent")
    train, test = _toy(2000, 0), _toy(500, 1)
    model = train_quantile_model(train, spec, LEVELS, params={"n_estimators": 60}, seed=1)
    model.point_model = KNeighborsRegressor(15).fit(build_features(train, spec), train["z_spec"])
    model.recentre = True
    result = training.stage_representativeness(
        train, test, with_defaults({"n_cells": 10}, "representativeness"), ("g", "r"), seed=0)
    model.coverage = result.coverage
    quantiles = model.predict_quantiles(test)
    z_phot = model.predict_point(test)
    median = summaries(quantiles, LEVELS, model.z_min, model.z_max)["z_median"]
    np.testing.assert_allclose(median, z_phot, atol=2e-3)  # the p(z) is centred on z_phot

    path = tmp_path / "model.json"
    model.save(str(path))
    loaded = PhotozModel.load(str(path))
    np.testing.assert_array_equal(loaded.predict_point(test), z_phot)
    np.testing.assert_array_equal(loaded.predict_quantiles(test), quantiles)
    np.testing.assert_array_equal(loaded.assess_coverage(test)["in_coverage"],
                                  model.assess_coverage(test)["in_coverage"])
    np.testing.assert_array_equal(loaded.coverage.assess_exact(test)["in_coverage"],
                                  result.science_assessment["in_coverage"])
    assert loaded.manifest["version"] == model.manifest["version"] and loaded.manifest["recentre_pdf"]

    payload = json.loads(path.read_text())
    payload["manifest"]["n_train"] = 1
    data = bytearray(payload["point_model"]["data"].encode())
    data[100] = ord("A") if data[100] != ord("A") else ord("B")
    payload["point_model"]["data"] = data.decode()
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="SHA-256"):
        PhotozModel.load(str(path))
    path.write_text("{}")
    with pytest.raises(ValueError, match="not a zshard model"):
        PhotozModel.load(str(path))


def test_without_a_point_model_z_phot_is_the_pdf_median():
    spec = FeatureSpec(("g", "r"))
    data = _toy(800, 2)
    model = train_quantile_model(data, spec, LEVELS, params={"n_estimators": 30}, seed=0)
    quantiles = model.predict_quantiles(data)
    np.testing.assert_allclose(model.predict_point(data), quantiles[:, 2], atol=1e-6)


def test_knn_quantile_model_recovers_the_neighbours_redshift_distribution():
    from zshard.models import KnnQuantileModel

    rng = np.random.default_rng(8)
    # one feature; at x the redshift is N(0.5 + x, 0.05): the kNN quantiles must follow it
    x = rng.uniform(0, 1, 20000)
    z = rng.normal(0.5 + x, 0.05)
    levels = np.array([0.16, 0.5, 0.84])
    model = KnnQuantileModel(levels, n_neighbors=200).fit(x[:, None], z)
    q = model.predict(np.array([[0.2], [0.7], [np.nan]]))
    assert q.shape == (3, 3) and np.all(np.diff(q, axis=1) > 0)
    np.testing.assert_allclose(q[0], [0.65, 0.70, 0.75], atol=0.012)
    np.testing.assert_allclose(q[1], [1.15, 1.20, 1.25], atol=0.012)
    # a missing feature is imputed with the training median (x ~ 0.5)
    np.testing.assert_allclose(q[2, 1], 1.0, atol=0.02)


def test_binned_softmax_model_holds_a_bimodal_p_z_that_quantiles_regression_would_blur():
    from zshard.models import BinnedSoftmaxModel

    rng = np.random.default_rng(3)
    # x < 0.5: z ~ N(0.5, 0.05); x >= 0.5: half at N(0.4, 0.05), half at N(1.5, 0.05) (a colour degeneracy)
    n = 20000
    x = rng.uniform(0, 1, n)
    far = (x >= 0.5) & (rng.uniform(size=n) < 0.5)
    z = np.where(far, rng.normal(1.5, 0.05, n), rng.normal(np.where(x >= 0.5, 0.4, 0.5), 0.05))
    levels = np.array([0.1, 0.25, 0.4, 0.45, 0.55, 0.6, 0.75, 0.9])
    params = {"n_estimators": 60, "learning_rate": 0.2, "max_depth": 3, "min_child_weight": 5.0, "subsample": 1.0,
              "colsample_bytree": 1.0}
    model = BinnedSoftmaxModel(levels, 0.0, 3.0, n_bins=40, params=params, seed=0).fit(x[:, None], z)
    q = model.predict(np.array([[0.25], [0.75]]))
    assert q.shape == (2, 8) and q.dtype == np.float32 and np.all(np.diff(q, axis=1) >= 0)
    # unimodal side: the quantiles of N(0.5, 0.05)
    from scipy.stats import norm

    np.testing.assert_allclose(q[0], norm.ppf(levels, 0.5, 0.05), atol=0.025)
    # bimodal side: the lower half of the levels in the low mode, the upper half in the high one, and
    # (almost) no probability in the gap between them
    np.testing.assert_allclose(q[1, :3], norm.ppf(levels[:3] * 2, 0.4, 0.05), atol=0.03)
    np.testing.assert_allclose(q[1, 5:], norm.ppf(levels[5:] * 2 - 1, 1.5, 0.05), atol=0.04)
    assert q[1, 3] < 0.6 and q[1, 4] > 1.3
    # the PIT of held-out objects is close to uniform
    x_test = rng.uniform(0, 1, 4000)
    far = (x_test >= 0.5) & (rng.uniform(size=4000) < 0.5)
    z_test = np.where(far, rng.normal(1.5, 0.05, 4000), rng.normal(np.where(x_test >= 0.5, 0.4, 0.5), 0.05))
    q_test = model.predict(x_test[:, None])
    pit = metrics.pit_values(q_test, levels, z_test, 0.0, 3.0)
    assert metrics.pit_ks(pit)[0] < 0.05


def test_quantiles_of_centre_masses_step_over_empty_bins():
    from zshard.models import quantiles_of_centre_masses

    knots = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    # masses at the centres 1, 2, 3, 4: the CDF at the knots is 0, .25, .5, .5, .75, 1 (flat from 2 to 3)
    p = np.array([[0.5, 0.0, 0.0, 0.5],
                  [0.25, 0.25, 0.25, 0.25]])
    q = quantiles_of_centre_masses(p, knots, np.array([0.25, 0.4, 0.6, 0.75]))
    assert q.dtype == np.float32
    np.testing.assert_allclose(q, [[1.0, 1.6, 3.4, 4.0], [1.5, 2.1, 2.9, 3.5]], atol=1e-5)


def test_the_version_ignores_float_noise_in_the_manifest_but_not_a_real_change():
    from zshard.models import content_version

    manifest = {"params": {"eta": 0.05, "seed": 3}, "training_data_sha256": "ab" * 32,
                "point_estimate": {"cv": {"nmad": 0.031234567891234}}, "version": "old"}
    members = ["11" * 32, "none"]
    version = content_version(manifest, members)
    noisy = {**manifest, "point_estimate": {"cv": {"nmad": 0.031234567891234 + 7e-16}}, "version": "other"}
    assert content_version(noisy, members) == version
    changed = {**manifest, "point_estimate": {"cv": {"nmad": 0.03124}}}
    assert content_version(changed, members) != version
    assert content_version({**manifest, "params": {"eta": 0.05, "seed": 4}}, members) != version
    assert content_version(manifest, ["12" * 32, "none"]) != version
