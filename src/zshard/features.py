"""Features for photo-z learning: magnitudes and colours.

Missing photometry (non-detections, sentinels) stays NaN: xgboost learns a default direction for
missing values at every split (Chen & Guestrin 2016), which is better than imputing a fake
magnitude. Colours with a missing magnitude are missing too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FeatureSpec:
    """Which features a model uses; stored in the model manifest so prediction rebuilds them exactly."""

    bands: tuple[str, ...]
    colours: str = "adjacent"  # "adjacent" (u−g, g−r, …), "all" (every pair) or "none"

    def colour_pairs(self) -> list[tuple[str, str]]:
        if self.colours == "none":
            return []
        if self.colours == "adjacent":
            return list(zip(self.bands[:-1], self.bands[1:]))
        if self.colours == "all":
            return [(a, b) for i, a in enumerate(self.bands) for b in self.bands[i + 1:]]
        raise ValueError(f"colours must be 'adjacent', 'all' or 'none', not {self.colours!r}")

    @property
    def names(self) -> list[str]:
        return [f"mag_{b}" for b in self.bands] + [f"{a}-{b}" for a, b in self.colour_pairs()]

    def to_dict(self) -> dict:
        return {"bands": list(self.bands), "colours": self.colours}

    @classmethod
    def from_dict(cls, payload: dict) -> "FeatureSpec":
        return cls(bands=tuple(payload["bands"]), colours=payload.get("colours", "adjacent"))


def build_features(catalog: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """Feature matrix (n, n_features), float32, NaN where photometry is missing.

    ``catalog`` has canonical ``mag_<band>`` columns.
    """
    missing = [f"mag_{b}" for b in spec.bands if f"mag_{b}" not in catalog.columns]
    if missing:
        raise KeyError(f"catalogue lacks magnitude column(s) {missing}")
    mags = np.column_stack([catalog[f"mag_{b}"].to_numpy(dtype=np.float32) for b in spec.bands])
    index = {b: i for i, b in enumerate(spec.bands)}
    colours = [mags[:, index[a]] - mags[:, index[b]] for a, b in spec.colour_pairs()]
    return np.column_stack([mags, *colours]).astype(np.float32) if colours else mags


def magnitude_matrix(catalog: pd.DataFrame, bands: Sequence[str]) -> np.ndarray:
    """Magnitudes only, (n, n_bands) float32."""
    return np.column_stack([catalog[f"mag_{b}"].to_numpy(dtype=np.float32) for b in bands])
