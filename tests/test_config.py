"""zshard.config: the schema's defaults, filled in as the workflow's validation fills them in."""

import copy

import pytest
import yaml
from conftest import ROOT

from zshard.config import SCHEMA_PATH, section_schema, with_defaults


def test_with_defaults_fills_in_what_the_workflow_validation_fills_in():
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    workflow = copy.deepcopy(config)
    validate(workflow, str(SCHEMA_PATH))
    assert with_defaults(config) == workflow
    assert config == yaml.safe_load((ROOT / "config/config.yaml").read_text())  # not modified


def test_with_defaults_completes_a_section_and_rejects_what_the_schema_rejects():
    zoo_cfg = with_defaults({"n_draws": 1}, "zoo")
    assert zoo_cfg["n_draws"] == 1
    assert zoo_cfg["folds"] == section_schema("zoo")["properties"]["folds"]["default"]
    weights = with_defaults({}, "representativeness")["weights"]
    assert weights == {key: sub["default"] for key, sub in
                       section_schema("representativeness.weights")["properties"].items()}
    photometry = with_defaults({"photometry": {"paths": ["a.fits"]}}, "inputs")["photometry"]
    assert photometry["columns"]["magnitude"] == "mag_{band}"  # through $ref: "#/definitions/catalog"
    with pytest.raises(ValueError, match="zoo: Additional properties"):
        with_defaults({"n_draw": 1}, "zoo")
    with pytest.raises(ValueError, match="zoo.folds"):
        with_defaults({"folds": 1}, "zoo")
    with pytest.raises(ValueError, match="'bands' is a required property"):
        with_defaults({})
    with pytest.raises(KeyError, match="no section"):
        with_defaults({}, "zoo.nothing")
