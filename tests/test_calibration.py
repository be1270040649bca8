"""Tests for zshard.calibration (PIT recalibration, Bordoloi et al. 2010)."""

import json

import numpy as np
import pytest
from scipy.stats import norm

from zshard import calibration as cal
from zshard import metrics, pdf

LEVELS = np.linspace(0.02, 0.98, 25)


def gaussian_sample(n, seed, width_factor=1.0, shift=0.0):
    """Objects with Gaussian true PDFs N(mu, s); the stored PDF is N(mu + shift*s, width_factor*s)."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(0.5, 2.0, n)
    s = rng.uniform(0.03, 0.12, n)
    z_true = rng.normal(mu, s)
    q = norm.ppf(LEVELS[None, :], loc=(mu + shift * s)[:, None], scale=(width_factor * s)[:, None])
    return pdf.sanitize_quantiles(q), z_true


def test_recalibration_fixes_underdispersed_pdfs():
    q_val, z_val = gaussian_sample(5000, seed=10, width_factor=0.5)
    q_test, z_test = gaussian_sample(5000, seed=11, width_factor=0.5)
    c = cal.fit_pit_calibration(metrics.pit_values(q_val, LEVELS, z_val))
    assert c.n_fit == 5000
    ks_before, _ = metrics.pit_ks(metrics.pit_values(q_test, LEVELS, z_test))
    q_new = cal.apply_calibration(q_test, LEVELS, c)
    assert q_new.shape == q_test.shape
    assert np.all(np.diff(q_new, axis=1) > 0)
    pit_after = metrics.pit_values(q_new, LEVELS, z_test)
    ks_after, _ = metrics.pit_ks(pit_after)
    assert ks_before > 0.1
    assert ks_after < 0.5 * ks_before
    # the PIT histogram is flat away from the tails (was U-shaped)
    counts, _ = metrics.pit_histogram(pit_after, 10)
    assert counts[2:-2].max() < 1.25 * counts[2:-2].min()
    # the tail extrapolation moves z_true back inside the support for most objects
    cat_before = metrics.catastrophic_pit_fraction(metrics.pit_values(q_test, LEVELS, z_test))
    assert metrics.catastrophic_pit_fraction(pit_after) < 0.5 * cat_before
    # the recalibrated PDFs are broader (roughly twice as wide)
    w_before = pdf.summaries(q_test, LEVELS)["z_hi68"] - pdf.summaries(q_test, LEVELS)["z_lo68"]
    s_new = pdf.summaries(q_new, LEVELS)
    ratio = np.median((s_new["z_hi68"] - s_new["z_lo68"]) / w_before)
    assert 1.6 < ratio < 2.4


def test_plain_bordoloi_map_keeps_support():
    # without tail extrapolation F' = G(F) is 0 wherever F is 0: support unchanged
    q_val, z_val = gaussian_sample(2000, seed=12, width_factor=0.5)
    c = cal.fit_pit_calibration(metrics.pit_values(q_val, LEVELS, z_val))
    q_test, _ = gaussian_sample(500, seed=13, width_factor=0.5)
    zk, _ = pdf.knots(q_test, LEVELS)
    plain = cal.apply_calibration(q_test, LEVELS, c, extrapolate_tails=False)
    # (up to the 1e-4 spacing that sanitize_quantiles puts between piled-up quantiles)
    assert np.all(plain[:, 0] >= zk[:, 0] - 1e-9)
    assert np.all(plain[:, -1] <= zk[:, -1] + len(LEVELS) * 1e-4)
    ext = cal.apply_calibration(q_test, LEVELS, c)
    assert np.all(ext[:, 0] < zk[:, 0])  # extrapolated beyond the old support
    # levels away from the pile-ups are identical in both modes
    mid = slice(6, -6)
    np.testing.assert_allclose(ext[:, mid], plain[:, mid], atol=1e-12)


def test_identity_calibration_leaves_quantiles_unchanged():
    q, _ = gaussian_sample(300, seed=1)
    out = cal.apply_calibration(q, LEVELS, cal.PitCalibration.identity())
    np.testing.assert_allclose(out, q, atol=1e-12)
    q32 = q.astype(np.float32)
    out32 = cal.apply_calibration(q32, LEVELS, cal.PitCalibration.identity())
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, q32, atol=1e-6)


def test_fit_on_uniform_pit_is_near_identity():
    pit = np.random.default_rng(3).uniform(size=20_000)
    c = cal.fit_pit_calibration(pit)
    a = np.linspace(0, 1, 101)
    np.testing.assert_allclose(c.forward(a), a, atol=0.02)


def test_fit_known_map():
    # PIT = u**2 with u uniform: G(p) = P(u**2 <= p) = sqrt(p)
    u = np.random.default_rng(4).uniform(size=40_000)
    c = cal.fit_pit_calibration(u**2, n_knots=101)
    p = np.linspace(0.05, 1, 20)
    np.testing.assert_allclose(c.forward(p), np.sqrt(p), atol=0.015)


def test_forward_inverse_roundtrip_and_monotone():
    pit = np.random.default_rng(5).beta(0.5, 0.5, size=2000)
    pit[:100] = 0.0  # pile-up of catastrophic PIT values
    c = cal.fit_pit_calibration(pit)
    assert c.pit_knots[0] == 0.0 and c.pit_knots[-1] == 1.0
    assert c.level_knots[0] == 0.0 and c.level_knots[-1] == 1.0
    assert np.all(np.diff(c.pit_knots) > 0)
    a = np.linspace(0, 1, 57)
    np.testing.assert_allclose(c.forward(c.inverse(a)), a, atol=1e-12)
    np.testing.assert_allclose(c.inverse(c.forward(a)), a, atol=1e-12)


def test_to_dict_from_dict_roundtrip():
    c = cal.fit_pit_calibration(np.random.default_rng(6).uniform(size=500), n_knots=11)
    d = c.to_dict()
    d2 = json.loads(json.dumps(d))
    assert all(type(x) is float for x in d2["pit_knots"])
    c2 = cal.PitCalibration.from_dict(d2)
    assert c2 == c
    np.testing.assert_array_equal(c2.pit_knots, c.pit_knots)
    assert c2.n_fit == 500


def test_save_load_roundtrip(tmp_path):
    c = cal.fit_pit_calibration(np.random.default_rng(7).uniform(size=500))
    path = tmp_path / "sub" / "calib.json"
    cal.save_calibration(path, c, {"n_val": np.int64(500), "ks": np.float32(0.25), "tag": "x"})
    assert cal.load_calibration(path) == c
    with open(path) as fh:
        raw = json.load(fh)
    assert raw["extra"] == {"n_val": 500, "ks": 0.25, "tag": "x"}
    assert [p.name for p in path.parent.iterdir()] == ["calib.json"]  # no temp files left


def test_weights():
    rng = np.random.default_rng(8)
    pit = rng.uniform(size=400)
    c1 = cal.fit_pit_calibration(pit, weights=np.ones(400))
    c0 = cal.fit_pit_calibration(pit)
    np.testing.assert_allclose(c1.pit_knots, c0.pit_knots)
    # zero weight on the upper half == fitting the lower half only
    w = (pit < 0.5).astype(float)
    cw = cal.fit_pit_calibration(pit, weights=w)
    ch = cal.fit_pit_calibration(pit[pit < 0.5])
    np.testing.assert_allclose(cw.pit_knots, ch.pit_knots)
    assert cw.pit_knots[-2] < 0.5


def test_fit_errors():
    with pytest.raises(ValueError, match="at least 50"):
        cal.fit_pit_calibration(np.r_[np.full(40, 0.5), np.full(100, np.nan)])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cal.fit_pit_calibration(np.linspace(-0.5, 1.0, 200))
    with pytest.raises(ValueError):
        cal.PitCalibration(np.array([0.0, 0.6, 0.5, 1.0]), np.linspace(0, 1, 4), 10)
