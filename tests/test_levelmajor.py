"""The level-major kernels against the row-major reference code (tests/pdf_reference.py) on random
and adversarial quantiles: NaN and inf rows, unsorted rows, ties, piles at and beyond z_min / z_max."""

import itertools

import numpy as np
import pytest
from pdf_reference import ref_knots_with_invalid_rows, ref_sanitize_quantiles

from zshard.pdf import levelmajor
from zshard.pdf.representation import knots_with_invalid_rows, sanitize_quantiles

#: one float32 step near z = 3 (2.4e-7); the float32 repair may differ from the float64 one by a few
F32_TOL = 1e-6


def adversarial_quantiles(n: int, k: int, seed: int, dtype=np.float64) -> np.ndarray:
    """Quantile rows of every kind the pipeline meets, in blocks of n // 8 rows."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform(-0.2, 3.2, (n, 1))
    width = rng.uniform(1e-5, 0.3, (n, 1))
    q = centre + width * np.sort(rng.normal(size=(n, k)), axis=1)
    b = n // 8
    q[:b] = centre[:b] + width[:b] * rng.normal(size=(b, k))  # crossing (unsorted)
    q[b:2 * b] = np.round(q[b:2 * b], 2)  # ties
    q[2 * b:3 * b, : k // 2] = -0.5  # piled below z_min
    q[3 * b:4 * b, k // 2:] = 3.0  # piled at z_max
    q[4 * b:4 * b + 5] = np.nan
    q[4 * b + 5:4 * b + 10, rng.integers(0, k, 5)] = np.nan  # one NaN
    q[4 * b + 10:4 * b + 15, 0] = -np.inf
    q[4 * b + 15:4 * b + 20, -1] = np.inf
    q[5 * b:6 * b] = np.linspace(0.0, 3.0, k)  # evenly spread over the whole range: at both bounds
    q[6 * b:6 * b + 3] = 0.0  # everything at one bound
    q[6 * b + 3:6 * b + 6] = 3.0
    return q.astype(dtype)


@pytest.mark.parametrize("k", range(1, 34))
def test_sorting_network_sorts_every_zero_one_sequence(k):
    # 0-1 principle (Knuth, TAOCP vol. 3, 5.3.4): a comparator network that sorts every 0/1 input sorts all inputs
    if k <= 16:
        x = np.array(list(itertools.product([0.0, 1.0], repeat=k)), dtype=np.float32).T.copy()
    else:
        x = (np.random.default_rng(k).random((k, 50_000)) < np.random.default_rng(k + 1).random(50_000)).astype(
            np.float32)
    levelmajor.sort_levels(x)
    assert np.all(np.diff(x, axis=0) >= 0)


def test_sorting_network_equals_np_sort_with_ties_and_infinities():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(19, 4000)), 1)
    x[3, :50] = np.inf
    x[5, 50:100] = -np.inf
    expected = np.sort(x, axis=0)
    levelmajor.sort_levels(x)
    np.testing.assert_array_equal(x, expected)


@pytest.mark.parametrize("k", [2, 3, 15, 19])
@pytest.mark.parametrize("seed", [0, 1])
def test_knots_equal_the_row_major_reference_bit_for_bit(k, seed):
    levels = np.sort(np.random.default_rng(seed).uniform(0.001, 0.999, k))
    for dtype in (np.float32, np.float64):
        q = adversarial_quantiles(4000, k, seed, dtype)
        zk, ck, bad = knots_with_invalid_rows(q, levels, 0.0, 3.0)
        zr, cr, br = ref_knots_with_invalid_rows(q, levels, 0.0, 3.0)
        np.testing.assert_array_equal(bad, br)
        np.testing.assert_array_equal(ck, cr)
        np.testing.assert_array_equal(zk, zr)  # NaN rows compare equal
        assert zk.flags.c_contiguous and zk.dtype == np.float64


@pytest.mark.parametrize("k", [2, 3, 15, 19])
@pytest.mark.parametrize("density", [False, True])
def test_sanitize_equals_the_row_major_reference(k, density):
    levels = np.linspace(0.01, 0.99, k)
    kw = {"levels": levels, "max_density": 50.0} if density else {}
    q64 = adversarial_quantiles(4000, k, k, np.float64)
    # float64: the same expressions in the same order, the same bits
    np.testing.assert_array_equal(sanitize_quantiles(q64, 0.0, 3.0, **kw), ref_sanitize_quantiles(q64, 0.0, 3.0, **kw))
    # float32 is repaired in float32: within a few float32 steps of the float64 repair
    q32 = q64.astype(np.float32)
    new, ref = sanitize_quantiles(q32, 0.0, 3.0, **kw), ref_sanitize_quantiles(q32, 0.0, 3.0, **kw)
    assert new.dtype == np.float32 and new.flags.c_contiguous
    np.testing.assert_array_equal(np.isnan(new), np.isnan(ref))
    np.testing.assert_allclose(new, ref, rtol=0, atol=F32_TOL)
    ok = ~np.isnan(new[:, 0])
    assert new[ok].min() >= 0.0 and new[ok].max() <= 3.0
    # rows that need no repair come back bit for bit
    clean = np.isfinite(q32).all(axis=1) & (q32.min(axis=1) >= 0) & (q32.max(axis=1) <= 3)
    clean &= (np.diff(q32.astype(np.float64), axis=1) >= 1e-4 if not density else
              np.diff(q32.astype(np.float64), axis=1) >= np.maximum(1e-4, np.diff(levels) / 50.0)).all(axis=1)
    assert clean.sum() > 100
    np.testing.assert_array_equal(new[clean], q32[clean])


def test_sanitize_integer_input_and_impossible_spacing():
    assert sanitize_quantiles(np.array([[1, 1, 2]]), 0.0, 3.0).dtype == np.float64
    with pytest.raises(ValueError, match="cannot fit"):
        sanitize_quantiles(np.zeros((2, 5)), 0.0, 1e-4, min_spacing=1e-4)


def test_many_small_blocks_give_the_same_result(monkeypatch):
    levels = np.linspace(0.01, 0.99, 15)
    q = adversarial_quantiles(5000, 15, 7, np.float32)
    whole = sanitize_quantiles(q, 0.0, 3.0, levels=levels, max_density=50.0)
    knots_whole = knots_with_invalid_rows(q, levels, 0.0, 3.0)[0]
    monkeypatch.setattr(levelmajor, "BLOCK", 333)
    np.testing.assert_array_equal(sanitize_quantiles(q, 0.0, 3.0, levels=levels, max_density=50.0), whole)
    np.testing.assert_array_equal(knots_with_invalid_rows(q, levels, 0.0, 3.0)[0], knots_whole)
