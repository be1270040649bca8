"""Clustering redshifts (zshard.clustering) on a toy sky with injected clustering, and the Δz table."""

import math

import hpgeom
import numpy as np
import pytest

from zshard.clustering import (
    ClusteringConfig,
    WZResult,
    clustering_delta_z,
    clustering_nz,
    fit_power_law,
    footprint_pixels,
    healpix_patches,
    shift_matched_delta_z,
    uniform_randoms,
)
from zshard.config import with_defaults
from zshard.mock.fields import lognormal_delta_map
from zshard.sky import radec_to_healpix
from zshard.validation import delta_z_table, inverse_variance_combination


def _config(**settings) -> ClusteringConfig:
    """The config's default ``validation.clustering`` with ``settings`` over it."""
    return ClusteringConfig.from_dict(with_defaults(settings, "validation.clustering"))


ORDER = 6  # the toy's density fields and footprint: HEALPix nside 64 (0.84 deg² pixels)
SHELLS = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 1.1])  # independent density field per shell


def _footprint(radius_deg=10.0):
    vec = hpgeom.angle_to_vector(150.0, 2.0, lonlat=True, degrees=True)
    return np.sort(hpgeom.query_circle_vec(1 << ORDER, np.squeeze(vec), np.radians(radius_deg), nest=True))


def _place(rng, z, pixels, cdfs):
    """Positions of objects at redshifts z: pixel ∝ 1 + δ of their shell, uniform inside it."""
    shell = np.clip(np.searchsorted(SHELLS, z, side="right") - 1, 0, len(cdfs) - 1)
    pix = np.empty(z.size, dtype=np.int64)
    for s in range(len(cdfs)):
        m = shell == s
        pix[m] = pixels[np.minimum(np.searchsorted(cdfs[s], rng.random(m.sum())), pixels.size - 1)]
    ra = np.empty(z.size)
    dec = np.empty(z.size)
    for p in np.unique(pix):  # uniform inside the pixel: the toy's randoms machinery, per pixel
        m = pix == p
        ra[m], dec[m] = uniform_randoms(np.array([p]), ORDER, m.sum(), rng)
    return ra, dec


@pytest.fixture(scope="module")
def toy():
    """A 300 deg² sky of 5 independent lognormal shells; reference flat in z, two unknown bins."""
    rng = np.random.default_rng(7)
    pixels = _footprint()
    cdfs = []
    for s in range(SHELLS.size - 1):
        delta = lognormal_delta_map(1 << ORDER, 0.6, np.random.default_rng([7, s]))[pixels]
        cdf = np.cumsum(1.0 + delta)
        cdfs.append(cdf / cdf[-1])
    ref_z = rng.uniform(0.1, 1.1, 6000)
    z0 = rng.normal(0.40, 0.08, 15000)        # bin 0: mostly shells 0–1
    z1 = rng.normal(0.80, 0.10, 15000)        # bin 1: mostly shells 3–4
    unk_z = np.concatenate([z0, z1])
    unk_bin = np.repeat([0, 1], [z0.size, z1.size])
    keep = (unk_z > 0.1) & (unk_z < 1.1)
    unk_z, unk_bin = unk_z[keep], unk_bin[keep]
    ref_ra, ref_dec = _place(rng, ref_z, pixels, cdfs)
    unk_ra, unk_dec = _place(rng, unk_z, pixels, cdfs)
    config = _config(zmin=0.1, zmax=1.1, n_slices=5, rmin_kpc=1000.0, rmax_kpc=8000.0, n_patches=8,
                     randoms_factor=3.0, footprint_order=ORDER, window_sigma=0.0)
    result = clustering_nz(ref_ra, ref_dec, ref_z, unk_ra, unk_dec, unk_bin, 3, config, seed=1)
    return {"result": result, "config": config, "unk_z": unk_z, "unk_bin": unk_bin}


def test_recovers_the_injected_redshift_distribution(toy):
    result, unk_z, unk_bin = toy["result"], toy["unk_z"], toy["unk_bin"]
    edges = result.slice_edges
    for b in (0, 1):
        true_fraction = np.histogram(unk_z[unk_bin == b], bins=edges)[0] / np.sum(unk_bin == b)
        amp = result.amplitude[b]
        wz_fraction = amp / amp.sum()
        jk = result.samples[b] / result.samples[b].sum(axis=1, keepdims=True)
        sigma = np.sqrt((jk.shape[0] - 1) * np.var(jk, axis=0))
        # The shells the bin lives in carry its clustering signal, the empty ones none (within errors).
        assert np.all(np.abs(wz_fraction - true_fraction) < 3 * sigma + 0.05), (b, wz_fraction, true_fraction, sigma)
        assert np.all(sigma < 0.2)
        assert np.argmax(wz_fraction) == np.argmax(true_fraction)
        assert wz_fraction[np.argmax(true_fraction)] > 0.5


def test_delta_z_of_a_shifted_photometric_nz_is_recovered_with_a_sensible_error(toy):
    result, config, unk_z, unk_bin = toy["result"], toy["config"], toy["unk_z"], toy["unk_bin"]
    grid = np.arange(0.005, 3.0, 0.01)
    shift = 0.06  # the photo-z n(z) is the true one moved down by 0.06: Δz = +0.06
    nz_phot = np.array([np.histogram(unk_z[unk_bin == b] - shift, bins=np.arange(0, 3.001, 0.01), density=True)[0]
                        for b in (0, 1)] + [np.zeros(grid.size)])
    rows = clustering_delta_z(result, grid, nz_phot, config, bin_edges=[0.0, 0.6, 1.0, 1.2])
    for row in rows[:2]:
        assert math.isfinite(row["delta_z"]) and math.isfinite(row["error"])
        assert 0.002 < row["error"] < 0.08, row
        assert abs(row["delta_z"] - shift) < 3 * row["error"], row
        assert row["z_range"] == [0.1, pytest.approx(1.1)]
    # bin 2 has no objects at all: reported, not an exception
    assert math.isnan(rows[2]["delta_z"]) and "no objects" in rows[2]["note"]


def test_a_bin_outside_the_reference_range_is_flagged():
    edges = np.linspace(0.1, 1.1, 6)
    amp = np.array([[0.1, 0.5, 0.3, 0.1, 0.0]])
    result = WZResult(slice_edges=edges, amplitude=amp, samples=np.repeat(amp[:, None, :], 4, axis=1),
                      w_rr=np.ones(5), w_rr_used=np.ones(5), w_ur=amp, n_reference=np.full(5, 100),
                      n_unknown=np.array([1000]))
    grid = np.arange(0.005, 3.0, 0.01)
    nz = np.exp(-0.5 * ((grid - 2.2) / 0.1) ** 2)[None, :]
    (row,) = clustering_delta_z(result, grid, nz / (nz.sum() * 0.01), _config())
    assert math.isnan(row["delta_z"]) and row["overlap"] < 0.01
    assert "no overlap" in row["note"]


def test_the_bias_evolution_term_is_the_half_difference_of_tilted_amplitudes():
    edges = np.linspace(0.1, 1.5, 29)
    centres = 0.5 * (edges[1:] + edges[:-1])
    grid = np.arange(0.005, 3.0, 0.01)
    nz = np.exp(-0.5 * ((grid - 0.7) / 0.12) ** 2)
    nz /= nz.sum() * 0.01
    amp = np.interp(centres, grid, nz)[None, :]
    rng = np.random.default_rng(3)
    samples = amp[:, None, :] * (1 + 0.02 * rng.standard_normal((1, 8, centres.size)))
    result = WZResult(slice_edges=edges, amplitude=amp, samples=samples, w_rr=np.ones(28), w_rr_used=np.ones(28),
                      w_ur=amp, n_reference=np.full(28, 100), n_unknown=np.array([1000]))
    (plain,) = clustering_delta_z(result, grid, nz[None, :], _config(window_sigma=2.0, bias_evolution_sigma=0.0))
    (tilted,) = clustering_delta_z(result, grid, nz[None, :], _config(window_sigma=2.0, bias_evolution_sigma=1.0))
    assert plain["error_bias_evolution"] == 0 and plain["error"] == plain["error_jackknife"] > 0
    assert tilted["delta_z"] == plain["delta_z"] and abs(plain["delta_z"]) < 2e-3
    # (1+z)^±1 over a Gaussian of σ 0.12 at 0.7 moves its mean by about ±σ²/(1+z) = ±0.0085
    assert tilted["error_bias_evolution"] == pytest.approx(0.12 ** 2 / 1.7, rel=0.25)
    assert tilted["error"] == pytest.approx(math.hypot(tilted["error_jackknife"], tilted["error_bias_evolution"]))
    with pytest.raises(ValueError, match="bias_evolution_sigma"):
        _config(bias_evolution_sigma=-1.0)


def test_the_w_rr_fit_follows_a_slope_that_changes_with_z():
    z = np.linspace(0.125, 1.475, 28)
    x = np.log1p(z)
    truth = np.exp(-1.0 + 3.0 * x - 2.5 * x ** 2)  # rises, then flattens: not a power law
    sigma = 0.02 * truth
    noisy = truth + sigma * np.random.default_rng(0).standard_normal(z.size)
    curved, straight = fit_power_law(z, noisy, sigma, 2), fit_power_law(z, noisy, sigma, 1)
    np.testing.assert_allclose(curved, truth, rtol=0.03)
    assert np.max(np.abs(straight / truth - 1)) > 0.1
    power = 0.5 * (1 + z) ** 1.3
    np.testing.assert_allclose(fit_power_law(z, power, 0.01 * power, 1), power, rtol=1e-6)
    assert np.all(np.isnan(fit_power_law(z[:3], power[:3], 0.01 * power[:3], 2)))


def test_shift_match_equals_the_mean_difference_inside_a_wide_window():
    grid = np.arange(0.005, 3.0, 0.01)
    edges = np.linspace(0.0, 3.0, 61)
    nz = np.exp(-0.5 * ((grid - 1.0) / 0.1) ** 2)
    centres = 0.5 * (edges[1:] + edges[:-1])
    mass = np.interp(centres, grid, nz)
    target = float(np.sum(mass * centres) / mass.sum()) + 0.037
    assert shift_matched_delta_z(target, grid, nz, edges, slice(0, 60)) == pytest.approx(0.037, abs=2e-3)
    assert math.isnan(shift_matched_delta_z(math.nan, grid, nz, edges, slice(0, 60)))


def test_footprint_randoms_and_patches():
    rng = np.random.default_rng(3)
    pixels = _footprint(5.0)
    ra, dec = uniform_randoms(pixels, ORDER, 20000, rng)
    assert np.isin(radec_to_healpix(ra, dec, ORDER), pixels).all()
    np.testing.assert_array_equal(footprint_pixels(ra, dec, ORDER), pixels)
    patches = healpix_patches(pixels, 7)
    sizes = np.bincount(patches)
    assert sizes.size == 7 and sizes.max() - sizes.min() <= 1  # equal areas
    assert np.all(np.diff(patches) >= 0)                        # runs along the NESTED index
    with pytest.raises(ValueError, match="patches"):
        healpix_patches(pixels[:5], 7)


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="zmin < zmax"):
        ClusteringConfig(**{**_config().to_dict(), "zmin": 1.0, "zmax": 0.5})
    with pytest.raises(ValueError, match="bias_correction"):
        ClusteringConfig(**{**_config().to_dict(), "bias_correction": "none"})
    with pytest.raises(ValueError, match="unknown clustering settings"):
        ClusteringConfig.from_dict({"enabled": True, "n_slice": 3})
    config = _config(n_slices=5, n_patches=4, footprint_order=ORDER)
    ra = np.array([150.0, 151.0])
    with pytest.raises(ValueError, match="1-d arrays of one length"):
        clustering_nz(ra, ra[:1], ra, ra, ra, np.array([0, 0]), 1, config)
    with pytest.raises(ValueError, match="too few"):
        clustering_nz(ra, np.zeros(2), np.array([0.5, 0.6]), ra, np.zeros(2), np.array([0, 0]), 1, config)
    with pytest.raises(ValueError, match="integer"):
        clustering_nz(ra, np.zeros(2), np.array([0.5, 0.6]), ra, np.zeros(2), np.array([0.0, 1.0]), 1, config)


def test_inverse_variance_combination():
    value, error = inverse_variance_combination([0.01, 0.04], [0.01, 0.02])
    assert value == pytest.approx((0.01 / 1e-4 + 0.04 / 4e-4) / (1 / 1e-4 + 1 / 4e-4))
    assert error == pytest.approx((1 / 1e-4 + 1 / 4e-4) ** -0.5)
    assert inverse_variance_combination([0.02, np.nan], [0.01, 0.01]) == pytest.approx((0.02, 0.01))
    assert all(math.isnan(v) for v in inverse_variance_combination([np.nan], [0.01]))
    with pytest.raises(ValueError):
        inverse_variance_combination([0.0, 1.0], [1.0])


def test_delta_z_table_layout():
    cosmos = {"bins": [{"bin": 0, "delta_z": 0.01, "sigma_total": 0.01}, {"bin": 1, "delta_z": None,
                                                                           "sigma_total": None}]}
    wz = {"bins": [{"bin": 0, "delta_z": 0.03, "error": 0.01, "z_range": [0.1, 0.6]},
                   {"bin": 1, "delta_z": 0.02, "error": 0.02, "z_range": [0.5, 1.0]}]}
    rows = delta_z_table([0.2, 0.5, 0.9], cosmos=cosmos, clustering=wz, truth=None, tension_sigma=3.0,
                         combination="inverse_variance")
    assert [r["bin"] for r in rows] == [0, 1] and rows[1]["z_lo"] == 0.5
    assert rows[0]["combined"]["delta_z"] == pytest.approx(0.02)
    assert rows[0]["combined"]["error"] == pytest.approx(0.01 / math.sqrt(2))
    assert rows[1]["combined"]["delta_z"] == pytest.approx(0.02)  # only WZ has a value
    assert rows[0]["truth"] is None and rows[0]["wz"]["z_range"] == [0.1, 0.6]
    # the methods compared: (0.01 - 0.03) / sqrt(2) / 0.01 = -1.41 sigma, no tension; bin 1 has no cosmos value
    assert rows[0]["consistency"]["n_sigma"] == pytest.approx(-math.sqrt(2))
    assert rows[0]["consistency"]["tension"] is False and rows[1]["consistency"]["tension"] is None
    assert rows[0]["cosmos"]["terms"]["bootstrap"] != rows[0]["cosmos"]["terms"]["bootstrap"]  # NaN: not given
    strict = delta_z_table([0.2, 0.5, 0.9], cosmos=cosmos, clustering=wz, tension_sigma=1.0,
                           combination="inverse_variance")
    assert strict[0]["consistency"]["tension"] is True
    only_truth = delta_z_table([0.2, 0.5], truth={"bins": [{"bin": 0, "delta_z_true": 0.005}]}, tension_sigma=3.0,
                               combination="range_split")
    assert only_truth[0]["cosmos"] is None and only_truth[0]["truth"]["delta_z"] == 0.005
    assert only_truth[0]["consistency"] is None
    assert math.isnan(only_truth[0]["combined"]["delta_z"])
