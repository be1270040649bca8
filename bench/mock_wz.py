"""The mock's clustering and what clustering redshifts (WZ) make of it.

Run with ``.venv/bin/python bench/mock_wz.py [--seeds 7 8] [--mock key=value ...] [--clustering key=value ...]``.
For each seed, the demo's mock (``config/config.yaml``'s ``mock``, the seed set) is built, and

1. **w(θ)**: 40k galaxies of one population (photometric, then reference) in a thin redshift slice are
   placed on the sky without satellites and with them; their Landy–Szalay w(θ)
   (``zshard.mock.correlation``) at 0.3–10 Mpc is printed against the field's model with the
   population's bias (``lognormal_wtheta_binned``) and the one-halo model of the satellites' excess;
2. **WZ**: the mock's own galaxies (``zshard.mock.population``: redshifts, magnitudes, which of them
   belong to the reference's population and which the reference holds) are placed on the sky, given a
   synthetic photo-z (scatter 0.05 (1 + z), 5% outliers), binned in the DES Y1 edges, and
   ``zshard.clustering`` (the workflow's settings) estimates each bin's Δz against the bin's stacked
   p(z) (:func:`stacked_nz`); the truth is the bin's mean true redshift minus the stack's mean.
   ``--windows`` evaluates several ``window_sigma`` on one pair count; ``--noise-free`` replaces the
   measurement by the bin's true n(z) (times the mock's own b_u/b_r): the estimator's own error.

Results to ``bench/out/mock_wz/results.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import yaml

from zshard.clustering import ClusteringConfig, WZResult, clustering_delta_z, clustering_nz, uniform_randoms
from zshard.io.atomic import write_json
from zshard.mock import streams
from zshard.mock.config import MockConfig
from zshard.mock.correlation import angular_correlation
from zshard.mock.fields import SkyModel, angular_diameter_distance_mpc, lognormal_wtheta_binned, one_halo_wtheta_binned
from zshard.mock.population import Population

ROOT = Path(__file__).resolve().parents[1]
EDGES = np.array([0.2, 0.43, 0.63, 0.9, 1.3])


def photo_z(rng: np.random.Generator, z: np.ndarray) -> np.ndarray:
    """Photo-z of true redshifts ``z``: scatter 0.05 (1 + z) and 5% outliers uniform in 0–2."""
    zp = z + 0.05 * (1 + z) * rng.standard_normal(z.size)
    outlier = rng.random(z.size) < 0.05
    zp[outlier] = rng.uniform(0.0, 2.0, outlier.sum())
    return zp


def mock_population(cfg: MockConfig, n: int) -> dict[str, np.ndarray]:
    """``n`` detected galaxies of the mock (``zshard.mock.population``: redshift, observed magnitudes),
    their photo-z, whether they belong to the reference's population (observed detection-band
    magnitude below ``cfg.reference_mag_limit``) and whether the reference holds them."""
    rng_int, rng_phot = (streams.generator(cfg.seed, purpose, 0) for purpose in (streams.INTRINSIC, streams.PHOTOMETRY))
    detected, _ = Population(cfg).draw_detected(rng_int, rng_phot, n)
    z = detected["z"]
    bright = detected["mag"][:, cfg.detection_index] < cfg.reference_mag_limit(z)
    in_ref = bright & (z > cfg.clustering_ref_zmin) & (z < cfg.clustering_ref_zmax)
    in_ref &= np.random.default_rng([cfg.seed, 1]).random(z.size) < cfg.clustering_ref_fraction
    return {"z": z, "zp": photo_z(np.random.default_rng([cfg.seed, 2]), z), "bright": bright, "reference": in_ref}


def wtheta_table(plain: SkyModel, clumped: SkyModel, cfg: MockConfig, z_slice: tuple[float, float],
                 n: int, seed: int, reference: bool) -> list[dict]:
    """w(θ) of ``n`` objects of one population in a thin slice, on the sky without and with satellites,
    against the field's model (bias b², :func:`lognormal_wtheta_binned`) and the one-halo model."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(*z_slice, n)
    flag = np.full(n, reference)
    ra0, dec0 = plain.sample_positions(np.random.default_rng(seed + 1), z, flag)
    ra1, dec1 = clumped.sample_positions(np.random.default_rng(seed + 1), z, flag)
    rra, rdec = uniform_randoms(plain.footprint_pixels, plain.order, 5 * n, np.random.default_rng(seed + 2))
    d_a = float(angular_diameter_distance_mpc(np.mean(z_slice)))
    mpc = np.geomspace(0.3, 10.0, 9)
    edges = np.degrees(mpc / d_a)
    w0 = angular_correlation(ra0, dec0, rra, rdec, edges)
    w1 = angular_correlation(ra1, dec1, rra, rdec, edges)
    model = one_halo_wtheta_binned(edges, cfg.satellite_fraction, cfg.satellite_halos_per_deg2,
                                   float(np.degrees(cfg.satellite_radius_mpc / d_a)))
    shell = int(np.searchsorted(plain.shell_edges, np.mean(z_slice), side="right") - 1)
    bias = float(plain.shell_bias[int(reference), shell])
    field = lognormal_wtheta_binned(edges, float(plain.shell_sigma_g2[shell]), cfg.nside, cfg.cl_slope,
                                    bias_product=bias ** 2)
    return [{"r_mpc": f"{mpc[i]:.2f}–{mpc[i + 1]:.2f}", "theta_deg": f"{edges[i]:.3f}–{edges[i + 1]:.3f}",
             "w_field": float(w0[i]), "field_model": float(field[i]), "w_with_satellites": float(w1[i]),
             "excess": float(w1[i] - w0[i]), "one_halo_model": float(model[i])} for i in range(len(mpc) - 1)]


def stacked_nz(zp: np.ndarray, grid: np.ndarray, outlier_nz: np.ndarray, width: float = 0.05,
               outliers: float = 0.05) -> np.ndarray:
    """The bin's photometric n(z) as the workflow forms it, a stack of calibrated p(z): here each
    object's p(z) is a Gaussian of σ = width (1 + z_phot) at its photo-z, cut at z = 0, plus an
    outlier component of weight ``outliers`` shaped like ``outlier_nz`` (a density on ``grid``'s
    cells: the whole sample's n(z), as ``calibration.outlier_shape`` shapes it); normalised, on the
    cells of ``grid``. It is not the bin's true n(z): a photo-z scatters the true redshift, not the
    other way round, so the stack is broader."""
    from scipy.special import ndtr

    sigma = width * (1 + zp)
    cdf = ndtr((grid[None, :] - zp[:, None]) / sigma[:, None])
    cdf = (cdf - cdf[:, :1]) / (cdf[:, -1:] - cdf[:, :1])
    gauss = np.diff(cdf, axis=1).sum(axis=0) / zp.size
    shape = outlier_nz * np.diff(grid) / np.sum(outlier_nz * np.diff(grid))
    return ((1 - outliers) * gauss + outliers * shape) / np.diff(grid)


def wz_rows(sky: SkyModel, sample: dict[str, np.ndarray], settings: dict, seed: int,
            windows: list[float]) -> dict[float, list[dict]]:
    """Each DES Y1 bin's clustering Δz on ``sky``: the shift of the bin's stacked p(z) (:func:`stacked_nz`)
    against the truth, the mean true redshift minus the stack's mean (``truth``); one list of rows per
    ``window_sigma`` of ``windows`` (the pair counts once)."""
    z, zp = sample["z"], sample["zp"]
    ra, dec = sky.sample_positions(np.random.default_rng(seed), z, sample["bright"])
    tomo = np.searchsorted(EDGES, zp, side="right") - 1
    tomo[(zp < EDGES[0]) | (zp >= EDGES[-1])] = -1
    cfg = ClusteringConfig.from_dict(settings)
    ref = sample["reference"]
    result = clustering_nz(ra[ref], dec[ref], z[ref], ra, dec, tomo, len(EDGES) - 1, cfg, seed=seed)
    grid = np.linspace(0.0, 3.0, 301)
    centres = 0.5 * (grid[:-1] + grid[1:])
    parent = np.histogram(z, grid, density=True)[0]
    nz_phot = np.array([stacked_nz(zp[tomo == b], grid, parent) for b in range(len(EDGES) - 1)])
    out = {}
    for window in windows:
        rows = clustering_delta_z(result, centres, nz_phot, dataclasses.replace(cfg, window_sigma=window), EDGES)
        for b, row in enumerate(rows):
            row["truth"] = float(np.mean(z[tomo == b]) - np.sum(nz_phot[b] * centres) / np.sum(nz_phot[b]))
        out[window] = rows
    return out


def noise_free_rows(cfg: MockConfig, settings: dict, outlier_shape: str) -> dict[str, list[float]]:
    """Δz − truth per bin of WZ without noise: the amplitude per slice is the bin's true fraction in it
    (``shape``), or that times the mock's own b_u / b_r (``bias``: b_u the mean bias of the bin's
    galaxies in the slice, linear bias, no satellites); the stack's outlier component is the sample's
    n(z) (``parent``) or uniform in 0–2 (``uniform``). What is left is the estimator's own error."""
    sample = mock_population(cfg, cfg.n_objects)
    z, zp, bright = sample["z"], sample["zp"], sample["bright"]
    tomo = np.searchsorted(EDGES, zp, side="right") - 1
    tomo[(zp < EDGES[0]) | (zp >= EDGES[-1])] = -1
    grid = np.linspace(0.0, 3.0, 301)
    centres = 0.5 * (grid[:-1] + grid[1:])
    shape = np.histogram(z, grid, density=True)[0] if outlier_shape == "parent" else (centres < 2.0) * 1.0
    nz_phot = np.array([stacked_nz(zp[tomo == b], grid, shape) for b in range(len(EDGES) - 1)])
    truth = [float(np.mean(z[tomo == b]) - np.sum(nz_phot[b] * centres) / np.sum(nz_phot[b]))
             for b in range(len(EDGES) - 1)]
    config = ClusteringConfig.from_dict(settings)
    edges = config.slice_edges
    mids = 0.5 * (edges[1:] + edges[:-1])
    out = {}
    for kind in ("shape", "bias"):
        amp = np.zeros((len(EDGES) - 1, mids.size))
        for b in range(len(EDGES) - 1):
            sel = tomo == b
            n = np.histogram(z[sel], edges)[0]
            ratio = 1.0
            if kind == "bias":
                x = np.histogram(z[sel & bright], edges)[0] / np.maximum(n, 1)
                b_u = x * cfg.galaxy_bias(mids, reference=True) + (1 - x) * cfg.galaxy_bias(mids, reference=False)
                ratio = b_u / cfg.galaxy_bias(mids, reference=True)
            amp[b] = n / sel.sum() / np.diff(edges) * ratio
        result = WZResult(edges, amp, np.repeat(amp[:, None, :], 4, axis=1), np.ones(mids.size), np.ones(mids.size),
                          amp, np.ones(mids.size), np.bincount(tomo[tomo >= 0], minlength=len(EDGES) - 1))
        rows = clustering_delta_z(result, centres, nz_phot, config, EDGES)
        out[kind] = [r["delta_z"] - t for r, t in zip(rows, truth)]
        out[f"{kind} bias_evolution_term"] = [r["error_bias_evolution"] for r in rows]
    return out


def wz_summary(seeds: dict) -> dict:
    """Per sky, over every bin × seed: cases with an estimate, within 2σ of the truth (0), mean σ,
    the between-seed scatter of the estimates (standard deviation over seeds, pooled over bins) and
    mean σ over that scatter (the issue's goal: 0.7–1.5)."""
    skies = sorted({name for per_seed in seeds.values() for name in per_seed if not name.startswith("wtheta")})
    out = {}
    for sky in skies:
        rows = [r for per_seed in seeds.values() for r in per_seed.get(sky, [])]
        ok = [r for r in rows if r["delta_z"] is not None and r["error"] is not None
              and np.isfinite(r["delta_z"]) and np.isfinite(r["error"])]
        by_bin = {}
        for r in ok:
            by_bin.setdefault(r["bin"], []).append(r["delta_z"] - r["truth"])
        variances = [np.var(v, ddof=1) for v in by_bin.values() if len(v) >= 2]
        scatter = float(np.sqrt(np.mean(variances))) if variances else float("nan")
        mean_error = float(np.mean([r["error"] for r in ok])) if ok else float("nan")
        out[sky] = {"cases": len(rows), "estimated": len(ok),
                    "within_2sigma": sum(abs(r["delta_z"] - r["truth"]) <= 2 * r["error"] for r in ok),
                    "error_min": min((r["error"] for r in ok), default=float("nan")),
                    "error_max": max((r["error"] for r in ok), default=float("nan")),
                    "mean_error": mean_error, "scatter": scatter, "error_over_scatter": mean_error / scatter,
                    "mean_pull": (float(np.mean([(r["delta_z"] - r["truth"]) / r["error"] for r in ok])) if ok
                                  else float("nan"))}
    return out


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key] = yaml.safe_load(value)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8])
    parser.add_argument("--mock", nargs="*", default=[], metavar="KEY=VALUE",
                        help="settings over config/config.yaml's mock (e.g. satellite_fraction=0)")
    parser.add_argument("--clustering", nargs="*", default=[], metavar="KEY=VALUE",
                        help="settings over config/config.yaml's validation.clustering (e.g. n_slices=14)")
    parser.add_argument("--windows", type=float, nargs="*", default=None,
                        help="WZ with each of these window_sigma (default: the configured one)")
    parser.add_argument("--skip-wz", action="store_true", help="only the w(θ) tables")
    parser.add_argument("--skip-wtheta", action="store_true", help="only WZ")
    parser.add_argument("--noise-free", choices=["parent", "uniform"], default=None,
                        help="instead of WZ on the sky, its noise-free Δz − truth (noise_free_rows) with this "
                             "outlier component of the stacked p(z)")
    parser.add_argument("--out", default=str(ROOT / "bench/out/mock_wz/results.json"))
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    settings = {k: v for k, v in config["validation"]["clustering"].items() if k not in ("enabled", "max_unknown")}
    settings.update(_overrides(args.clustering))
    mock_settings = {**config["mock"], **_overrides(args.mock)}
    out = {"args": vars(args), "mock": mock_settings, "clustering": settings, "seeds": {}}
    for seed in args.seeds:
        start = time.perf_counter()
        cfg = MockConfig.from_dict({**mock_settings, "seed": seed})
        sky = SkyModel(cfg)
        out["seeds"][seed] = {}
        print(f"\nseed {seed}: sky of {len(sky.shell_sigma_g2)} shells built in {time.perf_counter() - start:.1f} s",
              flush=True)
        if not args.skip_wtheta:
            plain = SkyModel(dataclasses.replace(cfg, satellite_fraction=0.0))
            for name, reference in (("photometric", False), ("reference", True)):
                table = wtheta_table(plain, sky, cfg, (0.50, 0.51), 40_000, seed, reference)
                out["seeds"][seed][f"wtheta {name}"] = table
                print(f"w(θ) of 40k {name} galaxies at 0.50 < z < 0.51 (bias "
                      f"{sky.shell_bias[int(reference), 10]:.2f})")
                print(f"{'r (Mpc)':>11} {'θ (deg)':>12} {'w field':>9} {'model':>9} {'w + sat':>9} {'excess':>9} "
                      f"{'1-halo':>9}")
                for r in table:
                    print(f"{r['r_mpc']:>11} {r['theta_deg']:>12} {r['w_field']:9.4f} {r['field_model']:9.4f} "
                          f"{r['w_with_satellites']:9.4f} {r['excess']:9.4f} {r['one_halo_model']:9.4f}")
        if args.noise_free:
            rows = noise_free_rows(cfg, settings, args.noise_free)
            out["seeds"][seed]["noise free"] = rows
            for kind, values in rows.items():
                print(f" noise-free {kind}: " + " ".join(f"{v:+.4f}" for v in values))
            continue
        if args.skip_wz:
            continue
        t0 = time.perf_counter()
        sample = mock_population(cfg, cfg.n_objects)
        windows = args.windows if args.windows else [settings["window_sigma"]]
        per_window = wz_rows(sky, sample, settings, seed + 200, windows)
        print(f"WZ: {sample['reference'].sum()} reference, {sample['z'].size} objects "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
        for window, rows in per_window.items():
            name = "wz" if len(windows) == 1 else f"wz window {window:g}"
            print(f" {name}")
            for r in rows:
                dz, err = r["delta_z"], r["error"]
                pull = (dz - r["truth"]) / err if np.isfinite(dz) and np.isfinite(err) else float("nan")
                print(f"  bin {r['bin'] + 1}: Δz = {dz:+.4f} ± {err:.4f} (jackknife {r['error_jackknife']:.4f}, "
                      f"bias evolution {r['error_bias_evolution']:.4f}; truth {r['truth']:+.4f}, pull {pull:+.2f}) "
                      f"{r['note']}")
            out["seeds"][seed][name] = [{k: r[k] for k in ("bin", "delta_z", "error", "error_jackknife",
                                                           "error_bias_evolution", "truth", "z_range", "note")}
                                        for r in rows]
    names = [k for k in out["seeds"][args.seeds[0]] if k.startswith("wtheta")]
    if len(args.seeds) > 1:
        for name in names:
            columns = ("w_field", "field_model", "excess", "one_halo_model")
            tables = [out["seeds"][s][name] for s in args.seeds]
            mean = {c: np.mean([[r[c] for r in t] for t in tables], axis=0) for c in columns}
            spread = {c: np.std([[r[c] for r in t] for t in tables], axis=0, ddof=1) for c in ("w_field", "excess")}
            print(f"\n{name} over seeds {args.seeds}: mean (standard deviation over seeds)")
            for i, r in enumerate(tables[0]):
                print(f"{r['r_mpc']:>11}  field {mean['w_field'][i]:.4f} ({spread['w_field'][i]:.4f}) model "
                      f"{mean['field_model'][i]:.4f}   excess {mean['excess'][i]:.4f} ({spread['excess'][i]:.4f}) "
                      f"model {mean['one_halo_model'][i]:.4f}")
    if args.noise_free and len(args.seeds) > 1:
        for kind in out["seeds"][args.seeds[0]]["noise free"]:
            mean = np.mean([out["seeds"][sd]["noise free"][kind] for sd in args.seeds], axis=0)
            print(f"noise-free {kind}, mean over seeds: " + " ".join(f"{v:+.4f}" for v in mean))
    if not args.skip_wz and not args.noise_free:
        out["summary"] = wz_summary(out["seeds"])
        print(f"\nWZ over seeds {args.seeds} (goals: σ ≤ 0.03, ≥ 90% within 2σ, every bin, "
              "σ / scatter in 0.7–1.5)")
        for sky_name, m in out["summary"].items():
            print(f"  {sky_name}: {m['estimated']}/{m['cases']} estimated, {m['within_2sigma']} within 2σ, "
                  f"σ {m['error_min']:.4f}–{m['error_max']:.4f} (mean {m['mean_error']:.4f}), "
                  f"scatter {m['scatter']:.4f}, σ/scatter {m['error_over_scatter']:.2f}, "
                  f"mean pull {m['mean_pull']:+.2f}")
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, out)
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
