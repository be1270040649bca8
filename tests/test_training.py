"""The training stages in sequence (zshard.training.train_chain) on a small toy survey."""

import json

import numpy as np
import pandas as pd
import yaml
from conftest import ROOT, SMALL_BINNED_PDZ

from zshard import metrics, training
from zshard.config import with_defaults
from zshard.models import PhotozModel


def _survey(n, seed, faint=0.0):
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.2, n)
    r = rng.uniform(19, 22.5, n) + faint
    gr = 0.4 + 1.2 * z + rng.normal(0, 0.04, n)
    ri = 0.2 + 0.5 * z ** 2 + rng.normal(0, 0.04, n)
    frame = pd.DataFrame({"id": np.arange(n) + 10_000_000 * seed, "mag_g": r + gr, "mag_r": r, "mag_i": r - ri,
                          "mag_z": r - ri - 0.3 * z, "z_spec": z})
    for band in "griz":
        frame[f"magerr_{band}"] = 0.02
    return frame


def _config():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["bands"] = ["g", "r", "i", "z"]
    config["representativeness"]["n_cells"] = 20
    config["selection"].update(size_fractions=[0.5, 1.0], permutation_repeats=1)
    small = {"n_estimators": {"int": [20, 40]}}
    config["zoo"].update(algorithms=["xgboost_quantile", "random_forest", "knn"], n_draws=1, folds=2,
                         spaces={"xgboost_quantile": small, "random_forest": small})
    config["model"]["xgboost"] = {"n_estimators": 30}
    # the binned p(z), shrunk as in the tests' tiny workflow (conftest.tiny_config): 5x cheaper, and still
    # the chosen p(z) here, so the version test compares its member too
    config["model"]["xgboost_bins"].update(SMALL_BINNED_PDZ)
    return with_defaults(config)


def test_train_chain_gives_one_artefact_with_a_complete_manifest(tmp_path):
    train, validation = _survey(1500, 1), _survey(400, 2)
    train.loc[:14, "z_spec"] = 2.9  # wrong redshifts
    science = _survey(3000, 3, faint=0.3)
    result = training.train_chain(train, science, _config(), validation=validation, log=lambda m: None)
    model = result.model
    manifest = model.manifest_payload()
    for key in ("features", "feature_names", "quantile_levels", "params", "point_estimate", "library_versions",
                "training_data_sha256", "zoo", "validation_metrics"):
        assert key in manifest, key
    assert manifest["quantile_model_params_from"].startswith("zoo")
    assert set(manifest["feature_names"]) <= set(result.reports["selection"]["pool"])
    assert result.reports["anomalies"]["n_removed"] == 30  # 2% of 1500, the 15 wrong ones among them
    assert result.reports["zoo"]["winner"]["algorithm"] in ("xgboost_quantile", "random_forest", "knn", "stack")
    test = _survey(500, 4)
    assert metrics.nmad(model.predict_point(test), test["z_spec"]) < 0.05
    path = tmp_path / "model.json"
    model.save(str(path))
    loaded = PhotozModel.load(str(path))
    np.testing.assert_allclose(loaded.predict_point(test), model.predict_point(test))
    flags = loaded.assess_coverage(test)
    assert flags["in_coverage"].mean() > 0.9
    assert json.loads(path.read_text())["manifest"]["version"] == loaded.manifest["version"]


def test_the_pdf_estimator_with_the_lower_validation_cde_loss_is_kept_and_saved(tmp_path):
    train, validation, test = _survey(1500, 1), _survey(400, 2), _survey(300, 4)
    config = _config()
    config["zoo"]["enabled"] = False
    chosen = {}
    for estimators in (["xgboost_quantile", "xgboost_bins", "knn_quantile"], ["knn_quantile"], ["xgboost_bins"]):
        config["model"]["pdf_estimators"] = estimators
        model = training.train_chain(train, _survey(1000, 3), config, validation=validation, log=lambda m: None).model
        choice = model.manifest["pdf_estimator"]
        chosen[tuple(estimators)] = choice["chosen"]
        if len(estimators) == 3:
            scores = choice["candidates"]
            assert set(scores) == {"xgboost_quantile", "xgboost_bins", "knn_quantile"}
            assert choice["params"]["xgboost_bins"]["n_bins"] > 2
            # the binned p(z) reads the whole candidate pool, a superset of the selected features
            assert set(model.features.names) <= set(choice["params"]["xgboost_bins"]["features"])
            # 400 validation objects: decided by the CDE loss after a cross-fitted calibration
            assert choice["rank_by"].startswith("cde_loss_calibrated")
            assert choice["chosen"] == min(scores, key=lambda k: scores[k]["cde_loss_calibrated"])
        assert (model.pdf_model is not None) == (choice["chosen"] != "xgboost_quantile")
        path = tmp_path / "model.json"
        model.save(str(path))
        loaded = PhotozModel.load(str(path))
        np.testing.assert_allclose(loaded.predict_quantiles(test), model.predict_quantiles(test))
    assert chosen[("knn_quantile",)] == "knn_quantile"
    assert chosen[("xgboost_bins",)] == "xgboost_bins"


class _BiasedPoint:
    """A point model off by +0.3 in z: re-centring the p(z) on it, or using it for z_phot, can only hurt."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return self.model.raw_quantiles(X).reshape(len(X), -1)[:, 7] + 0.3


def test_a_bad_point_model_is_neither_the_p_z_centre_nor_z_phot():
    from zshard.features import FeatureSpec

    config = _config()
    train, validation = _survey(1500, 1), _survey(600, 2)
    spec = FeatureSpec(("g", "r", "i", "z"), "all")
    model = training.train_quantile_model(train, spec, config["model"]["quantile_levels"], params={"n_estimators": 40},
                                          z_min=0.0, z_max=3.0, max_density=50.0, multi_output_tree=True)
    model.point_model, model.recentre = _BiasedPoint(model), True
    choice = training.choose_pdf_estimator(model, train, None, spec, {**config["model"],
                                                                      "pdf_estimators": ["xgboost_quantile"]},
                                           validation, seed=1, rank_by="nmad")
    assert choice["recentred"] is False and model.recentre is False
    by_recentre = choice["candidates"]["xgboost_quantile"]["cde_loss_calibrated_by_recentre"]
    assert by_recentre["false"] < by_recentre["true"]
    assert choice["z_phot"]["chosen"] == "pdf_median" and model.point_model is None
    assert choice["z_phot"]["scores"]["pdf_median"] < choice["z_phot"]["scores"]["zoo_winner"]


def test_the_model_version_identifies_content_and_inputs_not_float_noise():
    """Two trainings on the same data with the same seed: byte-identical members and one version, even
    when the zoo's CV metrics differ in the last digits (as a random forest's out-of-fold predictions
    do with n_jobs > 1); another seed or other data: another version."""
    from zshard.features import FeatureSpec

    config = _config()
    config["zoo"]["algorithms"] = ["random_forest"]  # the winner is refit and pickled: a point-model member
    train, validation = _survey(800, 1), _survey(300, 2)
    spec = FeatureSpec(("g", "r", "i", "z"))
    leaderboard = training.stage_zoo(train, None, spec, config["zoo"], 5, threads=2, log=lambda m: None).leaderboard
    assert leaderboard["winner"]["algorithm"] == "random_forest"
    noisy = json.loads(json.dumps(leaderboard))
    for entry in (noisy["winner"], *noisy["ranking"]):
        entry["nmad"] = float(np.nextafter(entry["nmad"], 1.0))

    def artefact(data, seed, board):
        return training.build_model(data, None, spec, config["model"], seed, leaderboard=board, threads=2,
                                    validation=validation).artefact_payload()

    first, second = artefact(train, 5, leaderboard), artefact(train, 5, noisy)
    for member in ("quantile_model", "point_model", "pdf_model"):
        assert (first[member] or {}).get("sha256") == (second[member] or {}).get("sha256"), member
    assert first["point_model"] is not None
    assert first["manifest"]["point_estimate"]["cv"] != second["manifest"]["point_estimate"]["cv"]
    assert first["manifest"]["version"] == second["manifest"]["version"]
    # on one thread (--cores 1): the pickled forest records n_jobs=1, the version is the same
    one_thread = training.build_model(train, None, spec, config["model"], 5, leaderboard=leaderboard, threads=1,
                                      validation=validation).artefact_payload()
    assert one_thread["point_model"]["sha256"] != first["point_model"]["sha256"]
    assert one_thread["manifest"]["version"] == first["manifest"]["version"]
    assert artefact(train, 6, leaderboard)["manifest"]["version"] != first["manifest"]["version"]
    other = train.copy()
    other.loc[0, "z_spec"] += 0.01
    assert artefact(other, 5, leaderboard)["manifest"]["version"] != first["manifest"]["version"]
