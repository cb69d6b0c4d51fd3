"""The program entry of ``Pulumi.yaml`` (``__main__.py`` -> :func:`mlplatform.app.stack_program.run`).

The entry is run the way Pulumi's runtime runs it, minus the process: ``run`` evaluated by the embedded engine's
runner with fake handlers (``tests/unit/platform_plans.py``), the stack named like the environment and the
config in ``PULUMI_CONFIG`` (where the exec shim puts it). What it registers is compared with the program
``open_workspace`` gives every mlplatform command, resource by resource, inputs included; the emulator is
replaced by a fixed endpoint. The plain Pulumi CLI running it is ``tests/integration/test_pulumi_yaml.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from mlplatform import emulator, environments
from mlplatform.app import stack_program, workspace
from mlplatform.engine.embedded.deployment import Deployment
from mlplatform.engine.embedded.monitor import EngineMonitor
from mlplatform.engine.embedded.runner import run_program
from mlplatform.errors import ConfigError, EnvNotFoundError, SpecValidationError
from tests.unit.platform_plans import FakeHandlers, evaluate

ENDPOINT = "http://127.0.0.1:9"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emulator_calls() -> list[Path]:
    """The state folders ``emulator.ensure_running`` was called with (see ``project``)."""
    return []


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator_calls: list[Path]) -> Path:
    """An empty project folder as the working directory (where Pulumi's runtime runs the program), with a stand-in
    for the emulator: ``ensure_running`` answers a fixed endpoint and records its calls."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLPLATFORM_STATE_DIR", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    calls = emulator_calls

    def ensure_running(state_dir: Path) -> emulator.EmulatorInfo:
        calls.append(state_dir)
        return emulator.EmulatorInfo(
            pid=1, port=9, endpoint=ENDPOINT, started_at="2025-01-01T00:00:00Z", moto_version="x", log_file=Path("/")
        )

    monkeypatch.setattr(emulator, "ensure_running", ensure_running)
    (tmp_path / "Pulumi.yaml").write_text("name: mlplatform\nruntime: python\n", encoding="utf-8")
    return tmp_path


def _config(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Stack config as the exec shim hands it to the program (``PULUMI_CONFIG``, ``namespace:key``)."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"mlplatform:{key}": value for key, value in values.items()}))


def _registered(program: Callable[[], object], env: str) -> dict[str, tuple[str, Any]]:
    """URN -> (type, inputs) of every resource ``program`` registers for stack ``env`` (fake handlers)."""
    deployment = Deployment(previous={}, handlers=FakeHandlers(), preview=False)
    run_program(program, EngineMonitor(deployment, "mlplatform", env), preview=False, parallel=4)
    assert not [step.error for step in deployment.steps if step.error]
    return {urn: (record.type, record.inputs) for urn, record in deployment.records.items()}


def _write_env(project: Path, env: str, document: dict[str, Any]) -> None:
    (project / "stacks").mkdir(exist_ok=True)
    (project / "stacks" / f"{env}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")


def test_the_entry_builds_the_stacks_environment_as_open_workspace_does(
    project: Path, monkeypatch: pytest.MonkeyPatch, emulator_calls: list[Path]
) -> None:
    _config(monkeypatch, blueprint="level2")
    entry = _registered(stack_program.run, "local")

    opened = workspace.open_workspace("local", "level2", project / ".mlplatform")
    assert opened.endpoint == ENDPOINT
    expected = _registered(opened.stack.program, "local")
    assert entry == expected
    # level2, not the default: the config's blueprint was used (level0 registers no feature store).
    types = {type_ for type_, _ in entry.values()}
    assert "aws:sagemaker/featureGroup:FeatureGroup" in types and len(entry) > 100
    assert emulator_calls == [project / ".mlplatform", project / ".mlplatform"]  # the entry's, then open_workspace's


def test_without_config_or_file_the_built_in_local_environment_gets_the_default_blueprint(project: Path) -> None:
    entry = _registered(stack_program.run, "local")
    expected = _registered(
        workspace.platform_program(environments.resolve("local", None, project).spec, ENDPOINT), "local"
    )
    assert entry == expected
    assert "aws:sagemaker/featureGroup:FeatureGroup" not in {type_ for type_, _ in entry.values()}


def test_an_aws_environment_deploys_to_its_account_in_real_aws(project: Path, emulator_calls: list[Path]) -> None:
    # No emulator and no preflight: the provider's allowedAccountIds is the account guard on a plain run.
    _write_env(
        project, "dev", {"blueprint": "level1", "target": "aws", "region": "eu-west-1", "account_id": "111111111111"}
    )
    entry = _registered(stack_program.run, "dev")
    spec = environments.resolve("dev", None, project).spec
    assert spec.blueprint == "level1"
    plan = evaluate(spec)  # platform_plans builds its own TargetSettings: endpoint None, the env's account
    assert {urn: record.type for urn, record in plan.records.items()} == {urn: t for urn, (t, _) in entry.items()}
    providers = [inputs for type_, inputs in entry.values() if type_ == "pulumi:providers:aws"]
    assert len(providers) == 1
    assert providers[0]["region"] == "eu-west-1" and "endpoints" not in providers[0]
    assert json.loads(providers[0]["allowedAccountIds"]) == ["111111111111"]
    assert emulator_calls == []


def test_the_config_names_the_blueprint_over_the_env_file_with_a_warning_that_says_so(project: Path) -> None:
    _write_env(project, "local", {"blueprint": "level1", "target": "local"})
    resolved = stack_program.resolve_stack("local", "level2")
    assert resolved.spec.blueprint == "level2" and resolved.blueprint_source == "stack config mlplatform:blueprint"
    assert len(resolved.warnings) == 1
    assert resolved.warnings[0].startswith("stack config mlplatform:blueprint = level2 overrides `blueprint: level1`")
    assert stack_program.resolve_stack("local", None).spec.blueprint == "level1"


def test_an_env_file_without_a_blueprint_needs_the_config(project: Path) -> None:
    # mlplatform would take the blueprint of the last deploy; the entry cannot know it and must not guess level0.
    _write_env(project, "local", {"target": "local"})
    with pytest.raises(ConfigError) as caught:
        stack_program.resolve_stack("local", None)
    assert "pins no `blueprint:`" in caught.value.message
    assert caught.value.hint is not None
    assert "`pulumi config set mlplatform:blueprint <name> -s local`" in caught.value.hint
    assert "level0, level1, level2" in caught.value.hint
    assert stack_program.resolve_stack("local", "level1").spec.blueprint == "level1"


def test_an_unknown_blueprint_in_the_config_is_named_as_the_configs(project: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        stack_program.resolve_stack("local", "level9")
    assert "stack config mlplatform:blueprint" in str(caught.value)


def test_a_stack_without_an_environment_is_refused(project: Path) -> None:
    with pytest.raises(EnvNotFoundError, match="no environment 'staging'"):
        stack_program.resolve_stack("staging", None)


def _run_reporting(monkeypatch: pytest.MonkeyPatch, stack: str) -> tuple[int | str | None, list[str]]:
    """Run the entry as the exec shim would for stack ``stack``; the exit code and the error diagnostics."""
    errors: list[str] = []
    monkeypatch.setattr(pulumi, "get_stack", lambda: stack)
    monkeypatch.setattr(pulumi.log, "error", lambda message, *args, **kwargs: errors.append(message))
    with pytest.raises(SystemExit) as exited:
        stack_program.run()
    return exited.value.code, errors


def test_a_bad_env_file_is_one_error_diagnostic_and_the_shims_reported_exit_code(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_env(project, "local", {"blueprint": "level1", "target": "local", "overrides": {"network": {"nat": "many"}}})
    code, errors = _run_reporting(monkeypatch, "local")
    assert code == stack_program.REPORTED_EXIT_CODE == 32
    assert len(errors) == 1
    message = errors[0]
    with pytest.raises(SpecValidationError) as direct:
        environments.resolve("local", None, project)
    # The CLI's own text: headline, then the located problem (file and field), no Python traceback.
    assert message.startswith(f"invalid spec: {direct.value.message}")
    assert "stacks/local.yaml" in message and "network.nat" in message and "Traceback" not in message


def test_a_missing_environment_reports_its_hint_too(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, errors = _run_reporting(monkeypatch, "staging")
    assert code == 32
    assert errors == [
        "environment not found: no environment 'staging': stacks/staging.yaml does not exist (environments here: "
        f"local; project {project}).\nhint: Create it with `mlplatform init --env staging`."
    ]


def test_the_repositorys_program_file_calls_the_entry() -> None:
    # __main__.py is what Pulumi's runtime runs: it must reach run(), and do nothing else.
    text = (REPO_ROOT / "__main__.py").read_text(encoding="utf-8")
    code = [line for line in text.splitlines() if line and not line.startswith('"""')]
    assert code == ["from mlplatform.app.stack_program import run", "run()"]
