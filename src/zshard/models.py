"""The photo-z model: one xgboost multi-quantile regressor, saved as one versioned artefact.

A single booster predicts K conditional quantiles of z given the features (pinball loss,
Koenker & Bassett 1978; xgboost's ``reg:quantileerror`` with a vector ``quantile_alpha``). The
quantiles are the object's p(z) (see :mod:`zshard.pdf`); their median is the point estimate.
The artefact is the booster in xgboost's own JSON format with the manifest embedded beside it:
features, levels, parameters, library versions, a hash of the training data and the metrics.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
import pandas as pd
import xgboost as xgb

from zshard import pdf
from zshard.features import FeatureSpec, build_features
from zshard.io import atomic_path

DEFAULT_XGB_PARAMS = {
    "n_estimators": 400,
    "learning_rate": 0.05,
    "max_depth": 6,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.9,
}


def training_data_hash(features: np.ndarray, z: np.ndarray) -> str:
    """SHA-256 of the training matrix and labels: identifies the data a model was fit on."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(features, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(z, dtype=np.float64).tobytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    names = ["zshard", "xgboost-cpu", "xgboost", "numpy", "pandas", "scikit-learn", "pyarrow"]
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class PhotozModel:
    """A trained quantile model with everything needed to apply it to a shard."""

    booster: xgb.Booster
    features: FeatureSpec
    levels: np.ndarray
    z_min: float
    z_max: float
    max_density: float | None = None
    manifest: dict = field(default_factory=dict)

    def predict_quantiles(self, catalog: pd.DataFrame, batch_rows: int = 500_000) -> np.ndarray:
        """Sanitised quantiles (n, K) for a canonical catalogue frame."""
        out = np.empty((len(catalog), len(self.levels)), dtype=np.float32)
        for start in range(0, len(catalog), batch_rows):
            part = catalog.iloc[start:start + batch_rows]
            matrix = xgb.DMatrix(build_features(part, self.features), missing=np.nan,
                                 feature_names=self.features.names)
            raw = self.booster.predict(matrix).reshape(len(part), len(self.levels))
            out[start:start + len(part)] = pdf.sanitize_quantiles(raw, self.z_min, self.z_max, levels=self.levels,
                                                                  max_density=self.max_density)
        return out

    def save(self, path: str) -> None:
        """Write the booster (xgboost JSON, manifest stored as a booster attribute) atomically."""
        self.booster.set_attr(zshard_manifest=json.dumps(self.manifest_payload()))
        with atomic_path(path) as tmp:
            self.booster.save_model(tmp)

    def manifest_payload(self) -> dict:
        payload = dict(self.manifest)
        payload.update({"features": self.features.to_dict(), "feature_names": self.features.names,
                        "quantile_levels": [float(a) for a in self.levels],
                        "z_min": self.z_min, "z_max": self.z_max, "max_density": self.max_density})
        return payload

    @classmethod
    def load(cls, path: str, threads: int = 1) -> "PhotozModel":
        booster = xgb.Booster()
        booster.load_model(path)
        booster.set_param({"nthread": threads})
        raw = booster.attr("zshard_manifest")
        if raw is None:
            raise ValueError(f"{path}: not a zshard model (no manifest attribute)")
        manifest = json.loads(raw)
        return cls(booster=booster, features=FeatureSpec.from_dict(manifest["features"]),
                   levels=np.asarray(manifest["quantile_levels"], dtype=np.float64),
                   z_min=float(manifest["z_min"]), z_max=float(manifest["z_max"]),
                   max_density=manifest.get("max_density"), manifest=manifest)


def train_quantile_model(train: pd.DataFrame, features: FeatureSpec, levels: np.ndarray, *,
                         redshift_column: str = "z_spec", weights: np.ndarray | None = None,
                         params: dict | None = None, seed: int = 0, threads: int = 1,
                         z_min: float = 0.0, z_max: float = 3.0, max_density: float | None = 50.0) -> PhotozModel:
    """Fit one multi-quantile xgboost booster on a labelled sample.

    Parameters
    ----------
    train : canonical frame with magnitudes and ``redshift_column``
    features : which features to build
    levels : quantile levels in (0, 1), increasing
    params : xgboost parameters (``n_estimators`` and the tree parameters), merged over the defaults
    seed : xgboost's random seed (row/column subsampling)
    max_density : ceiling of the predicted p(z) per unit z (see :func:`zshard.pdf.sanitize_quantiles`)
    """
    levels = np.asarray(levels, dtype=np.float64)
    if np.any(np.diff(levels) <= 0) or levels[0] <= 0 or levels[-1] >= 1:
        raise ValueError("quantile levels must be strictly increasing inside (0, 1)")
    merged = {**DEFAULT_XGB_PARAMS, **(params or {})}
    n_rounds = int(merged.pop("n_estimators"))
    learning_rate = merged.pop("learning_rate")
    X = build_features(train, features)
    z = train[redshift_column].to_numpy(dtype=np.float64)
    ok = np.isfinite(z)
    X, z = X[ok], z[ok]
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[ok]
    booster = xgb.train(
        {"objective": "reg:quantileerror", "quantile_alpha": levels.tolist(), "tree_method": "hist",
         "eta": learning_rate, "seed": seed, "nthread": threads, **merged},
        xgb.DMatrix(X, label=z, weight=w, missing=np.nan, feature_names=features.names),
        num_boost_round=n_rounds,
    )
    manifest = {
        "model": "xgboost multi-quantile regression (reg:quantileerror)",
        "params": {"n_estimators": n_rounds, "learning_rate": learning_rate, **merged, "seed": seed},
        "n_train": int(len(z)),
        "training_data_sha256": training_data_hash(X, z),
        "library_versions": library_versions(),
    }
    manifest["version"] = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    return PhotozModel(booster, features, levels, z_min, z_max, max_density, manifest)
