"""Random streams of the mock survey: one independent generator per purpose, file and batch.

Every random draw of the mock comes from a generator seeded with ``(seed, purpose, k, j, 0)``
only, where ``k`` is the file and ``j`` the batch within it (for the clustering fields, ``k`` is
the redshift shell and ``j`` is 0). The output therefore does not depend on the order in which
files and batches are processed, and the purposes never share random numbers.
"""

from __future__ import annotations

import numpy as np

#: Purposes (entropy words), kept distinct.
INTRINSIC = 0  # magnitudes, types, redshifts
PHOTOMETRY = 1  # wide-survey photometric noise
SKY = 2  # positions within the footprint
SPECZ = 3  # spectroscopic training sample
DEEP = 4  # deep reference field
CLUSTERING = 5  # clustering reference
FIELD = 6  # lognormal density field of a redshift shell
HALO = 7  # halo centres of a redshift shell (satellite clumping)


def generator(seed: int, purpose: int, k: int, j: int = 0) -> np.random.Generator:
    """The generator of ``purpose`` for batch ``j`` of file ``k`` (or shell ``k``)."""
    return np.random.default_rng([seed, purpose, k, j, 0])
