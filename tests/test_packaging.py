"""The install files agree with each other, and CI calls the README's test command."""

import re
import tomllib

import yaml
from conftest import ROOT


def _pins_from_pyproject() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = dict(re.match(r"([A-Za-z0-9_.-]+)==(\S+)", d).groups() for d in deps)
    assert len(pins) == len(deps), "every runtime dependency must be pinned with =="
    return {name.lower().replace("xgboost-cpu", "xgboost"): version for name, version in pins.items()}


def test_conda_env_mirrors_the_pinned_dependencies():
    env = yaml.safe_load((ROOT / "envs/zshard.yaml").read_text())
    conda = dict(d.split("=", 1) for d in env["dependencies"] if isinstance(d, str) and "=" in d)
    pip = dict(d.split("==", 1) for d in next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
               if "==" in d)
    mirrored = {k.lower(): v for k, v in {**conda, **pip}.items()}
    for name, version in _pins_from_pyproject().items():
        assert mirrored.get(name) == version, \
            f"{name}: pyproject pins {version}, envs/zshard.yaml has {mirrored.get(name)}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^(make \w+)", quick_start, re.M)
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci/run").read_text()
