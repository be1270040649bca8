import os

import numpy as np
import pytest
from astropy.io import fits

from zshard.tomography.binning import assign_bins, edges_from_json, equal_number_edges
from zshard.tomography.cuts import CUT_NAMES, selection_cuts
from zshard.tomography.partial import NzPartial, default_grid_edges, partial_nz
from zshard.tomography.reduction import reduce_partials
from zshard.tomography.writers import write_nz_fits, write_nz_sacc, write_nz_text

EDGES = np.array([0.2, 0.43, 0.63, 0.9, 1.3])
GRID = np.linspace(0.0, 2.0, 41)  # 40 cells of width 0.05


def _random_catalogue(n, seed=1):
    """Per-object grid probabilities (rows sum to <= 1), point estimates and weights."""
    rng = np.random.default_rng(seed)
    raw = rng.random((n, GRID.size - 1)) ** 4
    pz = raw / raw.sum(axis=1, keepdims=True) * rng.uniform(0.9, 1.0, (n, 1))
    z = rng.uniform(0.0, 1.6, n)
    z[rng.random(n) < 0.05] = np.nan
    w = rng.uniform(0.5, 2.0, n)
    return pz, z, w


def test_assign_bins_edges_and_outside():
    z = np.array([0.1, 0.2, 0.4299, 0.43, 0.63, 1.2999, 1.3, 2.0, np.nan, np.inf, -0.1])
    got = assign_bins(z, EDGES)
    np.testing.assert_array_equal(got, [-1, 0, 0, 1, 2, 3, -1, -1, -1, -1, -1])
    assert got.dtype == np.int64


def test_assign_bins_mask():
    z = np.array([0.3, 0.5, 0.7, 1.0])
    mask = np.array([True, False, True, False])
    np.testing.assert_array_equal(assign_bins(z, EDGES, mask=mask), [0, -1, 2, -1])
    with pytest.raises(ValueError):
        assign_bins(z, EDGES, mask=mask[:2])
    with pytest.raises(ValueError):
        assign_bins(z, [0.5, 0.3])


def test_defaults():
    g = default_grid_edges()
    assert g.size == 301 and g[0] == 0.0 and g[-1] == 3.0
    np.testing.assert_allclose(np.diff(g), 0.01)
    p = NzPartial(edges=EDGES)
    assert p.stacked.shape == (4, 300) and p.counts.sum() == 0


def test_partial_nz_known_answer():
    grid = np.array([0.0, 0.5, 1.0, 1.5])
    edges = np.array([0.0, 0.5, 1.0])
    pz = np.array([[1.0, 0.0, 0.0],
                   [0.5, 0.5, 0.0],
                   [0.0, 0.2, 0.8],
                   [0.3, 0.3, 0.4]])
    z = np.array([0.2, 0.4, 0.9, 1.4])
    bins = assign_bins(z, edges)
    np.testing.assert_array_equal(bins, [0, 0, 1, -1])
    w = np.array([1.0, 3.0, 2.0, 5.0])
    p = partial_nz(pz, z, bins, edges, grid, weights=w)
    np.testing.assert_array_equal(p.counts, [2, 1])
    np.testing.assert_allclose(p.weight_sums, [4.0, 2.0])
    np.testing.assert_allclose(p.stacked, [[2.5, 1.5, 0.0], [0.0, 0.4, 1.6]])
    np.testing.assert_allclose(p.z_point_sums, [0.2 + 1.2, 1.8])
    assert p.n_objects == 4

    res = reduce_partials([p])
    # bin 0: masses 2.5, 1.5 of 4 -> densities 0.625/0.5, 0.375/0.5
    np.testing.assert_allclose(res.nz[0], [1.25, 0.75, 0.0])
    np.testing.assert_allclose((res.nz * 0.5).sum(axis=1), 1.0)
    np.testing.assert_allclose(res.mean_z, [0.25 * 0.625 + 0.75 * 0.375, 0.75 * 0.2 + 1.25 * 0.8])
    np.testing.assert_allclose(res.mean_z_point, [1.4 / 4, 0.9])
    np.testing.assert_allclose(res.grid_centres, [0.25, 0.75, 1.25])


def test_partial_nz_validation():
    pz, z, w = _random_catalogue(10)
    bins = assign_bins(z, EDGES)
    with pytest.raises(ValueError, match="pz_grid"):
        partial_nz(pz[:, :-1], z, bins, EDGES, GRID)
    bad = bins.copy()
    bad[0] = 7
    with pytest.raises(ValueError, match="bin indices"):
        partial_nz(pz, z, bad, EDGES, GRID)
    with pytest.raises(ValueError, match="weights"):
        partial_nz(pz, z, bins, EDGES, GRID, weights=-w)
    pz_nan = pz.copy()
    pz_nan[np.flatnonzero(bins >= 0)[0]] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        partial_nz(pz_nan, z, bins, EDGES, GRID)
    # NaN p(z) of an unbinned object is ignored
    pz_nan = pz.copy()
    pz_nan[np.flatnonzero(bins < 0)] = np.nan
    partial_nz(pz_nan, z, bins, EDGES, GRID)


def test_reduce_of_random_splits_equals_single_pass():
    n = 600
    pz, z, w = _random_catalogue(n, seed=3)
    bins = assign_bins(z, EDGES)
    single = reduce_partials(partial_nz(pz, z, bins, EDGES, GRID, weights=w))

    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, n)
    parts = [partial_nz(pz[labels == k], z[labels == k], bins[labels == k], EDGES, GRID,
                        weights=w[labels == k]) for k in range(3)]
    split = reduce_partials(parts[::-1])  # order does not matter
    np.testing.assert_allclose(split.nz, single.nz, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(split.mean_z, single.mean_z, rtol=1e-12)
    np.testing.assert_array_equal(split.counts, single.counts)
    np.testing.assert_allclose(split.mean_z_point, single.mean_z_point, rtol=1e-12)
    assert split.n_objects == single.n_objects == n
    np.testing.assert_allclose((single.nz * np.diff(GRID)).sum(axis=1), 1.0)
    # the sum via + agrees with combine
    np.testing.assert_allclose((parts[0] + parts[1] + parts[2]).stacked,
                               NzPartial.combine(parts).stacked)
    # the mean of the stacked n(z) equals the weighted mean of the per-object means
    centres = 0.5 * (GRID[1:] + GRID[:-1])
    for i in range(4):
        sel = bins == i
        obj_mass = pz[sel].sum(axis=1)
        # each object's normalised weight in the stack is w * mass / total
        expected = (w[sel] * (pz[sel] @ centres)).sum() / (w[sel] * obj_mass).sum()
        assert single.mean_z[i] == pytest.approx(expected, rel=1e-12)


def test_empty_bin_is_zero_with_nan_mean():
    pz, z, w = _random_catalogue(50)
    z = np.clip(z, 0.0, 0.5)
    bins = assign_bins(z, EDGES)
    res = reduce_partials(partial_nz(pz, z, bins, EDGES, GRID))
    assert res.counts[3] == 0
    assert np.all(res.nz[3] == 0) and np.isnan(res.mean_z[3])


def test_combine_mismatch_names_the_field():
    pz, z, w = _random_catalogue(20)
    bins = assign_bins(z, EDGES)
    a = partial_nz(pz, z, bins, EDGES, GRID)
    other_edges = EDGES.copy()
    other_edges[2] = 0.65
    b = partial_nz(pz, z, assign_bins(z, other_edges), other_edges, GRID)
    with pytest.raises(ValueError, match="bin edges"):
        a + b
    c = NzPartial(edges=EDGES, grid_edges=np.linspace(0.0, 2.0, 21))
    with pytest.raises(ValueError, match="grid_edges"):
        NzPartial.combine([a, c])
    with pytest.raises(ValueError):
        NzPartial.combine([])


def test_npz_round_trip_atomic_and_no_suffix(tmp_path):
    pz, z, w = _random_catalogue(30)
    p = partial_nz(pz, z, assign_bins(z, EDGES), EDGES, GRID, weights=w)
    for name in ("part.npz", "part_without_suffix"):
        path = tmp_path / name
        assert p.to_npz(path) == str(path)
        assert path.exists()
        q = NzPartial.from_npz(path)
        for attr in ("edges", "grid_edges", "counts", "weight_sums", "stacked", "z_point_sums"):
            np.testing.assert_array_equal(getattr(q, attr), getattr(p, attr))
        assert q.n_objects == p.n_objects
    assert sorted(os.listdir(tmp_path)) == ["part.npz", "part_without_suffix"]


def _result():
    pz, z, w = _random_catalogue(200, seed=5)
    return reduce_partials(partial_nz(pz, z, assign_bins(z, EDGES), EDGES, GRID, weights=w))


def test_write_nz_fits(tmp_path):
    res = _result()
    path = tmp_path / "nz.fits"
    assert write_nz_fits(path, res) == str(path)
    assert os.listdir(tmp_path) == ["nz.fits"]
    with fits.open(path) as hdul:
        ext = hdul["NZ_SOURCE"]
        assert ext.header["NZDATA"] is True  # the twopoint sentinel of n(z) extensions
        assert ext.header["NBIN"] == 4
        assert ext.header["NZ"] == GRID.size - 1
        names = ext.columns.names
        assert names == ["Z_LOW", "Z_MID", "Z_HIGH", "BIN1", "BIN2", "BIN3", "BIN4"]
        np.testing.assert_allclose(ext.data["Z_LOW"], GRID[:-1])
        np.testing.assert_allclose(ext.data["Z_HIGH"], GRID[1:])
        for i in range(4):
            np.testing.assert_allclose(ext.data[f"BIN{i + 1}"], res.nz[i])
            assert ext.header[f"NGAL_{i + 1}"] == res.counts[i]
            assert ext.header[f"MEAN_Z_{i + 1}"] == pytest.approx(res.mean_z[i])


def test_write_nz_text(tmp_path):
    res = _result()
    path = tmp_path / "nz.txt"
    write_nz_text(path, res)
    assert os.listdir(tmp_path) == ["nz.txt"]
    data = np.loadtxt(path)
    assert data.shape == (GRID.size - 1, 5)
    np.testing.assert_allclose(data[:, 0], res.grid_centres)
    np.testing.assert_allclose(data[:, 1:].T, res.nz, rtol=1e-7)
    text = path.read_text()
    assert text.startswith("# ") and "columns: z_mid bin1 bin2 bin3 bin4" in text


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    res = _result()

    def boom(fname, *args, **kwargs):
        with open(fname, "w") as fh:
            fh.write("partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savetxt", boom)
    with pytest.raises(OSError):
        write_nz_text(tmp_path / "nz.txt", res)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Equal-number edges, selection cuts, cut counts, SACC
# --------------------------------------------------------------------------------------------
def test_equal_number_edges_equal_counts_monotone_deterministic():
    rng = np.random.default_rng(11)
    z = rng.gamma(3.0, 0.25, 20_003)
    z[rng.random(z.size) < 0.01] = np.nan
    edges = equal_number_edges(z, 5, (0.2, 1.3))
    assert edges.shape == (6,) and edges[0] == 0.2 and edges[-1] == 1.3
    assert np.all(np.diff(edges) > 0)
    counts = np.bincount(assign_bins(z, edges)[assign_bins(z, edges) >= 0], minlength=5)
    assert counts.max() - counts.min() <= 1, counts
    in_range = np.isfinite(z) & (z >= 0.2) & (z < 1.3)
    assert counts.sum() == in_range.sum()
    # deterministic, and independent of the order of the objects
    np.testing.assert_array_equal(edges, equal_number_edges(z, 5, (0.2, 1.3)))
    np.testing.assert_array_equal(edges, equal_number_edges(rng.permutation(z), 5, (0.2, 1.3)))
    # a second draw of the same population gives nearly the same edges (counts within tolerance)
    other = rng.gamma(3.0, 0.25, 20_003)
    counts_other = np.bincount(assign_bins(other, edges)[assign_bins(other, edges) >= 0], minlength=5)
    assert np.all(np.abs(counts_other / counts_other.mean() - 1) < 0.05), counts_other
    # one bin: the range itself
    np.testing.assert_array_equal(equal_number_edges(z, 1, (0.2, 1.3)), [0.2, 1.3])


def test_equal_number_edges_mask_and_errors():
    z = np.linspace(0.0, 2.0, 1001)
    mask = z < 1.0
    edges = equal_number_edges(z, 4, (0.0, 2.0), mask=mask)
    assert edges[-2] < 1.0  # only the masked-in half sets the inner edges
    counts = np.bincount(assign_bins(z[mask], edges), minlength=4)
    assert counts[:3].max() - counts[:3].min() <= 1
    with pytest.raises(ValueError, match="only 2 objects"):
        equal_number_edges([0.5, 0.6], 4, (0.0, 1.0))
    with pytest.raises(ValueError, match="strictly increasing"):
        equal_number_edges(np.full(100, 0.5), 4, (0.0, 1.0))
    with pytest.raises(ValueError):
        equal_number_edges(z, 0, (0.0, 1.0))
    with pytest.raises(ValueError):
        equal_number_edges(z, 2, (1.0, 0.5))
    with pytest.raises(ValueError):
        equal_number_edges(z, 2, (0.0, 1.0), mask=mask[:10])


def test_edges_from_json():
    np.testing.assert_array_equal(edges_from_json({"mode": "fixed", "edges": [0.2, 0.5, 1.0]}), [0.2, 0.5, 1.0])
    with pytest.raises(ValueError):
        edges_from_json({"edges": [0.5, 0.2]})


def test_selection_cuts():
    cov = np.array([True, False, True, True, False, True])
    mag = np.array([22.0, 23.0, 25.0, np.nan, 26.0, 24.5])
    keep, failed = selection_cuts(6)
    assert keep.all() and failed == {"in_coverage": 0, "mag_max": 0, "any": 0}
    keep, failed = selection_cuts(6, in_coverage=cov)
    np.testing.assert_array_equal(keep, cov)
    assert failed == {"in_coverage": 2, "mag_max": 0, "any": 2}
    keep, failed = selection_cuts(6, magnitude=mag, mag_max=24.5)  # NaN (non-detection) fails; <= keeps
    np.testing.assert_array_equal(keep, [True, True, False, False, False, True])
    assert failed == {"in_coverage": 0, "mag_max": 3, "any": 3}
    keep, failed = selection_cuts(6, in_coverage=cov, magnitude=mag, mag_max=24.5)
    np.testing.assert_array_equal(keep, [True, False, False, False, False, True])
    assert failed == {"in_coverage": 2, "mag_max": 3, "any": 4}
    # failing objects get bin -1
    z = np.array([0.3, 0.3, 0.3, 0.3, 0.3, 0.3])
    np.testing.assert_array_equal(assign_bins(z, EDGES, mask=keep), [0, -1, -1, -1, -1, 0])
    with pytest.raises(ValueError):
        selection_cuts(6, magnitude=None, mag_max=24.0)
    with pytest.raises(ValueError):
        selection_cuts(5, in_coverage=cov)


def test_cut_counts_add_up_and_round_trip(tmp_path):
    pz, z, w = _random_catalogue(40)
    keep, failed = selection_cuts(40, in_coverage=np.arange(40) % 4 != 0)
    bins = assign_bins(z, EDGES, mask=keep)
    a = partial_nz(pz, z, bins, EDGES, GRID, cuts_failed=failed)
    assert a.cut_counts.tolist() == [10, 0] and a.n_cut == 10 and CUT_NAMES == ("in_coverage", "mag_max")
    b = NzPartial.from_npz(a.to_npz(tmp_path / "a.npz"))
    np.testing.assert_array_equal(b.cut_counts, a.cut_counts)
    res = reduce_partials([a, b])
    assert res.cuts_failed == {"in_coverage": 20, "mag_max": 0, "any": 20}
    # a partial written before the cut counts existed reads as "no cuts"
    legacy = tmp_path / "legacy.npz"
    np.savez(legacy, edges=a.edges, grid_edges=a.grid_edges, counts=a.counts, weight_sums=a.weight_sums,
             stacked=a.stacked, z_point_sums=a.z_point_sums, n_objects=np.int64(a.n_objects))
    old = NzPartial.from_npz(legacy)
    assert old.n_cut == 0 and old.cut_counts.tolist() == [0, 0]
    path = tmp_path / "nz.fits"
    write_nz_fits(path, res)
    assert fits.getheader(path, "NZ_SOURCE")["NCUT"] == 20


def test_write_nz_sacc_reads_back_with_sacc(tmp_path):
    sacc = pytest.importorskip("sacc")
    pz, z, w = _random_catalogue(200, seed=5)
    z = np.clip(z, 0.0, 0.85)  # bin 4 empty
    res = reduce_partials(partial_nz(pz, z, assign_bins(z, EDGES), EDGES, GRID, weights=w))
    path = tmp_path / "nz.sacc.fits"
    assert write_nz_sacc(path, res) == str(path)
    assert os.listdir(tmp_path) == ["nz.sacc.fits"]
    s = sacc.Sacc.load_fits(str(path))
    assert sorted(s.tracers) == [f"source_{i}" for i in range(4)]
    for i in range(4):
        tracer = s.tracers[f"source_{i}"]
        assert tracer.tracer_type == "NZ" and tracer.quantity == "galaxy_shear"
        np.testing.assert_allclose(tracer.z, res.grid_centres)
        np.testing.assert_allclose(tracer.nz, res.nz[i])
        assert tracer.metadata["n_gal"] == res.counts[i]
        assert tracer.metadata["z_low"] == pytest.approx(EDGES[i])
        assert tracer.metadata["z_high"] == pytest.approx(EDGES[i + 1])
        if res.counts[i]:
            assert tracer.metadata["mean_z"] == pytest.approx(res.mean_z[i])
            # the SACC n(z) is a unit-area density whose mean is the reported mean z
            assert np.trapezoid(tracer.nz * tracer.z, tracer.z) / np.trapezoid(tracer.nz, tracer.z) == \
                pytest.approx(res.mean_z[i], abs=0.01)
        else:
            assert "mean_z" not in tracer.metadata and np.all(tracer.nz == 0)
    assert res.counts[3] == 0


def test_fits_and_text_load_as_cosmosis_does(tmp_path):
    """The reading steps of CosmoSIS's load_nz_fits (Z_MID, BIN1..NBIN) and load_nz (loadtxt, z first)."""
    res = _result()
    write_nz_fits(tmp_path / "nz.fits", res)
    write_nz_text(tmp_path / "nz.txt", res)
    with fits.open(tmp_path / "nz.fits") as hdul:
        ext = hdul["nz_source"]  # extension names are case-insensitive
        z = ext.data["Z_MID"]
        nz = np.array([ext.data[f"BIN{i + 1}"] for i in range(ext.header["NBIN"])])
    data = np.loadtxt(tmp_path / "nz.txt").T
    np.testing.assert_allclose(data[0], z)
    np.testing.assert_allclose(data[1:], nz, rtol=1e-7)
    assert nz.shape == (4, ext.header["NZ"])


def test_partial_from_pdfs_equals_the_grid_stack():
    """Stacking straight from the quantiles gives the grid path's sums, without the grid matrix."""
    from zshard.pdf.binned import bin_probabilities
    from zshard.tomography.partial import partial_nz_from_pdfs

    rng = np.random.default_rng(3)
    levels = np.array([0.01, 0.05, 0.16, 0.5, 0.84, 0.95, 0.99])
    centre = rng.uniform(0.1, 2.5, 500)
    quantiles = centre[:, None] + rng.uniform(0.05, 0.3, (500, 1)) * np.array([-2.3, -1.6, -1, 0, 1, 1.6, 2.3])
    grid = np.arange(0.0, 3.0 + 0.005, 0.01)
    bins = assign_bins(centre, EDGES)
    weights = rng.uniform(0.5, 2.0, 500)
    failed = {"any": 3, "in_coverage": 3}
    expected = partial_nz(bin_probabilities(quantiles, levels, grid, 0.0, 3.0), centre, bins, EDGES, grid,
                          weights=weights, cuts_failed=failed)
    got = partial_nz_from_pdfs(quantiles, levels, 0.0, 3.0, centre, bins, EDGES, grid, weights=weights,
                               cuts_failed=failed)
    np.testing.assert_allclose(got.stacked, expected.stacked, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got.counts, expected.counts)
    np.testing.assert_allclose(got.z_point_sums, expected.z_point_sums)
    assert got.n_objects == expected.n_objects == 500 and got.n_cut == expected.n_cut == 3
    with pytest.raises(ValueError, match="no valid p"):
        broken = quantiles.copy()
        broken[np.flatnonzero(bins >= 0)[0], 2] = np.nan
        partial_nz_from_pdfs(broken, levels, 0.0, 3.0, centre, bins, EDGES, grid)
