"""Tests for zshard.pdf (quantile representation of p(z))."""

import numpy as np
import pytest
from scipy.stats import norm

from zshard.pdf.binned import bin_probabilities, stack
from zshard.pdf.distribution import cdf, density, ppf
from zshard.pdf.representation import knots, sanitize_quantiles
from zshard.pdf.summary import summaries

LEVELS = np.linspace(0.05, 0.95, 19)  # contains 0.5


def gaussian_quantiles(mu, sigma, levels=LEVELS):
    mu = np.atleast_1d(np.asarray(mu, dtype=float))
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), mu.shape)
    return norm.ppf(levels[None, :], loc=mu[:, None], scale=sigma[:, None])


# ---------------------------------------------------------------- exact toy case
# levels (0.25, 0.5, 0.75), quantiles (1, 2, 3), z range [0, 5]:
# knots are 0, 1, 2, 3, 4 -> uniform distribution on [0, 4].
TOY_L = np.array([0.25, 0.5, 0.75])
TOY_Q = np.array([[1.0, 2.0, 3.0]])


def test_knots_toy_exact():
    zk, ck = knots(TOY_Q, TOY_L, 0.0, 5.0)
    np.testing.assert_allclose(zk, [[0, 1, 2, 3, 4]])
    np.testing.assert_allclose(ck, [0, 0.25, 0.5, 0.75, 1])


def test_knots_tail_clipped_stays_strictly_increasing():
    # z_hi = 4 is clipped to z_max = 3 = q_K: knots must still strictly increase
    zk, _ = knots(TOY_Q, TOY_L, 0.0, 3.0)
    assert np.all(np.diff(zk, axis=1) > 0)
    assert zk[0, -1] == 3.0 and zk[0, 0] == 0.0
    assert zk.min() >= 0.0 and zk.max() <= 3.0


def test_toy_cdf_ppf_density_summaries():
    f = cdf(TOY_Q, TOY_L, np.array([-1, 0, 0.5, 1.5, 3.9, 4, 5.0]), 0, 5, grid=True)
    np.testing.assert_allclose(f, [[0, 0, 0.125, 0.375, 0.975, 1, 1]])
    np.testing.assert_allclose(cdf(TOY_Q, TOY_L, [1.5], 0, 5), [0.375])
    np.testing.assert_allclose(ppf(TOY_Q, TOY_L, [0, 0.1, 0.5, 1], 0, 5), [[0, 0.4, 2, 4]])
    d = density(np.repeat(TOY_Q, 4, 0), TOY_L, [-0.1, 0.5, 4.0, 4.1], 0, 5)
    np.testing.assert_allclose(d, [0, 0.25, 0.25, 0])
    s = summaries(TOY_Q, TOY_L, 0, 5)
    np.testing.assert_allclose(s["z_mean"], 2.0)
    np.testing.assert_allclose(s["z_median"], 2.0)
    np.testing.assert_allclose(s["z_sigma"], 4 / np.sqrt(12))
    np.testing.assert_allclose(s["z_lo68"], 0.64)
    np.testing.assert_allclose(s["z_hi68"], 3.36)


def test_mode_is_centre_of_densest_segment():
    # levels .2 .4 .6 .8, knots 0, 0.5, 1.0, 1.05, 2.0, 2.95: [1, 1.05] is densest
    lv = np.array([0.2, 0.4, 0.6, 0.8])
    q = np.array([[0.5, 1.0, 1.05, 2.0]])
    zk, _ = knots(q, lv, 0, 5)
    np.testing.assert_allclose(zk, [[0, 0.5, 1.0, 1.05, 2.0, 2.95]])
    s = summaries(q, lv, 0, 5)
    np.testing.assert_allclose(s["z_mode"], 1.025)


# ---------------------------------------------------------------- Gaussian
def test_gaussian_cdf_values():
    q = gaussian_quantiles(1.0, 0.1)
    assert cdf(q, LEVELS, [1.0])[0] == pytest.approx(0.5, abs=1e-12)
    assert cdf(q, LEVELS, [1.1])[0] == pytest.approx(norm.cdf(1.0), abs=5e-3)
    assert cdf(q, LEVELS, [0.9])[0] == pytest.approx(norm.cdf(-1.0), abs=5e-3)
    # far outside the support
    assert cdf(q, LEVELS, [0.0])[0] == 0.0
    assert cdf(q, LEVELS, [3.0])[0] == 1.0


def test_ppf_roundtrip_many_objects():
    rng = np.random.default_rng(1)
    q = gaussian_quantiles(rng.uniform(0.3, 2.5, 200), rng.uniform(0.02, 0.3, 200))
    q = sanitize_quantiles(q)
    a = np.concatenate(([0.0, 1.0], rng.uniform(0, 1, 30)))
    z = ppf(q, LEVELS, a)
    assert z.shape == (200, a.size)
    for col in range(a.size):
        f = cdf(q, LEVELS, z[:, col])
        np.testing.assert_allclose(f, a[col], atol=1e-9)
    # ppf at the stored levels reproduces the stored quantiles (up to the 1e-6 knot
    # separation applied where a quantile sits on the z_min / z_max bound)
    np.testing.assert_allclose(ppf(q, LEVELS, LEVELS), q, atol=2e-6)
    interior = (q[:, 0] > 0.01) & (q[:, -1] < 2.99)
    assert interior.sum() > 100
    np.testing.assert_allclose(ppf(q[interior], LEVELS, LEVELS), q[interior], atol=1e-12)


def test_grid_mode_matches_per_object_mode_and_unsorted_grid():
    rng = np.random.default_rng(2)
    q = gaussian_quantiles(rng.uniform(0.2, 2.5, 50), rng.uniform(0.02, 0.4, 50))
    grid = rng.uniform(-0.5, 3.5, 37)  # unsorted, partly outside [0, 3]
    fg = cdf(q, LEVELS, grid, grid=True)
    assert fg.shape == (50, 37)
    for g in range(grid.size):
        np.testing.assert_allclose(fg[:, g], cdf(q, LEVELS, np.full(50, grid[g])), atol=1e-12)


def test_bin_probabilities_sum_to_one():
    rng = np.random.default_rng(3)
    q = sanitize_quantiles(
        gaussian_quantiles(rng.uniform(0.0, 3.0, 100), rng.uniform(0.02, 0.5, 100))
    )
    p = bin_probabilities(q, LEVELS, np.linspace(0, 3, 61))
    assert p.shape == (100, 60)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


def test_gaussian_summaries():
    q = gaussian_quantiles(1.0, 0.1)
    s = summaries(q, LEVELS)
    assert s["z_median"][0] == pytest.approx(1.0, abs=1e-12)
    assert s["z_mean"][0] == pytest.approx(1.0, abs=1e-9)
    assert s["z_mode"][0] == pytest.approx(1.0, abs=0.02)
    assert s["z_sigma"][0] == pytest.approx(0.1, abs=0.01)
    assert s["z_lo68"][0] == pytest.approx(0.9, abs=0.005)
    assert s["z_hi68"][0] == pytest.approx(1.1, abs=0.005)


def test_summaries_mean_sigma_match_numerical_integration():
    q = sanitize_quantiles(gaussian_quantiles([0.15, 1.3], [0.2, 0.05]))
    q = sanitize_quantiles(q**1.2)  # skewed, first one piled up at z_min
    grid = np.linspace(0, 3, 300_001)
    f = cdf(q, LEVELS, grid, grid=True)
    pmass = np.diff(f, axis=1)
    mid = 0.5 * (grid[1:] + grid[:-1])
    mean = (pmass * mid).sum(1)
    sig = np.sqrt((pmass * (mid - mean[:, None]) ** 2).sum(1))
    s = summaries(q, LEVELS)
    np.testing.assert_allclose(s["z_mean"], mean, atol=1e-6)
    np.testing.assert_allclose(s["z_sigma"], sig, atol=1e-6)


def test_density_integrates_to_one():
    q = gaussian_quantiles([0.5, 1.0, 2.0], [0.05, 0.1, 0.3])
    edges = np.linspace(0, 3, 30_001)
    mid = 0.5 * (edges[1:] + edges[:-1])
    dz = edges[1] - edges[0]
    for row in range(q.shape[0]):
        qq = np.repeat(q[row : row + 1], mid.size, axis=0)
        d = density(qq, LEVELS, mid)
        assert np.all(d >= 0)
        assert d.sum() * dz == pytest.approx(1.0, abs=1e-3)


# ---------------------------------------------------------------- sanitising
def test_crossing_quantiles_get_sorted():
    q = np.array([[0.5, 0.3, 0.4], [1.0, 2.0, 1.5]])
    s = sanitize_quantiles(q)
    np.testing.assert_allclose(s, [[0.3, 0.4, 0.5], [1.0, 1.5, 2.0]])


def test_sanitize_clips_and_spreads_pileups():
    q = np.array([[-0.3, -0.2, -0.1, 0.5, 3.5, 4.0]])
    s = sanitize_quantiles(q, 0.0, 3.0, min_spacing=1e-3)
    np.testing.assert_allclose(s, [[0.0, 1e-3, 2e-3, 0.5, 3.0 - 1e-3, 3.0]])


def test_sanitize_preserves_dtype_and_valid_rows():
    rng = np.random.default_rng(4)
    q = gaussian_quantiles(rng.uniform(0.5, 2.0, 20), 0.1).astype(np.float32)
    s = sanitize_quantiles(q)
    assert s.dtype == np.float32
    np.testing.assert_array_equal(s, q)  # already valid -> unchanged
    assert sanitize_quantiles(q.astype(np.float64)).dtype == np.float64


def test_clipping_at_zmin_keeps_knots_increasing_and_mass_conserved():
    q_raw = gaussian_quantiles([0.02, 0.0, 2.95], [0.1, 0.3, 0.2])  # many below 0 / above 3
    q = sanitize_quantiles(q_raw)
    assert q.min() >= 0.0 and q.max() <= 3.0
    assert np.all(np.diff(q, axis=1) >= 1e-4 - 1e-12)
    zk, _ = knots(q, LEVELS)
    assert np.all(np.diff(zk, axis=1) > 0)
    assert zk.min() >= 0.0 and zk.max() <= 3.0
    p = bin_probabilities(q, LEVELS, np.linspace(0, 3, 16))
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-12)
    # unsanitised input also gives valid knots
    zk2, _ = knots(q_raw, LEVELS)
    assert np.all(np.diff(zk2, axis=1) > 0)


def test_nan_rows_propagate():
    q = gaussian_quantiles([1.0, 1.0], 0.1)
    q[1, 3] = np.nan
    assert np.isnan(cdf(q, LEVELS, [1.0, 1.0])[1])
    assert not np.isnan(cdf(q, LEVELS, [1.0, 1.0])[0])
    assert np.all(np.isnan(sanitize_quantiles(q)[1]))
    assert np.isnan(summaries(q, LEVELS)["z_mean"][1])


def test_stack_equals_sum_of_bin_probabilities_and_weights():
    rng = np.random.default_rng(5)
    q = gaussian_quantiles(rng.uniform(0.0, 2.9, 57), rng.uniform(0.03, 0.3, 57))
    q[5] = np.nan  # skipped
    edges = np.linspace(0, 3, 31)
    p = bin_probabilities(q, LEVELS, edges)
    w = rng.uniform(0, 2, 57)
    st = stack(q, LEVELS, edges, chunk_size=10)
    np.testing.assert_allclose(st, np.nansum(p, axis=0), rtol=1e-9, atol=1e-9)
    assert st.sum() == pytest.approx(56.0)
    stw = stack(q, LEVELS, edges, weights=w, chunk_size=7)
    ok = np.isfinite(p).all(1)
    np.testing.assert_allclose(stw, w[ok] @ p[ok], rtol=1e-9, atol=1e-9)
    # edges not covering the support, plus an irregular grid
    edges2 = np.array([0.3, 0.5, 0.55, 1.0, 1.7, 2.0])
    p2 = bin_probabilities(q, LEVELS, edges2)
    np.testing.assert_allclose(stack(q, LEVELS, edges2), np.nansum(p2, 0), rtol=1e-9, atol=1e-9)


def test_bad_levels_rejected():
    with pytest.raises(ValueError):
        cdf(TOY_Q, [0.5, 0.25, 0.75], [1.0])
    with pytest.raises(ValueError):
        cdf(TOY_Q, [0.0, 0.5, 0.75], [1.0])
    with pytest.raises(ValueError):
        cdf(TOY_Q, [0.25, 0.5], [1.0])
