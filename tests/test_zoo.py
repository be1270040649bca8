import numpy as np
import pytest

from zshard import zoo
from zshard.config import with_defaults


def _toy(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 2, (n, 3)).astype(np.float32)
    z = 0.5 * X[:, 0] + 0.2 * X[:, 1] ** 2 + rng.normal(0, 0.01, n)
    return X, z, np.arange(n) + 10


def test_draws_are_seeded_and_inside_their_ranges():
    space = {"a": {"int": [3, 9]}, "b": {"loguniform": [1e-3, 1e-1]}, "c": {"choice": ["x", [1, 2]]}, "d": 7,
             "e": {"uniform": [0.5, 1.0]}}
    draws = zoo.draw_params(space, 50, seed=1)
    assert draws == zoo.draw_params(space, 50, seed=1) and draws != zoo.draw_params(space, 50, seed=2)
    assert all(3 <= d["a"] <= 9 and 1e-3 <= d["b"] <= 1e-1 and d["c"] in ("x", [1, 2]) and d["d"] == 7
               and 0.5 <= d["e"] <= 1.0 for d in draws)
    assert {d["a"] for d in draws} == set(range(3, 10))
    with pytest.raises(ValueError, match="unknown search distribution"):
        zoo.draw_params({"a": {"normal": [0, 1]}}, 1, 0)


@pytest.mark.parametrize("algorithm", zoo.ALGORITHMS)
def test_every_algorithm_fits_with_weights_and_missing_values(algorithm):
    X, z, _ = _toy(400)
    X[::17, 1] = np.nan
    params = zoo.draw_params(zoo.merged_space(algorithm, {a: {"n_estimators": 20} for a in zoo.ALGORITHMS
                                                          if a not in ("knn", "mlp")}), 1, 0)[0]
    model = zoo.fit_estimator(algorithm, zoo.make_estimator(algorithm, params, seed=0), X, z, np.ones(len(z)))
    prediction = model.predict(X)
    assert prediction.shape == (400,) and np.isfinite(prediction).all()


def test_folds_come_from_the_ids():
    ids = np.arange(1000)
    folds = zoo.cv_folds(ids, 4, seed=3)
    assert set(folds) == {0, 1, 2, 3} and all(abs((folds == f).mean() - 0.25) < 0.06 for f in range(4))
    np.testing.assert_array_equal(zoo.cv_folds(ids[::-1], 4, 3), folds[::-1])  # order-independent


def test_zoo_ranks_learners_and_a_good_learner_beats_a_bad_one():
    X, z, ids = _toy()
    small = {a: {"n_estimators": {"int": [40, 60]}} for a in ("xgboost_quantile", "xgboost", "random_forest")}
    settings = with_defaults({"algorithms": ["xgboost_quantile", "random_forest", "knn"], "n_draws": 2, "folds": 3,
                              "spaces": {**small, "knn": {"n_neighbors": 200}}}, "zoo")
    result = zoo.run_zoo(X, z, ids, settings, seed=1, log=lambda m: None)
    board = result.leaderboard
    assert [r["nmad"] for r in board["ranking"]] == sorted(r["nmad"] for r in board["ranking"])
    assert len(board["draws"]) == 6 and board["algorithms"]["knn"]["n_evaluated"] == 2
    by_name = {r["algorithm"]: r for r in board["ranking"]}
    assert by_name["knn"]["nmad"] > by_name["xgboost_quantile"]["nmad"]  # k = 200 over-smooths
    assert board["winner"]["algorithm"] != "knn"
    assert np.isfinite(result.oof[board["winner"]["algorithm"]]).all()
    again = zoo.run_zoo(X, z, ids, settings, seed=1, log=lambda m: None)
    assert [d["nmad"] for d in again.leaderboard["draws"]] == [d["nmad"] for d in board["draws"]]


def test_folds_fitted_side_by_side_give_the_same_leaderboard():
    """threads > 1 fits the CV folds in parallel (each learner on threads // folds threads): the same
    draws, scores and out-of-fold predictions as one fold after another."""
    X, z, ids = _toy(600)
    small = {a: {"n_estimators": {"int": [10, 20]}} for a in ("xgboost_quantile", "xgboost", "random_forest",
                                                                "adaboost")}
    settings = with_defaults({"algorithms": ["xgboost", "random_forest", "adaboost", "knn"], "n_draws": 2,
                              "folds": 3, "stack": False, "spaces": small}, "zoo")
    serial = zoo.run_zoo(X, z, ids, settings, seed=4, threads=1, log=lambda m: None)
    parallel = zoo.run_zoo(X, z, ids, settings, seed=4, threads=2, log=lambda m: None)
    strip = [{k: v for k, v in d.items() if k != "seconds"} for d in serial.leaderboard["draws"]]
    assert strip == [{k: v for k, v in d.items() if k != "seconds"} for d in parallel.leaderboard["draws"]]
    for name, oof in serial.oof.items():
        np.testing.assert_array_equal(oof, parallel.oof[name])


def test_time_budget_stops_drawing_but_keeps_one_draw():
    X, z, ids = _toy(300)
    settings = with_defaults({"algorithms": ["knn"], "n_draws": 20, "folds": 2, "time_budget_s": 1e-9, "stack": False},
                             "zoo")
    result = zoo.run_zoo(X, z, ids, settings, seed=0, log=lambda m: None)
    board = result.leaderboard
    knn = board["algorithms"]["knn"]
    assert knn["n_evaluated"] == 1 and knn["stopped_by"] == "time_budget_s"
    assert board["time_budget_s"] == 1e-9
    # the budget only cuts the fixed sequence of draws: the draw that ran is the first of an unbudgeted search
    unbudgeted = zoo.run_zoo(X, z, ids, {**settings, "n_draws": 2, "time_budget_s": 0}, seed=0, log=lambda m: None)
    assert unbudgeted.leaderboard["algorithms"]["knn"] | {"best": None} == {
        "n_draws": 2, "n_evaluated": 2, "stopped_by": "n_draws", "best": None,
        "seconds": unbudgeted.leaderboard["algorithms"]["knn"]["seconds"]}
    first = unbudgeted.leaderboard["draws"][0]
    assert (first["params"], first["nmad"]) == (board["draws"][0]["params"], board["draws"][0]["nmad"])


def test_stack_weights_ignore_catastrophic_outliers_and_the_winner_refits():
    rng = np.random.default_rng(0)
    z = rng.uniform(0, 2, 2000)
    good = z + rng.normal(0, 0.01, 2000)
    bad = z + rng.normal(0, 0.3, 2000)
    good[:100] += 5.0  # a few catastrophic failures of the good learner
    coefficients = zoo._stack_weights(np.column_stack([good, bad]), z, None, "nmad")
    assert coefficients[0] > 0.9 and coefficients[1] < 0.1
    X, z2, _ = _toy(600)
    stack = {"algorithm": "stack", "params": {"members": ["knn", "random_forest"], "coefficients": [0.5, 0.5]},
             "members": [{"algorithm": "knn", "params": {"n_neighbors": 5}},
                         {"algorithm": "random_forest", "params": {"n_estimators": 10}}]}
    model = zoo.fit_winner(stack, X, z2, None, seed=0)
    assert isinstance(model, zoo.StackedPoint) and model.predict(X).shape == (600,)
    assert zoo.fit_winner({"algorithm": "xgboost_quantile", "params": {}}, X, z2, None, 0) is None


def test_the_fanout_budget_clamps_tree_ensembles_and_keeps_slow_learners_from_winning():
    # an ensemble cut to the budget keeps the rest of its draw
    cut = zoo.clamp_to_budget("xgboost", {"n_estimators": 400, "max_depth": 6, "learning_rate": 0.05}, 1.0)
    assert zoo.predict_cost_us("xgboost", cut) <= 1.0 < zoo.predict_cost_us("xgboost", {**cut, "n_estimators": 400})
    assert zoo.predict_cost_us("xgboost", {**cut, "n_estimators": cut["n_estimators"] + 1}) > 1.0
    assert cut["learning_rate"] == 0.05
    forest = zoo.clamp_to_budget("random_forest", {"n_estimators": 100, "max_depth": None}, 1.0)
    assert 1 <= forest["n_estimators"] < 100 and zoo.predict_cost_us("random_forest", forest) <= 1.0
    assert zoo.clamp_to_budget("knn", {"n_neighbors": 5}, 1.0) == {"n_neighbors": 5}
    assert zoo.clamp_to_budget("xgboost", {"n_estimators": 400, "max_depth": 6}, None)["n_estimators"] == 400

    X, z, ids = _toy()
    settings = with_defaults({"algorithms": ["xgboost_quantile", "xgboost", "knn"], "n_draws": 2, "folds": 3,
                              "fanout_budget_us": {"point": 0.5, "pdf": 1.0}}, "zoo")
    board = zoo.run_zoo(X, z, ids, settings, seed=1, log=lambda m: None).leaderboard
    for draw in board["draws"]:
        limit = 1.0 if draw["algorithm"] == "xgboost_quantile" else 0.5
        assert draw["within_budget"] == (draw["predict_cost_us"] <= limit)
        if draw["algorithm"] != "knn":
            assert draw["within_budget"]  # clamped
    assert not any(d["within_budget"] for d in board["draws"] if d["algorithm"] == "knn")
    assert board["winner"]["algorithm"] != "knn" and board["winner"]["within_budget"]
    assert board["fanout_budget_us"] == {"point": 0.5, "pdf": 1.0}
