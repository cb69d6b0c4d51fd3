"""Visible security overrides (issue 8, items 9-11): named, honoured, and refused where they cannot apply.

* item 10: one function (:func:`mlplatform.spec.overrides.security_overrides`) lists a spec's overrides;
  a property test holds it to every documented override; ``validate`` names them (text and --json), and the
  plan's diagnostics carry them (``preview``/``up``; through the real emulator in
  tests/integration/test_cli_network_perimeter.py);
* item 11: ``protect: false`` + ``allow_destroy_data: true`` on target aws is named, and refused for a
  production environment unless ``--allow-unprotected-prod``;
* item 9: ``artifact_store.versioning: false`` suspends versioning; ``root_access`` and
  ``direct_internet_access`` are refused for a domain.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import Result

from mlplatform import blueprints, environments
from mlplatform.spec.models import COMPONENTS, PlatformSpec, SettingsSpec
from mlplatform.spec.overrides import OVERRIDES, production_marker, security_overrides
from tests.unit.platform_plans import evaluate

Run = Callable[..., Result]
REPO = Path(__file__).resolve().parents[2]
SETTINGS = {rule.setting for rule in OVERRIDES}


def _data(target: str = "aws", level: int = 2, **top: Any) -> dict[str, Any]:
    """A level's blueprint as PlatformSpec input, with a notebook (where root/internet access can apply)."""
    data = copy.deepcopy(blueprints.resolve(f"level{level}").data)
    data["dev_environment"] = {**data.get("dev_environment", {}), "kind": "notebook"}
    data.update(name="mlp-test", env="test", blueprint=f"level{level}", level=level, target=target)
    data.update(region="eu-west-1", **({"account_id": "111111111111"} if target == "aws" else {}))
    data.update(top)
    return data


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


# --------------------------------------------------------------------------------------------------
# item 10: one list, every override named, none at defaults
# --------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(chosen=st.sets(st.sampled_from([rule.setting for rule in OVERRIDES])))
def test_property_every_override_set_is_named_and_only_those(chosen: set[str]) -> None:
    data = _data()
    for rule in OVERRIDES:
        if rule.setting in chosen:
            _set(data, rule.path, rule.insecure)
    named = [override.setting for override in security_overrides(PlatformSpec.model_validate(data))]
    assert sorted(named) == sorted(chosen)


@pytest.mark.parametrize("level", [0, 1, 2])
@pytest.mark.parametrize("target", ["local", "aws"])
def test_a_spec_at_its_defaults_names_no_override(level: int, target: str) -> None:
    assert security_overrides(PlatformSpec.model_validate(_data(target, level))) == []
    # Every component on, every setting at the model's default (no blueprint in between).
    bare = {key: value for key, value in _data(target, level).items() if key not in SettingsSpec.model_fields}
    components = {name: {"enabled": True} for name in COMPONENTS}
    assert security_overrides(PlatformSpec.model_validate({**bare, **components, "level": 2})) == []


def test_the_safety_switches_are_overrides_on_aws_only() -> None:
    data = _data("local", protect=False, allow_destroy_data=True)
    assert security_overrides(PlatformSpec.model_validate(data)) == []  # a disposable emulator's defaults
    named = security_overrides(PlatformSpec.model_validate(_data("aws", protect=False, allow_destroy_data=True)))
    assert [o.setting for o in named] == ["protect", "allow_destroy_data"]


def test_an_override_of_a_disabled_component_changes_nothing_and_is_not_named() -> None:
    data = _data(level=0)
    data["cicd"] = {"enabled": False, "manual_approval_before_prod": False}
    assert security_overrides(PlatformSpec.model_validate(data)) == []


def _fields_calling_themselves_overrides() -> set[str]:
    found: set[str] = set()

    def walk(model: Any, prefix: tuple[str, ...]) -> None:
        for name, field in model.model_fields.items():
            if "security override" in (field.description or ""):
                found.add(".".join((*prefix, name)))
            annotation = field.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                walk(annotation, (*prefix, name))

    walk(SettingsSpec, ())
    return found


def test_the_documented_overrides_are_exactly_the_listed_ones() -> None:
    """The settings' descriptions, docs/security.md's table and OVERRIDES name the same settings."""
    assert _fields_calling_themselves_overrides() == SETTINGS
    text = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    table = text.split("## Visible security overrides", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_.]+)`", table, re.M))
    assert documented == SETTINGS


# --------------------------------------------------------------------------------------------------
# validate, preview and up name them
# --------------------------------------------------------------------------------------------------


def _write(root: Path, env: str, text: str) -> Path:
    path = root / "stacks" / f"{env}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


DEV = """\
blueprint: level2
target: aws
region: eu-west-1
account_id: "111111111111"
overrides:
  encryption:
    key_rotation: false
  container_registry:
    immutable_tags: false
"""


def test_validate_names_each_override_with_where_it_was_set(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "dev", DEV)
    result = run("validate", "--env", "dev")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning: security override:")]
    assert warnings == [
        "warning: security override: encryption.key_rotation: false (stacks/dev.yaml:7) — the platform key's "
        "material is never rotated",
        "warning: security override: container_registry.immutable_tags: false (stacks/dev.yaml:9) — image tags are "
        "mutable: a deployed tag can be overwritten with another image",
    ]

    document = json.loads(run("validate", "--env", "dev", "--json").stdout)
    assert [o["setting"] for o in document["security_overrides"]] == [
        "encryption.key_rotation",
        "container_registry.immutable_tags",
    ]
    assert document["security_overrides"][0] == {
        "setting": "encryption.key_rotation",
        "value": False,
        "consequence": "the platform key's material is never rotated",
        "file": "stacks/dev.yaml",
        "line": 7,
        "path": "overrides.encryption.key_rotation",
    }
    assert [w for w in document["warnings"] if w.startswith("security override:")] == [
        w.removeprefix("warning: ") for w in warnings
    ]


def test_an_override_from_a_blueprint_is_located_in_the_blueprint(run: Run, tmp_path: Path) -> None:
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "blueprints" / "lab.yaml").write_text(
        "extends: level0\ndescription: lab\nnetwork:\n  flow_logs: false\n", encoding="utf-8"
    )
    _write(tmp_path, "dev", DEV.replace("level2", "lab").split("overrides:")[0])
    document = json.loads(run("validate", "--env", "dev", "--json").stdout)
    [override] = document["security_overrides"]
    assert (override["setting"], override["file"], override["line"]) == ("network.flow_logs", "blueprints/lab.yaml", 4)


def test_a_plan_carries_the_overrides_as_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """preview/up add the environment's warnings to the plan (text and the --json document's diagnostics)."""
    from mlplatform.cli.deploy import _context
    from mlplatform.engine.model import Plan, PlanMode
    from mlplatform.render.plan import plan_text

    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "dev", DEV)
    resolved = environments.resolve("dev", project_dir=tmp_path)
    workspace = SimpleNamespace(
        resolved=resolved,
        emulator_restarted=False,
        project=tmp_path,
        state_dir=tmp_path / ".mlplatform",
    )
    plan = Plan(mode=next(iter(PlanMode)), env="dev", blueprint="level2", target="aws")
    _context(workspace, plan)  # type: ignore[arg-type]
    diagnostics = plan.as_dict()["diagnostics"]
    named = [d["message"] for d in diagnostics if d["severity"] == "warning" and "security override" in d["message"]]
    assert [m.split(":")[1].strip() for m in named] == ["encryption.key_rotation", "container_registry.immutable_tags"]
    text = plan_text(plan, show_diff=False, color=False)
    assert "warning: security override: encryption.key_rotation: false" in text


# --------------------------------------------------------------------------------------------------
# item 11: unprotected production
# --------------------------------------------------------------------------------------------------

UNPROTECTED = """\
blueprint: level0
target: aws
region: eu-west-1
account_id: "111111111111"
overrides:
  tags:
    environment: {tag}
  protect: false
  allow_destroy_data: true
"""


@pytest.mark.parametrize(
    ("env", "tag", "marked"),
    [
        ("prod", "x", True),
        ("production", "x", True),
        ("prod-eu", "x", True),
        ("ml-prod", "x", True),
        ("live", "prod", True),
        ("live", "Production", True),
        ("preprod", "staging", False),
        ("ml-nonprod", "dev", False),
        ("products", "x", False),
    ],
)
def test_production_is_recognised_by_name_or_tag(env: str, tag: str, marked: bool) -> None:
    assert (production_marker(env, {"environment": tag}) is not None) is marked


def test_unprotected_production_is_refused_at_the_protect_line(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "prod-eu", UNPROTECTED.format(tag="prod"))
    for command in (("validate",), ("preview",), ("up", "--yes"), ("export",), ("destroy", "--yes")):
        result = run(*command, "--env", "prod-eu")
        assert result.exit_code == 2, (command, result.output)
        assert "stacks/prod-eu.yaml:8: overrides.protect\n" in result.stderr
        assert "is production (its name 'prod-eu')" in result.stderr
        assert "--allow-unprotected-prod" in result.stderr
        assert "Traceback" not in result.output


def test_a_production_tag_marks_it_too_and_the_flag_accepts_it_with_warnings(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "live", UNPROTECTED.format(tag="prod"))
    refused = run("validate", "--env", "live", "--json")
    assert refused.exit_code == 2 and "its tag environment: prod" in refused.stderr
    assert json.loads(refused.stdout)["problems"][0]["path"] == "overrides.protect"

    accepted = run("validate", "--env", "live", "--allow-unprotected-prod", "--json")
    assert accepted.exit_code == 0, accepted.output
    document = json.loads(accepted.stdout)
    assert [o["setting"] for o in document["security_overrides"]] == ["protect", "allow_destroy_data"]
    # preview and up take the flag too: past validation they reach the Pulumi engine, which stops before Pulumi
    # runs (no Pulumi CLI on PATH here, or no AWS credentials for the account): not a validation error.
    for command in (("preview",), ("up", "--yes")):
        result = run(*command, "--env", "live", "--allow-unprotected-prod")
        assert result.exit_code not in (0, 2), result.output
        assert "Pulumi CLI" in result.stderr or "AWS credentials" in result.stderr, result.output


def test_an_unprotected_environment_that_is_not_production_is_only_named(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "sandbox", UNPROTECTED.format(tag="sandbox"))
    result = run("validate", "--env", "sandbox")
    assert result.exit_code == 0, result.output
    assert "warning: security override: protect: false (stacks/sandbox.yaml:8)" in result.stdout
    assert "warning: security override: allow_destroy_data: true (stacks/sandbox.yaml:9)" in result.stdout


def test_a_protected_production_or_one_that_keeps_its_data_is_accepted(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "prod", UNPROTECTED.format(tag="prod").replace("protect: false", "protect: true"))
    assert run("validate", "--env", "prod").exit_code == 0
    keeps_data = UNPROTECTED.format(tag="prod").replace("allow_destroy_data: true", "allow_destroy_data: false")
    _write(tmp_path, "prod", keeps_data)
    assert run("validate", "--env", "prod").exit_code == 0


# --------------------------------------------------------------------------------------------------
# item 9: versioning honoured; notebook-only settings refused for a domain
# --------------------------------------------------------------------------------------------------


def _versioning(data: dict[str, Any]) -> dict[str, str]:
    plan = evaluate(PlatformSpec.model_validate(data))
    return {
        plan.name(r): r.inputs["versioningConfiguration"]["status"]
        for r in plan.of_type("aws:s3/bucketVersioning:BucketVersioning")
    }


def test_versioning_off_suspends_the_artifact_buckets_versioning_only() -> None:
    assert set(_versioning(_data("local", 0)).values()) == {"Enabled"}
    data = _data("local", 0)
    data["artifact_store"] = {**data["artifact_store"], "versioning": False}
    assert _versioning(data) == {
        "artifact-store-artifacts-versioning": "Suspended",
        "artifact-store-logs-versioning": "Enabled",  # access logs stay versioned: they are the evidence
    }


@pytest.mark.parametrize("setting", ["root_access", "direct_internet_access"])
def test_a_domain_refuses_notebook_only_settings(setting: str) -> None:
    data = _data()
    data["dev_environment"] = {"enabled": True, "kind": "domain", setting: True}
    with pytest.raises(ValidationError) as caught:
        PlatformSpec.model_validate(data)
    [error] = caught.value.errors()
    assert error["loc"] == ("dev_environment", setting)
    assert "notebook instances only" in error["msg"]
    data["dev_environment"][setting] = False  # the secure default is accepted
    PlatformSpec.model_validate(data)
    data["dev_environment"].update(kind="notebook", **{setting: True})
    PlatformSpec.model_validate(data)


def test_a_domain_with_root_access_is_located_in_the_env_file(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "dev", DEV.split("overrides:")[0] + "overrides:\n  dev_environment:\n    root_access: true\n")
    result = run("validate", "--env", "dev")
    assert result.exit_code == 2
    assert "stacks/dev.yaml:7: overrides.dev_environment.root_access\n" in result.stderr
    assert "allowed: root_access: false (or no root_access key), or kind: notebook" in result.stderr
