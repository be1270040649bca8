"""Tests of zshard.mock (the seeded mock survey)."""

from __future__ import annotations

import os
from pathlib import Path

import healpy as hp
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.table import Table
from scipy import integrate

from zshard.io.ids import id_hash_unit
from zshard.mock import fields, layout, population, seds, selection
from zshard.mock.config import SAMPLE_CAPS, MockConfig, SpeczCampaign
from zshard.mock.survey import generate_survey

N_OBJ = 20_000
BANDS = ("u", "g", "r", "i", "z", "y")


def _cfg(**kw) -> MockConfig:
    base = dict(n_objects=N_OBJ, n_files=3, nside=64, batch_size=2500, seed=7)
    base.update(kw)
    return MockConfig(**base)


def _generate(cfg: MockConfig, outdir) -> dict:
    outdir = str(outdir)
    paths = layout.photometry_paths(outdir, cfg.n_files, cfg.formats)
    summary = generate_survey(
        cfg,
        paths,
        os.path.join(outdir, "specz.parquet"),
        os.path.join(outdir, "deep.parquet"),
        os.path.join(outdir, "clustering.parquet"),
        os.path.join(outdir, "truth.parquet"),
    )
    return {"summary": summary, "paths": paths, "dir": outdir}


def _read_phot(path: str):
    if path.endswith(".fits"):
        t = Table.read(path, hdu=1)
        return {c: np.asarray(t[c]) for c in t.colnames}
    t = pq.read_table(path)
    return {c: t[c].to_numpy() for c in t.column_names}


def _read_pq(path: str):
    t = pq.read_table(path)
    return {c: t[c].to_numpy() for c in t.column_names}


def _concat(dicts):
    return {k: np.concatenate([d[k] for d in dicts]) for k in dicts[0]}


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    cfg = _cfg()
    out = _generate(cfg, tmp_path_factory.mktemp("mock_a"))
    out["cfg"] = cfg
    out["phot_files"] = [_read_phot(p) for p in out["paths"]]
    out["phot"] = _concat(out["phot_files"])
    for name in ("specz", "deep", "clustering", "truth"):
        out[name] = _read_pq(os.path.join(out["dir"], f"{name}.parquet"))
    # truth aligned on the photometric ids
    order = np.argsort(out["truth"]["id"])
    out["truth_by_id"] = {k: v[order] for k, v in out["truth"].items()}
    return out


def _truth_of(survey, ids):
    t = survey["truth_by_id"]
    pos = np.searchsorted(t["id"], ids)
    assert np.array_equal(t["id"][pos], ids)
    return {k: v[pos] for k, v in t.items()}


def _phot_of(survey, ids):
    p = survey["phot"]
    order = np.argsort(p["id"])
    pos = order[np.searchsorted(p["id"], ids, sorter=order)]
    assert np.array_equal(p["id"][pos], ids)
    return {k: v[pos] for k, v in p.items()}


# --------------------------------------------------------------------------- config


def test_config_from_dict_rejects_unknown_and_round_trips():
    with pytest.raises(ValueError, match="unknown"):
        MockConfig.from_dict({"n_objects": 10, "n_objcts": 5})
    with pytest.raises(ValueError):
        MockConfig.from_dict({"depths": {"w": 25.0}})
    with pytest.raises(ValueError):
        MockConfig.from_dict({"specz_campaigns": [{"name": "x", "mag_max": 22, "frac": 0.1}]})
    cfg = MockConfig.from_dict(
        {
            "n_objects": 1000,
            "bands": ["g", "r", "i"],
            "depths": {"i": 25.0},
            "specz_campaigns": [{"name": "only", "mag_max": 21.5, "fraction": 0.5}],
        }
    )
    assert cfg.bands == ("g", "r", "i")
    assert cfg.depths["i"] == 25.0 and cfg.depths["g"] == 26.9
    assert cfg.specz_campaigns == (SpeczCampaign("only", 21.5, 0.5),)
    assert MockConfig.from_dict(cfg.to_dict()) == cfg
    assert MockConfig.from_dict({}) == MockConfig()


def test_generate_survey_validates_paths(tmp_path):
    cfg = _cfg(n_objects=100)
    d = str(tmp_path)
    extra = [os.path.join(d, n) for n in ("s.parquet", "d.parquet", "c.parquet", "t.parquet")]
    with pytest.raises(ValueError, match="n_files"):
        generate_survey(cfg, [os.path.join(d, "a.parquet")], *extra)
    bad = [os.path.join(d, f"p{k}.csv") for k in range(3)]
    with pytest.raises(ValueError, match="extension"):
        generate_survey(cfg, bad, *extra)
    only_pq = _cfg(n_objects=100, formats=("parquet",))
    with pytest.raises(ValueError, match="formats"):
        generate_survey(only_pq, [os.path.join(d, f"p{k}.fits") for k in range(3)], *extra)


# --------------------------------------------------------------------------- files


def test_counts_and_ids(survey):
    s = survey["summary"]
    sizes = [len(f["id"]) for f in survey["phot_files"]]
    assert sizes == [6666, 6666, 6668]  # last file takes the remainder
    assert sum(sizes) == N_OBJ == s["n_photometric"]
    assert s["n_per_file"] == sizes
    ids = survey["phot"]["id"]
    assert ids.dtype == np.int64
    assert np.unique(ids).size == N_OBJ
    assert np.array_equal(np.sort(ids), np.arange(N_OBJ))
    assert np.array_equal(np.sort(survey["truth"]["id"]), np.arange(N_OBJ))
    assert s["n_specz"] == len(survey["specz"]["id"]) > 0
    assert s["n_deep"] == len(survey["deep"]["id"]) > 0
    assert s["n_clustering_ref"] == len(survey["clustering"]["id"]) > 0
    assert sum(s["n_specz_per_campaign"].values()) == s["n_specz"]
    # truth: one row group per batch (6666 rows at batch_size 2500 -> 3 batches per file)
    assert pq.ParquetFile(os.path.join(survey["dir"], "truth.parquet")).num_row_groups == 9
    # atomic writes leave no temporary files behind
    expected = {os.path.basename(p) for p in survey["paths"]}
    expected |= {"specz.parquet", "deep.parquet", "clustering.parquet", "truth.parquet"}
    assert set(os.listdir(survey["dir"])) == expected


def test_formats_and_columns(survey):
    fmts = [p.rsplit(".", 1)[1] for p in survey["paths"]]
    assert fmts == ["parquet", "fits", "parquet"]
    canonical = ["id", "ra", "dec"] + [f"{p}_{b}" for b in BANDS for p in ("mag", "magerr")]
    for path, cols in zip(survey["paths"], survey["phot_files"]):
        assert list(cols) == canonical, path
        assert cols["id"].dtype.kind == "i"
        assert cols["ra"].dtype.itemsize == 8 and cols["dec"].dtype.itemsize == 8
        assert np.all(np.isfinite(cols["mag_i"]))
    # the FITS file (streamed in several batches) matches the truth rows by id
    f = survey["phot_files"][1]
    t = _truth_of(survey, f["id"])
    np.testing.assert_array_equal(f["ra"], t["ra"])
    np.testing.assert_array_equal(f["dec"], t["dec"])
    assert list(survey["specz"]) == canonical + ["z_spec"]
    assert list(survey["deep"]) == canonical + ["z_ref"]
    assert list(survey["clustering"]) == ["id", "ra", "dec", "z_spec"]
    assert list(survey["truth"]) == ["id", "ra", "dec", "z_true", "sed_type", "mag_i_true"]


def test_determinism(survey, tmp_path):
    again = _generate(survey["cfg"], tmp_path / "same")
    for p_a, p_b in zip(survey["paths"], again["paths"]):
        a, b = _read_phot(p_a), _read_phot(p_b)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    for name in ("specz", "deep", "clustering", "truth"):
        a = survey[name]
        b = _read_pq(os.path.join(again["dir"], f"{name}.parquet"))
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    assert again["summary"] == {**survey["summary"], "files": again["summary"]["files"]}

    other = _generate(_cfg(seed=8), tmp_path / "other")
    a = survey["phot_files"][0]
    b = _read_phot(other["paths"][0])
    assert not np.array_equal(a["ra"], b["ra"])
    assert not np.array_equal(a["mag_i"], b["mag_i"])


# --------------------------------------------------------------------------- photometry


def test_sentinels_and_error_consistency(survey):
    p = survey["phot"]
    nd = p["mag_u"] == population.NONDETECTION
    assert 0.005 < nd.mean() < 0.5  # some faint / high-z objects drop out of u
    # sentinel in mag <=> sentinel in magerr, in every band
    for b in BANDS:
        assert np.array_equal(p[f"mag_{b}"] == 99.0, p[f"magerr_{b}"] == 99.0)
        det = p[f"mag_{b}"] != 99.0
        # S/N >= 1 for detections => magerr <= 1.0857 (plus sigma_sys)
        assert np.all(p[f"magerr_{b}"][det] <= 1.0858 + 0.005)
    # u non-detections are fainter in truth than u detections
    t = _truth_of(survey, p["id"])
    assert np.median(t["mag_i_true"][nd]) > np.median(t["mag_i_true"][~nd])
    # detection band: every object has S/N >= 5, i.e. magerr_i <= 1.0857/5 (+sys)
    assert np.all(p["magerr_i"] <= np.hypot(1.0857 / 5, 0.005) + 1e-6)
    # i-band magerr matches the Ivezic et al. (2019) model at the true magnitude,
    # and the scatter of (m_obs - m_true)/magerr is ~1
    cfg = survey["cfg"]
    m_true = t["mag_i_true"]
    model = np.hypot(population.lsst_sigma_rand(m_true, cfg.depths["i"], cfg.gamma["i"]), cfg.sigma_sys)
    ratio = p["magerr_i"] / model
    assert abs(np.median(ratio) - 1.0) < 0.03
    pull = (p["mag_i"] - m_true) / p["magerr_i"]
    bright = m_true < 24.5
    assert abs(np.std(pull[bright]) - 1.0) < 0.1
    assert abs(np.median(pull[bright])) < 0.05


def test_observe_magnitudes_known_values():
    rng = np.random.default_rng(0)
    m5 = np.array([25.0])
    g = np.array([0.039])
    # at m = m5, sigma_rand = 0.2 (5 sigma)
    assert population.lsst_sigma_rand(np.array([25.0]), m5, g)[0] == pytest.approx(0.2)
    mag, err, snr = population.observe_magnitudes(rng, np.full((50_000, 1), 25.0), m5, g, 0.0)
    assert np.median(snr) == pytest.approx(1 / (0.2 / 1.0857), rel=0.02)
    # very faint sources are mostly non-detections with the 99 sentinel
    mag, err, snr = population.observe_magnitudes(rng, np.full((10_000, 1), 30.0), m5, g, 0.005)
    nd = mag == 99.0
    assert nd.mean() > 0.7
    assert np.all(err[nd] == 99.0) and np.all(snr[nd] < 1)


# --------------------------------------------------------------------------- population


def test_redshift_distribution(survey):
    cfg = survey["cfg"]
    z = survey["truth"]["z_true"]
    assert 0.5 < np.median(z) < 1.1
    assert z.max() <= cfg.z_max and z.min() >= cfg.z_min
    t = survey["truth"]["sed_type"]
    assert t.min() >= 0 and t.max() <= 7


def test_number_counts_slope(survey):
    m = survey["truth"]["mag_i_true"]
    assert m.min() >= 17.0 and m.max() <= 25.8
    n1 = np.sum((m >= 23.8) & (m < 24.8))
    n2 = np.sum((m >= 24.8) & (m < 25.8))
    assert n2 / n1 == pytest.approx(10**0.35, rel=0.1)


def test_hdfn_prior_components():
    f = population.hdfn_type_fractions(np.array([18.0, 20.0, 25.0]))
    np.testing.assert_allclose(f[0], [0.35, 0.50, 0.15])
    np.testing.assert_allclose(f[1], [0.35, 0.50, 0.15])
    np.testing.assert_allclose(f[2], [0.35 * np.exp(-0.45 * 5), 0.5 * np.exp(-0.147 * 5),
                                      1 - 0.35 * np.exp(-0.45 * 5) - 0.5 * np.exp(-0.147 * 5)])
    # sampled z vs numerical quantiles of p(z) ∝ z^a exp(-(z/zm)^a) truncated to [0.01, 2]
    rng = np.random.default_rng(1)
    for cls, m0 in ((0, 22.0), (2, 25.0)):
        a = (2.465, 1.806, 0.906)[cls]
        zm = (0.431, 0.390, 0.0626)[cls] + (0.0913, 0.0636, 0.123)[cls] * (m0 - 20)
        zg = np.linspace(0.01, 2.0, 20001)
        pdf = zg**a * np.exp(-((zg / zm) ** a))
        cdf = integrate.cumulative_trapezoid(pdf, zg, initial=0)
        cdf /= cdf[-1]
        z = population.draw_hdfn_redshifts(rng, np.full(40_000, m0), np.full(40_000, cls), 0.01, 2.0)
        for q in (0.1, 0.5, 0.9):
            assert np.quantile(z, q) == pytest.approx(np.interp(q, cdf, zg), abs=0.015)


# --------------------------------------------------------------------------- colours


def test_colours_physical():
    cm = seds.ColourModel(BANDS)
    iu, ig, ir, ii = (BANDS.index(b) for b in "ugri")
    # elliptical: the 4000 Å break moves from g into r -> redder g-r at z=0.4 than 0.1
    c = cm.colours(np.zeros(2), np.array([0.1, 0.4]))
    assert c[1, ig] - c[1, ir] > c[0, ig] - c[0, ir] + 0.4
    # reference band colour is identically zero
    assert np.all(cm.colours(np.array([0.0, 3.5, 6.9]), np.array([0.3, 1.2, 2.9]))[:, ii] == 0)
    # continuous SED space: t=0.5 is the mean of templates 0 and 1
    c0, c1, ch = (cm.colours(np.array([t]), np.array([0.7])) for t in (0.0, 1.0, 0.5))
    np.testing.assert_allclose(ch, 0.5 * (c0 + c1))
    # Lyman break: for star-forming templates the u band drops out at z ~ 3
    z = np.array([1.0, 3.0])
    for t in (3.0, 4.0, 5.0, 6.0):
        ug = cm.colours(np.full(2, t), z)
        ug = ug[:, iu] - ug[:, ig]
        assert ug[1] > ug[0] + 0.9
    # ... and the IGM (Madau 1995) makes it redder than the bare template
    no_igm = seds.colour_table(BANDS, np.array([3.0]), igm=False)
    with_igm = seds.colour_table(BANDS, np.array([3.0]), igm=True)
    for t in (3, 4, 5, 6, 7):
        ug_igm = with_igm[t, 0, iu] - with_igm[t, 0, ig]
        assert ug_igm > (no_igm[t, 0, iu] - no_igm[t, 0, ig]) + 0.2


def test_madau_igm_transmission():
    z = 3.0
    lam = np.array([1300.0 * 4, 1100.0 * 4, 950.0 * 4, 800.0 * 4, 700.0 * 4])
    tr = seds.madau_igm_transmission(lam, z)
    assert tr[0] == 1.0  # redward of Lyα: no absorption
    assert np.all(np.diff(tr) < 0)  # more absorption blueward
    assert 0.4 < tr[1] < 0.9  # Lyα forest: tens of per cent at z=3
    assert tr[4] < 0.3  # Lyman continuum
    # transmission increases with decreasing source redshift at fixed wavelength
    assert seds.madau_igm_transmission(4000.0, 2.5) > seds.madau_igm_transmission(4000.0, 3.5)


# --------------------------------------------------------------------------- samples


def test_specz_sample_is_biased(survey):
    s, p = survey["specz"], survey["phot"]
    assert np.unique(s["id"]).size == s["id"].size  # at most once
    assert np.median(s["mag_i"]) < np.median(p["mag_i"]) - 1.0
    assert s["mag_i"].max() < 24.0
    t = _truth_of(survey, s["id"])
    assert np.median(t["z_true"]) < np.median(survey["truth"]["z_true"]) - 0.1
    # same photometry as in the photometric catalogue
    ph = _phot_of(survey, s["id"])
    for b in BANDS:
        np.testing.assert_array_equal(s[f"mag_{b}"], ph[f"mag_{b}"])
        np.testing.assert_array_equal(s[f"magerr_{b}"], ph[f"magerr_{b}"])
    dz = np.abs(s["z_spec"] - t["z_true"]) / (1 + t["z_true"])
    assert np.mean(dz < 0.003) > 0.95
    assert np.mean(dz > 0.05) < 0.05


def test_specz_success_model_penalises_red_and_faint():
    cfg = MockConfig(nside=8, specz_campaigns=(("all", 24.0, 1.0),))
    n = 40_000
    mag = np.full((n, 6), 22.0, dtype=np.float32)
    mag[n // 2 :, 1] = 25.0  # g - i = 3 (red) for the second half
    idx, zs, camp = selection.select_specz(cfg, np.random.default_rng(3), mag, np.full(n, 0.5))
    blue = np.mean(idx < n // 2) * idx.size / (n // 2)
    red = np.mean(idx >= n // 2) * idx.size / (n // 2)
    p = 1 / (1 + np.exp(-2.0 / 0.4))
    assert blue == pytest.approx(p, abs=0.02)
    assert red == pytest.approx(0.6 * p, abs=0.02)


def test_deep_field(survey):
    cfg = survey["cfg"]
    d = survey["deep"]
    r_deep = fields.cap_radius_deg(cfg.deep_area_deg2)
    sep = fields.angular_separation_deg(d["ra"], d["dec"], cfg.ra0, cfg.dec0)
    assert np.all(sep <= r_deep)
    # complete: every photometric object inside the cap is in the deep field
    t = survey["truth"]
    inside = fields.angular_separation_deg(t["ra"], t["dec"], cfg.ra0, cfg.dec0) <= r_deep
    assert np.array_equal(np.sort(t["id"][inside]), np.sort(d["id"]))
    # same galaxies observed deeper: smaller errors, fewer u dropouts
    ph = _phot_of(survey, d["id"])
    assert np.median(d["magerr_i"]) < 0.6 * np.median(ph["magerr_i"])
    assert np.mean(d["mag_u"] == 99) <= np.mean(ph["mag_u"] == 99)
    tr = _truth_of(survey, d["id"])
    dz = np.abs(d["z_ref"] - tr["z_true"]) / (1 + tr["z_true"])
    assert np.mean(dz < 0.05) > 0.9


def test_clustering_reference(survey):
    c = survey["clustering"]
    t = _truth_of(survey, c["id"])
    assert np.all((t["z_true"] > 0.1) & (t["z_true"] < 1.5))
    assert np.all(_phot_of(survey, c["id"])["mag_i"] < 23.0)
    np.testing.assert_array_equal(c["ra"], t["ra"])
    assert np.all(np.abs(c["z_spec"] - t["z_true"]) < 0.01)


# --------------------------------------------------------------------------- sky


def test_lognormal_field():
    d = fields.lognormal_delta_map(64, 0.3, np.random.default_rng(5))
    assert d.size == hp.nside2npix(64)
    assert abs(d.mean()) < 0.02
    assert d.min() > -1.0
    assert np.var(np.log1p(d)) == pytest.approx(0.3, rel=0.1)
    # spatially correlated: neighbouring pixels are alike
    nb = hp.get_all_neighbours(64, np.arange(d.size), nest=True)[0]
    assert np.corrcoef(d, d[nb])[0, 1] > 0.2


def test_positions_in_footprint_and_clustered(survey):
    cfg = survey["cfg"]
    t = survey["truth"]
    r = fields.cap_radius_deg(cfg.area_deg2)
    sep = fields.angular_separation_deg(t["ra"], t["dec"], cfg.ra0, cfg.dec0)
    # pixelised cap: within the cap radius plus about one pixel
    assert sep.max() < r + 2 * hp.nside2resol(cfg.nside, arcmin=True) / 60
    model = fields.SkyModel(cfg)
    pix = hp.ang2pix(cfg.nside, t["ra"], t["dec"], nest=True, lonlat=True)
    assert np.all(np.isin(pix, model.footprint_pixels))
    # counts in footprint pixels for one shell: super-Poissonian and tracing δ
    s = 5  # 0.5 <= z < 0.6
    sel = (t["z_true"] >= model.shell_edges[s]) & (t["z_true"] < model.shell_edges[s + 1])
    pos = np.searchsorted(model.footprint_pixels, pix[sel])
    counts = np.bincount(pos, minlength=model.footprint_pixels.size)
    assert counts.var() > 1.3 * counts.mean()
    assert np.corrcoef(counts, model.shell_delta[s])[0, 1] > 0.3
    assert model.shell_delta.min() > -1


# --------------------------------------------------------------------------- sample caps


def test_capped_sample_keeps_the_smallest_hashes_whatever_the_batch_order():
    rng = np.random.default_rng(1)
    ids = rng.permutation(50_000).astype(np.int64)
    batches = np.array_split(ids, 37)

    def gather(parts, cap):
        sample = selection.CappedSample(cap, seed=11)
        for part in parts:
            sample.add(part, pa.table({"id": part}), extra=part % 3)
        kept = np.concatenate([t.column("id").to_numpy() for t in sample.tables()])
        np.testing.assert_array_equal(sample.extra(), kept % 3)  # the extra array follows its rows
        assert sample.n_selected == ids.size
        return kept

    kept = gather(batches, 1000)
    assert kept.size == 1000 and np.unique(kept).size == 1000
    expected = ids[np.argsort(id_hash_unit(ids, 11))[:1000]]
    assert set(kept) == set(expected)
    assert set(gather(batches[::-1], 1000)) == set(expected)  # independent of the order of batches
    # below the cap (or without one) every row stays, in the order added
    np.testing.assert_array_equal(gather(batches, ids.size), ids)
    np.testing.assert_array_equal(gather(batches, None), ids)


def test_capped_sample_is_an_unbiased_subsample():
    # a property of the rows (here a magnitude) has the same distribution after thinning
    rng = np.random.default_rng(2)
    ids = np.arange(200_000, dtype=np.int64)
    mag = rng.normal(22.0, 1.0, ids.size)
    sample = selection.CappedSample(20_000, seed=5)
    for part in np.array_split(ids, 10):
        sample.add(part, pa.table({"id": part, "mag": mag[part]}))
    kept = pa.concat_tables(sample.tables()).column("mag").to_numpy()
    assert kept.size == 20_000
    assert abs(kept.mean() - mag.mean()) < 4 * mag.std() / np.sqrt(kept.size)
    assert abs(kept.std() / mag.std() - 1) < 0.03


def test_sample_caps_bind_past_their_size_and_change_nothing_below(tmp_path):
    caps = {"specz_max_objects": 50, "deep_max_objects": 40, "clustering_ref_max_objects": 30}
    sizes = {}
    for n in (6_000, 18_000):
        capped = _generate(_cfg(n_objects=n, **caps), tmp_path / f"capped{n}")
        free = _generate(_cfg(n_objects=n, specz_max_objects=None, deep_max_objects=None,
                              clustering_ref_max_objects=None), tmp_path / f"free{n}")
        sizes[n] = capped["summary"]
        for name, cap_key, count in (("specz", "specz_max_objects", "n_specz"), ("deep", "deep_max_objects", "n_deep"),
                                     ("clustering", "clustering_ref_max_objects", "n_clustering_ref")):
            kept = _read_pq(os.path.join(capped["dir"], f"{name}.parquet"))
            everything = _read_pq(os.path.join(free["dir"], f"{name}.parquet"))
            assert kept["id"].size == capped["summary"][count] == caps[cap_key] < everything["id"].size
            assert capped["summary"]["n_selected_before_cap"][name] == everything["id"].size
            # the kept rows are the uncapped selection's rows, unchanged
            rows = np.searchsorted(everything["id"], kept["id"])
            for column, values in kept.items():
                np.testing.assert_array_equal(values, everything[column][rows])
        assert sum(capped["summary"]["n_specz_per_campaign"].values()) == caps["specz_max_objects"]
    # the samples stop growing with the catalogue
    for count in ("n_specz", "n_deep", "n_clustering_ref"):
        assert sizes[6_000][count] == sizes[18_000][count]
    assert sizes[18_000]["n_selected_before_cap"]["specz"] > 2.5 * sizes[6_000]["n_selected_before_cap"]["specz"]


def test_default_caps_do_not_bind_on_the_demo(tmp_path):
    # the embedded demo (config/config.yaml's mock, 200k objects) selects fewer objects than each
    # default cap, so its samples are what they were before the caps existed
    import yaml

    demo = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "config.yaml").read_text())["mock"]
    cfg = MockConfig.from_dict({**demo, "seed": 42})
    summary = _generate(cfg, tmp_path)["summary"]
    # (n_deep was 6628 while satellites could stray out of the footprint; the ~150 that would now
    # keep their field positions, anywhere in the footprint, and 5 of them fall in the deep field)
    assert (summary["n_specz"], summary["n_deep"], summary["n_clustering_ref"]) == (9646, 6633, 24448)
    for name, cap_field in SAMPLE_CAPS.items():
        assert summary["n_selected_before_cap"][name] < getattr(cfg, cap_field)
