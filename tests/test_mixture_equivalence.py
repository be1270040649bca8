"""calibration.mixture_ppf and apply_calibration against the row-major reference (tests/pdf_reference.py)."""

import numpy as np
import pytest
from pdf_reference import ref_mixture_ppf, ref_sanitize_quantiles
from test_levelmajor import F32_TOL, adversarial_quantiles

from zshard.calibration import PitCalibration, apply_calibration, mixture_ppf
from zshard.pdf import levelmajor

OUT_LEVELS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.16, 0.25, 0.35, 0.5, 0.65, 0.75, 0.84, 0.9, 0.95, 0.975,
              0.99, 0.995, 0.999]


def _calibration_steps(ppf, q, levels, cal, eps):
    """apply_calibration's steps one after the other, with ``ppf`` as the mixture inversion: the
    inverted quantiles (the tails extrapolated when eps = 0), the unaffected levels and the levels."""
    a = cal.levels_for(levels)
    p = np.clip(cal.inverse(a), 0.0, 1.0)
    out = ppf(q, levels, p, eps, 0.0, 3.0)
    ok = np.flatnonzero((p >= 1e-4) & (p <= 1.0 - 1e-4))
    if eps == 0.0:
        i0, i1 = ok[0], ok[1]
        if i0 > 0:
            slope = (out[:, i1] - out[:, i0]) / (a[i1] - a[i0])
            out[:, :i0] = out[:, i0, None] - slope[:, None] * (a[i0] - a[:i0])
        j0, j1 = ok[-1], ok[-2]
        if j0 < a.size - 1:
            slope = (out[:, j0] - out[:, j1]) / (a[j0] - a[j1])
            out[:, j0 + 1:] = out[:, j0, None] + slope[:, None] * (a[j0 + 1:] - a[j0])
    return out, ok, a


@pytest.mark.parametrize("eps", [0.0, 1e-6, 0.01, 0.119, 0.5, 0.95])
@pytest.mark.parametrize("k", [2, 15, 19])
def test_mixture_ppf_equals_the_reference(eps, k, monkeypatch):
    monkeypatch.setattr(levelmajor, "BLOCK", 700)
    levels = np.linspace(0.01, 0.99, k)
    q = adversarial_quantiles(3000, k, 3, np.float32)
    new_levels = np.concatenate([[0.0, 1e-12], OUT_LEVELS, levels, [1 - 1e-12, 1.0]])
    new, ref = mixture_ppf(q, levels, new_levels, eps, 0.0, 3.0), ref_mixture_ppf(q, levels, new_levels, eps, 0.0, 3.0)
    np.testing.assert_array_equal(np.isnan(new), np.isnan(ref))
    np.testing.assert_array_equal(new, ref)  # the same knots, comparisons and interpolation: the same bits


@pytest.mark.parametrize("eps", [0.0, 0.119])
def test_apply_calibration_equals_the_reference(eps):
    rng = np.random.default_rng(5)
    levels = np.array([0.01, 0.025, 0.05, 0.1, 0.16, 0.25, 0.35, 0.5, 0.65, 0.75, 0.84, 0.9, 0.95, 0.975, 0.99])
    pit = np.concatenate([[0.0], np.sort(rng.uniform(0.0, 1.0, 49)), [1.0]])
    pit[1:4] = [1e-5, 2e-5, 3e-5]  # a pile-up at PIT 0: tail extrapolation when eps = 0
    cal = PitCalibration(pit, np.linspace(0, 1, 51), 1000, eps, np.array(OUT_LEVELS))
    q = adversarial_quantiles(4000, 15, 8, np.float32)
    new = apply_calibration(q, levels, cal, 0.0, 3.0)
    # the reference: apply_calibration's own steps on the reference mixture ppf
    out, _, _ = _calibration_steps(ref_mixture_ppf, q, levels, cal, eps)
    ref = ref_sanitize_quantiles(out.astype(np.float32), 0.0, 3.0, 1e-4)
    assert new.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(new), np.isnan(ref))
    np.testing.assert_allclose(new, ref, rtol=0, atol=F32_TOL)


@pytest.mark.parametrize("eps", [0.0, 0.119])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_apply_calibration_equals_its_steps_bit_for_bit(eps, dtype, monkeypatch):
    """apply_calibration runs mixture_ppf, the tails and sanitize_quantiles block by block, level
    major: the same bits as the three steps one after the other on (n, L) arrays."""
    from zshard.pdf.representation import sanitize_quantiles

    monkeypatch.setattr(levelmajor, "BLOCK", 600)
    rng = np.random.default_rng(9)
    levels = np.array([0.01, 0.025, 0.05, 0.1, 0.16, 0.25, 0.35, 0.5, 0.65, 0.75, 0.84, 0.9, 0.95, 0.975, 0.99])
    pit = np.concatenate([[0.0], np.sort(rng.uniform(0.0, 1.0, 49)), [1.0]])
    pit[1:4] = [1e-5, 2e-5, 3e-5]  # PIT pile-ups at both ends: both tails extrapolated when eps = 0
    pit[-4:-1] = [1 - 3e-5, 1 - 2e-5, 1 - 1e-5]
    cal = PitCalibration(pit, np.linspace(0, 1, 51), 1000, eps, np.array(OUT_LEVELS))
    q = adversarial_quantiles(4000, 15, 8, dtype)
    new = apply_calibration(q, levels, cal, 0.0, 3.0)
    out, ok, a = _calibration_steps(mixture_ppf, q, levels, cal, eps)
    if eps == 0.0:
        assert ok[0] > 0 and ok[-1] < a.size - 1
    expected = sanitize_quantiles(out.astype(dtype), 0.0, 3.0, 1e-4)
    assert new.dtype == expected.dtype == dtype
    np.testing.assert_array_equal(new, expected)
