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
