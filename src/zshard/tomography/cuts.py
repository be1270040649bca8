"""The optional selection cuts of the tomographic sample: outside the training set's colour coverage,
fainter than a magnitude limit.

Objects failing a cut get bin -1 (:func:`selection_cuts` gives the ``mask`` of
:func:`zshard.tomography.binning.assign_bins`) and are counted per cut in the partial sums
(``cut_counts``, ``n_cut`` of :class:`zshard.tomography.partial.NzPartial`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CUT_NAMES",
    "selection_cuts",
    "selection_cuts_from_config",
]

#: The optional selection cuts, in the order of ``NzPartial.cut_counts``.
CUT_NAMES = ("in_coverage", "mag_max")


def selection_cuts(n: int, in_coverage: np.ndarray | None = None, magnitude: np.ndarray | None = None,
                   mag_max: float | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """The optional selection cuts of the tomographic sample.

    Parameters
    ----------
    n : int
        Number of objects.
    in_coverage : (n,) bool array, optional
        Whether each object lies in the colour coverage of the training set
        (``zshard.representativeness``); None: no coverage cut.
    magnitude, mag_max : (n,) array and float, optional
        Keep objects with ``magnitude <= mag_max``; a missing (non-finite) magnitude fails the cut
        (a non-detection is fainter than any limit). None: no magnitude cut.

    Returns
    -------
    keep : (n,) bool array
        True for objects passing every cut (pass it as ``mask`` to :func:`zshard.tomography.binning.assign_bins`).
    failed : dict
        Number of objects failing each cut (keys :data:`CUT_NAMES`, 0 for a cut not applied) and
        ``"any"`` (failing at least one).
    """
    keep = np.ones(int(n), dtype=bool)
    failed = {name: 0 for name in CUT_NAMES}
    if in_coverage is not None:
        cov = np.asarray(in_coverage)
        if cov.shape != keep.shape:
            raise ValueError(f"in_coverage has shape {cov.shape}, expected ({n},)")
        cov = cov.astype(bool)
        failed["in_coverage"] = int((~cov).sum())
        keep &= cov
    if mag_max is not None:
        if magnitude is None:
            raise ValueError("a magnitude cut needs the magnitudes")
        mag = np.asarray(magnitude, dtype=np.float64)
        if mag.shape != keep.shape:
            raise ValueError(f"magnitude has shape {mag.shape}, expected ({n},)")
        with np.errstate(invalid="ignore"):
            bright = np.isfinite(mag) & (mag <= float(mag_max))
        failed["mag_max"] = int((~bright).sum())
        keep &= bright
    failed["any"] = int((~keep).sum())
    return keep, failed


def selection_cuts_from_config(cuts: dict, catalog, in_coverage: np.ndarray | None = None
                               ) -> tuple[np.ndarray, dict[str, int]]:
    """:func:`selection_cuts` as configured by ``tomography.cuts``.

    ``catalog`` (a frame with the ``mag_<band>`` columns) gives the magnitudes of a ``mag_max`` cut;
    ``in_coverage`` is needed (and used) only when ``cuts["in_coverage"]`` is set.
    """
    if cuts["in_coverage"] and in_coverage is None:
        raise ValueError("tomography.cuts.in_coverage: no in_coverage flags (the model has no coverage model)")
    mag_cut = cuts["mag_max"]
    return selection_cuts(len(catalog), in_coverage if cuts["in_coverage"] else None,
                          catalog[f"mag_{mag_cut['band']}"].to_numpy() if mag_cut else None,
                          mag_cut["value"] if mag_cut else None)
