"""The n(z) products an analysis takes away (rule ``nz_products``), each written atomically.

* :func:`bin_priors` -- per bin, the Gaussian prior on the mean-redshift shift Δz (the combined
  estimate of ``validation/delta_z_table.json``) with each method's estimate and error terms, as
  flat key -> scalar metadata.
* :func:`write_nz_products_sacc` -- a SACC file (LSST DESC ``sacc``) with one ``NZ`` tracer per bin:
  the n(z), the shift prior and the methods in the tracer metadata, and the n(z) realisations of
  :func:`zshard.tomography.ensemble.nz_realisations` as the tracer's extra columns.
* :func:`cosmosis_values_ini`, :func:`cosmosis_priors_ini` -- the CosmoSIS values and priors
  snippets of the shift parameters ``bias_1`` .. ``bias_n`` (the ``photoz_bias`` module in
  ``additive`` mode, n(z) → n(z − bias), so ``bias_i`` = Δz_i; DES Y1 shipped its priors so,
  Hoyle et al. 2018, MNRAS 478, 592, Table 3).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from zshard.io.atomic import atomic_path
from zshard.tomography.ensemble import mean_z, nz_realisations, set_mean_z
from zshard.tomography.partial import NzPartial
from zshard.tomography.reduction import NzResult, reduce_partials

__all__ = [
    "build_nz_products",
    "shifted_result",
    "bin_priors",
    "realisation_column",
    "write_nz_products_sacc",
    "cosmosis_values_ini",
    "cosmosis_priors_ini",
    "write_text",
]


def _finite(value) -> bool:
    return value is not None and np.isfinite(float(value))


def bin_priors(table: Mapping | None, nbins: int) -> list[dict]:
    """The shift prior and the methods' estimates of each bin, from ``validation/delta_z_table.json``.

    Returns one dict per bin with ``delta_z`` and ``delta_z_sigma`` (the combined estimate; NaN where
    no method gave one) and, as far as known, ``delta_z_cosmos``, ``delta_z_cosmos_sigma`` and its
    terms ``delta_z_cosmos_sigma_bootstrap`` / ``_sample_variance`` / ``_zero_point``,
    ``delta_z_wz``, ``delta_z_wz_sigma``, ``delta_z_wz_z_lo`` / ``_z_hi`` (the WZ window),
    ``delta_z_cosmos_vs_wz_sigma`` and ``delta_z_methods_tension``; ``delta_z_combination`` (how the
    two were combined) and, with ``range_split``, ``delta_z_wz_weight_in_range``. ``table`` None (no method ran):
    NaN priors.
    """
    rows = {int(r["bin"]): r for r in (table or {}).get("bins", [])}
    out = []
    for i in range(nbins):
        row = rows.get(i, {})
        combined = row.get("combined") or {}
        prior = {"delta_z": float(combined["delta_z"]) if _finite(combined.get("delta_z")) else np.nan,
                 "delta_z_sigma": float(combined["error"]) if _finite(combined.get("error")) else np.nan}
        if combined.get("method"):
            prior["delta_z_combination"] = combined["method"]
        if _finite(combined.get("wz_weight")):
            prior["delta_z_wz_weight_in_range"] = float(combined["wz_weight"])
        cosmos, wz, consistency = row.get("cosmos"), row.get("wz"), row.get("consistency")
        if cosmos:
            prior.update(delta_z_cosmos=cosmos.get("delta_z"), delta_z_cosmos_sigma=cosmos.get("error"),
                         **{f"delta_z_cosmos_sigma_{k}": v for k, v in (cosmos.get("terms") or {}).items()})
        if wz:
            prior.update(delta_z_wz=wz.get("delta_z"), delta_z_wz_sigma=wz.get("error"))
            if wz.get("z_range"):
                prior.update(delta_z_wz_z_lo=wz["z_range"][0], delta_z_wz_z_hi=wz["z_range"][1])
        if consistency and consistency.get("tension") is not None:
            prior.update(delta_z_cosmos_vs_wz_sigma=consistency["n_sigma"],
                         delta_z_methods_tension=bool(consistency["tension"]))
        out.append(prior)
    return out


def build_nz_products(partials: Sequence[NzPartial], table: Mapping | None, n_realisations: int,
                      seed: int) -> tuple[NzResult, list[dict], list[dict]]:
    """The n(z) (as rule ``reduce_nz`` reduces it), the Δz priors and the realisations of every bin.

    Parameters
    ----------
    partials : the per-shard partial sums (``tomography/partials/*.npz``), one per shard
    table : ``validation/delta_z_table.json``, or None where no Δz method ran
    n_realisations : realisations per bin
    seed : seed of the realisations' generator (one stream for all bins, in bin order)

    Returns
    -------
    (NzResult, priors of :func:`bin_priors`, per bin the dict of
    :func:`zshard.tomography.ensemble.nz_realisations` centred on ``mean_z + Δz`` with σ_Δz)
    """
    partials = list(partials)
    if not partials:
        raise ValueError("no partial n(z): the n(z) products need at least one shard")
    result = reduce_partials(partials)
    priors = bin_priors(table, result.nbins)
    rng = np.random.default_rng(seed)
    ensembles = []
    for i in range(result.nbins):
        stacks = np.stack([p.stacked[i] for p in partials])
        dz = priors[i]["delta_z"] if np.isfinite(priors[i]["delta_z"]) else 0.0
        ensembles.append(nz_realisations(result.grid_edges, stacks, result.mean_z[i] + dz,
                                         priors[i]["delta_z_sigma"], n_realisations, rng))
    return result, priors, ensembles


def shifted_result(result: NzResult, priors: Sequence[Mapping]) -> NzResult:
    """``result`` with each bin's n(z) moved by its combined Δz, n(z − Δz), its mean then ``mean_z + Δz``.

    A bin without a Δz estimate, or without objects, is left as it is.
    """
    import dataclasses

    nz = result.nz.copy()
    for i, prior in enumerate(priors):
        if np.isfinite(prior["delta_z"]) and np.isfinite(result.mean_z[i]):
            nz[i], _ = set_mean_z(result.grid_edges, result.nz[i], result.mean_z[i] + prior["delta_z"])
    return dataclasses.replace(result, nz=nz, mean_z=mean_z(result.grid_edges, nz))


def realisation_column(r: int) -> str:
    """Name of realisation ``r`` among a SACC ``NZ`` tracer's extra columns."""
    return f"realisation_{r:04d}"


def _scalar_metadata(meta: Mapping) -> dict:
    """Metadata a FITS header holds: finite numbers, bools, strings (None and NaN left out)."""
    out = {}
    for key, value in meta.items():
        if isinstance(value, (bool, np.bool_)):
            out[key] = bool(value)
        elif isinstance(value, str):
            out[key] = value
        elif isinstance(value, (int, np.integer)):
            out[key] = int(value)
        elif value is not None and np.isfinite(float(value)):
            out[key] = float(value)
    return out


def write_nz_products_sacc(path: str | os.PathLike, result: NzResult, priors: Sequence[Mapping],
                           realisations: Sequence[Mapping], metadata: Mapping,
                           quantity: str = "galaxy_shear") -> str:
    """Write n(z), the Δz priors and the n(z) realisations as one SACC file, atomically.

    Tracer ``source_i`` (bin i, 0-based) holds ``z`` = the fine grid centres, ``nz`` = the bin's
    n(z) as delivered (``nz/nz.sacc.fits``), and extra columns ``realisation_0000`` .. (unit-area
    densities on the same z). Its metadata: ``n_gal``, ``z_low``, ``z_high``, ``mean_z`` (of
    ``nz``), the prior (:func:`bin_priors`: ``delta_z_prior`` = ``gaussian`` with ``delta_z``,
    ``delta_z_sigma``, and each method's terms), ``mean_z_calibrated`` = mean_z + Δz, and of the
    realisations ``n_realisations``, ``realisations_mean_z_mean`` / ``_std`` (measured over the
    ensemble), ``realisations_sigma_mean_z_shards``, ``realisations_n_shards`` and
    ``realisations_n_redrawn`` (means drawn again below z = 0: the prior truncated). NaN values
    are left out (FITS headers cannot hold them). ``metadata`` goes to the file's own metadata.

    Returns the path written.
    """
    import warnings

    import sacc
    from astropy.io.fits.verify import VerifyWarning

    if len(priors) != result.nbins or len(realisations) != result.nbins:
        raise ValueError(f"{result.nbins} bins but {len(priors)} priors and {len(realisations)} realisation sets")
    s = sacc.Sacc()
    s.metadata.update(_scalar_metadata(metadata))
    for i in range(result.nbins):
        prior, ens = priors[i], realisations[i]
        meta = {"n_gal": int(result.counts[i]), "z_low": float(result.edges[i]),
                "z_high": float(result.edges[i + 1]), "mean_z": result.mean_z[i], **prior,
                "n_realisations": int(ens["nz"].shape[0]),
                "realisations_sigma_mean_z_shards": ens["sigma_mean_z_shards"],
                "realisations_n_shards": ens["n_shards"], "realisations_n_redrawn": ens["n_redrawn"]}
        if _finite(prior["delta_z"]) and _finite(prior["delta_z_sigma"]):
            meta.update(delta_z_prior="gaussian", mean_z_calibrated=result.mean_z[i] + prior["delta_z"])
        if np.isfinite(ens["mean_z"]).all():
            meta.update(realisations_mean_z_mean=float(np.mean(ens["mean_z"])),
                        realisations_mean_z_std=float(np.std(ens["mean_z"], ddof=1)))
        extra = {realisation_column(r): ens["nz"][r].copy() for r in range(ens["nz"].shape[0])}
        s.add_tracer("NZ", f"source_{i}", result.grid_centres.copy(), result.nz[i].copy(), quantity=quantity,
                     metadata=_scalar_metadata(meta), extra_columns=extra)
    path = str(path)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # META_ keywords longer than 8 characters
        s.save_fits(tmp, overwrite=True)
    return path


def _header(lines: Sequence[str]) -> list[str]:
    return [f"; {line}" for line in lines]


def cosmosis_values_ini(priors: Sequence[Mapping], section: str, range_sigma: float) -> str:
    """The CosmoSIS ``values.ini`` section of the shift parameters: ``bias_i = lo start hi``.

    ``start`` is the combined Δz of bin i and the range ``start ± range_sigma × σ``; a bin with no
    Δz estimate is fixed at 0 (``bias_i = 0.0``) and a comment says so.
    """
    lines = _header(["zshard: mean-redshift shift of each tomographic bin, Δz = <z_true> - <z_phot>",
                     "for CosmoSIS photoz_bias (mode = additive: n(z) -> n(z - bias_i)); lo start hi",
                     f"range: the combined Δz ± {range_sigma:g} σ"]) + [f"[{section}]"]
    for i, p in enumerate(priors):
        if _finite(p["delta_z"]) and _finite(p["delta_z_sigma"]):
            dz, sigma = p["delta_z"], p["delta_z_sigma"]
            lines.append(f"bias_{i + 1} = {dz - range_sigma * sigma:.6f} {dz:.6f} {dz + range_sigma * sigma:.6f}")
        else:
            lines += [f"; bin {i + 1}: no Δz estimate, the shift is fixed at 0", f"bias_{i + 1} = 0.0"]
    return "\n".join(lines) + "\n"


def cosmosis_priors_ini(priors: Sequence[Mapping], section: str) -> str:
    """The CosmoSIS ``priors.ini`` section: ``bias_i = gaussian Δz σ`` for each bin with an estimate."""
    lines = _header(["zshard: Gaussian priors on the tomographic bins' mean-redshift shifts (combined Δz, σ)",
                     "for CosmoSIS photoz_bias (mode = additive); bins without an estimate have none"])
    lines.append(f"[{section}]")
    for i, p in enumerate(priors):
        if _finite(p["delta_z"]) and _finite(p["delta_z_sigma"]):
            lines.append(f"bias_{i + 1} = gaussian {p['delta_z']:.6f} {p['delta_z_sigma']:.6f}")
    return "\n".join(lines) + "\n"


def write_text(path: str | os.PathLike, text: str) -> str:
    """Write ``text`` to ``path`` atomically (UTF-8). Returns the path written."""
    path = str(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return path
