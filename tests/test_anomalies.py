import numpy as np
import pandas as pd
import pytest

from zshard import anomalies, training
from zshard.config import with_defaults
from zshard.features import FeatureSpec

SETTINGS = with_defaults({}, "anomalies")


def _sample(n=2000, seed=0, n_wrong=20):
    rng = np.random.default_rng(seed)
    colour = rng.uniform(0, 2, n)
    r = rng.uniform(19, 22, n)
    z = 0.6 * colour + rng.normal(0, 0.02, n)
    wrong = np.zeros(n, dtype=bool)
    wrong[rng.choice(n, n_wrong, replace=False)] = True
    z[wrong] = rng.uniform(2.0, 3.0, n_wrong)  # catastrophic spec-z failures
    frame = pd.DataFrame({"id": np.arange(n), "mag_g": r + colour, "mag_r": r, "mag_i": r - 0.3 * colour, "z_spec": z})
    return frame, wrong


SPACE = FeatureSpec(("g", "r", "i"))


def test_neighbour_redshift_flags_the_wrong_redshifts():
    frame, wrong = _sample()
    flags = anomalies.flag_anomalies(anomalies.neighbour_redshift_scores(
        frame, SPACE, n_neighbors=SETTINGS["neighbour_redshift"]["n_neighbors"],
        sigma_floor=SETTINGS["neighbour_redshift"]["sigma_floor"]), 0.01)
    assert flags.n_flagged == 20
    assert (flags.flagged & wrong).sum() >= 18


def test_isolation_forest_flags_isolated_photometry():
    frame, _ = _sample(n_wrong=0)
    frame.loc[:9, "mag_g"] += 4.0  # corrupted g band
    forest = SETTINGS["isolation_forest"]
    scores = anomalies.isolation_forest_scores(frame, SPACE, seed=1, n_estimators=forest["n_estimators"],
                                               include_redshift=forest["include_redshift"])
    flags = anomalies.flag_anomalies(scores, 0.01)
    assert flags.flagged[:10].sum() >= 8
    none = anomalies.flag_anomalies(np.arange(10.0), 0.0)
    assert none.n_flagged == 0


def test_removal_effect_is_measured_on_an_untouched_validation_sample():
    frame, wrong = _sample(seed=1, n_wrong=60)
    validation, _ = _sample(n=800, seed=2, n_wrong=0)
    effect = anomalies.removal_effect(frame, validation, wrong, FeatureSpec(("g", "r", "i"), "all"),
                                      params={"n_estimators": 60}, seed=0)
    assert effect["n_removed"] == 60 and effect["all"]["n"] == effect["cleaned"]["n"] == 800
    assert effect["cleaned"]["nmad"] <= effect["all"]["nmad"] * 1.05
    flags = anomalies.AnomalyFlags(np.zeros(len(frame)), wrong, 0.0)
    summary = anomalies.describe_flagged(frame, flags, ("g", "r", "i"))
    assert summary["n_flagged"] == 60 and summary["z_quartiles_flagged"][0] > 1.9


def _effect(all_metrics, cleaned_metrics):
    return {"all": dict(zip(anomalies.DECISION_METRICS, all_metrics)),
            "cleaned": dict(zip(anomalies.DECISION_METRICS, cleaned_metrics)), "n_removed": 10}


def test_removal_decision_removes_only_what_the_validation_sample_says_helps():
    decide = anomalies.removal_decision
    min_improvement = SETTINGS["min_improvement"]
    assert SETTINGS["remove"] == "auto"
    assert decide(_effect((0.030, 0.05), (0.027, 0.05)), "auto", min_improvement)["remove"]       # NMAD -10%
    assert decide(_effect((0.030, 0.05), (0.030, 0.04)), "auto", min_improvement)["remove"]       # outliers -20%
    same = decide(_effect((0.030, 0.05), (0.02999, 0.05)), "auto", min_improvement)               # within noise
    assert not same["remove"] and "improves no validation metric" in same["reason"]
    traded = decide(_effect((0.030, 0.05), (0.025, 0.051)), "auto", min_improvement)              # one worse
    assert not traded["remove"] and "outlier_fraction worse" in traded["reason"]
    assert traded["relative_improvement"]["nmad"] == pytest.approx(1 / 6)
    assert decide(_effect((0.030, 0.0), (0.027, 0.0)), "auto", min_improvement)["remove"]         # no outliers at all
    from_zero = decide(_effect((0.030, 0.0), (0.027, 0.01)), "auto", min_improvement)
    assert not from_zero["remove"] and from_zero["relative_improvement"]["outlier_fraction"] == -1.0
    assert not decide(None, "auto", min_improvement)["remove"]                                    # nothing measured
    assert decide(_effect((0.03, 0.05), (0.04, 0.06)), True, min_improvement)["remove"]           # forced
    assert not decide(_effect((0.03, 0.05), (0.02, 0.01)), False, min_improvement)["remove"]
    with pytest.raises(ValueError, match="true, false or auto"):
        decide(None, "sometimes", min_improvement)


def test_auto_removal_follows_the_validation_sample_through_the_stage():
    """Wrong redshifts (10% of the training sample) are removed; a clean sample keeps its 2% tail."""
    validation, _ = _sample(n=800, seed=2, n_wrong=0)
    quick = {"n_estimators": 60, "learning_rate": 0.1, "max_depth": 4}
    dirty, _ = _sample(seed=1, n_wrong=200)
    cfg = with_defaults({"neighbour_redshift": {"fraction": 0.1}}, "anomalies")
    removed, table, report = training.stage_anomalies(dirty, validation, cfg, ("g", "r", "i"), 5, quick_params=quick)
    assert report["remove_setting"] == "auto" and report["decision"]["remove"] and removed.sum() == 200
    assert table["removed"].sum() == 200
    clean, _ = _sample(seed=3, n_wrong=0)
    removed, _, report = training.stage_anomalies(clean, validation, SETTINGS, ("g", "r", "i"), 5, quick_params=quick)
    assert report["n_flagged"] == 40 and not report["decision"]["remove"] and not removed.any()
    assert report["n_removed"] == 0 and "effect_on_validation" in report
