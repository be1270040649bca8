"""Conditional PIT maps: one map per cell of the raw p(z)'s relative width.

A global PIT map (Bordoloi, Lilly & Amara 2010) calibrates the sample as a whole: the PITs of
bright objects can stay too narrow while those of faint ones become too broad, and the total still
looks uniform. Local recalibration fits the map conditionally on the object (Zhao et al. 2021,
MNRAS 503, 2019; Dey et al. 2022, "Calibrated predictive distributions via diagnostics for
conditional coverage"). The simple version here conditions on a statistic every calibrate job
already has, the raw p(z) itself: its relative width ``(q84 − q16) / (1 + q50)``, which follows
the magnitude (faint objects have broad p(z)) and the colour degeneracies. The validation objects
are split into equal-count cells of that width and each cell gets its own PIT map (fewer knots
than the global one: the cells hold fewer objects); an object is calibrated with its cell's map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zshard.pdf.distribution import ppf

__all__ = ["LocalMaps", "pdf_widths"]


def pdf_widths(quantiles: np.ndarray, levels: np.ndarray, z_min: float, z_max: float) -> np.ndarray:
    """``(q84 − q16) / (1 + q50)`` of each p(z): its quantile columns where they are levels, else the ppf."""
    wanted = (0.16, 0.5, 0.84)
    hits = [np.flatnonzero(np.isclose(levels, a, rtol=0.0, atol=1e-12)) for a in wanted]
    if all(h.size for h in hits):
        lo, mid, hi = (np.asarray(quantiles[:, h[0]], dtype=np.float64) for h in hits)
    else:
        lo, mid, hi = ppf(quantiles, levels, list(wanted), z_min, z_max).T
    return (hi - lo) / (1.0 + mid)


@dataclass(frozen=True)
class LocalMaps:
    """PIT maps per cell of :func:`pdf_widths`.

    Attributes
    ----------
    cell_edges : ndarray, shape (C - 1,)
        Increasing inner boundaries of the cells (cell c: ``edges[c-1] <= width < edges[c]``).
    pit_knots, level_knots : tuple of ndarray, length C
        Each cell's map, as :class:`zshard.calibration.PitCalibration` holds one.
    n_fit : tuple of int, length C
        The validation objects each map was fitted on.
    """

    cell_edges: np.ndarray
    pit_knots: tuple[np.ndarray, ...]
    level_knots: tuple[np.ndarray, ...]
    n_fit: tuple[int, ...]

    def __post_init__(self) -> None:
        edges = np.array(self.cell_edges, dtype=np.float64).ravel()
        n = edges.size + 1
        if not (len(self.pit_knots) == len(self.level_knots) == len(self.n_fit) == n):
            raise ValueError(f"local maps: {n} cells but {len(self.pit_knots)} maps")
        if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) < 0.0):
            raise ValueError("local maps: cell_edges must be finite and non-decreasing")
        edges.setflags(write=False)
        object.__setattr__(self, "cell_edges", edges)
        object.__setattr__(self, "pit_knots", tuple(np.array(k, dtype=np.float64) for k in self.pit_knots))
        object.__setattr__(self, "level_knots", tuple(np.array(k, dtype=np.float64) for k in self.level_knots))
        object.__setattr__(self, "n_fit", tuple(int(k) for k in self.n_fit))

    def cells(self, widths: np.ndarray) -> np.ndarray:
        """The cell of each p(z) width (NaN: the last cell)."""
        return np.searchsorted(self.cell_edges, np.asarray(widths, dtype=np.float64), side="right")

    def to_dict(self) -> dict[str, Any]:
        return {"conditioned_on": "(q84 - q16) / (1 + q50) of the raw p(z)",
                "cell_edges": [float(x) for x in self.cell_edges],
                "pit_knots": [[float(x) for x in k] for k in self.pit_knots],
                "level_knots": [[float(x) for x in k] for k in self.level_knots], "n_fit": list(self.n_fit)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LocalMaps:
        try:
            return cls(np.asarray(d["cell_edges"], dtype=np.float64), tuple(map(np.asarray, d["pit_knots"])),
                       tuple(map(np.asarray, d["level_knots"])), tuple(d["n_fit"]))
        except KeyError as exc:
            raise ValueError(f"local maps dict lacks key {exc}") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LocalMaps):
            return NotImplemented
        return (np.array_equal(self.cell_edges, other.cell_edges) and self.n_fit == other.n_fit
                and all(np.array_equal(a, b) for a, b in zip(self.pit_knots, other.pit_knots))
                and all(np.array_equal(a, b) for a, b in zip(self.level_knots, other.level_knots)))

    __hash__ = None  # type: ignore[assignment]
