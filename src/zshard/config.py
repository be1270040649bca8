"""The workflow configuration: its JSON schema is the one place where defaults live.

The workflow validates its config against ``workflow/schemas/config.schema.yaml`` with
:func:`snakemake.utils.validate`, which fills in the schema's defaults, before any rule runs; each
rule passes its section to the stage functions, which index it (``cfg["n_neighbors"]``) and have
no defaults of their own for a configured value. Code that runs a stage outside the workflow (the
benchmarks, notebooks, the tests) completes its config, or one section of it, with
:func:`with_defaults`, and so sees what a workflow job sees.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_PATH", "ConfigError", "check_config", "schema", "section_schema", "with_defaults"]

#: The schema, beside the package in the project tree (zshard is installed editable, ``pip install -e``).
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


@functools.cache
def _load_schema() -> dict:
    import yaml

    if not SCHEMA_PATH.is_file():
        raise FileNotFoundError(f"the config schema is not at {SCHEMA_PATH} (zshard must be installed editable, "
                                "from the project tree)")
    return yaml.safe_load(SCHEMA_PATH.read_text())


def schema() -> dict:
    """The workflow's config schema (a copy: changing it changes nothing here).

    Returns
    -------
    dict
        ``workflow/schemas/config.schema.yaml``, parsed.
    """
    return copy.deepcopy(_load_schema())


def section_schema(section: str | None = None) -> dict:
    """The sub-schema of one section of the config.

    Parameters
    ----------
    section : str, optional
        Dotted path of the section, e.g. ``"zoo"`` or ``"validation.clustering"``; None is the
        whole config.

    Returns
    -------
    dict
        The schema of that section (a copy).
    """
    node = _load_schema()
    for name in _path(section):
        try:
            node = node["properties"][name]
        except KeyError:
            raise KeyError(f"the config schema has no section {section!r}") from None
    return copy.deepcopy(node)


def _path(section: str | None) -> list[str]:
    return section.split(".") if section else []


@functools.cache
def _default_filling_validator() -> type:
    """The schema's validator class, with ``properties`` filling in defaults (the jsonschema FAQ's
    ``extend_with_default``, as :func:`snakemake.utils.validate` does) before it validates."""
    from jsonschema import validators

    base = validators.validator_for(_load_schema())
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Mapping, instance: Any, subschema: Mapping) -> Iterator[Any]:
        if validator.is_type(instance, "object"):
            for name, property_schema in properties.items():
                if "default" in property_schema:
                    instance.setdefault(name, copy.deepcopy(property_schema["default"]))
        yield from validate_properties(validator, properties, instance, subschema)

    return validators.extend(base, {"properties": set_defaults})


def with_defaults(config: Mapping | None = None, section: str | None = None) -> dict:
    """A complete, validated config: ``config`` with every default of the schema filled in.

    The same filling as the workflow's (:func:`snakemake.utils.validate` on the whole config),
    nested: a section the config lacks is filled with its own default and then with the defaults
    of its keys.

    Parameters
    ----------
    config : mapping, optional
        The whole config, or with ``section`` that section of it (e.g. ``{"n_draws": 1}`` for
        ``"zoo"``). Not modified.
    section : str, optional
        Dotted path of the section ``config`` is, e.g. ``"zoo"`` or ``"validation.clustering"``.

    Returns
    -------
    dict
        A deep copy of ``config`` with the defaults filled in.

    Raises
    ------
    ValueError
        The config breaks the schema (an unknown key, a value out of range, a required key
        missing, such as ``bands`` of a whole config).

    Examples
    --------
    >>> with_defaults({"n_draws": 1}, "zoo")["folds"]
    3
    """
    from jsonschema import exceptions

    instance = copy.deepcopy(dict(config or {}))
    validator = _default_filling_validator()(_load_schema())
    if section:
        # evolve keeps the root schema for resolving references ($ref: "#/definitions/...")
        validator = validator.evolve(schema=section_schema(section))
    error = exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        where = ".".join([*_path(section), *(str(p) for p in error.absolute_path)]) or "config"
        raise ValueError(f"{where}: {error.message}")
    return instance


class ConfigError(ValueError):
    """A config that breaks the schema: one line naming the key."""


def check_config(config: Mapping) -> None:
    """Refuse a config that breaks the schema with one line that names the key and what is wrong.

    The workflow calls it before :func:`snakemake.utils.validate`, whose message for the same error
    runs to dozens of lines (the whole sub-schema); this one reads, e.g.,
    ``config key partition.ra_outside_range: 'clip' is not one of ['reject', 'wrap']``.

    Raises
    ------
    ConfigError
    """
    try:
        with_defaults(config)
    except ValueError as exc:
        raise ConfigError(f"config key {exc} (each key: config/README.md, "
                          "workflow/schemas/config.schema.yaml)") from None
