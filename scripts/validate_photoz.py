"""Rule validate_photoz: point and PDF metrics on the held-out test sample, before and after calibration."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard import metrics
from zshard.calibration import apply_calibration, load_calibration
from zshard.io.atomic import write_json, write_parquet
from zshard.models import PhotozModel
from zshard.pdf.summary import summaries

model = PhotozModel.load(snakemake.input.model, threads=snakemake.threads)
calibration = load_calibration(snakemake.input.calibration)
test = pd.read_parquet(snakemake.input.test)
z_spec = test["z_spec"].to_numpy()
raw = model.predict_quantiles(test)
calibrated = apply_calibration(raw, model.levels, calibration, model.z_min, model.z_max)
levels = calibration.levels_for(model.levels)
z_phot = summaries(calibrated, levels, model.z_min, model.z_max)["z_median"]
raw_args = (model.levels, z_spec, model.z_min, model.z_max)
cal_args = (levels, z_spec, model.z_min, model.z_max)
bins_cfg = snakemake.params.magnitude_bins
bands = list(snakemake.params.bands)
band = bins_cfg["band"] or ("i" if "i" in bands else bands[len(bands) // 2])
result = {
    "n_test": int(len(test)),
    "point": metrics.point_metrics(z_phot, z_spec),
    "pdf_raw": metrics.pdf_metrics(raw, *raw_args),
    "pdf_calibrated": metrics.pdf_metrics(calibrated, *cal_args),
    "outlier_fraction_floor": calibration.outlier_fraction,
    "magnitude_bins": {"band": band, "raw": metrics.metrics_by_bin(
        raw, model.levels, z_spec, z_phot, test[f"mag_{band}"], bins_cfg["n_bins"], model.z_min, model.z_max),
        "calibrated": metrics.metrics_by_bin(
        calibrated, levels, z_spec, z_phot, test[f"mag_{band}"], bins_cfg["n_bins"], model.z_min, model.z_max)},
    "model_version": model.manifest["version"],
}
write_json(snakemake.output.metrics, result)
write_parquet(snakemake.output.predictions, pd.DataFrame({
    "id": test["id"], "z_spec": z_spec, "z_phot": z_phot, f"mag_{band}": test[f"mag_{band}"],
    "pit_raw": metrics.pit_values(raw, *raw_args), "pit_calibrated": metrics.pit_values(calibrated, *cal_args)}))
for name in ("pdf_raw", "pdf_calibrated"):
    print(name, {k: v for k, v in result[name].items() if k != "pit_histogram"})
