"""HEALPix geometry: pixel indices, the adaptive partition plan, HATS paths.

Pixel look-ups use hpgeom (LSST DESC; the HEALPix C++ routines behind a numpy interface), which
imports in ~0.1 s where healpy takes ~0.8 s: this module runs in every partition job. It is imported
where it is used, since the per-shard reduce jobs need the shard geometry but no look-up.
All pixel indices are in the NESTED scheme, as in HATS (Hierarchical Adaptive Tiling Scheme,
LINCC Frameworks / astronomy-commons): a pixel of order ``k`` holds the pixels ``4**(K-k)`` times
its index up to the next one at order ``K > k``, so coarsening is an integer shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEALPIX29_ORDER = 29
"""Order of the ``_healpix_29`` spatial index column that HATS catalogues carry."""


def radec_to_healpix(ra: np.ndarray, dec: np.ndarray, order: int) -> np.ndarray:
    """Nested HEALPix index of each position.

    Parameters
    ----------
    ra, dec : array of float, degrees (ICRS)
    order : HEALPix order, ``nside = 2**order`` (0..29)

    Returns
    -------
    int64 array of nested pixel indices.
    """
    import hpgeom

    return np.asarray(
        hpgeom.angle_to_pixel(1 << order, np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64),
                              nest=True, lonlat=True, degrees=True),
        dtype=np.int64,
    )


COORDINATES_OK = 0
COORDINATES_NOT_FINITE = 1
RA_OUT_OF_RANGE = 2
DEC_OUT_OF_RANGE = 3
RA_WRAP_LIMITS = (-360.0, 720.0)
"""Right ascensions that ``ra_outside_range: wrap`` wraps into [0, 360); farther ones are rejected."""


def check_coordinates(ra: np.ndarray, dec: np.ndarray,
                      ra_outside_range: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which positions can be placed on the sky, and the right ascensions to place them at.

    HATS and LSDB assume 0 ≤ ra < 360 and −90 ≤ dec ≤ 90 (degrees). A right ascension outside
    [0, 360) is either rejected (``ra_outside_range="reject"``) or, with ``"wrap"``, wrapped into
    [0, 360) when it lies in [−360, 720) (a catalogue in the −180…180 convention); the caller
    counts the wrapped rows. A declination outside [−90, 90] and a non-finite value are always
    rejected: they are not positions.

    Parameters
    ----------
    ra, dec : array of float, degrees
    ra_outside_range : ``"reject"`` or ``"wrap"``

    Returns
    -------
    ra : float64 array, wrapped where asked (a copy; the input is not modified)
    problem : int8 array, ``COORDINATES_OK``, ``COORDINATES_NOT_FINITE``, ``RA_OUT_OF_RANGE`` or
        ``DEC_OUT_OF_RANGE`` per row (the first that applies, in that order)
    wrapped : bool array, rows whose right ascension was wrapped
    """
    if ra_outside_range not in ("reject", "wrap"):
        raise ValueError(f"ra_outside_range must be 'reject' or 'wrap', not {ra_outside_range!r}")
    ra = np.array(ra, dtype=np.float64)
    dec = np.asarray(dec, dtype=np.float64)
    problem = np.zeros(ra.shape, dtype=np.int8)
    finite = np.isfinite(ra) & np.isfinite(dec)
    problem[~finite] = COORDINATES_NOT_FINITE
    with np.errstate(invalid="ignore"):
        outside = finite & ((ra < 0.0) | (ra >= 360.0))
        wrapped = np.zeros(ra.shape, dtype=bool)
        if ra_outside_range == "wrap":
            wrapped = outside & (ra >= RA_WRAP_LIMITS[0]) & (ra < RA_WRAP_LIMITS[1])
            turned = np.mod(ra[wrapped], 360.0)
            turned[turned >= 360.0] = 0.0  # np.mod(-1e-17, 360) rounds to 360
            ra[wrapped] = turned
            outside &= ~wrapped
        problem[outside] = RA_OUT_OF_RANGE
        problem[finite & ~outside & (np.abs(dec) > 90.0)] = DEC_OUT_OF_RANGE
    return ra, problem, wrapped


def valid_coordinates(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Mask of positions that can be placed on the sky as they are: finite, 0 ≤ ra < 360, |dec| ≤ 90."""
    return check_coordinates(ra, dec, "reject")[1] == COORDINATES_OK


@dataclass(frozen=True, order=True)
class Shard:
    """One partition of the catalogue: a HEALPix pixel of some order (HATS "Norder"/"Npix")."""

    order: int
    pixel: int

    @property
    def directory(self) -> int:
        """HATS ``Dir``: pixels grouped by ten thousands."""
        return (self.pixel // 10_000) * 10_000

    @property
    def key(self) -> str:
        """Short name used in file names and Snakemake wildcards, e.g. ``o4_p1234``."""
        return f"o{self.order}_p{self.pixel}"

    @classmethod
    def from_key(cls, key: str) -> Shard:
        try:
            order_part, pixel_part = key.split("_")
            return cls(int(order_part.removeprefix("o")), int(pixel_part.removeprefix("p")))
        except ValueError as exc:
            raise ValueError(f"not a shard key (expected o<order>_p<pixel>): {key!r}") from exc

    def hats_path(self) -> str:
        """Relative path of the shard inside a HATS catalogue."""
        return f"dataset/Norder={self.order}/Dir={self.directory}/Npix={self.pixel}.parquet"


def plan_partitions(histogram: np.ndarray, histogram_order: int, max_rows: int,
                    lowest_order: int) -> list[tuple[Shard, int]]:
    """Choose adaptive shards from a fine-order pixel histogram, as HATS does.

    Starting from the histogram at ``histogram_order``, four sibling pixels are merged into their
    parent whenever none of them had to stay split and their total is ≤ ``max_rows``; merging
    proceeds down to ``lowest_order``. A pixel that alone holds more than ``max_rows`` cannot be
    split further than ``histogram_order`` and is kept as it is (the caller should warn).

    Parameters
    ----------
    histogram : int array of length ``12 * 4**histogram_order``, row counts per nested pixel
    histogram_order : order of ``histogram``
    max_rows : largest number of rows wanted in one shard
    lowest_order : coarsest order a shard may have

    Returns
    -------
    List of ``(Shard, rows)`` for every non-empty shard, sorted by their position on the sky.
    """
    counts = np.asarray(histogram, dtype=np.int64)
    if counts.shape != (12 * 4**histogram_order,):
        raise ValueError(f"histogram has {counts.size} pixels, expected 12*4**{histogram_order}")
    if max_rows < 1:
        raise ValueError("max_rows must be positive")
    # `final[k]`: boolean mask at order k of pixels that are final shards at that order.
    shards: list[tuple[Shard, int]] = []
    # At each order, a pixel is "open" (may still merge upwards) if it and all its descendants fit.
    open_mask = counts <= max_rows
    level_counts = counts
    for order in range(histogram_order, lowest_order, -1):
        parent_counts = level_counts.reshape(-1, 4).sum(axis=1)
        parent_open = open_mask.reshape(-1, 4).all(axis=1) & (parent_counts <= max_rows)
        # Children of a parent that cannot merge become shards at this order (if non-empty).
        closing = ~np.repeat(parent_open, 4) & open_mask & (level_counts > 0)
        shards.extend((Shard(order, int(p)), int(level_counts[p])) for p in np.flatnonzero(closing))
        # Pixels that never fit at the histogram order are emitted once, at that order.
        if order == histogram_order:
            oversized = ~open_mask & (level_counts > 0)
            shards.extend((Shard(order, int(p)), int(level_counts[p])) for p in np.flatnonzero(oversized))
        level_counts, open_mask = parent_counts, parent_open
    remaining = open_mask & (level_counts > 0)
    shards.extend((Shard(lowest_order, int(p)), int(level_counts[p])) for p in np.flatnonzero(remaining))
    if histogram_order == lowest_order:
        oversized = ~open_mask & (level_counts > 0)
        shards.extend((Shard(lowest_order, int(p)), int(level_counts[p])) for p in np.flatnonzero(oversized))
    return sorted(shards, key=lambda item: item[0].pixel << (2 * (histogram_order - item[0].order)))


def shard_lookup(shards: list[Shard], fine_order: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted range table mapping fine-order pixels to shard indices.

    Returns ``(starts, shard_index)``: shard ``shard_index[j]`` covers fine pixels from
    ``starts[j]`` up to ``starts[j+1]`` (exclusive). Use :func:`assign_shards`.
    """
    starts = np.array([s.pixel << (2 * (fine_order - s.order)) for s in shards], dtype=np.int64)
    order = np.argsort(starts)
    return starts[order], order.astype(np.int64)


def assign_shards(fine_pixels: np.ndarray, shards: list[Shard], fine_order: int) -> np.ndarray:
    """Index into ``shards`` of the shard containing each fine-order pixel; −1 if none does."""
    starts, index = shard_lookup(shards, fine_order)
    ends = np.array([(s.pixel + 1) << (2 * (fine_order - s.order)) for s in shards], dtype=np.int64)[index]
    pos = np.searchsorted(starts, fine_pixels, side="right") - 1
    inside = (pos >= 0) & (fine_pixels < ends[np.clip(pos, 0, None)])
    return np.where(inside, index[np.clip(pos, 0, None)], -1)
