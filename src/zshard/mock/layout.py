"""File layout of the mock survey: the photometric files' names and how rows are spread over them.

This module imports nothing heavy: the workflow's rules call :func:`photometry_paths` to name the
mock's outputs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence


def photometry_paths(directory: str, n_files: int, formats: Sequence[str]) -> list[str]:
    """The mock's photometric files: ``{directory}/part-{k:03d}.{format}`` for ``k < n_files``.

    The formats ("parquet", "fits") are cycled over the files: file ``k`` gets
    ``formats[k % len(formats)]``, which is also its extension.
    """
    return [
        os.path.join(directory, f"part-{k:03d}.{formats[k % len(formats)]}")
        for k in range(n_files)
    ]


def file_row_counts(n_objects: int, n_files: int) -> list[int]:
    """Rows per file: ``n_objects // n_files`` each, the last takes the remainder."""
    base = n_objects // n_files
    return [base] * (n_files - 1) + [n_objects - base * (n_files - 1)]


def batch_row_counts(n_rows: int, batch_size: int) -> list[int]:
    """Rows per batch of a file of ``n_rows`` rows: ``batch_size`` each, the last takes the rest."""
    return [min(batch_size, n_rows - start) for start in range(0, n_rows, batch_size)]
