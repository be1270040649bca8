import os

import numpy as np
import pytest

from zshard import report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png(tmp_path, returned, name):
    path = tmp_path / name
    assert returned == str(path)
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_SIGNATURE
    # nothing else (no temporary file) is left in the directory
    assert os.listdir(tmp_path) == [name]


def test_pit_histograms(tmp_path):
    rng = np.random.default_rng(0)
    before = rng.beta(2, 2, 500)
    after = np.append(rng.uniform(size=500), np.nan)
    out = report.plot_pit_histograms(tmp_path / "pit.png", before, after, n_bins=10)
    _check_png(tmp_path, out, "pit.png")


def test_pit_histogram_single(tmp_path):
    out = report.plot_pit_histograms(tmp_path / "pit.png", np.random.default_rng(1).random(50))
    _check_png(tmp_path, out, "pit.png")


def test_zphot_vs_zspec(tmp_path):
    rng = np.random.default_rng(0)
    zs = rng.uniform(0, 2, 800)
    zp = zs + 0.03 * (1 + zs) * rng.standard_normal(800)
    zp[:20] = rng.uniform(0, 2, 20)
    zp[20] = np.nan
    out = report.plot_zphot_vs_zspec(tmp_path / "zz.png", zs, zp, None)
    _check_png(tmp_path, out, "zz.png")
    out = report.plot_zphot_vs_zspec(tmp_path / "zz.png", zs, zp,
                                     {"sigma_nmad": 0.03, "outlier_fraction": 0.02, "x": [1]})
    _check_png(tmp_path, out, "zz.png")


def test_plot_nz(tmp_path):
    edges = np.array([0.2, 0.43, 0.63, 0.9, 1.3])
    z = np.linspace(0.005, 2.995, 300)
    nz = np.array([np.exp(-0.5 * ((z - c) / 0.1) ** 2) for c in (0.3, 0.5, 0.75, 1.1)])
    nz /= nz.sum(axis=1, keepdims=True) * 0.01
    out = report.plot_nz(tmp_path / "nz.png", z, nz, edges, true_nz=nz * 0.9)
    _check_png(tmp_path, out, "nz.png")
    zc = np.linspace(0.05, 2.95, 30)
    out = report.plot_nz(tmp_path / "nz.png", z, nz, edges, true_nz=(zc, nz[:, ::10]))
    _check_png(tmp_path, out, "nz.png")
    with pytest.raises(ValueError):
        report.plot_nz(tmp_path / "bad.png", z, nz[:3], edges)


def test_plot_delta_z(tmp_path):
    rows = []
    for b in range(4):
        rows.append({"bin": b, "method": "colour_matched", "delta_z": 0.01 * b,
                     "sigma_total": 0.005, "truth": 0.012 * b})
        rows.append({"bin": b, "method": "clustering", "delta_z": -0.01 * b, "sigma": 0.01})
    rows.append({"bin": 3, "method": "other", "delta_z": float("nan"), "sigma": float("nan")})
    out = report.plot_delta_z(tmp_path / "dz.png", rows)
    _check_png(tmp_path, out, "dz.png")


def test_plot_sky_counts(tmp_path):
    import healpy as hp

    order = 6
    nside = 2 ** order
    # a small footprint straddling RA = 0
    ra = np.array([358.0, 359.0, 0.5, 1.5, 2.0])
    dec = np.array([-1.0, 0.0, 1.0, -0.5, 2.0])
    pix = np.unique(hp.ang2pix(nside, ra, dec, nest=True, lonlat=True))
    disc = hp.query_disc(nside, hp.ang2vec(0.0, 0.0, lonlat=True), np.radians(3.0), nest=True)
    counts = np.arange(disc.size) + 1
    out = report.plot_sky_counts(tmp_path / "sky.png", order, disc, counts)
    _check_png(tmp_path, out, "sky.png")
    assert report._ra_origin(np.array([358.0, 359.0, 0.5, 2.0])) == 358.0
    out = report.plot_sky_counts(tmp_path / "sky.png", order, pix, np.ones(pix.size))
    _check_png(tmp_path, out, "sky.png")
    with pytest.raises(ValueError):
        report.plot_sky_counts(tmp_path / "bad.png", order, [12 * nside ** 2], [1])


def test_summary_markdown(tmp_path):
    fig_dir = tmp_path / "figures"
    fig_dir.mkdir()
    fig = fig_dir / "nz.png"
    fig.write_bytes(PNG_SIGNATURE)
    metrics = {
        "sigma_nmad": 0.0312, "outlier_fraction": 0.0456, "n_validation": 1234,
        "calibration": {"before": 0.11, "after": 0.02},
        "delta_z": [
            {"bin": 0, "method": "colour_matched", "delta_z": 0.0123, "sigma_total": 0.004,
             "note": ""},
            {"bin": 0, "method": "truth", "delta_z": 0.0101, "sigma": 0.001, "note": ""},
            {"bin": 1, "method": "colour_matched", "delta_z": float("nan"),
             "sigma_total": float("nan"), "note": "no science objects in bin"},
        ],
    }
    notes = ["clustering redshifts: disabled — no clustering reference sample configured",
             "mock run"]
    out_path = tmp_path / "report" / "summary.md"
    out = report.write_summary_markdown(out_path, metrics, {"Tomographic n(z)": str(fig)}, notes)
    assert out == str(out_path)
    assert os.listdir(out_path.parent) == ["summary.md"]
    text = out_path.read_text()
    for s in ("| sigma_nmad | 0.0312 |", "| outlier_fraction | 0.0456 |", "| n_validation | 1234 |",
              "before", "after", "0.0123", "0.0101", "colour_matched", "truth",
              "no science objects in bin", "n/a", *(f"- {n}" for n in notes),
              "![Tomographic n(z)](../figures/nz.png)"):
        assert s in text, s
    # Δz rows are shown 1-based
    assert "| 1 | colour_matched | 0.0123" in text
    assert text.index("## Δz") < text.index("## Figures") < text.index("## Notes")
