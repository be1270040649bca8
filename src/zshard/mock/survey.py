"""The mock survey, generated and written: :func:`generate_survey`.

See :mod:`zshard.mock` for the model. The photometric catalogue is produced file by file and,
inside a file, batch by batch (:class:`MockSurvey`); each batch is written out (photometry and
truth) before the next is drawn, and only the small derived samples are kept until the end.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from zshard.io.catalogs import file_format
from zshard.io.ids import derive_seed
from zshard.mock import streams, writers
from zshard.mock.config import SAMPLE_CAPS, MockConfig
from zshard.mock.fields import SkyModel
from zshard.mock.layout import batch_row_counts, file_row_counts
from zshard.mock.population import Population
from zshard.mock.selection import (
    CappedSample,
    deep_radius_deg,
    select_clustering_reference,
    select_deep,
    select_specz,
)
from zshard.progress import Progress


class MockSurvey:
    """Precomputed model of a mock survey: the population (colour table) and the sky
    (footprint, clustering fields).

    Building it costs a one-off few seconds (the colour table and one HEALPix
    realisation per redshift shell); :meth:`draw_batch` is then cheap and vectorised.

    Attributes
    ----------
    cfg : MockConfig
    population : zshard.mock.population.Population
    sky : zshard.mock.fields.SkyModel
    """

    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.population = Population(cfg)
        self.sky = SkyModel(cfg)

    def draw_batch(self, k: int, j: int, n: int) -> dict[str, np.ndarray]:
        """Simulate exactly ``n`` detected objects for batch ``j`` of file ``k``.

        Candidates are drawn (and observed) until ``n`` pass the detection cut; the
        random streams depend only on ``(seed, k, j)``.

        Returns
        -------
        dict with ``m0, t, z, mag_true (n, n_b), mag, magerr (n, n_b, float32),
        ra, dec`` and ``n_drawn`` (candidates simulated, detected or not).
        """
        seed = self.cfg.seed
        rng_int = streams.generator(seed, streams.INTRINSIC, k, j)
        rng_phot = streams.generator(seed, streams.PHOTOMETRY, k, j)
        rng_sky = streams.generator(seed, streams.SKY, k, j)
        out, n_drawn = self.population.draw_detected(rng_int, rng_phot, n)
        bright = out["mag"][:, self.cfg.detection_index] < self.cfg.reference_mag_limit(out["z"])
        out["ra"], out["dec"] = self.sky.sample_positions(rng_sky, out["z"], reference=bright)
        out["n_drawn"] = np.int64(n_drawn)
        return out


class DerivedSamples:
    """The spec-z sample, deep field and clustering reference, selected batch by batch and
    held in memory until :meth:`write`; each at most its cap of ``cfg`` (``specz_max_objects``,
    ``deep_max_objects``, ``clustering_ref_max_objects``; :class:`~zshard.mock.selection.CappedSample`),
    so that memory does not grow with the catalogue."""

    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.samples = {
            name: CappedSample(getattr(cfg, field), derive_seed(cfg.seed, f"mock.{name}_cap"))
            for name, field in SAMPLE_CAPS.items()
        }

    def add_batch(
        self,
        k: int,
        j: int,
        ids: np.ndarray,
        batch: Mapping[str, np.ndarray],
        photometry: Mapping[str, np.ndarray],
    ) -> None:
        """Select the samples in batch ``j`` of file ``k``: objects ``ids``, simulated as
        ``batch`` and written as ``photometry`` (:func:`zshard.mock.writers.photometry_columns`)."""
        cfg = self.cfg
        ra, dec = batch["ra"], batch["dec"]
        rng = streams.generator(cfg.seed, streams.SPECZ, k, j)
        idx, z_spec, campaign = select_specz(cfg, rng, batch["mag"], batch["z"])
        specz = {name: values[idx] for name, values in photometry.items()}
        self.samples["specz"].add(ids[idx], pa.table({**specz, "z_spec": z_spec}), campaign)
        rng = streams.generator(cfg.seed, streams.DEEP, k, j)
        idx, mag, magerr, z_ref = select_deep(cfg, rng, batch)
        deep = writers.photometry_columns(ids[idx], ra[idx], dec[idx], mag, magerr, cfg.bands)
        self.samples["deep"].add(ids[idx], pa.table({**deep, "z_ref": z_ref}))
        rng = streams.generator(cfg.seed, streams.CLUSTERING, k, j)
        idx, z_spec = select_clustering_reference(cfg, rng, batch)
        clustering = {"id": ids[idx], "ra": ra[idx], "dec": dec[idx], "z_spec": z_spec}
        self.samples["clustering"].add(ids[idx], pa.table(clustering))

    @property
    def specz_per_campaign(self) -> np.ndarray:
        """Objects of the (capped) spec-z sample per campaign."""
        campaign = self.samples["specz"].extra()
        return np.bincount(campaign, minlength=len(self.cfg.specz_campaigns))

    @property
    def n_selected(self) -> dict[str, int]:
        """Objects each selection found, before its cap."""
        return {name: sample.n_selected for name, sample in self.samples.items()}

    def write(
        self, specz_path: str, deep_path: str, clustering_path: str, meta: dict[str, str]
    ) -> dict[str, int]:
        """Write the three samples (Parquet); returns their numbers of rows."""
        schemas = writers.sample_schemas(self.cfg.bands, meta)
        paths = {"specz": specz_path, "deep": deep_path, "clustering": clustering_path}
        return {
            name: writers.write_sample(paths[name], self.samples[name].tables(), schemas[name])
            for name in paths
        }


def generate_survey(
    cfg: MockConfig,
    photometry_paths: Sequence[str],
    specz_path: str,
    deep_path: str,
    clustering_path: str,
    truth_path: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Generate the mock survey and write all its files.

    Parameters
    ----------
    cfg : MockConfig
    photometry_paths : sequence of str
        One path per file (``len == cfg.n_files``; the workflow's names come from
        :func:`zshard.mock.layout.photometry_paths`); the format follows the extension
        (:func:`zshard.io.catalogs.file_format`) and must be in ``cfg.formats``.
        File k holds the objects ``k·(N//n_files) ...`` (the last file takes the
        remainder), with ids equal to the running object index (unique int64).
        Columns: ``id, ra, dec, mag_<b>, magerr_<b>`` (99.0 = non-detection).
    specz_path, deep_path, clustering_path, truth_path : str
        Parquet outputs: spec-z training sample (photometric columns + ``z_spec``),
        deep field (photometric columns, deep photometry, + ``z_ref``), clustering
        reference (``id, ra, dec, z_spec``) and truth (``id, ra, dec, z_true,
        sed_type, mag_i_true``; one row group per batch).
    progress : zshard.progress.Progress, optional
        Advanced by each batch's rows (the rule's log says how far the mock is).

    Returns
    -------
    dict
        JSON-serialisable summary: counts per file and per sample, footprint, etc.

    Notes
    -----
    Every file is written to a hidden temporary sibling and renamed into place
    (:func:`zshard.io.atomic.atomic_path`) once complete.  Memory is bounded by
    ``cfg.batch_size``.
    """
    others = [specz_path, deep_path, clustering_path, truth_path]
    paths = _checked_photometry_paths(cfg, photometry_paths, others)
    model = MockSurvey(cfg)
    meta = writers.schema_metadata(cfg)
    samples = DerivedSamples(cfg)
    files, n_drawn, first_id = [], 0, 0
    with writers.truth_writer(truth_path, meta) as truth:
        rows_per_file = file_row_counts(cfg.n_objects, cfg.n_files)
        for k, (path, n_rows) in enumerate(zip(paths, rows_per_file)):
            record, drawn = _simulate_file(model, k, path, n_rows, first_id, truth, samples, meta, progress)
            files.append(record)
            n_drawn += drawn
            first_id += n_rows
    sample_rows = samples.write(specz_path, deep_path, clustering_path, meta)
    return _summary(model, files, n_drawn, sample_rows, samples)


def _checked_photometry_paths(
    cfg: MockConfig, photometry_paths: Sequence[str], other_paths: Sequence[str]
) -> list[str]:
    """The photometric paths, checked: one per file, in an allowed format (uncompressed), and
    all outputs distinct."""
    paths = [os.fspath(p) for p in photometry_paths]
    if len(paths) != cfg.n_files:
        raise ValueError(f"got {len(paths)} photometry paths for n_files={cfg.n_files}")
    bad = [p for p in paths if file_format(p) not in cfg.formats or p.lower().endswith(".gz")]
    if bad:  # the FITS files are streamed, which astropy cannot do into a compressed file
        raise ValueError(f"photometry files {bad}: the format their extension gives must be one of "
                         f"cfg.formats={cfg.formats}, uncompressed")
    all_out = [*paths, *other_paths]
    if len({os.path.abspath(p) for p in all_out}) != len(all_out):
        raise ValueError("output paths must be distinct")
    return paths


def _simulate_file(
    model: MockSurvey,
    k: int,
    path: str,
    n_rows: int,
    first_id: int,
    truth: writers.ParquetStream,
    samples: DerivedSamples,
    meta: dict[str, str],
    progress: Progress | None = None,
) -> tuple[dict[str, Any], int]:
    """Simulate and write photometric file ``k`` batch by batch, with its truth rows and derived
    samples; ids run from ``first_id``.

    Returns
    -------
    record : dict
        The file's ``path``, ``format`` and number of rows ``n`` (for the summary).
    n_drawn : int
        Candidates simulated, detected or not.
    """
    cfg = model.cfg
    n_drawn = 0
    cards = writers.fits_cards(cfg, k)
    fmt = file_format(path)
    with writers.photometry_writer(path, fmt, n_rows, cfg.bands, meta, cards) as photometry:
        for j, n_batch in enumerate(batch_row_counts(n_rows, cfg.batch_size)):
            batch = model.draw_batch(k, j, n_batch)
            n_drawn += int(batch["n_drawn"])
            ids = first_id + np.arange(n_batch, dtype=np.int64)
            first_id += n_batch
            columns = writers.photometry_columns(
                ids, batch["ra"], batch["dec"], batch["mag"], batch["magerr"], cfg.bands
            )
            photometry.write(columns)
            truth.write(writers.truth_columns(ids, batch))
            samples.add_batch(k, j, ids, batch, columns)
            if progress is not None:
                progress.advance(n_batch)
    return {"path": path, "format": fmt, "n": int(n_rows)}, n_drawn


def _summary(
    model: MockSurvey,
    files: list[dict],
    n_drawn: int,
    sample_rows: dict[str, int],
    samples: DerivedSamples,
) -> dict[str, Any]:
    """The JSON-serialisable summary of a generated survey."""
    cfg = model.cfg
    return {
        "n_photometric": int(cfg.n_objects),
        "n_simulated": int(n_drawn),
        "detection_fraction": float(cfg.n_objects / n_drawn) if n_drawn else None,
        "files": files,
        "n_per_file": [f["n"] for f in files],
        "n_specz": int(sample_rows["specz"]),
        "n_specz_per_campaign": {
            c.name: int(n) for c, n in zip(cfg.specz_campaigns, samples.specz_per_campaign)
        },
        "n_deep": int(sample_rows["deep"]),
        "n_clustering_ref": int(sample_rows["clustering"]),
        "n_truth": int(cfg.n_objects),
        # what each selection found before its cap (MockConfig.specz_max_objects, ...)
        "n_selected_before_cap": samples.n_selected,
        "footprint_area_deg2": float(model.sky.footprint_area_deg2),
        "n_footprint_pixels": int(model.sky.footprint_pixels.size),
        "deep_radius_deg": float(deep_radius_deg(cfg)),
        "n_shells": int(model.sky.shell_delta.shape[0]),
        "seed": int(cfg.seed),
    }
