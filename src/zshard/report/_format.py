"""How the report's pages write a value: shared by the Markdown page, the HTML tables and the figures."""

from __future__ import annotations

import math
import numbers

import numpy as np


def is_scalar(v) -> bool:
    """A number, string or NumPy scalar (what fits in one table cell)."""
    return isinstance(v, (numbers.Number, str, np.generic)) and not isinstance(v, bytes)


def finite_num(v) -> bool:
    """A real number that is finite (not a bool's cousin None, NaN or ±inf)."""
    return isinstance(v, (numbers.Real, np.floating, np.integer)) and math.isfinite(float(v))


def fmt(v) -> str:
    """A cell's text: integers as they are, reals to 4 decimals (scientific when tiny or huge), NaN as
    ``n/a``, None as empty."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (numbers.Integral, np.integer)):
        return str(int(v))
    if isinstance(v, (numbers.Real, np.floating)):
        x = float(v)
        if not math.isfinite(x):
            return "n/a"
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
            return f"{x:.3e}"
        return f"{x:.4f}"
    if v is None:
        return ""
    return str(v)
