"""Tests for zshard.metrics."""

import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from zshard import metrics
from zshard.pdf.distribution import cdf
from zshard.pdf.representation import sanitize_quantiles

LEVELS = np.linspace(0.02, 0.98, 25)


def gaussian_sample(n, seed, width_factor=1.0, shift=0.0):
    """True PDFs N(mu, s) from which z_true is drawn; stored PDFs N(mu + shift*s, width_factor*s)."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(0.5, 2.0, n)
    s = rng.uniform(0.03, 0.12, n)
    z_true = rng.normal(mu, s)
    q = norm.ppf(LEVELS[None, :], loc=(mu + shift * s)[:, None], scale=(width_factor * s)[:, None])
    return sanitize_quantiles(q), z_true


# ---------------------------------------------------------------- point metrics
def test_delta_definition():
    np.testing.assert_allclose(metrics.delta([1.1, 0.0], [1.0, 0.5]), [0.05, -1 / 3])


def test_nmad_sigma68_of_gaussian_residuals():
    rng = np.random.default_rng(0)
    z_true = rng.uniform(0.1, 2.0, 20_000)
    z_phot = z_true + 0.05 * (1 + z_true) * rng.standard_normal(z_true.size)
    assert metrics.nmad(z_phot, z_true) == pytest.approx(0.05, rel=0.03)
    assert metrics.sigma68(z_phot, z_true) == pytest.approx(0.05, rel=0.03)
    assert abs(metrics.point_metrics(z_phot, z_true)["bias_median"]) < 0.002


def test_outlier_fraction_and_bias_exact():
    z_true = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    z_phot = np.array([0.2, 0.1, -0.16, 0.0, 1.2])  # Delta = .2 .1 -.16 0 .1
    assert metrics.outlier_fraction(z_phot, z_true) == pytest.approx(2 / 5)
    assert metrics.outlier_fraction(z_phot, z_true, threshold=0.05) == pytest.approx(4 / 5)
    assert metrics.point_metrics(z_phot, z_true)["bias_median"] == pytest.approx(0.1)


def test_point_metrics_dict_and_invalid():
    z_true = np.array([0.0, 0.0, 0.0, 0.0, 1.0, np.nan, 1.0])
    z_phot = np.array([0.2, 0.1, -0.16, 0.0, 1.2, 1.0, np.inf])
    m = metrics.point_metrics(z_phot, z_true)
    assert m["n"] == 5 and m["n_invalid"] == 2
    assert m["outlier_fraction"] == pytest.approx(0.4)
    assert m["bias_median"] == pytest.approx(0.1)
    assert m["bias_mean"] == pytest.approx(np.mean([0.2, 0.1, -0.16, 0.0, 0.1]))
    assert m["nmad"] == pytest.approx(1.4826 * 0.1)
    assert all(type(v) in (int, float) for v in m.values())
    json.dumps(m)
    assert math.isnan(metrics.point_metrics([np.nan], [1.0])["nmad"])


# ---------------------------------------------------------------- PIT
def test_pit_uniform_for_true_pdfs():
    q, z = gaussian_sample(5000, seed=1)
    pit = metrics.pit_values(q, LEVELS, z)
    assert pit.shape == (5000,)
    ks, p = metrics.pit_ks(pit)
    assert p > 0.01 and ks < 0.03
    _, p_cvm = metrics.pit_cvm(pit)
    assert p_cvm > 0.01
    # The linear tails of the quantile representation end at z_lo / z_hi, while a
    # Gaussian continues: z_true beyond them gives PIT exactly 0 / 1.  Expected
    # fraction: 2 Phi(t_lo), t_lo the standardised z_lo.
    g = norm.ppf(LEVELS)
    t_lo = g[0] - (g[1] - g[0]) * LEVELS[0] / (LEVELS[1] - LEVELS[0])
    expected = 2 * norm.cdf(t_lo)  # ~0.021 for levels 0.02 ... 0.98
    assert metrics.catastrophic_pit_fraction(pit) == pytest.approx(expected, abs=0.006)
    # AD is dominated by those PIT = 0 / 1 values; inside [0.02, 0.98] it is fine
    assert metrics.pit_ad(pit) > 10
    assert metrics.pit_ad(pit, pit_min=0.02, pit_max=0.98) < 3.857  # 1% critical value


def test_pit_histogram_shapes():
    bins = 10
    under = metrics.pit_histogram(metrics.pit_values(*_qlz(width_factor=0.5)), bins)[0]
    over = metrics.pit_histogram(metrics.pit_values(*_qlz(width_factor=2.0)), bins)[0]
    biased = metrics.pit_histogram(metrics.pit_values(*_qlz(shift=0.7)), bins)[0]
    fair = metrics.pit_histogram(metrics.pit_values(*_qlz()), bins)[0]
    edges_of = lambda h: 0.5 * (h[0] + h[-1])  # noqa: E731
    centre_of = lambda h: h[bins // 2 - 1 : bins // 2 + 1].mean()  # noqa: E731
    assert edges_of(under) > 3 * centre_of(under)  # U shape
    assert centre_of(over) > 3 * edges_of(over)  # hump
    assert biased[: bins // 2].sum() > 1.5 * biased[bins // 2 :].sum()  # slope
    assert biased[0] > 2 * biased[-1]
    assert fair.max() < 1.25 * fair.min()
    assert fair.sum() == 5000


def _qlz(width_factor=1.0, shift=0.0):
    q, z = gaussian_sample(5000, seed=2, width_factor=width_factor, shift=shift)
    return q, LEVELS, z


def test_pit_ks_detects_miscalibration():
    ks_u, p_u = metrics.pit_ks(metrics.pit_values(*_qlz(width_factor=0.5)))
    assert p_u < 1e-6 and ks_u > 0.1


def test_pit_cvm_large_sample_pvalue_is_finite():
    u = np.random.default_rng(9).uniform(size=300_000) ** 1.5
    stat, p = metrics.pit_cvm(u)
    assert stat > 100 and p == pytest.approx(0.0, abs=1e-6)
    stat_u, p_u = metrics.pit_cvm(np.random.default_rng(9).uniform(size=2000))
    assert stat_u < 0.5 and p_u > 0.01


def test_pit_ad_hand_values():
    # n = 1, u = 0.5:  A^2 = -1 - (ln .5 + ln .5) = 2 ln 2 - 1
    assert metrics.pit_ad([0.5]) == pytest.approx(2 * np.log(2) - 1)
    # n = 2, u = (0.25, 0.75): A^2 = -2 - [1*(ln .25 + ln .25) + 3*(ln .75 + ln .75)] / 2
    expected = -2 - (2 * np.log(0.25) + 6 * np.log(0.75)) / 2
    assert metrics.pit_ad([0.75, 0.25]) == pytest.approx(expected)
    # restricting to [0.2, 0.8] drops 0.1 and 0.9 and rescales 0.35 -> 0.25, 0.65 -> 0.75
    assert metrics.pit_ad([0.1, 0.35, 0.65, 0.9], 0.2, 0.8) == pytest.approx(expected)


def test_catastrophic_fraction_and_histogram_exact():
    pit = np.array([0.0, 0.00005, 0.5, 0.99995, 1.0, 0.3, 0.7, np.nan])
    assert metrics.catastrophic_pit_fraction(pit) == pytest.approx(4 / 7)
    counts, edges = metrics.pit_histogram(pit, 4)
    np.testing.assert_array_equal(counts, [2, 1, 2, 2])
    np.testing.assert_allclose(edges, [0, 0.25, 0.5, 0.75, 1])


# ---------------------------------------------------------------- CDE loss, CRPS
def test_cde_loss_true_pdf_beats_broadened():
    q, lv, z = _qlz()
    qb, _, _ = _qlz(width_factor=2.0)
    qn, _, _ = _qlz(width_factor=0.5)
    l_true = metrics.cde_loss(q, lv, z)
    assert l_true < metrics.cde_loss(qb, lv, z)
    assert l_true < metrics.cde_loss(qn, lv, z)
    # for Gaussians, E[int p^2] - 2 E[p(z)] = -1 / (2 sqrt(pi) s) on average
    rng = np.random.default_rng(2)
    rng.uniform(0.5, 2.0, 5000)
    s = rng.uniform(0.03, 0.12, 5000)
    assert l_true == pytest.approx(np.mean(-1 / (2 * np.sqrt(np.pi) * s)), rel=0.05)


def test_cde_loss_exact_toy():
    # uniform on [0, 4]: int p^2 = 1/4; p(z_true=1) = 1/4, p(5) = 0
    q = np.array([[1.0, 2.0, 3.0]] * 2)
    lv = [0.25, 0.5, 0.75]
    assert metrics.cde_loss(q, lv, [1.0, 5.0], 0, 5) == pytest.approx(0.25 - 2 * 0.125)


def test_crps_exact_against_numerical_integration():
    rng = np.random.default_rng(3)
    q = sanitize_quantiles(norm.ppf(LEVELS[None, :], rng.uniform(0, 3, 6)[:, None], 0.2))
    z_true = np.array([0.5, 1.0, -0.2, 3.5, 2.0, 0.0])
    grid = np.linspace(-1, 4.5, 550_001)
    f = cdf(q, LEVELS, grid, grid=True)
    h = (grid[None, :] >= z_true[:, None]).astype(float)
    num = ((f - h) ** 2).sum(axis=1) * (grid[1] - grid[0])
    exact = metrics.crps(q, LEVELS, z_true, per_object=True)
    np.testing.assert_allclose(exact, num, atol=2e-5)
    assert metrics.crps(q, LEVELS, z_true) == pytest.approx(exact.mean())


def test_crps_uniform_toy():
    # F uniform on [0, 4], y = 2: CRPS = 2 * int_0^2 (t/4)^2 dt = 1/3
    q = np.array([[1.0, 2.0, 3.0]])
    assert metrics.crps(q, [0.25, 0.5, 0.75], [2.0], 0, 5) == pytest.approx(1 / 3)


def test_crps_narrow_correct_beats_biased():
    q, lv, z = _qlz()
    qb, _, _ = _qlz(shift=2.0)
    assert metrics.crps(q, lv, z) < metrics.crps(qb, lv, z)


def test_pdf_metrics_dict():
    q, lv, z = _qlz()
    z = z.copy()
    z[:3] = np.nan
    m = metrics.pdf_metrics(q, lv, z, n_bins=10)
    assert m["n"] == 4997 and m["n_invalid"] == 3
    assert len(m["pit_histogram"]) == 10 and sum(m["pit_histogram"]) == 4997
    assert m["pit_ks_pvalue"] > 0.01
    assert m["coverage68"] == pytest.approx(0.68, abs=0.02)
    assert m["crps"] == pytest.approx(metrics.crps(q[3:], lv, z[3:]))
    assert m["cde_loss"] == pytest.approx(metrics.cde_loss(q[3:], lv, z[3:]))
    ks, _ = metrics.pit_ks(metrics.pit_values(q[3:], lv, z[3:]))
    assert m["pit_ks_stat"] == pytest.approx(ks)
    json.dumps(m)
    assert all(isinstance(v, (int, float, list)) for v in m.values())


def test_weighted_point_metrics_match_the_unweighted_ones_and_duplicates():
    rng = np.random.default_rng(4)
    z = rng.uniform(0, 2, 4001)
    zp = z + rng.standard_t(3, 4001) * 0.02 * (1 + z)
    plain = metrics.point_metrics(zp, z)
    unit = metrics.weighted_point_metrics(zp, z)
    for key in ("bias_median", "nmad", "sigma68", "outlier_fraction", "bias_mean"):
        assert unit[key] == pytest.approx(plain[key], rel=0.01, abs=1e-5)
    w = rng.integers(1, 4, 4001).astype(float)
    weighted = metrics.weighted_point_metrics(zp, z, w)
    repeated = metrics.point_metrics(np.repeat(zp, w.astype(int)), np.repeat(z, w.astype(int)))
    for key in ("nmad", "sigma68", "outlier_fraction"):
        assert weighted[key] == pytest.approx(repeated[key], rel=0.02)
    assert weighted["n_effective"] < 4001
    assert metrics.weighted_quantile([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 0.5)[0] == 2.0
    assert np.isnan(metrics.weighted_point_metrics([], [])["nmad"])
