"""Quantile p(z) as a ``qp.Ensemble`` (qp-prob), for RAIL users."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from zshard.pdf.binned import bin_probabilities
from zshard.pdf.representation import DEFAULT_Z_MAX, DEFAULT_Z_MIN, knots_with_invalid_rows

__all__ = [
    "to_qp",
]


def to_qp(
    quantiles: ArrayLike,
    levels: ArrayLike,
    z_min: float = DEFAULT_Z_MIN,
    z_max: float = DEFAULT_Z_MAX,
    representation: str = "hist",
    grid_step: float = 0.001,
):
    """The PDFs as a ``qp.Ensemble`` (qp-prob), for RAIL users.

    ``representation="hist"`` (default): ``qp.hist`` on a common grid of step ``grid_step``
    over ``[z_min, z_max]`` whose bin probabilities are the exact
    :func:`zshard.pdf.binned.bin_probabilities`, so qp's CDF equals
    :func:`zshard.pdf.distribution.cdf` at every grid edge (and is linear in between, as ours is
    within a segment).  ``representation="quant"``: ``qp.quant`` with the
    augmented knots (levels ``[0, a_1, .., a_K, 1]`` at ``[z_lo, q_1, .., q_K, z_hi]``) -- compact
    and with the same quantiles, but qp interpolates them quadratically, so its CDF between the
    knots differs slightly from ours.  Needs ``qp-prob``, which zshard does not depend on at run
    time.  Rows without a valid PDF cannot be represented: drop them first.
    """
    try:
        import qp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_qp needs the qp package: pip install qp-prob") from exc
    zk, ck, bad = knots_with_invalid_rows(quantiles, levels, z_min, z_max)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} rows have no valid PDF (NaN quantiles); drop them before to_qp")
    if representation == "quant":
        return qp.Ensemble(qp.quant, data={"quants": ck, "locs": zk, "ensure_extent": False})
    if representation != "hist":
        raise ValueError(f"representation must be 'hist' or 'quant', got {representation!r}")
    n_bins = max(1, int(round((z_max - z_min) / grid_step)))
    edges = np.linspace(z_min, z_max, n_bins + 1)
    mass = bin_probabilities(quantiles, levels, edges, z_min, z_max)
    return qp.Ensemble(qp.hist, data={"bins": edges, "pdfs": mass / np.diff(edges)})
