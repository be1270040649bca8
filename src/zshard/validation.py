"""Validation of the tomographic n(z): the mean-redshift offset Δz of each bin.

For tomographic bin i the offset is

    Δz_i = <z_true>_i − <z_phot>_i

(Hoyle et al. 2018, "Dark Energy Survey Year 1 results: redshift distributions of the weak-lensing
source galaxies", MNRAS 478, 592, eq. 2), where ``<z_phot>_i`` is the mean of the photo-z estimate
(here the per-object p(z) mean) over the bin's members and ``<z_true>_i`` is estimated
independently. This module offers two estimates of ``<z_true>_i``:

* :func:`deep_field_delta_z` – the "COSMOS method" of Hoyle et al. 2018 §4: every object of a
  deep reference field with accurate redshifts (many-band photo-z or spec-z) is given wide-survey
  photometry — its own, where the field lies inside the survey, or that of its nearest wide
  neighbour in magnitude space (:func:`nearest_science_neighbours`; Lima et al. 2008, MNRAS 390,
  118) — and with it the wide survey's photo-z and tomographic bin; the reference redshifts of
  the objects that land in a bin stand in for the bin's true redshifts.
* :func:`true_delta_z` – on a mock, where the true redshifts are known.

Each returns one ``dict`` per bin, so the results tabulate directly (``pandas.DataFrame(rows)``).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "impute_missing_features",
    "standardise_features",
    "nearest_science_neighbours",
    "deep_field_delta_z",
    "true_delta_z",
]

#: Percentile of the finite values used to fill a missing feature (see impute_missing_features).
IMPUTE_PERCENTILE = 99.0


def impute_missing_features(sci_features: np.ndarray, ref_features: np.ndarray,
                            percentile: float = IMPUTE_PERCENTILE
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill missing (non-finite) feature values for nearest-neighbour matching.

    Rule: a missing value of feature k is replaced by the ``percentile``-th percentile (default
    99th) of all finite values of feature k in the science and reference samples combined. For
    magnitudes, a missing value is usually a non-detection, i.e. a faint source, and this puts it
    at the faint end of the observed distribution, in both samples alike, so that a non-detection
    matches non-detections. A feature with no finite value at all is filled with 0 (it then carries
    no information). Colours are treated the same way; if the features are colours, prefer
    computing them from imputed magnitudes.

    Parameters
    ----------
    sci_features : (n_sci, k) array
    ref_features : (n_ref, k) array
    percentile : float
        Percentile in [0, 100] of the combined finite values used as the fill value.

    Returns
    -------
    sci_filled, ref_filled : float64 arrays of the input shapes, without non-finite values
    fill_values : (k,) float64
        The value used for each feature.
    """
    sci = _as_2d(sci_features).copy()
    ref = _as_2d(ref_features).copy()
    if sci.shape[1] != ref.shape[1]:
        raise ValueError(f"science has {sci.shape[1]} features, reference {ref.shape[1]}")
    both = np.concatenate([sci, ref], axis=0)
    finite = np.isfinite(both)
    fill = np.zeros(both.shape[1])
    for k in range(both.shape[1]):  # loop over the few features, not the rows
        if finite[:, k].any():
            fill[k] = np.percentile(both[finite[:, k], k], percentile)
    for arr in (sci, ref):
        bad = ~np.isfinite(arr)
        arr[bad] = np.broadcast_to(fill, arr.shape)[bad]
    return sci, ref, fill


def standardise_features(sci: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale both samples by the reference sample's per-feature mean and std.

    Features with zero spread in the reference are only centred. Inputs must be finite.
    """
    mu = ref.mean(axis=0)
    sd = ref.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (sci - mu) / sd, (ref - mu) / sd


def _as_2d(x) -> np.ndarray:
    """Float64 (n, k) array; a 1-d input is one feature."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        return x[:, None]
    if x.ndim != 2:
        raise ValueError(f"features must be 1-d or 2-d, got shape {x.shape}")
    return x


def nearest_science_neighbours(ref_features: np.ndarray, sci_features: np.ndarray) -> np.ndarray:
    """Index of each reference object's nearest science object in feature space.

    Missing values are filled by :func:`impute_missing_features` and the features standardised
    by :func:`standardise_features` before the Euclidean nearest-neighbour search.
    """
    from sklearn.neighbors import NearestNeighbors

    sci, ref, _ = impute_missing_features(sci_features, ref_features)
    sci, ref = standardise_features(sci, ref)
    return NearestNeighbors(n_neighbors=1).fit(sci).kneighbors(ref, return_distance=False)[:, 0]


def deep_field_delta_z(ref_z: np.ndarray, ref_bins: np.ndarray, ref_z_phot_mean: np.ndarray, nbins: int,
                       n_bootstrap: int = 200, seed: int | np.random.Generator = 0,
                       sample_variance_fraction: float = 0.0, method: str = "deep reference") -> list[dict]:
    """Δz per tomographic bin from a deep reference field (DES Y1 "COSMOS method").

    Each reference object carries its accurate redshift ``ref_z`` and the wide survey's view of
    it: the tomographic bin ``ref_bins`` and photo-z mean ``ref_z_phot_mean`` that the pipeline
    gives its wide-survey photometry (its own, or its nearest wide neighbour's). Then, for bin i
    (Hoyle et al. 2018, MNRAS 478, 592, §4),

        Δz_i = mean(ref_z) − mean(ref_z_phot_mean)   over the reference objects in bin i.

    Errors: ``sigma_bootstrap``, the standard deviation of Δz_i over ``n_bootstrap`` resamplings
    of the reference objects with replacement (their shot noise); ``sigma_sample_variance`` =
    ``sample_variance_fraction`` × mean(ref_z), the cosmic variance of a small field, which
    Hoyle et al. took from simulations; ``sigma_total`` their quadrature sum.

    Returns one dict per bin: ``bin``, ``method``, ``n_reference``, ``mean_z_ref``, ``mean_z_phot``,
    ``delta_z``, ``sigma_bootstrap``, ``sigma_sample_variance``, ``sigma_total``, ``note``.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    z = np.asarray(ref_z, dtype=np.float64)
    zp = np.asarray(ref_z_phot_mean, dtype=np.float64)
    bins = np.asarray(ref_bins)
    if not (z.shape == zp.shape == bins.shape):
        raise ValueError("ref_z, ref_bins and ref_z_phot_mean must have one entry per reference object")
    ok = np.isfinite(z) & np.isfinite(zp) & (bins >= 0) & (bins < nbins)
    z, zp, bins = z[ok], zp[ok], bins[ok].astype(np.int64)

    def per_bin(weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = np.bincount(bins, weights=weights, minlength=nbins)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_ref = np.bincount(bins, weights=z if weights is None else z * weights, minlength=nbins) / n
            mean_phot = np.bincount(bins, weights=zp if weights is None else zp * weights, minlength=nbins) / n
        return mean_ref, mean_phot, n

    mean_ref, mean_phot, counts = per_bin(None)
    delta = mean_ref - mean_phot
    # Bootstrap as multinomial weights on the reference objects: one vectorised pass per replicate.
    replicates = np.array([np.subtract(*per_bin(rng.multinomial(z.size, np.full(z.size, 1.0 / z.size))
                                               .astype(np.float64))[:2])
                           for _ in range(int(n_bootstrap))]) if z.size else np.empty((0, nbins))
    with warnings.catch_warnings():  # bins with fewer than 2 replicates give NaN, flagged below
        warnings.simplefilter("ignore", RuntimeWarning)
        sigma_boot = (np.nanstd(replicates, axis=0, ddof=1) if len(replicates) >= 2
                      else np.full(nbins, np.nan))
    sigma_sv = float(sample_variance_fraction) * np.abs(mean_ref)
    rows = []
    for i in range(nbins):
        note = "" if counts[i] >= 2 else "fewer than 2 reference objects in this bin"
        rows.append({"bin": i, "method": method, "n_reference": int(counts[i]),
                     "mean_z_ref": float(mean_ref[i]), "mean_z_phot": float(mean_phot[i]),
                     "delta_z": float(delta[i]) if counts[i] >= 2 else np.nan,
                     "sigma_bootstrap": float(sigma_boot[i]) if counts[i] >= 2 else np.nan,
                     "sigma_sample_variance": float(sigma_sv[i]) if counts[i] >= 2 else np.nan,
                     "sigma_total": float(np.hypot(sigma_boot[i], sigma_sv[i])) if counts[i] >= 2 else np.nan,
                     "note": note})
    return rows


def true_delta_z(z_true: np.ndarray, bins: np.ndarray, z_phot_mean: np.ndarray,
                 nbins: int) -> list[dict]:
    """Δz per bin when the true redshifts are known (mock catalogues).

    ``delta_z = mean(z_true) - mean(z_phot_mean)`` over the bin's objects with both finite.

    Returns
    -------
    list of dict, one per bin
        Keys: ``bin``, ``method`` (``"truth"``), ``n``, ``mean_z_true``, ``mean_z_phot``,
        ``delta_z``, ``sigma`` (standard error of the mean of ``z_true - z_phot_mean``, i.e. the
        shot noise of this sample's Δz; NaN for n < 2), ``note``. Empty bins give NaN entries and
        a note.
    """
    zt = np.asarray(z_true, dtype=np.float64)
    zp = np.asarray(z_phot_mean, dtype=np.float64)
    b = np.asarray(bins)
    if not (zt.shape == zp.shape == b.shape):
        raise ValueError("z_true, bins and z_phot_mean must have the same shape")
    ok = np.isfinite(zt) & np.isfinite(zp)
    out = []
    for i in range(nbins):
        sel = ok & (b == i)
        n = int(sel.sum())
        if n == 0:
            out.append({"bin": i, "method": "truth", "n": 0, "mean_z_true": np.nan,
                        "mean_z_phot": np.nan, "delta_z": np.nan, "sigma": np.nan,
                        "note": "no objects in bin"})
            continue
        d = zt[sel] - zp[sel]
        out.append({"bin": i, "method": "truth", "n": n,
                    "mean_z_true": float(zt[sel].mean()), "mean_z_phot": float(zp[sel].mean()),
                    "delta_z": float(d.mean()),
                    "sigma": float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
                    "note": ""})
    return out
