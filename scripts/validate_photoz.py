"""Rule validate_photoz: point and PDF metrics on the held-out test sample, before and after calibration."""
import sys

sys.stderr = sys.stdout = open(snakemake.log[0], "w")

import pandas as pd

from zshard import metrics, pdf
from zshard.calibration import apply_calibration, load_calibration
from zshard.io import write_json, write_parquet
from zshard.models import PhotozModel

model = PhotozModel.load(snakemake.input.model, threads=snakemake.threads)
calibration = load_calibration(snakemake.input.calibration)
test = pd.read_parquet(snakemake.input.test)
z_spec = test["z_spec"].to_numpy()
raw = model.predict_quantiles(test)
calibrated = apply_calibration(raw, model.levels, calibration, model.z_min, model.z_max)
z_phot = pdf.summaries(calibrated, model.levels, model.z_min, model.z_max)["z_median"]
args = (model.levels, z_spec, model.z_min, model.z_max)
result = {
    "n_test": int(len(test)),
    "point": metrics.point_metrics(z_phot, z_spec),
    "pdf_raw": metrics.pdf_metrics(raw, *args),
    "pdf_calibrated": metrics.pdf_metrics(calibrated, *args),
    "model_version": model.manifest["version"],
}
write_json(snakemake.output.metrics, result)
write_parquet(snakemake.output.predictions, pd.DataFrame({
    "id": test["id"], "z_spec": z_spec, "z_phot": z_phot,
    "pit_raw": metrics.pit_values(raw, *args), "pit_calibrated": metrics.pit_values(calibrated, *args)}))
print(result)
