"""Where each input catalogue comes from: the generated mock survey, or the user's files.

The config's ``source`` says which. Either way every input role (:data:`ROLES`) becomes one complete
catalogue section of the schema (``definitions/catalog``, its defaults filled in), the form
:meth:`zshard.io.catalogs.CatalogSpec.from_config` reads, plus ``with_photometry``: the truth table
and the clustering reference need positions or ids and a redshift, not magnitudes.
"""

from __future__ import annotations

from zshard.config import with_defaults
from zshard.io.catalogs import expand_paths
from zshard.mock.layout import photometry_paths

ROLES = ("photometry", "specz", "deep_reference", "truth", "clustering_reference")
WITHOUT_PHOTOMETRY = ("truth", "clustering_reference")
# The mock survey's files (rule mock_survey) other than the photometry: role -> (file, redshift column)
MOCK_FILES = {
    "specz": ("specz.parquet", "z_spec"),
    "deep_reference": ("deep_reference.parquet", "z_ref"),
    "truth": ("truth.parquet", "z_true"),
    "clustering_reference": ("clustering_reference.parquet", "z_spec"),
}
MOCK_SENTINELS = [99.0]  # the mock's non-detections (zshard.mock.writers)


def mock_directory(config: dict) -> str:
    """Where rule mock_survey writes the mock survey."""
    return f"{config['results']}/mock"


def mock_photometry_files(config: dict) -> list[str]:
    """The mock survey's photometric files (rule mock_survey's outputs, whatever ``source`` is)."""
    mock = config["mock"]
    return photometry_paths(f"{mock_directory(config)}/photometry", mock["n_files"], mock["formats"])


def catalog_sources(config: dict) -> dict[str, dict]:
    """Each input role's complete catalogue section, from the mock (``source: mock``) or ``inputs``.

    Parameters
    ----------
    config : dict
        The validated workflow config.

    Returns
    -------
    dict
        Role -> catalogue section (``paths`` empty where a role is not provided).

    Raises
    ------
    ValueError
        ``source: files`` without photometry paths, or without a spec-z sample and its redshift column.
    """
    if config["source"] == "mock":
        directory = mock_directory(config)
        sections = {"photometry": {"paths": mock_photometry_files(config), "sentinels": MOCK_SENTINELS}}
        for role, (name, redshift) in MOCK_FILES.items():
            sections[role] = {"paths": [f"{directory}/{name}"], "columns": {"redshift": redshift},
                              "sentinels": MOCK_SENTINELS}
    else:
        sections = {role: config["inputs"].get(role, {}) for role in ROLES}
    sources = {role: {**with_defaults(section, f"inputs.{role}"), "with_photometry": role not in WITHOUT_PHOTOMETRY}
               for role, section in sections.items()}
    if not sources["photometry"]["paths"]:
        raise ValueError("source: files needs inputs.photometry.paths")
    if not sources["specz"]["paths"] or "redshift" not in sources["specz"]["columns"]:
        raise ValueError("source: files needs inputs.specz.paths and inputs.specz.columns.redshift")
    return sources


def source_files(config: dict, section: dict) -> list[str]:
    """A role's files: the mock's as named (they do not exist before rule mock_survey runs), the
    user's with their globs expanded (a pattern that matches nothing is an error)."""
    if config["source"] == "mock" or not section["paths"]:
        return list(section["paths"])
    return expand_paths(section["paths"])
