"""pdf.summary.summaries against the row-major reference (tests/pdf_reference.py)."""

import numpy as np
import pytest
from pdf_reference import ref_summaries
from test_levelmajor import adversarial_quantiles

from zshard.pdf import levelmajor
from zshard.pdf.summary import summaries


@pytest.mark.parametrize("k", [2, 3, 15, 19])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_summaries_equal_the_reference(k, dtype, monkeypatch):
    monkeypatch.setattr(levelmajor, "BLOCK", 1000)
    levels = np.linspace(0.02, 0.98, k)
    q = adversarial_quantiles(4000, k, 11, dtype)
    q[-200:] = np.round(q[-200:] * 50) / 50  # uint16-like codes: exact density ties
    new, ref = summaries(q, levels, 0.0, 3.0), ref_summaries(q, levels, 0.0, 3.0)
    assert list(new) == list(ref)
    for name in ref:
        np.testing.assert_array_equal(np.isnan(new[name]), np.isnan(ref[name]), err_msg=name)
        # the same knots, the same densities (bit for bit, so the same mode on ties); sums in another order
        np.testing.assert_allclose(new[name], ref[name], rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(new["z_mode"], ref["z_mode"])
    np.testing.assert_array_equal(new["z_median"], ref["z_median"])


def test_encode_quantiles_equals_the_reference(monkeypatch):
    from pdf_reference import ref_encode_quantiles

    from zshard.io.pdf_table import encode_quantiles

    monkeypatch.setattr(levelmajor, "BLOCK", 999)
    for dtype in (np.float32, np.float64):
        q = adversarial_quantiles(5000, 15, 5, dtype)
        q[:100] = np.linspace(0, 3, 65535 * 2)[:1500].reshape(100, 15)  # every half step: rounding ties
        np.testing.assert_array_equal(encode_quantiles(q, 0.0, 3.0), ref_encode_quantiles(q, 0.0, 3.0))


def test_decode_quantiles_equals_the_arithmetic():
    from zshard.io.pdf_table import QUANTILE_NAN_CODE, decode_quantiles

    every = np.arange(65536, dtype=np.uint16)
    for z_min, z_max in ((0.0, 3.0), (0.0, 6.0), (0.05, 2.5)):
        codes = np.concatenate([every[:65535], np.random.default_rng(0).integers(0, 65535, 65535)]).astype(
            np.uint16).reshape(-1, 15)
        codes[7, 3] = QUANTILE_NAN_CODE
        ref = (z_min + codes.astype(np.float64) * ((z_max - z_min) / 65534)).astype(np.float32)
        ref[(codes == QUANTILE_NAN_CODE).any(axis=1)] = np.nan
        new = decode_quantiles(codes, z_min, z_max)
        assert new.dtype == np.float32
        np.testing.assert_array_equal(new, ref)  # the same bits (NaN where NaN)
        np.testing.assert_array_equal(decode_quantiles(codes.astype(np.int64), z_min, z_max), ref)
