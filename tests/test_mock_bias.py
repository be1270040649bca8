"""The mock's galaxy bias (zshard.mock.fields.SkyModel): two populations of different, evolving
bias on one density field, and the clustering reference's magnitude limit."""

import numpy as np
import pytest

from zshard.clustering import uniform_randoms
from zshard.mock.config import MockConfig
from zshard.mock.correlation import angular_correlation
from zshard.mock.fields import SkyModel, lognormal_wtheta_binned

BASE = dict(area_deg2=400.0, nside=64, seed=5, z_max=1.0, shell_width=0.1)


def test_each_population_clusters_with_its_own_bias():
    cfg = MockConfig(**BASE, bias_b0=1.0, bias_alpha=0.0, bias_ref_b0=1.5, bias_ref_alpha=0.5)
    sky = SkyModel(cfg)
    s = 5  # 0.5 <= z < 0.6
    assert sky.shell_bias[:, s] == pytest.approx([1.0, 1.5 * 1.55 ** 0.5])
    z = np.full(30000, 0.55)
    rand = uniform_randoms(sky.footprint_pixels, sky.order, 60000, np.random.default_rng(1))
    edges = np.array([0.2, 0.5, 1.0, 2.0])  # about the 0.9 deg pixels, where w is large
    w = {}
    for name, flag in (("photometric", False), ("reference", True)):
        ra, dec = sky.sample_positions(np.random.default_rng(2), z, np.full(z.size, flag))
        w[name] = angular_correlation(ra, dec, *rand, edges)
    b_ref = sky.shell_bias[1, s]
    model = {name: lognormal_wtheta_binned(edges, sky.shell_sigma_g2[s], cfg.nside, cfg.cl_slope, bias_product=b ** 2)
             for name, b in (("photometric", 1.0), ("reference", b_ref))}
    # the ratio of the two (the same field: most of its sample variance cancels) follows the model's
    np.testing.assert_allclose(w["reference"] / w["photometric"], model["reference"] / model["photometric"],
                               rtol=0.15)
    assert np.all(w["reference"] > 1.5 * w["photometric"])


def test_equal_biases_place_both_populations_alike_and_bad_flags_fail():
    sky = SkyModel(MockConfig(**BASE, bias_b0=1.2, bias_ref_b0=1.2))
    z = np.random.default_rng(0).uniform(0.1, 0.9, 500)
    a = sky.sample_positions(np.random.default_rng(3), z, np.zeros(z.size, dtype=bool))
    b = sky.sample_positions(np.random.default_rng(3), z, np.ones(z.size, dtype=bool))
    c = sky.sample_positions(np.random.default_rng(3), z)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    with pytest.raises(ValueError, match="one flag per redshift"):
        sky.sample_positions(np.random.default_rng(3), z, np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="bias_b0"):
        MockConfig(**BASE, bias_b0=0.0)


def test_reference_magnitude_limit_deepens_above_the_pivot():
    cfg = MockConfig(clustering_ref_mag_max=23.0, clustering_ref_mag_slope=1.5, clustering_ref_mag_pivot=0.7)
    np.testing.assert_allclose(cfg.reference_mag_limit(np.array([0.3, 0.7, 1.1, 1.5])), [23.0, 23.0, 23.6, 24.2])
    assert cfg.galaxy_bias(np.array([1.0]), reference=True) == pytest.approx(1.0)
    assert MockConfig(bias_ref_b0=1.3, bias_ref_alpha=0.7).galaxy_bias(1.0, reference=True) == pytest.approx(
        1.3 * 2 ** 0.7)
