import numpy as np

from zshard import selection


def _data(n=3000, seed=0):
    """z depends on a (strongly) and b (weakly); a_copy duplicates a; noise is irrelevant."""
    rng = np.random.default_rng(seed)
    a, b, noise = rng.normal(size=(3, n))
    z = 0.5 + 0.3 * a + 0.1 * b + rng.normal(0, 0.02, n)
    X = np.column_stack([a, a + rng.normal(0, 0.01, n), b, noise]).astype(np.float32)
    return X, z, ["a", "a_copy", "b", "noise"]


def test_mint_prefers_an_informative_feature_over_a_redundant_copy():
    X, z, names = _data()
    science, _, _ = _data(seed=1)
    ranking = selection.mint_ranking(X, z, science, names, n_neighbors=3, seed=0, max_rows=2000)
    order = [row["feature"] for row in ranking]
    assert order[0] in ("a", "a_copy")
    assert order[1] == "b"  # not the copy of the first, though it is more relevant than b
    copy = next(r for r in ranking if r["feature"] in ("a", "a_copy") and r["rank"] > 1)
    assert copy["relevance"] > ranking[1]["relevance"] and copy["redundancy"] > 1.0
    assert order[-1] in ("noise", "a", "a_copy")


def test_tree_rankings_put_the_informative_features_first_and_the_noise_last():
    X, z, names = _data()
    gain = [r["feature"] for r in selection.gain_ranking(X, z, names, params={"n_estimators": 60}, seed=0)]
    assert set(gain[:2]) <= {"a", "a_copy", "b"} and gain[-1] == "noise"
    perm = selection.permutation_ranking(X, z, names, params={"n_estimators": 60}, seed=0, repeats=2)
    assert perm[-1]["feature"] == "noise" and perm[-1]["nmad_increase"] < perm[0]["nmad_increase"]


def test_size_scan_and_choice_of_the_smallest_good_set():
    X, z, names = _data(n=1500)
    folds = np.arange(len(z)) % 3
    scan = selection.size_scan(X, z, names, ["a", "b", "a_copy", "noise"], [1, 2, 4], folds=folds,
                               params={"n_estimators": 60}, seed=0)
    assert [row["n_features"] for row in scan] == [1, 2, 4]
    assert scan[1]["nmad"] < scan[0]["nmad"]  # b carries information
    assert selection.choose_size(scan, "nmad", tolerance=0.5) <= 2
    assert selection.choose_size([{"n_features": 3, "nmad": 1.0}, {"n_features": 5, "nmad": 0.5}], "nmad", 0.0) == 5
