"""The mock's angular correlation function, measured: Landy & Szalay (1993, ApJ 412, 64) pair counts.

Used to check the mock's clustering against its input model at the scales clustering redshifts
measure (:func:`zshard.mock.fields.one_halo_wtheta` for the satellites' excess); pair counts by
``scipy.spatial.cKDTree`` on unit vectors (chord length ``2 sin(θ/2)``), exact at every scale.
"""

from __future__ import annotations

import numpy as np


def _unit_vectors(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    ra, dec = np.radians(np.asarray(ra, dtype=np.float64)), np.radians(np.asarray(dec, dtype=np.float64))
    return np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def angular_correlation(ra: np.ndarray, dec: np.ndarray, rand_ra: np.ndarray, rand_dec: np.ndarray,
                        theta_edges_deg: np.ndarray) -> np.ndarray:
    """Landy–Szalay ``w(θ) = (DD − 2 DR + RR) / RR`` (pair counts normalised by the pairs possible)
    in the angular bins ``theta_edges_deg`` (degrees), one value per bin."""
    from scipy.spatial import cKDTree

    edges = np.asarray(theta_edges_deg, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0:
        raise ValueError(f"theta_edges_deg must increase from >= 0, got {edges}")
    chords = 2.0 * np.sin(np.radians(edges) / 2.0)
    data, rand = _unit_vectors(ra, dec), _unit_vectors(rand_ra, rand_dec)
    nd, nr = len(data), len(rand)
    if nd < 2 or nr < 2:
        raise ValueError(f"need at least 2 objects and 2 randoms, got {nd} and {nr}")
    td, tr = cKDTree(data), cKDTree(rand)

    def counts(a, b):
        return np.diff(a.count_neighbors(b, chords).astype(np.float64))

    dd = counts(td, td) / (nd * (nd - 1.0))  # ordered pairs, self-pairs at θ = 0 fall before the first edge
    rr = counts(tr, tr) / (nr * (nr - 1.0))
    dr = counts(td, tr) / (nd * float(nr))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rr > 0, (dd - 2.0 * dr + rr) / rr, np.nan)
