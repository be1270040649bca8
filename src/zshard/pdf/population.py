"""The redshift distribution of a population as a monotone map, for outlier components shaped like n(z).

A mixture-model photo-z likelihood gives the objects its p(z) does not explain an outlier
population (Budavári 2009, ApJ 695, 747; the "outlier floor" of template codes). Uniform over
``[z_min, z_max]``, that component puts as much probability at z = 2.9 as at the peak of the
sample's n(z). :class:`PopulationShape` is the alternative: the outlier density follows the
population's own redshift distribution — a histogram of the spectroscopic redshifts, mixed with a
uniform fraction ``f`` so that no redshift in range has zero density (``f = 1``: the uniform).

Its CDF ``U`` is piecewise linear on the histogram's edges and strictly increasing, so
``t = U(z)`` maps ``[z_min, z_max]`` onto ``[0, 1]`` and the n(z)-shaped component becomes the
uniform on ``[0, 1]``. :mod:`zshard.calibration` uses that change of variable: the quantiles of
every p(z) are mapped to ``t``, the uniform-outlier mixture and its PIT map are fitted and applied
there unchanged, and the calibrated quantiles are mapped back with ``U⁻¹``. Quantiles are
invariant under a monotone map, so the p(z) themselves are the same; only the interpolation
between their knots (linear in ``t`` instead of ``z`` inside the calibration) differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from zshard.pdf.representation import _check_range

__all__ = ["PopulationShape", "OutlierShapes", "UNIFORM_FRACTIONS"]

#: Uniform fractions of the shape tried by :func:`zshard.calibration.fit_outlier_shape` (1.0: the plain uniform,
#: so a sample whose outliers do not follow n(z) falls back to the old component).
UNIFORM_FRACTIONS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class PopulationShape:
    """A strictly increasing piecewise-linear CDF ``U`` on ``[z_min, z_max]``.

    Attributes
    ----------
    edges : ndarray, shape (B + 1,)
        Redshifts of the knots, ``edges[0] = z_min``, ``edges[-1] = z_max``, increasing.
    cdf : ndarray, shape (B + 1,)
        ``U(edges)``: strictly increasing from 0 to 1.
    uniform_fraction : float
        The uniform part ``f`` mixed into the histogram (recorded; ``edges``/``cdf`` already hold it).
    """

    edges: np.ndarray
    cdf: np.ndarray
    uniform_fraction: float

    def __post_init__(self) -> None:
        z = np.array(self.edges, dtype=np.float64)
        c = np.array(self.cdf, dtype=np.float64)
        if z.ndim != 1 or z.shape != c.shape or z.size < 2:
            raise ValueError("edges and cdf must be 1-D arrays of equal length >= 2")
        if not (np.all(np.isfinite(z)) and np.all(np.isfinite(c))):
            raise ValueError("edges and cdf must be finite")
        if np.any(np.diff(z) <= 0.0) or np.any(np.diff(c) <= 0.0):
            raise ValueError("edges and cdf must be strictly increasing")
        if c[0] != 0.0 or c[-1] != 1.0:
            raise ValueError("cdf must run from 0 to 1")
        f = float(self.uniform_fraction)
        if not 0.0 < f <= 1.0:
            raise ValueError(f"uniform_fraction must lie in (0, 1], got {f}")
        z.setflags(write=False)
        c.setflags(write=False)
        object.__setattr__(self, "edges", z)
        object.__setattr__(self, "cdf", c)
        object.__setattr__(self, "uniform_fraction", f)
        # the tables of the fast maps (forward, inverse): see _fast_tables
        object.__setattr__(self, "_tables", _fast_tables(z, c))

    @classmethod
    def from_sample(cls, z: ArrayLike, z_min: float, z_max: float, bin_width: float, uniform_fraction: float,
                    weights: ArrayLike | None = None) -> PopulationShape:
        """The histogram of ``z`` (bins of about ``bin_width`` over ``[z_min, z_max]``, values outside
        clipped into the end bins, optionally weighted) mixed with a uniform fraction ``uniform_fraction``."""
        z_min, z_max = _check_range(z_min, z_max)
        if not bin_width > 0.0:
            raise ValueError(f"bin_width must be positive, got {bin_width}")
        f = float(uniform_fraction)
        if not 0.0 < f <= 1.0:
            raise ValueError(f"uniform_fraction must lie in (0, 1], got {f}")
        z = np.asarray(z, dtype=np.float64).ravel()
        w = np.ones_like(z) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != z.shape:
            raise ValueError(f"weights must have shape {z.shape}, got {w.shape}")
        ok = np.isfinite(z) & np.isfinite(w) & (w > 0)
        n_bins = max(1, int(np.ceil((z_max - z_min) / float(bin_width) - 1e-9)))
        edges = np.linspace(z_min, z_max, n_bins + 1)
        counts, _ = np.histogram(np.clip(z[ok], z_min, z_max), edges, weights=w[ok])
        total = counts.sum()
        if not total > 0:
            raise ValueError("no finite redshift with positive weight to shape the outlier component")
        mass = (1.0 - f) * counts / total + f / n_bins
        cdf = np.concatenate(([0.0], np.cumsum(mass)))
        cdf /= cdf[-1]
        cdf[-1] = 1.0
        return cls(edges, cdf, f)

    @property
    def z_min(self) -> float:
        return float(self.edges[0])

    @property
    def z_max(self) -> float:
        return float(self.edges[-1])

    def forward(self, z: ArrayLike) -> np.ndarray:
        """``t = U(z)`` (float64; clamped to [0, 1] outside the range; NaN stays NaN)."""
        z = np.asarray(z, dtype=np.float64)
        scale, slope = self._tables["forward"]
        if scale is None:
            return np.interp(z, self.edges, self.cdf)
        return _piecewise(z, self.edges[0], scale, None, self.edges, self.cdf, slope, 0.0, 1.0)

    def inverse(self, t: ArrayLike) -> np.ndarray:
        """``z = U⁻¹(t)`` (float64; clamped to [z_min, z_max]; NaN stays NaN)."""
        t = np.asarray(t, dtype=np.float64)
        scale, table, slope = self._tables["inverse"]
        if scale is None:
            return np.interp(t, self.cdf, self.edges)
        return _piecewise(t, 0.0, scale, table, self.cdf, self.edges, slope, self.z_min, self.z_max)

    def density(self, z: ArrayLike) -> np.ndarray:
        """``U'(z)``, the outlier component's density (per unit redshift; 0 outside the range)."""
        z = np.asarray(z, dtype=np.float64)
        slope = np.diff(self.cdf) / np.diff(self.edges)
        j = np.clip(np.searchsorted(self.edges, z, side="right") - 1, 0, slope.size - 1)
        return np.where((z >= self.edges[0]) & (z <= self.edges[-1]), slope[j], 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"method": "histogram of the spectroscopic redshifts mixed with a uniform",
                "edges": [float(x) for x in self.edges], "cdf": [float(x) for x in self.cdf],
                "uniform_fraction": self.uniform_fraction}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PopulationShape:
        try:
            return cls(np.asarray(d["edges"], dtype=np.float64), np.asarray(d["cdf"], dtype=np.float64),
                       float(d["uniform_fraction"]))
        except KeyError as exc:
            raise ValueError(f"outlier shape dict lacks key {exc}") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PopulationShape):
            return NotImplemented
        return (self.uniform_fraction == other.uniform_fraction and np.array_equal(self.edges, other.edges)
                and np.array_equal(self.cdf, other.cdf))

    __hash__ = None  # type: ignore[assignment]


def _fast_tables(edges: np.ndarray, cdf: np.ndarray) -> dict:
    """What :meth:`PopulationShape.forward` / ``inverse`` need to find each value's segment without a
    binary search (np.interp's): the segment of z is ``floor((z - z_min) / width)`` when the edges are
    evenly spaced (else None: np.interp); for t, a table over ``M`` equal cells of [0, 1] gives the
    segment at each cell's start, and a cell narrower than every segment holds at most one knot, so one
    comparison finishes the search (``M`` a power of two, at most 2**20, else None: np.interp)."""
    n = edges.size - 1
    widths, gaps = np.diff(edges), np.diff(cdf)
    forward = (None, None)
    if np.allclose(widths, widths[0], rtol=1e-9, atol=0.0):
        forward = (n / (edges[-1] - edges[0]), gaps / widths)
    cells = 1 << max(4, int(np.ceil(np.log2(2.0 / gaps.min()))))
    inverse = (None, None, None)
    if cells <= 1 << 20:
        starts = np.arange(cells, dtype=np.float64) / cells
        table = np.clip(np.searchsorted(cdf, starts, side="right") - 1, 0, n - 1).astype(np.intp)
        inverse = (float(cells), table, widths / gaps)
    return {"forward": forward, "inverse": inverse}


def _piecewise(x: np.ndarray, x0: float, scale: float, table: np.ndarray | None, knots_x: np.ndarray,
               knots_y: np.ndarray, slope: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The piecewise-linear map through (knots_x, knots_y) at ``x``, clipped to [lo, hi]: the segment
    is ``floor((x - x0) * scale)``, or ``table`` of that cell plus one where ``x`` reaches the next knot.
    The same values as np.interp (to rounding); NaN stays NaN."""
    n = slope.size
    with np.errstate(invalid="ignore"):
        cell = np.subtract(x, x0)
        cell *= scale
        np.clip(cell, 0, (n if table is None else table.size) - 1, out=cell)
        j = cell.astype(np.intp)
    j[np.isnan(x)] = 0
    if table is not None:
        j = table[j]
        j += x >= knots_x[np.minimum(j + 1, n)]
        np.minimum(j, n - 1, out=j)
    out = x - knots_x[j]
    out *= slope[j]
    out += knots_y[j]
    return np.clip(out, lo, hi, out=out)


@dataclass(frozen=True)
class OutlierShapes:
    """One :class:`PopulationShape` per cell of the objects' raw p(z) median: the outlier component
    of an object follows the redshift distribution of the validation objects whose p(z) median lies
    in the same cell (one cell: the whole sample's n(z)).

    Attributes
    ----------
    cell_edges : ndarray, shape (C - 1,)
        Increasing inner boundaries of the cells on the p(z) median (cell c: ``edges[c-1] <= median <
        edges[c]``).
    shapes : tuple of PopulationShape, length C
        Their shapes, all on the same range and with the same uniform fraction.
    """

    cell_edges: np.ndarray
    shapes: tuple[PopulationShape, ...]

    def __post_init__(self) -> None:
        edges = np.array(self.cell_edges, dtype=np.float64).ravel()
        shapes = tuple(self.shapes)
        if len(shapes) != edges.size + 1:
            raise ValueError(f"{len(shapes)} shapes for {edges.size + 1} cells")
        if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) < 0.0):
            raise ValueError("cell_edges must be finite and non-decreasing")
        if len({(s.z_min, s.z_max, s.uniform_fraction) for s in shapes}) != 1:
            raise ValueError("the shapes must share their range and uniform fraction")
        edges.setflags(write=False)
        object.__setattr__(self, "cell_edges", edges)
        object.__setattr__(self, "shapes", shapes)

    @classmethod
    def from_sample(cls, z: ArrayLike, medians: ArrayLike, n_cells: int, z_min: float, z_max: float,
                    bin_width: float, uniform_fraction: float, weights: ArrayLike | None = None) -> OutlierShapes:
        """``n_cells`` equal-count cells of ``medians`` (the objects' raw p(z) medians), each with the
        shape (:meth:`PopulationShape.from_sample`) of the redshifts ``z`` of its objects."""
        z = np.asarray(z, dtype=np.float64).ravel()
        m = np.asarray(medians, dtype=np.float64).ravel()
        w = np.ones_like(z) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
        ok = np.isfinite(m)
        n_cells = max(1, int(n_cells))
        edges = np.quantile(m[ok], np.linspace(0.0, 1.0, n_cells + 1)[1:-1]) if n_cells > 1 else np.empty(0)
        cells = np.searchsorted(edges, m, side="right")
        whole = PopulationShape.from_sample(z, z_min, z_max, bin_width, uniform_fraction, w)  # for an empty cell
        return cls(edges, tuple(PopulationShape.from_sample(z[cells == c], z_min, z_max, bin_width, uniform_fraction,
                                                            w[cells == c]) if np.any(w[cells == c] > 0) else whole
                                for c in range(n_cells)))

    @property
    def z_min(self) -> float:
        return self.shapes[0].z_min

    @property
    def z_max(self) -> float:
        return self.shapes[0].z_max

    @property
    def uniform_fraction(self) -> float:
        return self.shapes[0].uniform_fraction

    def cells(self, medians: ArrayLike) -> np.ndarray:
        """The cell of each p(z) median (NaN: the last cell)."""
        return np.searchsorted(self.cell_edges, np.asarray(medians, dtype=np.float64), side="right")

    def _per_cell(self, method: str, x: ArrayLike, cells: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if len(self.shapes) == 1:
            return getattr(self.shapes[0], method)(x)
        out = np.empty(x.shape)
        for c, shape in enumerate(self.shapes):
            rows = cells == c
            if rows.any():
                out[rows] = getattr(shape, method)(x[rows])
        return out

    def forward(self, z: ArrayLike, cells: np.ndarray) -> np.ndarray:
        """``U_c(z)`` of each row's cell (rows of ``z``: objects)."""
        return self._per_cell("forward", z, cells)

    def inverse(self, t: ArrayLike, cells: np.ndarray) -> np.ndarray:
        """``U_c⁻¹(t)`` of each row's cell."""
        return self._per_cell("inverse", t, cells)

    def density(self, z: ArrayLike, cells: np.ndarray) -> np.ndarray:
        """``U_c'(z)`` of each object's cell."""
        return self._per_cell("density", z, cells)

    def to_dict(self) -> dict[str, Any]:
        return {"conditioned_on": "the raw p(z) median", "cell_edges": [float(x) for x in self.cell_edges],
                "shapes": [s.to_dict() for s in self.shapes]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OutlierShapes:
        try:
            return cls(np.asarray(d["cell_edges"], dtype=np.float64),
                       tuple(PopulationShape.from_dict(s) for s in d["shapes"]))
        except KeyError as exc:
            raise ValueError(f"outlier shapes dict lacks key {exc}") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OutlierShapes):
            return NotImplemented
        return np.array_equal(self.cell_edges, other.cell_edges) and self.shapes == other.shapes

    __hash__ = None  # type: ignore[assignment]
