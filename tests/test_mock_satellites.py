"""Satellites in the mock (zshard.mock.fields): clumping below the field's pixels, measured
(zshard.mock.correlation) against its model, the one-halo term."""

import numpy as np
import pytest

from zshard.clustering import uniform_randoms
from zshard.mock.config import MockConfig
from zshard.mock.correlation import angular_correlation
from zshard.mock.fields import SkyModel, angular_diameter_distance_mpc, one_halo_wtheta, one_halo_wtheta_binned

BASE = dict(area_deg2=100.0, nside=64, seed=3, z_max=1.0, shell_width=0.1)


def test_satellites_add_the_one_halo_correlation_at_wz_scales():
    f, halos, radius = 0.3, 5.0, 0.5
    plain, clumped = SkyModel(MockConfig(**BASE)), SkyModel(MockConfig(**BASE, satellite_fraction=f,
                                                                      satellite_radius_mpc=radius,
                                                                      satellite_halos_per_deg2=halos))
    z = np.random.default_rng(1).uniform(0.54, 0.56, 12000)  # one D_A: sigma varies 6% over 0.5-0.6
    assert len(clumped.halo_vectors) == 10
    assert len(clumped.halo_vectors[5]) == round(halos * clumped.footprint_area_deg2)
    rand_ra, rand_dec = uniform_randoms(plain.footprint_pixels, plain.order, 60000, np.random.default_rng(4))
    edges = np.array([0.01, 0.02, 0.04, 0.08])  # 0.3-3 Mpc at z = 0.55, below the 0.9 deg pixels
    excess = []
    for seed in (2, 3, 4):  # one draw scatters by ~12% in the widest bin (500 halos)
        ra0, dec0 = plain.sample_positions(np.random.default_rng(seed), z)
        ra1, dec1 = clumped.sample_positions(np.random.default_rng(seed), z)
        # the satellites' draws come after the field's: the others keep their positions
        moved = (ra0 != ra1) | (dec0 != dec1)
        assert abs(moved.mean() - f) < 0.02
        excess.append(angular_correlation(ra1, dec1, rand_ra, rand_dec, edges)
                      - angular_correlation(ra0, dec0, rand_ra, rand_dec, edges))
    excess = np.mean(excess, axis=0)
    sigma_deg = np.degrees(radius / angular_diameter_distance_mpc(0.55))
    model = one_halo_wtheta_binned(edges, f, halos, sigma_deg)
    assert model[0] > 1.0  # the excess is large where it should be
    np.testing.assert_allclose(excess, model, rtol=0.12)
    # the binned model is the pair-weighted mean of the model, which a fine grid reproduces
    fine = np.linspace(edges[0], edges[1], 2001)
    weights = fine * one_halo_wtheta(fine, f, halos, sigma_deg)
    assert model[0] == pytest.approx(np.trapezoid(weights, fine) / np.trapezoid(fine, fine), rel=1e-6)


def test_satellites_stay_inside_the_footprint():
    """A satellite offset out of the footprint keeps its field position: a footprint taken from the
    objects (zshard.clustering.footprint_pixels) is the mock's own, with no stray pixels whose
    randoms would bias the cross-correlations high."""
    import healpy as hp

    from zshard.clustering.measurement import footprint_pixels

    f = 0.5
    sky = SkyModel(MockConfig(**BASE, satellite_fraction=f, satellite_radius_mpc=3.0, satellite_halos_per_deg2=5.0))
    z = np.random.default_rng(1).uniform(0.05, 0.15, 20000)  # 3 Mpc ~ 0.5-1.5 deg, the pixels' size
    plain = SkyModel(MockConfig(**BASE))
    ra0, dec0 = plain.sample_positions(np.random.default_rng(2), z)
    ra, dec = sky.sample_positions(np.random.default_rng(2), z)
    pix = hp.ang2pix(2**sky.order, ra, dec, nest=True, lonlat=True)
    assert sky.in_footprint(pix).all()
    np.testing.assert_array_equal(footprint_pixels(ra, dec, sky.order), np.unique(pix))
    assert np.isin(np.unique(pix), sky.footprint_pixels).all()
    moved = ((ra0 != ra) | (dec0 != dec)).mean()
    assert 0.5 * f < moved < f  # most satellites moved, those offset out of the footprint not
    assert not sky.in_footprint(np.setdiff1d(np.arange(hp.nside2npix(2**sky.order)), sky.footprint_pixels)).any()


def test_angular_correlation_of_randoms_is_zero_and_bad_edges_fail():
    sky = SkyModel(MockConfig(**BASE))
    ra, dec = uniform_randoms(sky.footprint_pixels, sky.order, 4000, np.random.default_rng(0))
    rra, rdec = uniform_randoms(sky.footprint_pixels, sky.order, 20000, np.random.default_rng(1))
    w = angular_correlation(ra, dec, rra, rdec, [0.5, 1.0, 2.0])
    assert np.all(np.abs(w) < 0.05)
    with pytest.raises(ValueError, match="increase"):
        angular_correlation(ra, dec, rra, rdec, [1.0, 0.5])
    with pytest.raises(ValueError, match="satellite_fraction"):
        MockConfig(**BASE, satellite_fraction=1.5)


def test_lognormal_wtheta_model_limits():
    from scipy.special import j1

    from zshard.mock.fields import lognormal_wtheta_binned

    nside, sigma_g2 = 64, 0.2
    w = lognormal_wtheta_binned([1e-4, 2e-4, 0.5, 1.0, 5.0, 10.0], sigma_g2, nside)
    assert np.all(np.diff(w[[0, 2, 4]]) < 0) and w[0] < np.expm1(sigma_g2)  # the window smooths the peak
    # at zero separation, exp(Σ (2l+1)/4π C_l W_l²) − 1 with the field's normalisation (variance sigma_g2)
    ell = np.arange(3 * nside, dtype=float)
    cl = np.where(ell > 0, (ell + 1) ** -1.2, 0.0)
    cl *= sigma_g2 / np.sum((2 * ell + 1) * cl / (4 * np.pi))
    x = np.maximum(ell * np.sqrt(4 * np.pi / (12 * nside ** 2) / np.pi), 1e-12)
    window = np.where(ell > 0, 2 * j1(x) / x, 1.0)
    assert w[0] == pytest.approx(np.expm1(np.sum((2 * ell + 1) / (4 * np.pi) * cl * window ** 2)), rel=1e-4)
