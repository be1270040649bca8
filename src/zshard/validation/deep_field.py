"""The deep-field ("COSMOS") Δz of each tomographic bin.

For tomographic bin i the offset is

    Δz_i = <z_true>_i − <z_phot>_i

(Hoyle et al. 2018, "Dark Energy Survey Year 1 results: redshift distributions of the weak-lensing
source galaxies", MNRAS 478, 592, eq. 2), where ``<z_phot>_i`` is the mean of the photo-z estimate
(here the per-object p(z) mean) over the bin's members and ``<z_true>_i`` is estimated
independently. This module estimates ``<z_true>_i`` from a deep reference field:

* :func:`deep_field_delta_z` – the "COSMOS method" of Hoyle et al. 2018 §4: every object of a
  deep reference field with accurate redshifts (many-band photo-z or spec-z) is given wide-survey
  photometry — its own, where the field lies inside the survey, or that of its nearest wide
  neighbour in magnitude space (:func:`nearest_science_neighbours`; Lima et al. 2008, MNRAS 390,
  118) — and with it the wide survey's photo-z and tomographic bin; the reference redshifts of
  the objects that land in a bin stand in for the bin's true redshifts.

(On a mock, where the true redshifts are known, rule ``validate_truth`` measures Δz against them.)
It returns one ``dict`` per bin, so the results tabulate directly (``pandas.DataFrame(rows)``).

Error budget of the deep-field (COSMOS) method
----------------------------------------------
Hoyle et al. (2018, §4) list the terms separately; so does :func:`deep_field_delta_z`:

* **bootstrap** (statistical): the shot noise of the finite reference sample — the spread of Δz_i
  over resamplings of the reference objects with replacement.
* **sample variance** (cosmic variance of a small field): by *jackknife* over ``K`` sub-regions of
  the field (:func:`jackknife_patches`: k-means patches on the sky), ``σ_jk² = (K−1)/K Σ_k
  (Δz_(−k) − ⟨Δz_(−k)⟩)²``. That variance holds the shot noise too, so the term reported is the
  excess ``sqrt(max(σ_jk² − σ_boot², 0))``: ~0 for a homogeneous (unclustered) field, the spread
  between sub-regions for a clustered one. A jackknife cannot see fluctuations on scales larger
  than the field; where positions are absent, or by choice, the term is instead
  ``sample_variance_fraction × ⟨z_ref⟩_i`` (a number taken from simulations, as Hoyle et al. did).
* **zero point** (photometric calibration): :func:`zero_point_delta_z` offsets each band of the
  wide (science) sample's magnitudes by a draw from N(0, σ_zp), re-matches the reference objects to
  it in magnitude space, and takes the rms over draws of the shift of Δz_i. σ_zp = 0 gives 0.
* **total**: the quadrature sum of the three.

``validation/delta_z.json`` (rule ``validate_delta_z``) has the top-level keys ``method``,
``note``, ``n_reference``, ``sample_variance`` (how the term was obtained, and ``n_patches``),
``zero_point`` (``sigma_mag``, ``n_draws``) and ``bins``: one object per tomographic bin with

* ``bin`` (0-based), ``method``, ``n_reference``, ``mean_z_ref``, ``mean_z_phot``,
  ``delta_z`` (= mean_z_ref − mean_z_phot), ``note``;
* ``sigma_bootstrap``, ``sigma_sample_variance``, ``sigma_zero_point``, ``sigma_total`` (the total
  error of ``delta_z``: the quadrature sum), ``sigma_jackknife`` (the raw jackknife error, shot
  noise included; null without patches);
* ``errors``: ``{"bootstrap", "sample_variance", "zero_point", "total"}``, the same four numbers
  (``errors.total == sigma_total``).

Bins with fewer than 2 reference objects have null (NaN) estimates and a ``note``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from zshard.features import magnitude_matrix
from zshard.io.ids import derive_seed

__all__ = [
    "impute_missing_features",
    "standardise_features",
    "nearest_science_neighbours",
    "jackknife_patches",
    "jackknife_delta_z",
    "zero_point_delta_z",
    "deep_field_delta_z",
    "deep_field_validation",
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


def nearest_science_neighbours(ref_features: np.ndarray, sci_features: np.ndarray, k: int = 1) -> np.ndarray:
    """Index of each reference object's nearest science object (or ``k`` nearest) in feature space.

    Missing values are filled by :func:`impute_missing_features` and the features standardised
    by :func:`standardise_features` before the Euclidean nearest-neighbour search.

    Returns (n_ref,) indices for ``k`` = 1, else (n_ref, k), nearest first.
    """
    from sklearn.neighbors import NearestNeighbors

    sci, ref, _ = impute_missing_features(sci_features, ref_features)
    sci, ref = standardise_features(sci, ref)
    idx = NearestNeighbors(n_neighbors=int(k)).fit(sci).kneighbors(ref, return_distance=False)
    return idx[:, 0] if int(k) == 1 else idx


def _per_bin_delta(z: np.ndarray, zp: np.ndarray, bins: np.ndarray, nbins: int,
                   weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted mean of ``z`` and ``zp`` per bin, and the weight per bin (inputs already cleaned)."""
    n = np.bincount(bins, weights=weights, minlength=nbins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_ref = np.bincount(bins, weights=z if weights is None else z * weights, minlength=nbins) / n
        mean_phot = np.bincount(bins, weights=zp if weights is None else zp * weights, minlength=nbins) / n
    return mean_ref, mean_phot, n


def _clean(ref_z, ref_bins, ref_z_phot_mean, nbins, *others):
    z = np.asarray(ref_z, dtype=np.float64)
    zp = np.asarray(ref_z_phot_mean, dtype=np.float64)
    bins = np.asarray(ref_bins)
    if not (z.shape == zp.shape == bins.shape):
        raise ValueError("ref_z, ref_bins and ref_z_phot_mean must have one entry per reference object")
    ok = np.isfinite(z) & np.isfinite(zp) & (bins >= 0) & (bins < nbins)
    rest = []
    for other in others:
        other = np.asarray(other)
        if other.shape[:1] != z.shape:
            raise ValueError("every per-object array must have one entry per reference object")
        rest.append(other[ok])
    return (z[ok], zp[ok], bins[ok].astype(np.int64), *rest)


def jackknife_patches(ra: np.ndarray, dec: np.ndarray, n_patches: int, seed: int = 0) -> np.ndarray:
    """Split a field into ``n_patches`` compact sub-regions on the sky (k-means), for a jackknife.

    k-means on the unit vectors of the positions (so RA wrap-around and convergence at the poles are
    harmless) gives contiguous patches of similar object counts, the usual choice for small fields
    where HEALPix pixels would be few and uneven. Deterministic for a ``seed``.

    Returns
    -------
    (n,) int64 array of patch labels 0..n_patches-1 (-1 for objects with non-finite positions).
    """
    from sklearn.cluster import KMeans

    ra = np.radians(np.asarray(ra, dtype=np.float64))
    dec = np.radians(np.asarray(dec, dtype=np.float64))
    if ra.shape != dec.shape:
        raise ValueError("ra and dec must have the same shape")
    labels = np.full(ra.shape, -1, dtype=np.int64)
    ok = np.isfinite(ra) & np.isfinite(dec)
    if int(n_patches) < 2 or ok.sum() < int(n_patches):
        raise ValueError(f"need at least 2 patches and as many positioned objects, got {n_patches} and {ok.sum()}")
    xyz = np.column_stack([np.cos(dec[ok]) * np.cos(ra[ok]), np.cos(dec[ok]) * np.sin(ra[ok]), np.sin(dec[ok])])
    km = KMeans(n_clusters=int(n_patches), n_init=3, random_state=int(seed) % (2**32)).fit(xyz)
    labels[ok] = km.labels_
    return labels


def jackknife_delta_z(ref_z: np.ndarray, ref_bins: np.ndarray, ref_z_phot_mean: np.ndarray,
                      patches: np.ndarray, nbins: int) -> tuple[np.ndarray, int]:
    """Delete-one-patch jackknife error of Δz_i per bin.

    ``σ_jk² = (K−1)/K Σ_k (Δz_(−k) − mean_k Δz_(−k))²`` over the ``K`` patches (labels >= 0 of
    ``patches``; objects with a negative label are left out), Δz_(−k) computed without patch k.
    A bin is NaN where fewer than 2 delete-one estimates are finite.

    Returns
    -------
    sigma : (nbins,) float64
    n_patches : int
        K, the number of patches used.
    """
    z, zp, bins, labels = _clean(ref_z, ref_bins, ref_z_phot_mean, nbins, patches)
    keep = labels >= 0
    z, zp, bins, labels = z[keep], zp[keep], bins[keep], labels[keep].astype(np.int64)
    ids = np.unique(labels)
    if ids.size < 2:
        return np.full(nbins, np.nan), int(ids.size)
    estimates = np.array([np.subtract(*_per_bin_delta(z, zp, bins, nbins, (labels != k).astype(np.float64))[:2])
                          for k in ids])
    sigma = np.full(nbins, np.nan)
    for i in range(nbins):
        e = estimates[:, i][np.isfinite(estimates[:, i])]
        if e.size >= 2:
            sigma[i] = np.sqrt((e.size - 1) / e.size * np.sum((e - e.mean()) ** 2))
    return sigma, int(ids.size)


def zero_point_delta_z(ref_mags: np.ndarray, ref_z: np.ndarray, sci_mags: np.ndarray, sci_bins: np.ndarray,
                       sci_z_phot_mean: np.ndarray, nbins: int, *, sigma_mag: float | np.ndarray, n_draws: int,
                       seed: int | np.random.Generator = 0, k: int = 10) -> dict:
    """Δz_i shift from photometric zero-point offsets between the wide survey and the reference field.

    Each reference object is matched to its ``k`` nearest wide (science) objects in magnitude space
    (:func:`nearest_science_neighbours`) and takes their bins and photo-z, each pair with weight
    1/k; Δz_i follows as in :func:`deep_field_delta_z` over the pairs in bin i (the k-neighbour
    average responds smoothly to small offsets, where a single match would jump between
    near-equivalent neighbours). Then, ``n_draws`` times, every band ``b`` of the science sample's
    magnitudes is offset by one common draw ``δ_b ~ N(0, sigma_mag_b)`` (a zero-point error), the
    reference objects are re-matched, and Δz_i recomputed. The error term is the rms over draws of
    ``Δz_i(δ) − Δz_i(0)`` (Hoyle et al. 2018, MNRAS 478, 592, §4: photometric calibration
    uncertainty of the matched photometry). ``sigma_mag`` = 0 (or ``n_draws`` = 0) gives 0.

    Parameters
    ----------
    ref_mags : (n_ref, n_bands) array
        Magnitudes of the reference objects (NaN allowed).
    ref_z : (n_ref,) array
        Their accurate redshifts.
    sci_mags : (n_sci, n_bands) array
        Magnitudes of a subsample of the wide survey, same bands.
    sci_bins, sci_z_phot_mean : (n_sci,) arrays
        Its tomographic bins (-1: none) and photo-z means.
    sigma_mag : float or (n_bands,) array
        Zero-point uncertainty per band, in magnitudes.
    n_draws : int
    seed : int or numpy Generator
    k : int
        Neighbours per reference object.

    Returns
    -------
    dict with ``sigma`` (nbins,) the rms shift per bin, ``shifts`` (n_draws, nbins),
    ``delta_z_matched`` (nbins,) the unperturbed matched Δz_i, ``offsets`` (n_draws, n_bands).
    """
    ref = _as_2d(ref_mags)
    sci = _as_2d(sci_mags)
    z = np.asarray(ref_z, dtype=np.float64)
    sb = np.asarray(sci_bins)
    szp = np.asarray(sci_z_phot_mean, dtype=np.float64)
    if ref.shape[1] != sci.shape[1]:
        raise ValueError(f"reference has {ref.shape[1]} bands, science {sci.shape[1]}")
    sig = np.broadcast_to(np.asarray(sigma_mag, dtype=np.float64), (ref.shape[1],))
    if np.any(sig < 0) or not np.all(np.isfinite(sig)):
        raise ValueError("sigma_mag must be finite and non-negative")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n_draws = int(n_draws)

    k = min(int(k), sci.shape[0])

    def matched_delta(sci_shifted: np.ndarray) -> np.ndarray:
        nearest = nearest_science_neighbours(ref, sci_shifted, k=k).reshape(len(z), k)
        zz, zp, bins = _clean(np.repeat(z, k), sb[nearest].ravel(), szp[nearest].ravel(), nbins)
        mean_ref, mean_phot, _ = _per_bin_delta(zz, zp, bins, nbins)
        return mean_ref - mean_phot

    base = matched_delta(sci)
    if n_draws <= 0 or not np.any(sig > 0):
        return {"sigma": np.where(np.isfinite(base), 0.0, np.nan), "shifts": np.zeros((max(n_draws, 0), nbins)),
                "delta_z_matched": base, "offsets": np.zeros((max(n_draws, 0), ref.shape[1]))}
    offsets = rng.normal(0.0, 1.0, (n_draws, ref.shape[1])) * sig
    shifts = np.array([matched_delta(sci + d) for d in offsets]) - base
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bins stay NaN
        sigma = np.sqrt(np.nanmean(shifts ** 2, axis=0))
    return {"sigma": sigma, "shifts": shifts, "delta_z_matched": base, "offsets": offsets}


def deep_field_delta_z(ref_z: np.ndarray, ref_bins: np.ndarray, ref_z_phot_mean: np.ndarray, nbins: int, *,
                       n_bootstrap: int, sample_variance_fraction: float, seed: int | np.random.Generator = 0,
                       method: str = "deep reference",
                       patches: np.ndarray | None = None,
                       sigma_zero_point: np.ndarray | None = None,
                       z_range: Sequence[float] | None = None) -> list[dict]:
    """Δz per tomographic bin from a deep reference field (DES Y1 "COSMOS method").

    Each reference object carries its accurate redshift ``ref_z`` and the wide survey's view of
    it: the tomographic bin ``ref_bins`` and photo-z mean ``ref_z_phot_mean`` that the pipeline
    gives its wide-survey photometry (its own, or its nearest wide neighbour's). Then, for bin i
    (Hoyle et al. 2018, MNRAS 478, 592, §4),

        Δz_i = mean(ref_z) − mean(ref_z_phot_mean)   over the reference objects in bin i.

    Errors (see the module docstring; each reported separately):

    * ``sigma_bootstrap``: the standard deviation of Δz_i over ``n_bootstrap`` resamplings of the
      reference objects with replacement (their shot noise);
    * ``sigma_sample_variance``: with ``patches`` (a sub-region label per reference object, e.g.
      from :func:`jackknife_patches`), the excess of the delete-one-patch jackknife variance over
      the bootstrap variance, ``sqrt(max(σ_jk² − σ_boot², 0))``; without, ``sample_variance_fraction``
      × mean(ref_z), the cosmic variance of a small field from simulations;
    * ``sigma_zero_point``: given (per bin, e.g. ``zero_point_delta_z(...)["sigma"]``), else 0;
    * ``sigma_total``: the quadrature sum.

    Returns one dict per bin: ``bin``, ``method``, ``n_reference``, ``mean_z_ref``, ``mean_z_phot``,
    ``delta_z``, ``sigma_bootstrap``, ``sigma_sample_variance``, ``sigma_zero_point``,
    ``sigma_jackknife`` (None without patches), ``sigma_total``, ``sample_variance_method``
    (``jackknife`` or ``fraction``), ``errors`` (``bootstrap``, ``sample_variance``, ``zero_point``,
    ``total``) and ``note``.

    With ``z_range`` (lo, hi), each row also has ``in_range``: the part of the bin's reference
    redshifts in ``lo < z <= hi`` (the range a clustering reference covers), which
    :func:`zshard.validation.combination.delta_z_table` combines with the clustering estimate:
    ``z_range``, ``fraction`` (of the bin's reference objects), ``mean_z_ref`` (their mean), its
    errors ``sigma_bootstrap`` (same replicates as Δz's) and ``sigma_sample_variance`` (the same
    jackknife excess over the bootstrap as Δz's, on the in-range objects), and ``sigma``, the two
    in quadrature. The zero-point term is not split: it moves objects between bins, so it stays
    with the whole Δz.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    extra = () if patches is None else (patches,)
    z, zp, bins, *labels = _clean(ref_z, ref_bins, ref_z_phot_mean, nbins, *extra)

    mean_ref, mean_phot, counts = _per_bin_delta(z, zp, bins, nbins)
    delta = mean_ref - mean_phot
    inside = (np.ones(z.size, dtype=bool) if z_range is None
              else (z > float(z_range[0])) & (z <= float(z_range[1])))
    z_in, zp_in, bins_in = z[inside], zp[inside], bins[inside]
    mean_in, _, counts_in = _per_bin_delta(z_in, zp_in, bins_in, nbins)
    # Bootstrap as multinomial weights on the reference objects: one vectorised pass per replicate,
    # of Δz and of the in-range mean.
    replicates, replicates_in = [], []
    for _ in range(int(n_bootstrap) if z.size else 0):
        weights = rng.multinomial(z.size, np.full(z.size, 1.0 / z.size)).astype(np.float64)
        replicates.append(np.subtract(*_per_bin_delta(z, zp, bins, nbins, weights)[:2]))
        replicates_in.append(_per_bin_delta(z_in, zp_in, bins_in, nbins, weights[inside])[0])
    with warnings.catch_warnings():  # bins with fewer than 2 replicates give NaN, flagged below
        warnings.simplefilter("ignore", RuntimeWarning)
        sigma_boot, sigma_boot_in = ((np.nanstd(np.array(r), axis=0, ddof=1) if len(r) >= 2
                                      else np.full(nbins, np.nan)) for r in (replicates, replicates_in))
    if patches is not None:
        sigma_jk, _ = jackknife_delta_z(z, bins, zp, labels[0], nbins)
        sigma_sv = np.sqrt(np.clip(sigma_jk ** 2 - sigma_boot ** 2, 0.0, None))
        sigma_jk_in, _ = jackknife_delta_z(z_in, bins_in, np.zeros(z_in.size), labels[0][inside], nbins)
        sigma_sv_in = np.sqrt(np.clip(sigma_jk_in ** 2 - sigma_boot_in ** 2, 0.0, None))
        sv_method = "jackknife"
    else:
        sigma_jk = np.full(nbins, np.nan)
        sigma_sv = float(sample_variance_fraction) * np.abs(mean_ref)
        sigma_sv_in = float(sample_variance_fraction) * np.abs(mean_in)
        sv_method = "fraction"
    sigma_zp = (np.zeros(nbins) if sigma_zero_point is None
                else np.broadcast_to(np.asarray(sigma_zero_point, dtype=np.float64), (nbins,)))
    total = np.sqrt(sigma_boot ** 2 + sigma_sv ** 2 + sigma_zp ** 2)
    rows = []
    for i in range(nbins):
        ok = counts[i] >= 2
        note = "" if ok else "fewer than 2 reference objects in this bin"

        def val(a, ok=ok, i=i):
            return float(a[i]) if ok else np.nan

        errors = {"bootstrap": val(sigma_boot), "sample_variance": val(sigma_sv), "zero_point": val(sigma_zp),
                  "total": val(total)}
        rows.append({"bin": i, "method": method, "n_reference": int(counts[i]),
                     "mean_z_ref": float(mean_ref[i]), "mean_z_phot": float(mean_phot[i]),
                     "delta_z": val(delta),
                     "sigma_bootstrap": errors["bootstrap"], "sigma_sample_variance": errors["sample_variance"],
                     "sigma_zero_point": errors["zero_point"],
                     "sigma_jackknife": val(sigma_jk) if patches is not None else None,
                     "sigma_total": errors["total"], "sample_variance_method": sv_method,
                     "errors": errors, "note": note})
        if z_range is not None:
            ok_in = counts_in[i] >= 2
            rows[-1]["in_range"] = {
                "z_range": [float(z_range[0]), float(z_range[1])],
                "fraction": float(counts_in[i] / counts[i]) if counts[i] > 0 else np.nan,
                "mean_z_ref": float(mean_in[i]) if ok_in else np.nan,
                "sigma_bootstrap": float(sigma_boot_in[i]) if ok_in else np.nan,
                "sigma_sample_variance": float(sigma_sv_in[i]) if ok_in else np.nan,
                "sigma": float(np.hypot(sigma_boot_in[i], sigma_sv_in[i])) if ok_in else np.nan}
    return rows


def deep_field_validation(reference, wide_bins, wide_sample, cfg: dict, bands: Sequence[str], nbins: int,
                          seed: int, z_range: Sequence[float] | None = None) -> dict:
    """Δz per bin against a deep reference field, each error term apart: the ``validate_delta_z`` product.

    Parameters
    ----------
    reference : pandas.DataFrame
        The deep field: ``id``, ``z_ref``, magnitudes ``mag_<band>``, and ``ra``/``dec`` where known.
    wide_bins : pandas.DataFrame
        Every wide-survey object's ``id``, ``tomo_bin`` and ``z_mean`` (the tomography bins tables).
    wide_sample : pandas.DataFrame
        The id-hashed matching subsample of the wide survey (magnitudes, ``tomo_bin``, ``z_mean``).
    cfg : dict
        The config's ``validation.deep_reference`` section.
    bands : sequence of str
    nbins : int
    seed : int
        The master seed; each random step derives its own.
    z_range : (lo, hi), optional
        The clustering reference's redshift range: each row gets its ``in_range`` part
        (:func:`deep_field_delta_z`).

    Returns
    -------
    dict
        The method, a note on the matching, the sample-variance and zero-point settings, and the rows
        of :func:`deep_field_delta_z`.

    Notes
    -----
    With ``match: id`` the field lies inside the survey, and each reference object takes its own
    wide-survey bin and photo-z; otherwise it takes those of its nearest wide neighbour in magnitude
    space. The sample variance is a jackknife over k-means sky patches of the field where enough
    objects have positions, else ``sample_variance_fraction`` of ⟨z_ref⟩. The zero-point term
    offsets the wide sample's magnitudes, re-matches and takes the rms of the Δz shift.
    """
    reference = reference[np.isfinite(reference["z_ref"].to_numpy())].reset_index(drop=True)
    if cfg["match"] == "id":
        matched = reference.merge(wide_bins, on="id", how="inner", validate="one_to_one")
        note = f"{len(matched)} of {len(reference)} reference objects found in the photometric catalogue by id"
    else:
        nearest = nearest_science_neighbours(magnitude_matrix(reference, bands), magnitude_matrix(wide_sample, bands))
        matched = reference.assign(tomo_bin=wide_sample["tomo_bin"].to_numpy()[nearest],
                                   z_mean=wide_sample["z_mean"].to_numpy()[nearest])
        note = (f"{len(reference)} reference objects matched to their nearest of {len(wide_sample)} "
                "wide-field objects")

    patches, sv_note = None, f"fraction {cfg['sample_variance_fraction']} of <z_ref> (config)"
    if cfg["sample_variance"] == "jackknife":
        ra, dec = matched["ra"].to_numpy(np.float64), matched["dec"].to_numpy(np.float64)
        positioned = np.isfinite(ra) & np.isfinite(dec)
        if positioned.sum() >= 2 * cfg["n_jackknife"]:
            patches = jackknife_patches(ra, dec, cfg["n_jackknife"], seed=derive_seed(seed, "validation.jackknife"))
            sv_note = (f"jackknife over {cfg['n_jackknife']} k-means sky patches of the field, "
                       "in excess of the bootstrap")
        else:
            sv_note = f"jackknife asked, but only {int(positioned.sum())} reference objects have positions: " + sv_note

    zp_cfg = cfg["zero_point"]
    zero_point = zero_point_delta_z(magnitude_matrix(matched, bands), matched["z_ref"].to_numpy(),
                                    magnitude_matrix(wide_sample, bands), wide_sample["tomo_bin"].to_numpy(),
                                    wide_sample["z_mean"].to_numpy(), nbins, sigma_mag=zp_cfg["sigma_mag"],
                                    n_draws=zp_cfg["n_draws"], seed=derive_seed(seed, "validation.zero_point"))
    rows = deep_field_delta_z(matched["z_ref"].to_numpy(), matched["tomo_bin"].to_numpy(),
                              matched["z_mean"].to_numpy(), nbins, n_bootstrap=cfg["n_bootstrap"],
                              seed=derive_seed(seed, "validation.delta_z"),
                              sample_variance_fraction=cfg["sample_variance_fraction"], patches=patches,
                              sigma_zero_point=zero_point["sigma"], z_range=z_range)
    return {"method": f"deep reference field, matched by {cfg['match']}", "note": note,
            "n_reference": int(len(reference)),
            "sample_variance": {"method": "jackknife" if patches is not None else "fraction", "note": sv_note,
                                "n_patches": cfg["n_jackknife"] if patches is not None else None},
            "zero_point": {"sigma_mag": zp_cfg["sigma_mag"], "n_draws": zp_cfg["n_draws"],
                           "n_wide_sample": int(len(wide_sample)), "delta_z_matched": zero_point["delta_z_matched"]},
            "bins": rows}
