"""Rule fit_calibration: the monotone PIT map fitted on the validation sample (Bordoloi et al. 2010)."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard import metrics
from zshard.calibration import PitCalibration, fit_pit_calibration, save_calibration
from zshard.models import PhotozModel

cfg = snakemake.params.calibration
model = PhotozModel.load(snakemake.input.model, threads=snakemake.threads)
validation = pd.read_parquet(snakemake.input.validation)
quantiles = model.predict_quantiles(validation)
pit = metrics.pit_values(quantiles, model.levels, validation["z_spec"].to_numpy(), model.z_min, model.z_max)
calibration = fit_pit_calibration(pit, n_knots=cfg["n_knots"]) if cfg["enabled"] else PitCalibration.identity()
ks, _ = metrics.pit_ks(pit)
save_calibration(snakemake.output.calibration, calibration,
                 extra={"enabled": cfg["enabled"], "n_validation": int(len(validation)),
                        "pit_ks_validation_before": float(ks), "model_version": model.manifest["version"]})
print(f"fitted on {len(validation)} objects; PIT KS before calibration {ks:.4f}")
