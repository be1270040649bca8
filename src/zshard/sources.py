"""Where each input catalogue comes from: the generated mock survey, or the user's files.

The config's ``source`` says which. Either way every input role (:data:`ROLES`) becomes one complete
catalogue section of the schema (``definitions/catalog``, its defaults filled in), the form
:meth:`zshard.io.catalogs.CatalogSpec.from_config` reads, plus ``uses``: what the role is read for
(:data:`ROLE_USES`), so that each role requires only the columns it uses: the truth table its ids
and redshifts, the clustering reference its positions and redshifts. :func:`check_input_columns`
checks the user's files against them before any job runs, from their headers.
"""

from __future__ import annotations

from zshard.config import with_defaults
from zshard.io.catalogs import CatalogSpec, check_file_columns, expand_paths
from zshard.mock.layout import photometry_paths

ROLES = ("photometry", "specz", "deep_reference", "truth", "clustering_reference")
# What each role is read for (zshard.io.catalogs.ALL_USES); its redshift column besides, where it has one.
ROLE_USES = {
    "photometry": ("id", "position", "photometry"),
    "specz": ("id", "position", "photometry"),
    "deep_reference": ("id", "position", "photometry"),
    "truth": ("id",),  # joined with the binned catalogue on id (scripts/validate_truth.py)
    "clustering_reference": ("position",),  # cross-correlated by position (scripts/validate_clustering.py)
}
# The redshift column each role's reader names its redshift (as the rules' scripts read it).
REDSHIFT_NAMES = {"specz": "z_spec", "deep_reference": "z_ref", "truth": "z_true", "clustering_reference": "z_spec"}
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
    sources = {role: {**with_defaults(section, f"inputs.{role}"), "uses": list(ROLE_USES[role])}
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


def check_input_columns(config: dict, sources: dict[str, dict]) -> None:
    """Before any job runs: every user file of every role has the columns that role reads, as numbers.

    Reads only each file's header (:func:`zshard.io.catalogs.file_columns`). The mock's files are
    the workflow's own (written by rule mock_survey) and are not checked.

    Raises
    ------
    zshard.io.catalogs.CatalogError
        Naming the file, its role, the missing (or text) column and the config key that names it.
    """
    if config["source"] == "mock":
        return
    for role, section in sources.items():
        if not section["paths"]:
            continue
        if role in REDSHIFT_NAMES and "redshift" not in section["columns"]:
            raise ValueError(f"inputs.{role} needs columns.redshift: the column of its redshifts")
        spec = CatalogSpec.from_config(section, config["bands"], redshift_name=REDSHIFT_NAMES.get(role, "z_spec"))
        for path in source_files(config, section):
            check_file_columns(path, spec, role)
