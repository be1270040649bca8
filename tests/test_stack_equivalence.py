"""pdf.binned.stack and tomography.partial.partial_nz_from_pdfs against the row-major reference
(tests/pdf_reference.py): the same knots, slope changes and cells, sums in another order."""

import numpy as np
import pytest
from pdf_reference import ref_stack
from test_levelmajor import adversarial_quantiles

from zshard.pdf import levelmajor
from zshard.pdf.binned import grid_cells, stack
from zshard.tomography.partial import partial_nz_from_pdfs


@pytest.mark.parametrize("grid", ["uniform", "arange", "offset", "irregular"])
def test_grid_cells_equal_searchsorted(grid):
    rng = np.random.default_rng(3)
    e = {"uniform": np.round(np.linspace(0.0, 3.0, 301), 10), "arange": np.arange(0.0, 3.005, 0.01),
         "offset": np.linspace(0.5, 2.0, 7), "irregular": np.sort(rng.uniform(0, 3, 40)) ** 2}[grid]
    z = np.concatenate([rng.uniform(-0.5, 3.5, 20_000), e, np.nextafter(e, -np.inf), np.nextafter(e, np.inf),
                        [0.0, 3.0, -1e300, 1e300]])
    np.testing.assert_array_equal(grid_cells(e, z), np.searchsorted(e, z, side="right"))
    z2 = z[:19_000].reshape(19, 1000)
    np.testing.assert_array_equal(grid_cells(e, z2), np.searchsorted(e, z2, side="right"))


@pytest.mark.parametrize("k", [2, 15, 19])
@pytest.mark.parametrize("weighted", [False, True])
def test_stack_equals_the_reference(k, weighted, monkeypatch):
    monkeypatch.setattr(levelmajor, "BLOCK", 700)
    levels = np.linspace(0.01, 0.99, k)
    q = adversarial_quantiles(4000, k, 7, np.float32)
    rng = np.random.default_rng(1)
    w = rng.uniform(0, 2, q.shape[0]) if weighted else None
    if weighted:
        w[::97] = np.nan  # skipped
    for e in (np.arange(0.0, 3.005, 0.01), np.linspace(0.3, 2.5, 12), np.sort(rng.uniform(-0.1, 3.1, 50))):
        new = stack(q, levels, e, weights=w)
        # chunked alike, summed in the same order (object by object): the same bits
        np.testing.assert_array_equal(new, ref_stack(q, levels, e, weights=w, chunk_size=700))
        # the reference's default chunks: another order of the sums, its own rounding noise (~1e-9 with
        # knots 1e-6 apart, i.e. slope changes of 1e6, in these adversarial rows)
        np.testing.assert_allclose(new, ref_stack(q, levels, e, weights=w), rtol=0, atol=1e-11 * q.shape[0])


def test_partial_from_pdfs_equals_the_reference_stack_per_bin(monkeypatch):
    monkeypatch.setattr(levelmajor, "BLOCK", 500)
    levels = np.array([0.001, 0.01, 0.05, 0.16, 0.25, 0.5, 0.75, 0.84, 0.95, 0.99, 0.999])
    q = adversarial_quantiles(6000, levels.size, 2, np.float32)
    bad = np.isnan(q).any(axis=1)
    rng = np.random.default_rng(4)
    edges = np.array([0.2, 0.5, 0.9, 1.4, 2.5])
    bins = np.where(bad, -1, rng.integers(-1, 4, q.shape[0]))
    w = rng.uniform(0, 3, q.shape[0])
    z = rng.uniform(0, 3, q.shape[0])
    grid = np.arange(0.0, 3.005, 0.01)
    p = partial_nz_from_pdfs(q, levels, 0.0, 3.0, z, bins, edges, grid, weights=w)
    for i in range(4):
        sel = bins == i
        ref = ref_stack(q[sel], levels, grid, weights=w[sel])
        np.testing.assert_allclose(p.stacked[i], ref, rtol=1e-12, atol=1e-11 * sel.sum())
    assert p.counts.tolist() == np.bincount(bins[bins >= 0], minlength=4).tolist()
