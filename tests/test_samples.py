import numpy as np
import pandas as pd
import pytest

from zshard.samples import split_labelled


def test_split_is_disjoint_complete_and_stable_under_reordering():
    n = 5000
    frame = pd.DataFrame({"id": np.arange(n), "z_spec": np.linspace(0.1, 2, n)})
    frame.loc[7, "z_spec"] = np.nan
    fractions = {"train": 0.6, "validation": 0.2, "test": 0.2}
    splits, summary, rejects = split_labelled(frame, fractions, seed=1, z_min=0.0, z_max=3.0, min_train=100)
    ids = [set(s["id"]) for s in splits.values()]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert sum(map(len, ids)) == n - 1 and summary["n_no_redshift"] == 1
    assert abs(len(splits["train"]) / n - 0.6) < 0.03
    assert rejects["id"].tolist() == [7] and rejects["row"].tolist() == [-1]  # no provenance columns here
    shuffled, _, _ = split_labelled(frame.sample(frac=1, random_state=0), fractions, seed=1, z_min=0.0, z_max=3.0,
                                    min_train=100)
    assert set(shuffled["test"]["id"]) == ids[2]


def test_fractions_above_one_are_refused():
    with pytest.raises(ValueError):
        split_labelled(pd.DataFrame({"id": [1], "z_spec": [1.0]}), {"train": 0.8, "validation": 0.2, "test": 0.2}, 0,
                       z_min=0.0, z_max=3.0, min_train=1)
