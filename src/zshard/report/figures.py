"""The run's figures: PIT, z_phot–z_spec, n(z), Δz, clustering n(z), the sky map with the shards.

Every plotting function draws on its own :class:`matplotlib.figure.Figure` rendered by the Agg
canvas (no pyplot state, no display needed), writes one PNG atomically (a dot-prefixed temporary
``.png`` beside the target, then ``os.replace``) and returns the path written.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np

from zshard.io.atomic import atomic_path
from zshard.metrics import OUTLIER_THRESHOLD, point_metrics
from zshard.report._format import finite_num as _finite_num
from zshard.report._format import fmt as _fmt
from zshard.report._format import is_scalar as _is_scalar

__all__ = [
    "plot_pit_histograms",
    "plot_zphot_vs_zspec",
    "plot_nz",
    "plot_delta_z",
    "plot_clustering_nz",
    "plot_sky_counts",
    # shared with zshard.training_report
    "new_figure",
    "new_grid",
    "save_figure",
]

DPI = 110


def new_figure(ncols: int = 1, width: float = 6.0, height: float = 4.5):
    """A figure of ``ncols`` panels side by side (each ``width`` × ``height`` inches) on the Agg
    canvas, without pyplot: returns ``(figure, [axes])``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def new_grid(nrows: int, ncols: int, width: float, height: float):
    """A figure with an ``nrows`` × ``ncols`` grid of panels (each ``width`` × ``height`` inches) on
    the Agg canvas: returns ``(figure, [axes])``, row by row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(nrows, ncols, i + 1) for i in range(nrows * ncols)]


def save_figure(fig, path: str | os.PathLike) -> str:
    """Write ``fig`` as a PNG (at :data:`DPI`), atomically; returns the path."""
    path = str(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return path


def _finite(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


# --------------------------------------------------------------------------------------------
# PIT
# --------------------------------------------------------------------------------------------
def plot_pit_histograms(path: str | os.PathLike, pit_before: np.ndarray,
                        pit_after: np.ndarray | None = None, n_bins: int = 20) -> str:
    """Histogram and QQ plot of the probability integral transform (PIT) values.

    PIT = CDF_i(z_spec,i); for calibrated p(z) it is uniform on [0, 1] (Dawid 1984; Polsterer et
    al. 2016). Left: histograms (density) with the uniform expectation at 1; the legend gives the
    Kolmogorov–Smirnov statistic against U(0, 1). Right: PIT quantiles against uniform quantiles.

    Parameters
    ----------
    path : str
        Output PNG.
    pit_before : array
        PIT values (non-finite ignored), e.g. before recalibration.
    pit_after : array, optional
        PIT values after recalibration, overlaid.
    n_bins : int
        Histogram bins on [0, 1].
    """
    from scipy.stats import kstest

    fig, (ax_h, ax_q) = new_figure(2, width=5.0, height=4.2)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    sets = [("before", pit_before, "C0")]
    if pit_after is not None:
        sets.append(("after", pit_after, "C1"))
    for label, values, colour in sets:
        v = _finite(values)
        if v.size == 0:
            ax_h.plot([], [], color=colour, label=f"{label}: no data")
            continue
        ks = kstest(v, "uniform").statistic
        ax_h.hist(v, bins=edges, density=True, histtype="step", lw=1.8, color=colour,
                  label=f"{label}: KS = {ks:.3f} (n = {v.size})")
        probs = (np.arange(v.size) + 0.5) / v.size
        ax_q.plot(probs, np.sort(v), color=colour, lw=1.5, label=label)
    ax_h.axhline(1.0, color="k", ls="--", lw=1, label="uniform")
    ax_h.set(xlim=(0, 1), xlabel="PIT", ylabel="density", title="PIT histogram")
    ax_h.legend(loc="best", fontsize=8)
    ax_q.plot([0, 1], [0, 1], color="k", ls="--", lw=1)
    ax_q.set(xlim=(0, 1), ylim=(0, 1), xlabel="uniform quantile", ylabel="PIT quantile",
             title="PIT QQ plot", aspect="equal")
    ax_q.legend(loc="upper left", fontsize=8)
    return save_figure(fig, path)


# --------------------------------------------------------------------------------------------
# z_phot vs z_spec
# --------------------------------------------------------------------------------------------
def plot_zphot_vs_zspec(path: str | os.PathLike, z_spec: np.ndarray, z_phot: np.ndarray,
                        metrics: Mapping | None = None, z_max: float | None = None) -> str:
    """Density plot of photo-z against spec-z with the 1:1 and outlier lines.

    Hexbin (log counts) of the pairs with both finite; the 1:1 line and the outlier boundaries
    ``z_phot = z_spec ± t (1 + z_spec)``, ``t`` = :data:`zshard.metrics.OUTLIER_THRESHOLD`. Annotated
    with the scalar entries of ``metrics`` if given, else with :func:`zshard.metrics.point_metrics`
    of the pairs.

    Parameters
    ----------
    z_spec, z_phot : (n,) arrays
    metrics : mapping, optional
        Metric name -> value to print on the plot (non-scalar values are skipped).
    z_max : float, optional
        Axis upper limit (default: the 99.5th percentile of the data, at least 0.5).
    """
    zs = np.asarray(z_spec, dtype=np.float64).ravel()
    zp = np.asarray(z_phot, dtype=np.float64).ravel()
    if zs.shape != zp.shape:
        raise ValueError(f"z_spec {zs.shape} and z_phot {zp.shape} differ in shape")
    ok = np.isfinite(zs) & np.isfinite(zp)
    zs, zp = zs[ok], zp[ok]
    fig, (ax,) = new_figure(1, width=5.6, height=5.0)
    if z_max is None:
        z_max = max(0.5, float(np.percentile(np.concatenate([zs, zp]), 99.5)) * 1.05) if zs.size else 1.0
    if zs.size:
        hb = ax.hexbin(zs, zp, gridsize=60, extent=(0, z_max, 0, z_max), bins="log", mincnt=1,
                       cmap="viridis")
        fig.colorbar(hb, ax=ax, label="objects per cell")
    else:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center")
    line = np.array([0.0, z_max])
    ax.plot(line, line, color="k", lw=1)
    t = OUTLIER_THRESHOLD
    ax.plot(line, line + t * (1 + line), color="r", ls="--", lw=1, label=f"±{t}(1+z)")
    ax.plot(line, line - t * (1 + line), color="r", ls="--", lw=1)
    ax.set(xlim=(0, z_max), ylim=(0, z_max), xlabel=r"$z_\mathrm{spec}$",
           ylabel=r"$z_\mathrm{phot}$", aspect="equal")
    shown = metrics if metrics else point_metrics(zp, zs)
    lines = [f"{k} = {_fmt(v)}" for k, v in shown.items() if _is_scalar(v)]
    ax.text(0.03, 0.97, "\n".join(lines), transform=ax.transAxes, va="top", ha="left",
            fontsize=8, bbox=dict(boxstyle="round", fc="white", alpha=0.8))
    ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, path)


# --------------------------------------------------------------------------------------------
# n(z)
# --------------------------------------------------------------------------------------------
def plot_nz(path: str | os.PathLike, grid_centres: np.ndarray, nz: np.ndarray,
            edges: Sequence[float] | np.ndarray, true_nz=None) -> str:
    """Tomographic n(z): one curve per bin, the bin's redshift range shaded in its colour.

    Parameters
    ----------
    grid_centres : (m,) array
        Redshift of the n(z) samples.
    nz : (nbins, m) array
        n(z) per bin (per unit redshift).
    edges : (nbins + 1,) array
        Tomographic bin edges.
    true_nz : (nbins, m) array on ``grid_centres``, or tuple ``(true_centres, (nbins, m') array)``,
        optional
        True n(z) (mock), drawn as a step histogram in the same colours.
    """
    z = np.asarray(grid_centres, dtype=np.float64)
    nz = np.atleast_2d(np.asarray(nz, dtype=np.float64))
    edges = np.asarray(edges, dtype=np.float64)
    nbins = edges.size - 1
    if nz.shape != (nbins, z.size):
        raise ValueError(f"nz has shape {nz.shape}, expected ({nbins}, {z.size})")
    truth = None
    if true_nz is not None:
        if isinstance(true_nz, tuple):
            tz, tn = np.asarray(true_nz[0], dtype=np.float64), np.asarray(true_nz[1], dtype=np.float64)
        else:
            tz, tn = z, np.asarray(true_nz, dtype=np.float64)
        tn = np.atleast_2d(tn)
        if tn.shape != (nbins, tz.size):
            raise ValueError(f"true_nz has shape {tn.shape}, expected ({nbins}, {tz.size})")
        truth = (tz, tn)
    fig, (ax,) = new_figure(1, width=7.0, height=4.5)
    for i in range(nbins):
        colour = f"C{i % 10}"
        ax.axvspan(edges[i], edges[i + 1], color=colour, alpha=0.08, lw=0)
        ax.plot(z, nz[i], color=colour, lw=1.8,
                label=f"bin {i + 1}: [{edges[i]:.2f}, {edges[i + 1]:.2f})")
        if truth is not None:
            ax.step(truth[0], truth[1][i], where="mid", color=colour, lw=1, ls=":", alpha=0.9)
    if truth is not None:
        ax.plot([], [], color="0.3", ls=":", label="truth")
    finite_max = np.nanmax(nz) if np.isfinite(nz).any() else 1.0
    hi = z[np.any(nz > 1e-3 * finite_max, axis=0)]
    ax.set(xlim=(0, max(float(hi.max()) if hi.size else z.max(), edges[-1]) * 1.05),
           ylim=(0, None), xlabel="z", ylabel="n(z)", title="Tomographic n(z)")
    ax.legend(loc="upper right", fontsize=8)
    return save_figure(fig, path)


# --------------------------------------------------------------------------------------------
# Δz per bin
# --------------------------------------------------------------------------------------------
def plot_delta_z(path: str | os.PathLike, rows: Sequence[Mapping]) -> str:
    """Δz per tomographic bin for each method, with error bars.

    Parameters
    ----------
    rows : sequence of mappings
        Each with ``bin`` (0-based), ``method``, ``delta_z``, ``sigma`` (or ``sigma_total``), and
        optionally ``truth`` (the true Δz of that bin, drawn as a black bar). Rows of method
        ``truth`` give the true Δz of their bin in ``delta_z`` (drawn as the same bars). Rows whose
        ``delta_z`` is not finite are skipped.
    """
    fig, (ax,) = new_figure(1, width=6.5, height=4.2)
    truth = {int(r["bin"]): float(r["delta_z"]) for r in rows
             if str(r.get("method")) == "truth" and _finite_num(r.get("delta_z"))}
    rows = [r for r in rows if str(r.get("method")) != "truth"]
    methods = list(dict.fromkeys(str(r.get("method", "")) for r in rows))
    n_m = max(len(methods), 1)
    offsets = {m: (j - (n_m - 1) / 2) * 0.6 / n_m for j, m in enumerate(methods)}
    bins_seen = set()
    for j, m in enumerate(methods):
        sel = [r for r in rows if str(r.get("method", "")) == m and _finite_num(r.get("delta_z"))]
        if not sel:
            ax.plot([], [], ls="none", label=f"{m}: no finite Δz")
            continue
        x = np.array([int(r["bin"]) for r in sel], dtype=float)
        y = np.array([float(r["delta_z"]) for r in sel])
        s = np.array([_sigma(r) for r in sel])
        bins_seen.update(int(b) for b in x)
        ax.errorbar(x + 1 + offsets[m], y, yerr=np.where(np.isfinite(s), s, 0.0), fmt="o",
                    color=f"C{j % 10}", capsize=3, label=m)
    for r in rows:
        if _finite_num(r.get("truth")):
            truth[int(r["bin"])] = float(r["truth"])
    if truth:
        tb = np.array(sorted(truth))
        ax.hlines([truth[b] for b in tb], tb + 1 - 0.4, tb + 1 + 0.4, color="k", lw=2,
                  label="truth")
        bins_seen.update(truth)
    ax.axhline(0.0, color="0.5", lw=0.8)
    if bins_seen:
        ticks = np.arange(min(bins_seen), max(bins_seen) + 1) + 1
        ax.set_xticks(ticks)
        ax.set_xlim(ticks[0] - 0.6, ticks[-1] + 0.6)
    else:
        ax.text(0.5, 0.5, "no finite Δz", transform=ax.transAxes, ha="center", va="center")
    ax.set(xlabel="tomographic bin", ylabel=r"$\Delta z = \langle z_\mathrm{true}\rangle - "
                                             r"\langle z_\mathrm{phot}\rangle$",
           title="Mean-redshift offset per bin")
    if methods or truth:
        ax.legend(loc="best", fontsize=8)
    return save_figure(fig, path)


def _sigma(r: Mapping) -> float:
    for key in ("sigma", "sigma_total"):
        if _finite_num(r.get(key)):
            return float(r[key])
    return np.nan


# --------------------------------------------------------------------------------------------
# Clustering n(z)
# --------------------------------------------------------------------------------------------
def plot_clustering_nz(path: str | os.PathLike, slice_edges: Sequence[float], rows: Sequence[Mapping],
                       grid_centres: np.ndarray, nz_phot: np.ndarray) -> str:
    """The clustering-redshift n(z) of each tomographic bin against its photometric n(z).

    One panel per bin: the clustering n(z) per reference slice with its jackknife errors (``rows``:
    ``validation/clustering_delta_z.json``'s ``bins``, each with ``nz_wz``, ``nz_wz_error``,
    ``z_range``, ``delta_z``, ``error``), the photometric n(z) averaged into the same slices and
    normalised over them in the same way, and the redshift window in which the two means are
    compared (shaded).

    Parameters
    ----------
    slice_edges : (k + 1,) array
        Redshift edges of the reference slices.
    rows : sequence of mappings
        One per bin, in bin order.
    grid_centres : (m,) array
        Centres of the equal cells of the photometric n(z).
    nz_phot : (nbins, m) array
        Photometric n(z) per bin.
    """
    edges = np.asarray(slice_edges, dtype=np.float64)
    centres, widths = 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)
    z = np.asarray(grid_centres, dtype=np.float64)
    nz_phot = np.atleast_2d(np.asarray(nz_phot, dtype=np.float64))
    nbins = len(rows)
    ncols = min(max(nbins, 1), 2 if nbins <= 4 else 3)  # a grid that stays readable when scaled down
    nrows = -(-max(nbins, 1) // ncols)
    fig, axes = new_grid(nrows, ncols, width=4.6, height=3.3)
    for ax in axes[nbins:]:
        ax.set_axis_off()
    handles = {}
    for b, (ax, row) in enumerate(zip(axes, rows)):
        ax.axhline(0.0, color="0.6", lw=0.8)
        mass, _ = np.histogram(z, bins=edges, weights=nz_phot[b] if b < len(nz_phot) else None)
        shown = [0.0]
        if mass.sum() > 0:
            density = mass / mass.sum() / widths
            (line,) = ax.step(centres, density, where="mid", color="C0", lw=1.5)
            handles.setdefault("photo-z n(z), in the slices", line)
            shown += list(density)
        wz = np.asarray([np.nan if v is None else v for v in row.get("nz_wz") or []], dtype=np.float64)
        finite = np.isfinite(wz)
        if wz.size == centres.size and finite.any():
            err = np.asarray([np.nan if v is None else v for v in row.get("nz_wz_error") or [None] * wz.size],
                             dtype=np.float64)
            bars = ax.errorbar(centres[finite], wz[finite], yerr=np.where(np.isfinite(err), err, 0.0)[finite],
                               fmt="o", ms=3, color="C1", capsize=2)
            handles.setdefault("clustering n(z) (jackknife errors)", bars)
            shown += list(wz[finite])
        # the values, not their error bars, set the scale (a noisy slice's bar may leave the panel)
        y_lo, y_hi = min(shown), max(shown)
        pad = 0.15 * (y_hi - y_lo) if y_hi > y_lo else 1.0
        ax.set_ylim(y_lo - pad, y_hi + pad)
        if row.get("z_range"):
            handles.setdefault("window of the Δz comparison", ax.axvspan(*row["z_range"], color="0.88", zorder=0))
        dz, sigma = row.get("delta_z"), row.get("error")
        if _finite_num(dz) and _finite_num(sigma):
            status = f"Δz = {dz:+.3f} ± {sigma:.3f}"
        else:
            status = ("no Δz: " if finite.any() else "no finite clustering n(z); ") + (row.get("note") or "no estimate")
        lo, hi = row.get("z_lo"), row.get("z_hi")
        title = f"bin {b + 1}" + (f" [{lo:.2f}, {hi:.2f})" if _finite_num(lo) and _finite_num(hi) else "")
        ax.set_title(title + "\n" + "\n".join(textwrap.wrap(status, 60)), fontsize=8.5)
        ax.set(xlim=(edges[0], edges[-1]), xlabel="z")
        if b % ncols == 0:
            ax.set_ylabel("n(z), normalised over the slices")
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=len(handles),
                   fontsize=8, frameon=False)
    return save_figure(fig, path)


# --------------------------------------------------------------------------------------------
# Sky map
# --------------------------------------------------------------------------------------------
def plot_sky_counts(path: str | os.PathLike, healpix_order: int, pixels: np.ndarray,
                    counts: np.ndarray, max_image_pixels: int = 800,
                    shards: Sequence[tuple[int, int]] | None = None, max_shard_labels: int = 60) -> str:
    """Object counts per HEALPix pixel (NESTED ordering), zoomed to the footprint, with the
    boundaries of the partition's shards drawn over them.

    The map is drawn in a plate carrée (RA, Dec) projection over the bounding box of the given
    pixels, with a small margin (RA increasing to the left, unwrapped across RA = 0 where the
    footprint straddles it; the aspect ratio is 1/cos(Dec) at the box's centre, so that shapes near
    it are true): a regular image grid is sampled with ``healpy.ang2pix(nest=True)`` and each cell
    takes the count of its pixel; pixels not listed are blank. Each shard (a HEALPix pixel of its
    own order) is outlined by ``healpy.boundaries`` and, while at most ``max_shard_labels`` of them
    are in view, labelled with its key (``o<order>_p<pixel>``) in the middle of its visible part; a
    shard larger than the footprint shows only the part of its outline inside the box.

    Parameters
    ----------
    healpix_order : int
        HEALPix order k (nside = 2**k) of ``pixels``.
    pixels : (n,) int array
        Nested pixel indices.
    counts : (n,) array
        Objects per pixel.
    max_image_pixels : int
        Longest side of the sampled image.
    shards : sequence of (order, pixel), optional
        The shards (NESTED pixels of their orders) to outline, e.g. from the partition plan.
    max_shard_labels : int
        Label the shards with their keys only while no more than this many are in view.
    """
    import healpy as hp
    from matplotlib import patheffects
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FuncFormatter

    nside = 2 ** int(healpix_order)
    pix = np.asarray(pixels, dtype=np.int64).ravel()
    cnt = np.asarray(counts, dtype=np.float64).ravel()
    if pix.shape != cnt.shape:
        raise ValueError(f"pixels {pix.shape} and counts {cnt.shape} differ in shape")
    if pix.size and (pix.min() < 0 or pix.max() >= hp.nside2npix(nside)):
        raise ValueError(f"pixel index outside 0..{hp.nside2npix(nside) - 1} for order {healpix_order}")
    fig, (ax,) = new_figure(1, width=7.5, height=5.6)
    if pix.size == 0:
        ax.text(0.5, 0.5, "no pixels", transform=ax.transAxes, ha="center", va="center")
        ax.set_axis_off()
        return save_figure(fig, path)
    order = np.argsort(pix)
    pix, cnt = pix[order], cnt[order]

    # bounding box from the pixel corners (so single pixels get their full extent)
    corners = hp.boundaries(nside, pix, step=1, nest=True)  # (n, 3, 4)
    vec = np.moveaxis(corners, 1, -1).reshape(-1, 3)
    c_ra, c_dec = hp.vec2ang(vec, lonlat=True)
    ra0 = _ra_origin(c_ra)
    ra_u = (c_ra - ra0) % 360.0 + ra0
    ra_lo, ra_hi = ra_u.min(), ra_u.max()
    dec_lo, dec_hi = c_dec.min(), c_dec.max()
    if ra_hi - ra_lo > 300.0:  # (nearly) all-sky: show the full RA range
        ra_lo, ra_hi = 0.0, 360.0
    else:  # a margin, so that shard edges on the footprint's edge show
        pad = 0.04 * max(ra_hi - ra_lo, dec_hi - dec_lo)
        ra_lo, ra_hi = ra_lo - pad, ra_hi + pad
        dec_lo, dec_hi = max(dec_lo - pad, -90.0), min(dec_hi + pad, 90.0)

    # image sampling: about 8 samples per pixel side, at least 200 and at most max_image_pixels
    res = np.degrees(hp.nside2resol(nside)) / 8.0
    nx = int(np.clip((ra_hi - ra_lo) / res, 200, max_image_pixels))
    ny = int(np.clip((dec_hi - dec_lo) / res, 200, max_image_pixels))
    ra_g = ra_hi - (np.arange(nx) + 0.5) * (ra_hi - ra_lo) / nx  # RA decreasing left to right
    dec_g = dec_lo + (np.arange(ny) + 0.5) * (dec_hi - dec_lo) / ny
    rr, dd = np.meshgrid(ra_g % 360.0, dec_g)
    gpix = hp.ang2pix(nside, rr, dd, nest=True, lonlat=True)
    j = np.clip(np.searchsorted(pix, gpix), 0, pix.size - 1)
    image = np.where(pix[j] == gpix, cnt[j], np.nan)

    positive = image[np.isfinite(image) & (image > 0)]
    norm = None
    if positive.size and positive.max() / positive.min() > 100:
        norm = LogNorm(vmin=positive.min(), vmax=positive.max())
    im = ax.imshow(np.ma.masked_invalid(image), origin="lower", aspect="auto", cmap="viridis",
                   norm=norm, extent=(ra_hi, ra_lo, dec_lo, dec_hi), interpolation="nearest")
    fig.colorbar(im, ax=ax, label="objects per pixel", shrink=0.8)

    n_shards = 0
    if shards is not None:
        n_shards = _draw_shards(ax, shards, ra_g, dec_g, max_shard_labels, patheffects)
    ax.set_xlim(ra_hi, ra_lo)
    ax.set_ylim(dec_lo, dec_hi)
    cos_dec = max(math.cos(math.radians(0.5 * (dec_lo + dec_hi))), 0.05)
    ax.set_aspect(1.0 / cos_dec)
    area = hp.nside2pixarea(nside, degrees=True)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x % 360.0:g}"))
    title = (f"Objects per HEALPix pixel (order {healpix_order}, {area:.3g} deg$^2$): "
             f"{pix.size} pixels, {cnt.sum():.0f} objects")
    if shards is not None:
        in_view = f" ({n_shards} in view)" if n_shards < len(shards) else ""
        title += f"\n{len(shards)} shards outlined in red{in_view}"
    ax.set(xlabel="RA [deg]", ylabel="Dec [deg]", title=title)
    ax.title.set_fontsize(9)
    return save_figure(fig, path)


def _draw_shards(ax, shards, ra_grid: np.ndarray, dec_grid: np.ndarray, max_labels: int, patheffects) -> int:
    """Outline each (order, pixel) shard on ``ax`` (RA, Dec in degrees; RA unwrapped to the side of
    RA = 0 of the map), and while at most ``max_labels`` are in view label each with its key at the
    point of its visible part nearest that part's centroid. ``ra_grid`` (unwrapped) and ``dec_grid``
    sample the map's box; a shard is in view when one of the samples falls in it. Returns the number
    of shards in view."""
    import healpy as hp

    from zshard.sky import Shard

    ra_mid = 0.5 * (float(ra_grid.min()) + float(ra_grid.max()))
    rr, dd = np.meshgrid(ra_grid, dec_grid)
    rr, dd = rr.ravel(), dd.ravel()
    pixel_of_order = {}  # order -> the grid's pixel of that order, computed once per order
    in_view = []
    for order, pixel in shards:
        order, pixel = int(order), int(pixel)
        if order not in pixel_of_order:
            pixel_of_order[order] = hp.ang2pix(2 ** order, rr % 360.0, dd, nest=True, lonlat=True)
        inside = pixel_of_order[order] == pixel
        if not inside.any():
            continue
        outline = hp.boundaries(2 ** order, pixel, step=max(4, 64 >> min(order, 4)), nest=True)
        ra, dec = hp.vec2ang(outline.T, lonlat=True)
        ra = np.degrees(np.unwrap(np.radians(np.append(ra, ra[0]))))
        ra = ra + 360.0 * np.round((ra_mid - ra.mean()) / 360.0)
        ax.plot(ra, np.append(dec, dec[0]), color="crimson", lw=1.3, solid_joinstyle="round")
        x, y = rr[inside], dd[inside]
        k = int(np.argmin((x - x.mean()) ** 2 + (y - y.mean()) ** 2))
        in_view.append((Shard(order, pixel).key, float(x[k]), float(y[k])))
    if len(in_view) <= max_labels:
        for key, x, y in in_view:
            ax.text(x, y, key, fontsize=7, color="white", ha="center", va="center",
                    path_effects=[patheffects.withStroke(linewidth=2, foreground="black")])
    return len(in_view)


def _ra_origin(ra: np.ndarray) -> float:
    """RA (deg) just after the widest empty gap of the RAs on the circle: the left-open origin."""
    s = np.sort(np.mod(ra, 360.0))
    gaps = np.diff(np.concatenate([s, [s[0] + 360.0]]))
    k = int(np.argmax(gaps))
    return float(s[(k + 1) % s.size])


