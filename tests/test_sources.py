"""Input roles from the mock or the user's files (zshard.sources)."""

import pytest
import yaml
from conftest import ROOT

from zshard.config import with_defaults
from zshard.io.catalogs import CatalogError, CatalogSpec
from zshard.sources import ROLES, catalog_sources, mock_photometry_files, source_files


def _config(**changes) -> dict:
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config.update(changes)
    return with_defaults(config)


def test_the_mock_gives_every_role_a_complete_section():
    config = _config(results="out")
    sources = catalog_sources(config)
    assert set(sources) == set(ROLES)
    assert sources["photometry"]["paths"] == [f"out/mock/photometry/part-{k:03d}.{fmt}"
                                              for k, fmt in enumerate(["parquet", "fits", "parquet", "fits"])]
    assert sources["specz"]["columns"] == {"id": "id", "ra": "ra", "dec": "dec", "magnitude": "mag_{band}",
                                           "error": "magerr_{band}", "redshift": "z_spec"}
    assert sources["truth"]["uses"] == ["id"] and sources["clustering_reference"]["uses"] == ["position"]
    assert sources["photometry"]["uses"] == ["id", "position", "photometry"]
    spec = CatalogSpec.from_config(sources["truth"], [], redshift_name="z_true")
    assert spec.redshift_column == "z_true" and spec.sentinels == (99.0,)
    assert list(spec.source_columns()) == ["id", "z_true"]
    reference = CatalogSpec.from_config(sources["clustering_reference"], [], redshift_name="z_spec")
    assert list(reference.source_columns()) == ["ra", "dec", "z_spec"]
    # the mock's files do not exist yet: they are taken as named
    assert source_files(config, sources["photometry"]) == sources["photometry"]["paths"]


def test_user_files_keep_their_columns_and_expand_their_globs(tmp_path):
    for name in ("a.parquet", "b.parquet"):
        (tmp_path / name).write_bytes(b"")
    config = _config(source="files", inputs={
        "photometry": {"paths": [str(tmp_path / "*.parquet")], "columns": {"id": "OBJID"}},
        "specz": {"paths": [str(tmp_path / "a.parquet")], "columns": {"redshift": "Z"}, "sentinels": [-99]}})
    sources = catalog_sources(config)
    assert sources["photometry"]["columns"]["id"] == "OBJID" and sources["photometry"]["columns"]["ra"] == "ra"
    assert source_files(config, sources["photometry"]) == [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]
    assert sources["truth"]["paths"] == [] and source_files(config, sources["truth"]) == []
    config["inputs"]["photometry"]["paths"] = [str(tmp_path / "*.fits")]
    with pytest.raises(CatalogError, match=r"\*\.fits"):
        source_files(config, catalog_sources(config)["photometry"])


def test_files_without_photometry_or_a_specz_redshift_are_refused():
    with pytest.raises(ValueError, match="inputs.photometry.paths"):
        catalog_sources(_config(source="files"))
    with pytest.raises(ValueError, match="columns.redshift"):
        catalog_sources(_config(source="files", inputs={"photometry": {"paths": ["x"]}, "specz": {"paths": ["y"]}}))


def test_the_mock_rule_never_names_the_users_files():
    """Rule mock_survey's outputs are the mock's own files whatever the source: a failed job's outputs
    are deleted by Snakemake, so naming an input catalogue there would delete it."""
    config = _config(results="out", source="files", inputs={"photometry": {"paths": ["/data/survey.fits"]},
                                                            "specz": {"paths": ["/data/specz.fits"],
                                                                      "columns": {"redshift": "Z"}}})
    assert all(path.startswith("out/mock/photometry/") for path in mock_photometry_files(config))


@pytest.mark.skipif(not (ROOT.parent / "shared/data/des_specz").is_dir(), reason="../shared/data/des_specz is absent")
def test_the_des_example_reads_every_missing_magnitude_as_missing():
    """config/des_specz.yaml's sentinels cover DES's missing magnitudes (−9999 in 45 rows, −9.999e9 in one):
    no magnitude read from the file is negative or absurdly faint, and those 46 rows have no photometry."""
    import numpy as np

    from zshard.io.catalogs import read_catalog

    config = yaml.safe_load((ROOT / "config/des_specz.yaml").read_text())
    config["inputs"]["specz"]["paths"] = [str(ROOT.parent / "shared/data/des_specz/des_specz_valid.fits")]
    config["inputs"]["specz"].pop("subset")
    section = with_defaults(config["inputs"]["specz"], "inputs.specz")
    frame = read_catalog(section["paths"], CatalogSpec.from_config(section, config["bands"]))
    mags = frame[[f"mag_{band}" for band in config["bands"]]].to_numpy(dtype=np.float64)
    assert np.nanmin(mags) > 0 and np.nanmax(mags) < 50
    assert int(np.isnan(mags).all(axis=1).sum()) == 46
