"""Tomographic binning and the per-bin redshift distributions n(z), built shard by shard.

Objects are assigned to tomographic bins by a point estimate of their photometric redshift
(e.g. the PDF median), and the n(z) of a bin is the weighted stack of the per-object p(z) of its
members (the "stacked PDF" estimator, e.g. Hoyle et al. 2018, MNRAS 478, 592, §3). The stack is a
sum, so each shard produces an :class:`NzPartial` of plain sums, partials are added in any order
(:meth:`NzPartial.combine`), and only the final :func:`reduce_partials` normalises them.

Conventions
-----------
* Redshift bin edges ``edges`` (nbins + 1,), increasing; bin ``i`` holds
  ``edges[i] <= z < edges[i + 1]``; bin index ``-1`` means "not in any bin".
* ``grid_edges`` (m,) is the fine redshift grid on which p(z) is tabulated; ``pz_grid`` (n, m - 1)
  holds each object's probability *mass* in each grid cell (not a density), as returned by
  ``zshard.pdf.binned.bin_probabilities``.
* The output n(z) is a density per unit redshift: ``sum(nz[i] * diff(grid_edges)) == 1``.

Edges and cuts
--------------
The edges are either configured (default DES Y1, Hoyle et al. 2018) or *equal-number* edges
(:func:`equal_number_edges`), computed once from the point estimates of an id-hashed science
sample, so that every bin holds the same share of the (cut) sample. Objects failing the optional
selection cuts (:func:`selection_cuts`: outside the training set's colour coverage, fainter than a
magnitude limit) get bin -1 and are counted per cut in the partials (``cut_counts``, ``n_cut``).

Outputs
-------
:func:`write_nz_fits` (the CosmoSIS / ``twopoint`` ``NZ_SOURCE`` layout), :func:`write_nz_text`
(``numpy.loadtxt``; CosmoSIS ``load_nz``), :func:`write_nz_sacc` (a SACC file with one ``NZ``
tracer per bin (LSST DESC ``sacc``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from zshard.io.atomic import atomic_path
from zshard.pdf.binned import stack
from zshard.pdf.representation import check_quantiles

__all__ = [
    "CUT_NAMES",
    "equal_number_edges",
    "selection_cuts",
    "selection_cuts_from_config",
    "edges_from_json",
    "default_grid_edges",
    "assign_bins",
    "NzPartial",
    "partial_nz",
    "partial_nz_from_pdfs",
    "NzResult",
    "reduce_partials",
    "write_nz_fits",
    "write_nz_text",
    "write_nz_sacc",
]

#: The optional selection cuts, in the order of ``NzPartial.cut_counts``.
CUT_NAMES = ("in_coverage", "mag_max")


def default_grid_edges() -> np.ndarray:
    """Default fine redshift grid: edges 0, 0.01, ..., 3.00 (300 cells of width 0.01)."""
    return np.round(np.linspace(0.0, 3.0, 301), 10)


def _check_edges(edges, name: str) -> np.ndarray:
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError(f"{name} must be a 1-d array of at least 2 values, got shape {edges.shape}")
    if not np.all(np.isfinite(edges)) or not np.all(np.diff(edges) > 0):
        raise ValueError(f"{name} must be finite and strictly increasing: {edges}")
    return edges


# --------------------------------------------------------------------------------------------
# Bin assignment
# --------------------------------------------------------------------------------------------
def assign_bins(z_point: np.ndarray, edges: Sequence[float] | np.ndarray,
                mask: np.ndarray | None = None) -> np.ndarray:
    """Tomographic bin index of each object from a redshift point estimate.

    Parameters
    ----------
    z_point : (n,) array
        Redshift point estimate per object (e.g. the p(z) median); NaN allowed.
    edges : (nbins + 1,) array
        Increasing bin edges in redshift. Bin ``i`` is ``edges[i] <= z < edges[i + 1]``.
    mask : (n,) bool array, optional
        Objects with ``mask`` False (outside the coverage of the training set, failing a magnitude
        cut, ...) get bin -1.

    Returns
    -------
    (n,) int64 array
        Bin index 0..nbins-1, or -1 for objects outside all bins, with non-finite ``z_point``, or
        masked out.
    """
    edges = _check_edges(edges, "edges")
    z = np.asarray(z_point, dtype=np.float64)
    # side="right": z == edges[i] lands in bin i; z == edges[-1] is outside (half-open bins).
    idx = np.searchsorted(edges, z, side="right").astype(np.int64) - 1
    out = (idx < 0) | (idx >= edges.size - 1) | ~np.isfinite(z)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != z.shape:
            raise ValueError(f"mask shape {mask.shape} does not match z_point shape {z.shape}")
        out |= ~mask
    idx[out] = -1
    return idx


def equal_number_edges(z_point: np.ndarray, n_bins: int, z_range: Sequence[float],
                       mask: np.ndarray | None = None) -> np.ndarray:
    """Bin edges that put the same number of objects in each of ``n_bins`` bins.

    The outer edges are ``z_range``; inner edge k (``k = 1 .. n_bins - 1``) lies halfway between
    the order statistics ``z_(j-1)`` and ``z_(j)``, ``j = ceil(k N / n_bins)``, of the N finite point
    estimates inside ``z_range`` (and ``mask``), so that with the half-open bins of
    :func:`assign_bins` the counts differ by at most one (plus the number of values tied at an
    edge). The result depends only on the multiset of values: it is deterministic and does not
    depend on their order (compute it once, e.g. from an id-hashed science sample, and reuse it).

    Parameters
    ----------
    z_point : (n,) array
        Point estimates (NaN allowed: ignored).
    n_bins : int
        Number of bins, >= 1.
    z_range : (2,) sequence
        ``(z_low, z_high)``: the first and last edge.
    mask : (n,) bool array, optional
        Objects to use (e.g. those passing the selection cuts).

    Returns
    -------
    (n_bins + 1,) float64 array, strictly increasing.

    Raises
    ------
    ValueError
        If ``n_bins < 1``, the range is empty, fewer than ``n_bins`` objects lie in it, or ties
        make two edges equal.
    """
    n_bins = int(n_bins)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    lo, hi = (float(v) for v in z_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"z_range must be two finite increasing values, got {z_range}")
    z = np.asarray(z_point, dtype=np.float64)
    keep = np.isfinite(z) & (z >= lo) & (z < hi)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != z.shape:
            raise ValueError(f"mask shape {mask.shape} does not match z_point shape {z.shape}")
        keep &= mask
    z = z[keep]
    if z.size < n_bins:
        raise ValueError(f"equal-number edges: only {z.size} objects in [{lo}, {hi}) for {n_bins} bins")
    z = np.sort(z)
    j = -(-(np.arange(1, n_bins, dtype=np.int64) * z.size) // n_bins)  # ceil(k N / n_bins), exact
    inner = 0.5 * (z[j - 1] + z[j])
    edges = np.concatenate([[lo], inner, [hi]])
    if not np.all(np.diff(edges) > 0):
        raise ValueError(f"equal-number edges are not strictly increasing (tied point estimates?): {edges}")
    return edges


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
        True for objects passing every cut (pass it as ``mask`` to :func:`assign_bins`).
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


def edges_from_json(payload: dict) -> np.ndarray:
    """The tomographic edges of an ``edges.json`` written by rule ``tomography_edges``."""
    return _check_edges(payload["edges"], "edges")


# --------------------------------------------------------------------------------------------
# Per-shard partial sums
# --------------------------------------------------------------------------------------------
@dataclass
class NzPartial:
    """Additive partial sums of the tomographic n(z) over one shard (or any subset of objects).

    Attributes
    ----------
    edges : (nbins + 1,) float64
        Tomographic bin edges (redshift).
    grid_edges : (m,) float64
        Fine redshift grid edges of the stacked p(z); default 0..3 in steps of 0.01.
    counts : (nbins,) int64
        Number of objects in each bin.
    weight_sums : (nbins,) float64
        Sum of the object weights in each bin.
    stacked : (nbins, m - 1) float64
        ``sum_j w_j * pz_grid[j]`` over the objects ``j`` of the bin (probability mass per cell).
    z_point_sums : (nbins,) float64
        ``sum_j w_j * z_point[j]`` over the objects of the bin.
    n_objects : int
        Number of rows seen, including those not in any bin.
    cut_counts : (len(CUT_NAMES),) int64
        Number of rows failing each selection cut of :data:`CUT_NAMES` (see :func:`selection_cuts`).
    n_cut : int
        Number of rows failing at least one cut (they have bin -1).

    A partial built with only ``edges`` (and ``grid_edges``) is the empty partial, the identity of
    ``+``.
    """

    edges: np.ndarray
    grid_edges: np.ndarray = field(default_factory=default_grid_edges)
    counts: np.ndarray | None = None
    weight_sums: np.ndarray | None = None
    stacked: np.ndarray | None = None
    z_point_sums: np.ndarray | None = None
    n_objects: int = 0
    cut_counts: np.ndarray | None = None
    n_cut: int = 0

    def __post_init__(self) -> None:
        self.edges = _check_edges(self.edges, "edges")
        self.grid_edges = _check_edges(self.grid_edges, "grid_edges")
        nbins, ncells = self.nbins, self.grid_edges.size - 1
        self.counts = (np.zeros(nbins, np.int64) if self.counts is None
                       else np.asarray(self.counts, dtype=np.int64))
        self.weight_sums = (np.zeros(nbins) if self.weight_sums is None
                            else np.asarray(self.weight_sums, dtype=np.float64))
        self.stacked = (np.zeros((nbins, ncells)) if self.stacked is None
                        else np.asarray(self.stacked, dtype=np.float64))
        self.z_point_sums = (np.zeros(nbins) if self.z_point_sums is None
                             else np.asarray(self.z_point_sums, dtype=np.float64))
        self.n_objects = int(self.n_objects)
        self.cut_counts = (np.zeros(len(CUT_NAMES), np.int64) if self.cut_counts is None
                           else np.asarray(self.cut_counts, dtype=np.int64))
        if self.cut_counts.shape != (len(CUT_NAMES),):
            raise ValueError(f"cut_counts has shape {self.cut_counts.shape}, expected ({len(CUT_NAMES)},)")
        self.n_cut = int(self.n_cut)
        for name in ("counts", "weight_sums", "z_point_sums"):
            if getattr(self, name).shape != (nbins,):
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected ({nbins},)")
        if self.stacked.shape != (nbins, ncells):
            raise ValueError(f"stacked has shape {self.stacked.shape}, expected ({nbins}, {ncells})")

    @property
    def nbins(self) -> int:
        """Number of tomographic bins."""
        return self.edges.size - 1

    # ---- persistence ------------------------------------------------------------------------
    def to_npz(self, path: str | os.PathLike) -> str:
        """Write the partial to ``path`` (exactly that name, even without ``.npz``), atomically.

        Returns the path written.
        """
        path = str(path)
        with atomic_path(path) as tmp:
            # Writing through an open file object stops numpy from appending ".npz" to the name.
            with open(tmp, "wb") as fh:
                np.savez(fh, edges=self.edges, grid_edges=self.grid_edges, counts=self.counts,
                         weight_sums=self.weight_sums, stacked=self.stacked,
                         z_point_sums=self.z_point_sums, n_objects=np.int64(self.n_objects),
                         cut_counts=self.cut_counts, n_cut=np.int64(self.n_cut))
                fh.flush()
                os.fsync(fh.fileno())
        return path

    @classmethod
    def from_npz(cls, path: str | os.PathLike) -> NzPartial:
        """Read a partial written by :meth:`to_npz` (one without cut counts reads as no cuts)."""
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            missing = {"edges", "grid_edges", "counts", "weight_sums", "stacked", "z_point_sums",
                       "n_objects"} - set(data.files)
            if missing:
                raise ValueError(f"{path}: not an NzPartial file, missing arrays {sorted(missing)}")
            return cls(edges=data["edges"], grid_edges=data["grid_edges"], counts=data["counts"],
                       weight_sums=data["weight_sums"], stacked=data["stacked"],
                       z_point_sums=data["z_point_sums"], n_objects=int(data["n_objects"]),
                       cut_counts=data["cut_counts"] if "cut_counts" in data.files else None,
                       n_cut=int(data["n_cut"]) if "n_cut" in data.files else 0)

    # ---- combination ------------------------------------------------------------------------
    def _check_compatible(self, other: NzPartial) -> None:
        if not isinstance(other, NzPartial):
            raise TypeError(f"cannot add NzPartial and {type(other).__name__}")
        if self.edges.shape != other.edges.shape or not np.allclose(self.edges, other.edges,
                                                                     rtol=0, atol=1e-12):
            raise ValueError(f"cannot combine NzPartials with different tomographic bin edges: "
                             f"{self.edges} vs {other.edges}")
        if (self.grid_edges.shape != other.grid_edges.shape
                or not np.allclose(self.grid_edges, other.grid_edges, rtol=0, atol=1e-12)):
            raise ValueError(f"cannot combine NzPartials with different redshift grids (grid_edges): "
                             f"{self.grid_edges.size} edges on [{self.grid_edges[0]}, "
                             f"{self.grid_edges[-1]}] vs {other.grid_edges.size} edges on "
                             f"[{other.grid_edges[0]}, {other.grid_edges[-1]}]")

    def __add__(self, other: NzPartial) -> NzPartial:
        self._check_compatible(other)
        return NzPartial(edges=self.edges.copy(), grid_edges=self.grid_edges.copy(),
                         counts=self.counts + other.counts,
                         weight_sums=self.weight_sums + other.weight_sums,
                         stacked=self.stacked + other.stacked,
                         z_point_sums=self.z_point_sums + other.z_point_sums,
                         n_objects=self.n_objects + other.n_objects,
                         cut_counts=self.cut_counts + other.cut_counts, n_cut=self.n_cut + other.n_cut)

    @staticmethod
    def combine(partials: Iterable[NzPartial]) -> NzPartial:
        """Sum any number (at least one) of compatible partials.

        Raises
        ------
        ValueError
            If the list is empty, or two partials differ in ``edges`` or ``grid_edges`` (the
            message says which).
        """
        partials = list(partials)
        if not partials:
            raise ValueError("combine needs at least one NzPartial")
        first = partials[0]
        out = NzPartial(edges=first.edges.copy(), grid_edges=first.grid_edges.copy(),
                        counts=first.counts.copy(), weight_sums=first.weight_sums.copy(),
                        stacked=first.stacked.copy(), z_point_sums=first.z_point_sums.copy(),
                        n_objects=first.n_objects, cut_counts=first.cut_counts.copy(), n_cut=first.n_cut)
        for p in partials[1:]:  # in-place sums: one (nbins, m-1) buffer however many shards
            out._check_compatible(p)
            out.counts += p.counts
            out.weight_sums += p.weight_sums
            out.stacked += p.stacked
            out.z_point_sums += p.z_point_sums
            out.n_objects += p.n_objects
            out.cut_counts += p.cut_counts
            out.n_cut += p.n_cut
        return out


def partial_nz(pz_grid: np.ndarray, z_point: np.ndarray, bins: np.ndarray, edges: Sequence[float] | np.ndarray,
               grid_edges: Sequence[float] | np.ndarray | None = None,
               weights: np.ndarray | None = None, cuts_failed: dict[str, int] | None = None) -> NzPartial:
    """Partial n(z) sums of one shard, from each object's probability mass on the fine grid.

    Parameters
    ----------
    pz_grid : (n, m - 1) array
        Probability mass of each object's p(z) in each cell of ``grid_edges``.
    z_point : (n,) array
        Redshift point estimate used for the binning (its weighted mean per bin is kept).
    bins : (n,) int array
        Tomographic bin of each object (from :func:`assign_bins`); -1 = not binned.
    edges : (nbins + 1,) array
        Tomographic bin edges.
    grid_edges : (m,) array, optional
        Fine redshift grid; default :func:`default_grid_edges`.
    weights : (n,) array, optional
        Non-negative finite object weights (default 1).
    cuts_failed : dict, optional
        The objects failing the selection cuts, as returned by :func:`selection_cuts` (recorded in
        ``cut_counts`` and ``n_cut``; the cut itself is applied through ``bins``).

    Returns
    -------
    NzPartial

    Raises
    ------
    ValueError
        On shape mismatch, bin indices outside -1..nbins-1, bad weights, or non-finite ``pz_grid``
        / ``z_point`` for a binned object.
    """
    grid_edges = default_grid_edges() if grid_edges is None else _check_edges(grid_edges, "grid_edges")
    ncells = grid_edges.size - 1
    pz = np.asarray(pz_grid, dtype=np.float64)
    if pz.ndim != 2 or pz.shape[1] != ncells:
        raise ValueError(f"pz_grid has shape {pz.shape}, expected (n, {ncells}) for "
                         f"{grid_edges.size} grid edges")
    b, w = _checked_bins_and_weights(pz.shape[0], z_point, bins, edges, weights)
    binned = b >= 0
    if not np.all(np.isfinite(pz[binned])):
        raise ValueError("pz_grid has non-finite values for objects assigned to a bin")

    def stack_bin(selected: np.ndarray) -> np.ndarray:  # one BLAS matrix-vector product per bin
        return w[selected] @ pz[selected]

    return _partial(stack_bin, z_point, b, w, edges, grid_edges, cuts_failed)


def partial_nz_from_pdfs(quantiles: np.ndarray, levels: Sequence[float], z_min: float, z_max: float,
                         z_point: np.ndarray, bins: np.ndarray, edges: Sequence[float] | np.ndarray,
                         grid_edges: Sequence[float] | np.ndarray, weights: np.ndarray | None = None,
                         cuts_failed: dict[str, int] | None = None) -> NzPartial:
    """Partial n(z) sums of one shard, stacked straight from the quantile p(z) (:func:`zshard.pdf.binned.stack`).

    The same sums as :func:`partial_nz` of :func:`zshard.pdf.binned.bin_probabilities` (equal up to
    rounding), without the (n, m - 1) grid matrix: time O(n K log m) and memory O(K) per object,
    against O(n m) for the grid (m = 300 cells of 0.01 took 2.4 kB per object).

    Parameters
    ----------
    quantiles : (n, K) array
        Each object's p(z) quantiles at ``levels`` (the calibrated table of the shard).
    levels : (K,) array
    z_min, z_max : float
        Support of the p(z).
    z_point, bins, edges, weights, cuts_failed
        As for :func:`partial_nz`.
    grid_edges : (m,) array
        Fine redshift grid of the stacked n(z).

    Raises
    ------
    ValueError
        As :func:`partial_nz`, and for a binned object without a valid p(z) (a NaN quantile).
    """
    grid_edges = _check_edges(grid_edges, "grid_edges")
    q = check_quantiles(quantiles)
    b, w = _checked_bins_and_weights(q.shape[0], z_point, bins, edges, weights)
    if np.any(np.isnan(q[b >= 0])):
        raise ValueError("a binned object has no valid p(z) (a NaN quantile)")

    def stack_bin(selected: np.ndarray) -> np.ndarray:
        return stack(q[selected], levels, grid_edges, weights=w[selected], z_min=z_min, z_max=z_max)

    return _partial(stack_bin, z_point, b, w, edges, grid_edges, cuts_failed)


def _checked_bins_and_weights(n: int, z_point, bins, edges, weights) -> tuple[np.ndarray, np.ndarray]:
    """``bins`` as int64 and the weights (default 1) of ``n`` objects, checked; raises ValueError."""
    nbins = _check_edges(edges, "edges").size - 1
    z = np.asarray(z_point, dtype=np.float64)
    b = np.asarray(bins)
    if z.shape != (n,) or b.shape != (n,):
        raise ValueError(f"z_point {z.shape} and bins {b.shape} must have shape ({n},), one per object")
    if b.size and (not np.issubdtype(b.dtype, np.integer)):
        raise ValueError(f"bins must be integers, got dtype {b.dtype}")
    b = b.astype(np.int64)
    if b.size and (b.min() < -1 or b.max() >= nbins):
        raise ValueError(f"bin indices must lie in -1..{nbins - 1}, found {b.min()}..{b.max()}")
    if weights is None:
        return b, np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights has shape {w.shape}, expected ({n},)")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    return b, w


def _partial(stack_bin, z_point, b: np.ndarray, w: np.ndarray, edges, grid_edges: np.ndarray,
             cuts_failed: dict[str, int] | None) -> NzPartial:
    """The sums of :class:`NzPartial`; ``stack_bin(selected)`` stacks the selected objects' p(z)."""
    edges = _check_edges(edges, "edges")
    nbins = edges.size - 1
    z = np.asarray(z_point, dtype=np.float64)
    binned = b >= 0
    if not np.all(np.isfinite(z[binned])):
        raise ValueError("z_point has non-finite values for objects assigned to a bin")
    bb, wb = b[binned], w[binned]
    counts = np.bincount(bb, minlength=nbins).astype(np.int64)
    weight_sums = np.bincount(bb, weights=wb, minlength=nbins)
    z_point_sums = np.bincount(bb, weights=wb * z[binned], minlength=nbins)
    stacked = np.zeros((nbins, grid_edges.size - 1))
    for i in range(nbins):
        selected = b == i
        if np.any(selected):
            stacked[i] = stack_bin(selected)
    cuts_failed = cuts_failed or {}
    return NzPartial(edges=edges, grid_edges=grid_edges, counts=counts, weight_sums=weight_sums,
                     stacked=stacked, z_point_sums=z_point_sums, n_objects=int(b.size),
                     cut_counts=[int(cuts_failed.get(name, 0)) for name in CUT_NAMES],
                     n_cut=int(cuts_failed.get("any", 0)))


# --------------------------------------------------------------------------------------------
# Reduction
# --------------------------------------------------------------------------------------------
@dataclass
class NzResult:
    """Normalised tomographic redshift distributions.

    Attributes
    ----------
    nz : (nbins, m - 1) float64
        n(z) of each bin as a density per unit redshift on the fine grid:
        ``sum(nz[i] * diff(grid_edges)) == 1``. All zeros for an empty bin.
    counts : (nbins,) int64
        Number of objects per bin.
    mean_z : (nbins,) float64
        Mean redshift of each stacked n(z), ``sum(nz * z_mid * dz)`` (NaN for an empty bin).
    grid_centres : (m - 1,) float64
        Centres of the fine grid cells.
    edges : (nbins + 1,) float64
        Tomographic bin edges.
    grid_edges : (m,) float64
        Fine grid edges.
    weight_sums : (nbins,) float64
        Sum of weights per bin (the effective number of objects when weights are used).
    mean_z_point : (nbins,) float64
        Weighted mean of the point estimates of the bin's members (NaN for an empty bin).
    n_objects : int
        Number of rows seen in all shards, binned or not.
    cuts_failed : dict
        Rows failing each selection cut (:data:`CUT_NAMES`) and ``"any"`` of them.
    """

    nz: np.ndarray
    counts: np.ndarray
    mean_z: np.ndarray
    grid_centres: np.ndarray
    edges: np.ndarray
    grid_edges: np.ndarray
    weight_sums: np.ndarray
    mean_z_point: np.ndarray
    n_objects: int
    cuts_failed: dict = field(default_factory=dict)

    @property
    def nbins(self) -> int:
        """Number of tomographic bins."""
        return self.edges.size - 1


def reduce_partials(partials: NzPartial | Iterable[NzPartial]) -> NzResult:
    """Combine per-shard partials and normalise each bin's stacked p(z) to a unit-area density.

    Parameters
    ----------
    partials : NzPartial or iterable of NzPartial

    Returns
    -------
    NzResult
    """
    total = partials if isinstance(partials, NzPartial) else NzPartial.combine(partials)
    dz = np.diff(total.grid_edges)
    centres = 0.5 * (total.grid_edges[:-1] + total.grid_edges[1:])
    mass = total.stacked.sum(axis=1)
    nz = np.zeros_like(total.stacked)
    ok = mass > 0
    nz[ok] = total.stacked[ok] / (mass[ok, None] * dz[None, :])
    mean_z = np.full(total.nbins, np.nan)
    mean_z[ok] = (nz[ok] * dz * centres).sum(axis=1)
    mean_zp = np.full(total.nbins, np.nan)
    has_w = total.weight_sums > 0
    mean_zp[has_w] = total.z_point_sums[has_w] / total.weight_sums[has_w]
    return NzResult(nz=nz, counts=total.counts.copy(), mean_z=mean_z, grid_centres=centres,
                    edges=total.edges.copy(), grid_edges=total.grid_edges.copy(),
                    weight_sums=total.weight_sums.copy(), mean_z_point=mean_zp,
                    n_objects=total.n_objects,
                    cuts_failed={**dict(zip(CUT_NAMES, (int(c) for c in total.cut_counts))), "any": total.n_cut})


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------
def write_nz_fits(path: str | os.PathLike, result: NzResult, extname: str = "NZ_SOURCE") -> str:
    """Write n(z) as a FITS binary table in the CosmoSIS / ``twopoint`` layout, atomically.

    The file has an empty primary HDU and one binary table extension ``extname`` (default
    ``NZ_SOURCE``) with float64 columns ``Z_LOW``, ``Z_MID``, ``Z_HIGH`` (fine grid cell edges and
    centres) and ``BIN1`` .. ``BINn`` (n(z) per unit redshift). Header keywords: ``NZDATA`` = T
    (the sentinel by which ``twopoint`` finds n(z) extensions), ``NBIN`` (number of bins), ``NZ``
    (number of grid rows), ``MEAN_Z_i`` and ``NGAL_i`` (mean redshift and number of objects of bin
    i, 1-based), ``ZLOW_i`` / ``ZHIGH_i`` (tomographic bin edges), ``NOBJ`` (rows seen) and
    ``NCUT`` (rows removed by the selection cuts). Empty bins have a zero column and ``MEAN_Z_i`` =
    -1 (FITS headers cannot hold NaN).

    Returns the path written.
    """
    import warnings

    from astropy.io import fits
    from astropy.io.fits.verify import VerifyWarning

    z_low, z_high = result.grid_edges[:-1], result.grid_edges[1:]
    cols = [fits.Column(name="Z_LOW", format="D", array=z_low),
            fits.Column(name="Z_MID", format="D", array=result.grid_centres),
            fits.Column(name="Z_HIGH", format="D", array=z_high)]
    for i in range(result.nbins):
        cols.append(fits.Column(name=f"BIN{i + 1}", format="D", array=result.nz[i]))
    hdu = fits.BinTableHDU.from_columns(cols, name=extname)
    hdr = hdu.header
    with warnings.catch_warnings():  # keywords longer than 8 characters (>= 10 bins) use HIERARCH
        warnings.simplefilter("ignore", VerifyWarning)
        hdr["NZDATA"] = (True, "this extension holds n(z) data (twopoint)")
        hdr["NBIN"] = (result.nbins, "number of tomographic bins")
        hdr["NZ"] = (result.grid_centres.size, "number of redshift rows")
        for i in range(result.nbins):
            mz = result.mean_z[i]
            hdr[f"MEAN_Z_{i + 1}"] = (float(mz) if np.isfinite(mz) else -1.0, "mean z of bin n(z)")
            hdr[f"NGAL_{i + 1}"] = (int(result.counts[i]), "objects in bin")
            hdr[f"ZLOW_{i + 1}"] = (float(result.edges[i]), "bin lower edge")
            hdr[f"ZHIGH_{i + 1}"] = (float(result.edges[i + 1]), "bin upper edge")
        hdr["NOBJ"] = (int(result.n_objects), "rows seen incl. unbinned")
        hdr["NCUT"] = (int(result.cuts_failed.get("any", 0)), "rows removed by selection cuts")
    path = str(path)
    with atomic_path(path) as tmp:
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp, overwrite=True)
    return path


def write_nz_text(path: str | os.PathLike, result: NzResult) -> str:
    """Write n(z) as whitespace-separated text, atomically; readable with ``numpy.loadtxt``.

    ``#`` header lines give the bin edges, counts and mean redshifts; then one row per fine grid
    cell with columns ``z_mid bin1 .. binn`` (n(z) per unit redshift).

    Returns the path written.
    """
    header = [
        "zshard tomographic n(z): density per unit redshift, each bin integrates to 1",
        "bin_edges: " + " ".join(f"{e:.6g}" for e in result.edges),
        "counts: " + " ".join(str(int(c)) for c in result.counts),
        "mean_z: " + " ".join(f"{m:.6f}" for m in result.mean_z),
        "grid: cell width " + " ".join(sorted({f"{d:.6g}" for d in np.diff(result.grid_edges)}))
        + f", z from {result.grid_edges[0]:.6g} to {result.grid_edges[-1]:.6g}",
        "columns: z_mid " + " ".join(f"bin{i + 1}" for i in range(result.nbins)),
    ]
    table = np.column_stack([result.grid_centres, result.nz.T])
    path = str(path)
    with atomic_path(path) as tmp:
        np.savetxt(tmp, table, fmt="%.8e", header="\n".join(header), comments="# ")
    return path


def write_nz_sacc(path: str | os.PathLike, result: NzResult, quantity: str = "galaxy_shear") -> str:
    """Write n(z) as a SACC file (LSST DESC ``sacc``), atomically: one ``NZ`` tracer per bin.

    Tracer ``source_i`` (``i`` = 0 .. nbins - 1, the bin index of the JSON outputs; ``BIN{i+1}``
    of the FITS file) holds ``z`` = the fine grid centres and ``nz`` = the bin's n(z) per unit
    redshift (unit area). Its metadata: ``mean_z`` (omitted for an empty bin), ``n_gal`` (objects
    in the bin), ``z_low`` / ``z_high`` (the tomographic edges). ``quantity`` is SACC's tracer
    quantity (``galaxy_shear`` for weak-lensing sources). Read it back with
    ``sacc.Sacc.load_fits(path).tracers["source_0"]``.

    Returns the path written.
    """
    import warnings

    import sacc
    from astropy.io.fits.verify import VerifyWarning

    s = sacc.Sacc()
    for i in range(result.nbins):
        meta = {"n_gal": int(result.counts[i]), "z_low": float(result.edges[i]),
                "z_high": float(result.edges[i + 1])}
        if np.isfinite(result.mean_z[i]):
            meta["mean_z"] = float(result.mean_z[i])
        s.add_tracer("NZ", f"source_{i}", result.grid_centres.copy(), result.nz[i].copy(),
                     quantity=quantity, metadata=meta)
    path = str(path)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # META_ keywords longer than 8 characters
        s.save_fits(tmp, overwrite=True)
    return path
