"""The Δz table of each tomographic bin: the deep-field and clustering estimates, their consistency
and their combination (Hoyle et al. 2018, MNRAS 478, 592, §6)."""

from __future__ import annotations

import numpy as np

__all__ = ["inverse_variance_combination", "method_consistency", "delta_z_table"]


def inverse_variance_combination(values, errors) -> tuple[float, float]:
    """Inverse-variance weighted mean of independent estimates and its error.

    ``x = Σ x_i/σ_i² / Σ 1/σ_i²``, ``σ = (Σ 1/σ_i²)^(-1/2)`` — how DES Y1 combined the COSMOS and
    WZ estimates of Δz per bin (Hoyle et al. 2018, MNRAS 478, 592, §6). Estimates whose value or
    error is not finite, or whose error is not positive, are left out; with none left the result is
    ``(nan, nan)``.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    s = np.asarray(errors, dtype=np.float64).ravel()
    if x.shape != s.shape:
        raise ValueError(f"{x.size} values but {s.size} errors")
    ok = np.isfinite(x) & np.isfinite(s) & (s > 0)
    if not ok.any():
        return float("nan"), float("nan")
    w = 1.0 / s[ok] ** 2
    return float(np.sum(w * x[ok]) / np.sum(w)), float(1.0 / np.sqrt(np.sum(w)))


def delta_z_table(edges, cosmos: dict | None = None, clustering: dict | None = None,
                  truth: dict | None = None, *, tension_sigma: float) -> list[dict]:
    """The Δz table per tomographic bin (``validation/delta_z_table.json``'s ``bins``).

    Parameters
    ----------
    edges : tomographic bin edges
    cosmos : ``validation/delta_z.json`` (method 1, deep field; rows with ``delta_z``,
        ``sigma_total``) or None
    clustering : ``validation/clustering_delta_z.json`` (method 2, WZ; rows with ``delta_z``,
        ``error``, ``z_range``) or None
    truth : ``validation/truth.json`` (rows with ``delta_z_true``) or None
    tension_sigma : float
        The two methods disagree in a bin where ``|n_sigma|`` exceeds this (config
        ``validation.tension_sigma``).

    Returns
    -------
    list of dict, one per bin: ``bin``, ``z_lo``, ``z_hi``, ``cosmos`` {delta_z, error, terms
    (bootstrap, sample_variance, zero_point)}, ``wz`` {delta_z, error, z_range}, ``combined``
    {delta_z, error} (inverse-variance, :func:`inverse_variance_combination`), ``consistency``
    (:func:`method_consistency`), ``truth`` {delta_z} or None. A method that was not run is None; a
    method that gave no value for a bin has NaN entries (null in JSON).
    """
    edges = np.asarray(edges, dtype=np.float64)
    nbins = edges.size - 1
    nan = float("nan")

    def by_bin(payload):
        return {int(r["bin"]): r for r in payload["bins"]} if payload else {}

    c_rows, w_rows, t_rows = by_bin(cosmos), by_bin(clustering), by_bin(truth)
    out = []
    for i in range(nbins):
        c, w, t = c_rows.get(i, {}), w_rows.get(i, {}), t_rows.get(i, {})
        cos = ({"delta_z": _num(c.get("delta_z")), "error": _num(c.get("sigma_total")),
                "terms": {k: _num(c.get(f"sigma_{k}")) for k in ("bootstrap", "sample_variance", "zero_point")}}
               if cosmos is not None else None)
        wz = ({"delta_z": _num(w.get("delta_z")), "error": _num(w.get("error")), "z_range": w.get("z_range")}
              if clustering is not None else None)
        parts = [m for m in (cos, wz) if m is not None]
        value, error = inverse_variance_combination([m["delta_z"] for m in parts], [m["error"] for m in parts]) \
            if parts else (nan, nan)
        out.append({"bin": i, "z_lo": float(edges[i]), "z_hi": float(edges[i + 1]), "cosmos": cos, "wz": wz,
                    "combined": {"delta_z": value, "error": error},
                    "consistency": method_consistency(cos, wz, tension_sigma) if cos and wz else None,
                    "truth": {"delta_z": _num(t.get("delta_z_true"))} if truth is not None else None})
    return out


def method_consistency(cosmos: dict, wz: dict, tension_sigma: float) -> dict:
    """How far apart the deep-field and clustering Δz of one bin are, in units of their joint error.

    ``n_sigma = (Δz_cosmos − Δz_wz) / sqrt(σ_cosmos² + σ_wz²)`` (the two estimates are independent:
    different samples, different information; Hoyle et al. 2018 §6 and Gatti et al. 2018 compare
    them so before combining). ``tension`` is True where ``|n_sigma| > tension_sigma``, None where a
    method gave no estimate for the bin. Returns ``difference``, ``error``, ``n_sigma``, ``tension``.
    """
    difference = cosmos["delta_z"] - wz["delta_z"]
    error = float(np.hypot(cosmos["error"], wz["error"]))
    ok = np.isfinite(difference) and np.isfinite(error) and error > 0
    n_sigma = difference / error if ok else float("nan")
    return {"difference": float(difference), "error": error, "n_sigma": float(n_sigma),
            "tension": bool(abs(n_sigma) > tension_sigma) if ok else None}


def _num(value) -> float:
    """A JSON number (None for NaN) as a float, NaN when missing."""
    return float("nan") if value is None else float(value)
