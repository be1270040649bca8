"""The Δz table of each tomographic bin: the deep-field and clustering estimates, their consistency
and their combination (Hoyle et al. 2018, MNRAS 478, 592, §6).

Two combinations (config ``validation.combination``):

* ``inverse_variance``: the two Δz averaged with weights 1/σ², as DES Y1 did. Right when both
  methods see the whole bin.
* ``range_split``: clustering redshifts see a bin only inside their reference's range (z ≤ 1.5 for
  the mock's, as for DESI-like references); a bin's objects beyond it (interlopers a photo-z puts at
  low z) move its mean, and only the deep field sees them. Writing the bin's mean as
  ``f ⟨z⟩_in + (1 − f) ⟨z⟩_out`` (``f`` the fraction inside the range), the in-range mean is
  the inverse-variance combination of the deep field's and the one the clustering Δz implies
  (:func:`zshard.clustering.delta_z.in_range_mean`); ``f`` and the out-of-range mean come from the
  deep field alone:

      Δz = Δz_deep + f (⟨z⟩_in,combined − ⟨z⟩_in,deep)

  with ``σ² = σ_deep² − (f σ_in,deep)² + (f σ_in,combined)²``: the deep field's in-range error
  (shot noise and sample variance of the in-range objects) is replaced by the combined one, every
  other term (zero point, the tails) kept. This is the principle of DES Y3's use of clustering
  redshifts as information on the n(z) where the reference is (Myles et al. 2021, MNRAS 505, 4249;
  Gatti et al. 2022, MNRAS 510, 1223), reduced to the mean. The two methods' consistency is then
  checked on what both measure, the in-range mean.
"""

from __future__ import annotations

import numpy as np

__all__ = ["inverse_variance_combination", "range_split_combination", "method_consistency", "delta_z_table"]

COMBINATIONS = ("inverse_variance", "range_split")


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


def range_split_combination(cosmos: dict, wz: dict) -> dict | None:
    """The ``range_split`` combination of one bin (see the module docstring).

    ``cosmos`` is a deep-field row with ``delta_z``, ``sigma_total`` and ``in_range``
    (``fraction``, ``mean_z_ref``, ``sigma``: :func:`zshard.validation.deep_field.deep_field_delta_z`
    with ``z_range``); ``wz`` a clustering row with ``in_range`` (``mean_z``, ``error``). Returns
    ``delta_z``, ``error``, ``method``, ``wz_weight`` (the clustering's weight in the in-range
    mean) and ``in_range`` (``fraction``, ``mean_z`` combined, ``error``), or None where a number is
    missing (the caller falls back to :func:`inverse_variance_combination`).
    """
    d_in, w_in = cosmos.get("in_range"), wz.get("in_range")
    if not d_in or not w_in:
        return None
    f, m_d, s_d = _num(d_in.get("fraction")), _num(d_in.get("mean_z_ref")), _num(d_in.get("sigma"))
    m_w, s_w = _num(w_in.get("mean_z")), _num(w_in.get("error"))
    dz, s_total = _num(cosmos.get("delta_z")), _num(cosmos.get("sigma_total"))
    numbers = np.array([f, m_d, s_d, m_w, s_w, dz, s_total])
    if not np.all(np.isfinite(numbers)) or s_d <= 0 or s_w <= 0:
        return None
    m_c, s_c = inverse_variance_combination([m_d, m_w], [s_d, s_w])
    error = float(np.sqrt(max(s_total ** 2 - (f * s_d) ** 2, 0.0) + (f * s_c) ** 2))
    return {"delta_z": float(dz + f * (m_c - m_d)), "error": error, "method": "range_split",
            "wz_weight": float(s_c ** 2 / s_w ** 2),
            "in_range": {"z_range": d_in.get("z_range"), "fraction": f, "mean_z": m_c, "error": s_c}}


def delta_z_table(edges, cosmos: dict | None = None, clustering: dict | None = None,
                  truth: dict | None = None, *, tension_sigma: float, combination: str) -> list[dict]:
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
    combination : {"inverse_variance", "range_split"}
        How the two are combined (config ``validation.combination``; the module docstring).
        ``range_split`` falls back to ``inverse_variance`` in a bin where a method lacks its
        in-range part, and says so in ``combined.method``.

    Returns
    -------
    list of dict, one per bin: ``bin``, ``z_lo``, ``z_hi``, ``cosmos`` {delta_z, error, terms
    (bootstrap, sample_variance, zero_point), in_range}, ``wz`` {delta_z, error, z_range,
    in_range}, ``combined`` {delta_z, error, method, and with ``range_split`` wz_weight and
    in_range}, ``consistency`` (:func:`method_consistency`; of the in-range means where the
    combination is ``range_split``, of the Δz otherwise), ``truth`` {delta_z, mean_z_in_range} or
    None. A method that was not run is None; a method that gave no value for a bin has NaN entries
    (null in JSON).
    """
    if combination not in COMBINATIONS:
        raise ValueError(f"combination must be one of {COMBINATIONS}, got {combination!r}")
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
                "terms": {k: _num(c.get(f"sigma_{k}")) for k in ("bootstrap", "sample_variance", "zero_point")},
                "in_range": c.get("in_range")}
               if cosmos is not None else None)
        wz = ({"delta_z": _num(w.get("delta_z")), "error": _num(w.get("error")), "z_range": w.get("z_range"),
               "in_range": w.get("in_range")}
              if clustering is not None else None)
        split = range_split_combination(c, w) if combination == "range_split" and cos and wz else None
        if split is not None:
            combined = split
            d_in, w_in = c["in_range"], w["in_range"]
            consistency = method_consistency({"delta_z": _num(d_in["mean_z_ref"]), "error": _num(d_in["sigma"])},
                                             {"delta_z": _num(w_in["mean_z"]), "error": _num(w_in["error"])},
                                             tension_sigma)
            consistency["quantity"] = "in-range mean redshift"
        else:
            parts = [m for m in (cos, wz) if m is not None]
            value, error = inverse_variance_combination([m["delta_z"] for m in parts],
                                                        [m["error"] for m in parts]) if parts else (nan, nan)
            fallback = combination == "range_split" and cos and wz
            combined = {"delta_z": value, "error": error,
                        "method": "inverse_variance" + (" (no in-range part to split)" if fallback else "")}
            consistency = method_consistency(cos, wz, tension_sigma) if cos and wz else None
            if consistency:
                consistency["quantity"] = "delta_z"
        out.append({"bin": i, "z_lo": float(edges[i]), "z_hi": float(edges[i + 1]), "cosmos": cos, "wz": wz,
                    "combined": combined, "consistency": consistency,
                    "truth": ({"delta_z": _num(t.get("delta_z_true")),
                               "mean_z_in_range": _num(t.get("mean_z_true_in_range"))}
                              if truth is not None else None)})
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
