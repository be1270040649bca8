"""Rule fit_calibration: outlier floor + monotone PIT map fitted on the validation sample (Bordoloi et al. 2010)."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard import metrics
from zshard.calibration import PitCalibration, apply_calibration, fit_calibration, save_calibration
from zshard.models import PhotozModel

cfg = snakemake.params.calibration
model = PhotozModel.load(snakemake.input.model, threads=snakemake.threads)
validation = pd.read_parquet(snakemake.input.validation)
z_spec = validation["z_spec"].to_numpy()
quantiles = model.predict_quantiles(validation)
weights = None
if cfg["weighted"] and model.coverage is not None:
    # the validation sample reweighted to the science sample, as the training sample is
    weights = model.coverage.density_ratio_weights(validation, snakemake.params.weights["floor"],
                                                   snakemake.params.weights["max"])
if cfg["enabled"]:
    calibration = fit_calibration(quantiles, model.levels, z_spec, model.z_min, model.z_max, n_knots=cfg["n_knots"],
                                  weights=weights, outlier_floor=cfg["outlier_floor"],
                                  outlier_shape=cfg["outlier_shape"], local=cfg["local"], output_levels=cfg["levels"])
else:
    calibration = PitCalibration.identity()
before = metrics.pdf_metrics(quantiles, model.levels, z_spec, model.z_min, model.z_max)
calibrated = apply_calibration(quantiles, model.levels, calibration, model.z_min, model.z_max)
after = metrics.pdf_metrics(calibrated, calibration.levels_for(model.levels), z_spec, model.z_min, model.z_max)
summary = {key: {"before": before[key], "after": after[key]}
           for key in ("pit_ks_stat", "pit_cvm_stat", "pit_catastrophic_fraction", "cde_loss", "crps")}
save_calibration(snakemake.output.calibration, calibration,
                 extra={"enabled": cfg["enabled"], "n_validation": int(len(validation)),
                        "weighted": weights is not None,
                        "effective_n_validation": None if weights is None else
                        float(weights.sum() ** 2 / (weights ** 2).sum()),
                        "validation_metrics": summary, "pit_ks_validation_before": float(before["pit_ks_stat"]),
                        "model_version": model.manifest["version"]})
print(f"fitted on {len(validation)} objects; outlier fraction {calibration.outlier_fraction:.4f}")
for key, pair in summary.items():
    print(f"  validation {key}: {pair['before']:.4f} -> {pair['after']:.4f}")
