"""The config's defaults live in its schema only: the code has none of its own, and disagrees with none."""

import ast
import copy
import dataclasses
import inspect

import pytest
import yaml
from conftest import ROOT

from zshard import (
    anomalies,
    calibration,
    clustering,
    metrics,
    models,
    partition,
    report,
    representativeness,
    selection,
    sky,
    training,
    validation,
    zoo,
)
from zshard.config import SCHEMA_PATH, schema, section_schema, with_defaults
from zshard.mock.config import MockConfig
from zshard.pdf import binned, distribution, qp_export, representation, summary
from zshard.tomography import binning, cuts, partial, reduction, writers

# The modules whose functions get the config's values (through the stages and the rule scripts).
STAGE_MODULES = (anomalies, calibration, clustering, metrics, models, partition, representation, distribution, summary,
                 binned, qp_export, report, representativeness, selection, sky, binning, cuts, partial, reduction,
                 writers, training, validation, zoo)

# Parameters named like a configured key that are something else, and why.
NOT_CONFIGURED = {
    "seed": "a seed derived from the master seed (zshard.io.derive_seed), not the master seed",
    "n_bins": "the bins of a PIT histogram (metrics, report), not validation.magnitude_bins or tomography",
    "chunk_rows": "calibration.mixture_ppf's rows per batch (memory), not partition's",
    "grid_step": "qp_export.to_qp's grid for qp, not tomography's",
    "n_objects": "tomography.partial.NzPartial's count of objects, not the mock's",
}


def _configured_defaults(node: dict, path: tuple = ()) -> dict[tuple, object]:
    """Every key of the schema that has a default: its path -> the default."""
    out = {}
    for name, sub in (node.get("properties") or {}).items():
        if "default" in sub:
            out[path + (name,)] = sub["default"]
        out.update(_configured_defaults(sub, path + (name,)))
    for sub in (node.get("definitions") or {}).values():
        out.update(_configured_defaults(sub, path))
    return out


CONFIGURED = _configured_defaults(schema())
CONFIGURED_NAMES = {path[-1] for path in CONFIGURED}


def _functions(module):
    for _, member in inspect.getmembers(module):
        if inspect.isfunction(member) and member.__module__ == module.__name__:
            yield member.__qualname__, member
        elif inspect.isclass(member) and member.__module__ == module.__name__:
            for name, method in vars(member).items():
                if inspect.isfunction(method):
                    yield f"{member.__name__}.{name}", method


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


def test_no_function_has_a_default_for_a_configured_value():
    found = []
    for module in STAGE_MODULES:
        for name, function in _functions(module):
            for parameter in inspect.signature(function).parameters.values():
                if (parameter.name not in CONFIGURED_NAMES or parameter.name in NOT_CONFIGURED
                        or parameter.default in (inspect.Parameter.empty, None)):
                    continue
                if parameter.name in ("z_min", "z_max"):  # the PDF functions' range: the model's default
                    assert parameter.default == CONFIGURED[("model", parameter.name)], (name, parameter)
                    continue
                found.append(f"{module.__name__}.{name}({parameter.name}={parameter.default!r})")
    assert not found, f"defaults of configured values (take them from the config): {found}"


def test_no_configured_value_is_read_with_a_default():
    """``cfg.get("key", default)`` for a configured key in the code that gets config sections."""
    found = []
    for path in [*(ROOT / "src/zshard").rglob("*.py"), *(ROOT / "scripts").glob("*.py")]:
        if path.stem in ("models", "features", "training_report"):
            # models, features, training_report read saved artefacts and reports, not the config
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and len(node.args) == 2 and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value in CONFIGURED_NAMES):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, found


def test_the_code_defaults_that_remain_equal_the_schema():
    # the mock's generator has defaults for every field (the schema lists the common ones)
    fields = {f.name: f.default for f in dataclasses.fields(MockConfig)}
    for path, default in CONFIGURED.items():
        if path[0] == "mock" and len(path) == 2:
            value = fields[path[1]]
            assert (list(value) if isinstance(value, tuple) else value) == default, path
    assert ((representation.DEFAULT_Z_MIN, representation.DEFAULT_Z_MAX)
            == (CONFIGURED[("model", "z_min")], CONFIGURED[("model", "z_max")]))
    # the names the schema enumerates are the ones the code knows
    zoo_schema = section_schema("zoo")["properties"]
    assert list(zoo.ALGORITHMS) == zoo_schema["algorithms"]["items"]["enum"] == zoo_schema["algorithms"]["default"]
    assert list(zoo.RANK_METRICS) == zoo_schema["rank_by"]["enum"] == section_schema("selection.rank_by")["enum"]
    assert list(cuts.CUT_NAMES) == list(section_schema("tomography.cuts")["properties"])


def test_clustering_settings_are_the_config_section():
    settings = with_defaults({}, "validation.clustering")
    config = clustering.ClusteringConfig.from_dict(settings)
    assert config.to_dict() == {key: value for key, value in settings.items()
                                if key not in ("enabled", "max_unknown")}
    assert all(field.default is dataclasses.MISSING for field in dataclasses.fields(clustering.ClusteringConfig))


def test_the_defaults_are_for_real_data_and_the_demo_says_where_its_search_is_smaller():
    """config/config.yaml's search is the schema's (sized for real data); config/demo.yaml, which make demo
    adds, shrinks only the zoo, and both it and config/des_specz.yaml validate over config/config.yaml."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    defaults = with_defaults({}, "zoo")
    assert {k: config["zoo"][k] for k in ("n_draws", "folds", "time_budget_s")} == {
        k: defaults[k] for k in ("n_draws", "folds", "time_budget_s")}
    assert defaults["n_draws"] >= 20 and defaults["folds"] >= 5 and defaults["time_budget_s"] > 0
    demo = yaml.safe_load((ROOT / "config/demo.yaml").read_text())
    assert set(demo) == {"zoo"} and demo["zoo"]["n_draws"] < defaults["n_draws"]
    assert "demo" in (ROOT / "config/demo.yaml").read_text().splitlines()[0]
    demo_target = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert demo_target.count("$(DEMO_CONFIG)") == 2 and "DEMO_CONFIG ?= --configfile config/demo.yaml" in (
        ROOT / "Makefile").read_text()
    for overlay in ("demo.yaml", "des_specz.yaml"):
        merged = copy.deepcopy(config)
        for key, value in yaml.safe_load((ROOT / "config" / overlay).read_text()).items():
            merged[key] = {**merged[key], **value} if isinstance(value, dict) and key in merged else value
        with_defaults(merged)
