import numpy as np
import pandas as pd
import pytest

from zshard import representativeness as rep
from zshard import training
from zshard.config import with_defaults
from zshard.features import FeatureSpec

SETTINGS = with_defaults({}, "representativeness")


def _assess(train, science, seed, science_fraction=None, **settings):
    """The stage (zshard.training.stage_representativeness) with ``settings`` over the config's defaults."""
    return training.stage_representativeness(train, science, with_defaults(settings, "representativeness"),
                                             ("g", "r", "i"), seed, science_fraction)


def _frame(n, seed, shift=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    r = rng.normal(21.0 + shift, 0.8 * scale, n)
    colour = rng.normal(0.8 + 0.5 * shift, 0.3, n)
    return pd.DataFrame({"id": np.arange(n) + 1_000_000 * seed, "mag_g": r + colour, "mag_r": r,
                         "mag_i": r - 0.5 * colour, "z_spec": 0.3 * colour + 0.05 * (r - 21)})


def test_identical_samples_are_indistinguishable_and_shifted_ones_are_not():
    same = rep.classifier_auc(rep.build_features(_frame(1500, 1), FeatureSpec(("g", "r", "i"))),
                              rep.build_features(_frame(1500, 2), FeatureSpec(("g", "r", "i"))), seed=3,
                              folds=SETTINGS["classifier_folds"])
    assert abs(same["auc"] - 0.5) < 0.05
    shifted = rep.classifier_auc(rep.build_features(_frame(1500, 1), FeatureSpec(("g", "r", "i"))),
                                 rep.build_features(_frame(1500, 2, shift=1.0), FeatureSpec(("g", "r", "i"))),
                                 seed=3, folds=SETTINGS["classifier_folds"])
    assert shifted["auc"] > 0.8


def test_lima_weights_recover_a_known_density_ratio():
    """Training ~ N(0, 1), science ~ N(0.5, 1): the true ratio is exp(0.5 x − 0.125)."""
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, (4000, 1))
    science = rng.normal(0.5, 1, (8000, 1))
    w = rep.lima_weights(train, science, k=50)
    truth = np.exp(0.5 * train[:, 0] - 0.125)
    core = np.abs(train[:, 0]) < 1.5
    assert np.median(np.abs(w[core] / truth[core] - 1)) < 0.15
    assert abs(w.mean() - 1) < 0.1
    # reweighted, the training mean moves to the science mean
    assert np.average(train[:, 0], weights=w) == pytest.approx(0.5, abs=0.08)


def test_weighted_ks_and_normalised_weights():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    assert rep.weighted_ks(x, x) == 0.0
    assert rep.weighted_ks(x, x, np.array([1.0, 0, 0, 0])) == pytest.approx(0.75)
    w = rep.normalise_weights(np.array([0.0, 1.0, 1.0, 100.0]), floor=0.1, maximum=2.0)
    assert w.mean() == pytest.approx(1.0) and w.min() > 0 and w.max() / w.min() <= 20 + 1e-9


def test_assess_flags_objects_outside_the_training_coverage_and_round_trips():
    train = _frame(2000, 1)
    science = pd.concat([_frame(2000, 2), _frame(500, 3, shift=4.0)], ignore_index=True)  # a faint tail
    result = _assess(train, science, 5, science_fraction=0.5, n_neighbors=10, n_cells=20)
    flags = result.science_assessment
    assert flags["in_coverage"][:2000].mean() > 0.95
    assert flags["in_coverage"][2000:].mean() < 0.05
    assert flags["coverage_weight"][2000:].max() < 0.05 and flags["coverage_weight"][:2000].mean() > 0.5
    assert result.report["classifier_two_sample_test"]["auc"] > 0.55
    cells = result.cells
    assert cells["n_science"].sum() == len(science) and cells["n_train"].sum() == len(train)
    assert result.report["cells"]["science_fraction_in_cells_without_specz"] > 0.1
    assert result.weights.mean() == pytest.approx(1.0)
    loaded = rep.CoverageModel.from_bytes(result.coverage.to_bytes())
    again = loaded.assess_exact(science.iloc[:300])
    np.testing.assert_array_equal(again["in_coverage"], flags["in_coverage"][:300])
    np.testing.assert_allclose(again["coverage_weight"], flags["coverage_weight"][:300])
    # the fan-out's emulator survives the round trip bit for bit
    emulated = result.coverage.assess(science)
    np.testing.assert_array_equal(loaded.assess(science)["coverage_distance"], emulated["coverage_distance"])


def test_the_coverage_emulator_reproduces_the_exact_flags_and_says_how_well():
    train = _frame(2000, 1)
    science = pd.concat([_frame(4000, 2), _frame(1000, 3, shift=4.0)], ignore_index=True)
    result = _assess(train, science, 5, n_neighbors=10, n_cells=20)
    coverage = result.coverage
    assert coverage.emulator is not None
    report = coverage.summary()["emulator"]
    assert report["n_holdout"] == 1000 and report["holdout_flag_agreement"] > 0.9
    # on objects it never saw (another draw of both populations) the flags agree with the k-d tree's
    fresh = pd.concat([_frame(1000, 7), _frame(250, 8, shift=4.0)], ignore_index=True)
    emulated, exact = coverage.assess(fresh), coverage.assess_exact(fresh)
    assert np.mean(emulated["in_coverage"] == exact["in_coverage"]) > 0.9
    assert np.mean(np.abs(emulated["coverage_weight"] - exact["coverage_weight"])) < 0.15
    assert emulated["in_coverage"][1000:].mean() < 0.1 and emulated["in_coverage"][:1000].mean() > 0.8
    coverage.emulator = None  # without one, assess is the exact computation
    np.testing.assert_array_equal(coverage.assess(fresh)["in_coverage"], exact["in_coverage"])


def test_density_ratio_weights_make_a_labelled_sample_look_like_the_science_sample():
    # the science sample is brighter than the labelled one: its weights favour the bright objects
    labelled = _frame(2000, 1)
    science = _frame(3000, 2, shift=-0.5)
    coverage = _assess(labelled, science, 5, n_neighbors=20, n_cells=10).coverage
    other = _frame(1500, 4)                     # a new labelled sample (e.g. the validation sample)
    w = coverage.density_ratio_weights(other, floor=0.0, maximum=20.0)
    assert w.shape == (1500,) and w.mean() == pytest.approx(1.0)
    r = other["mag_r"].to_numpy()
    assert np.average(r, weights=w) < r.mean() - 0.2    # moved towards the science sample's 20.5
    same = coverage.density_ratio_weights(_frame(1500, 4, shift=-0.5), floor=0.0, maximum=20.0)
    assert np.std(same) < np.std(w)                     # an already science-like sample needs less weighting


def test_auc_null_sigma_is_the_spread_of_the_auc_of_one_distribution():
    """2000 AUCs (Mann-Whitney: the rank sum of the labelled scores) of scores from one distribution."""
    from scipy.stats import rankdata

    n1, n0 = 300, 500
    ranks = rankdata(np.random.default_rng(4).normal(size=(2000, n1 + n0)), axis=1)
    aucs = (ranks[:, :n1].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    assert np.std(aucs) == pytest.approx(rep.auc_null_sigma(n1, n0), rel=0.06)
    assert np.mean(aucs) == pytest.approx(0.5, abs=0.002)
    assert rep.auc_null_sigma(0, 10) == float("inf")


def test_weights_decision_needs_a_shift_that_the_weights_reduce():
    def auc(value, weighted, n=2000):
        return {"auc": value, "auc_weighted_lima": weighted, "n_train": n, "n_science": n}

    sigma = rep.auc_null_sigma(2000, 2000)  # 0.0091
    k = SETTINGS["weights"]["min_auc_sigma"]
    agree = rep.weights_decision(auc(0.5 + 0.9 * k * sigma, 0.5), k)
    assert not agree["applied"] and "the samples agree" in agree["reason"]
    assert agree["auc_significance"] == pytest.approx(0.9 * k)
    assert rep.weights_decision(auc(0.5 + 1.1 * k * sigma, 0.5), k)["applied"]
    useless = rep.weights_decision(auc(0.70, 0.71), k)
    assert not useless["applied"] and "closer to 0.5" in useless["reason"]
    assert rep.weights_decision(auc(0.70, 0.55), k)["applied"]
    assert rep.weights_decision(auc(0.50, 0.60), 0.0)["applied"]   # 0: always


def test_the_weights_are_applied_only_to_a_sample_that_differs():
    train = _frame(2000, 1)
    same = _assess(train, _frame(2000, 2), 5, n_cells=10)
    assert not same.report["weights"]["applied"] and np.all(same.weights == 1.0)
    assert same.report["weights"]["decision"]["auc_significance"] < SETTINGS["weights"]["min_auc_sigma"]
    shifted = _assess(train, _frame(2000, 2, shift=0.5), 5, n_cells=10)
    assert shifted.report["weights"]["applied"] and shifted.weights.std() > 0.1
    decision = shifted.report["weights"]["decision"]
    assert abs(decision["auc_weighted"] - 0.5) < abs(decision["auc"] - 0.5)
    forced = _assess(train, _frame(2000, 2), 5, n_cells=10, weights={"min_auc_sigma": 0.0})
    assert forced.report["weights"]["applied"] and forced.weights.std() > 0
    off = _assess(train, _frame(2000, 2, shift=0.5), 5, n_cells=10, weights={"enabled": False})
    assert not off.report["weights"]["applied"] and np.all(off.weights == 1.0)
