"""The Pulumi engine without the CLI: engine events -> plans and results, and the application's wiring.

The events are the Automation API's own classes built from the JSON the CLI writes (``EngineEvent.from_json``),
so the mapping is tested against the real shapes; the end-to-end runs with the real CLI are in
``tests/integration`` (marker ``pulumi_cli``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pulumi.automation import EngineEvent

from mlplatform.app import pulumi as wiring
from mlplatform.app.conventions import CONVENTIONS
from mlplatform.engine.model import Action, StepStatus
from mlplatform.engine.pulumi.engine import _Collector, _command_message, _outputs
from mlplatform.engine.values import COMPUTED_MASK, is_secret
from mlplatform.errors import ConfigError

STACK = "urn:pulumi:dev::mlplatform::pulumi:pulumi:Stack::mlplatform-dev"
BUCKET = (
    "urn:pulumi:dev::mlplatform::mlplatform:storage:ArtifactStore$aws:s3/bucket:Bucket::artifact-store-artifacts-bucket"
)
ROLE = "urn:pulumi:dev::mlplatform::mlplatform:security:Identity$aws:iam/role:Role::identity-user"


def _state(urn: str, inputs: dict[str, Any], *, custom: bool = True) -> dict[str, Any]:
    return {"urn": urn, "type": urn.split("::")[2].split("$")[-1], "custom": custom, "inputs": inputs}


def _pre(op: str, urn: str, old: dict[str, Any] | None, new: dict[str, Any] | None, **extra: Any) -> EngineEvent:
    metadata: dict[str, Any] = {"op": op, "urn": urn, "type": urn.split("::")[2].split("$")[-1], "provider": ""}
    if old is not None:
        metadata["old"] = _state(urn, old)
    if new is not None:
        metadata["new"] = _state(urn, new)
    metadata.update(extra)
    return EngineEvent.from_json({"sequence": 1, "timestamp": 0, "resourcePreEvent": {"metadata": metadata}})


def _outputs_event(op: str, urn: str) -> EngineEvent:
    metadata = {"op": op, "urn": urn, "type": urn.split("::")[2].split("$")[-1], "provider": ""}
    return EngineEvent.from_json({"sequence": 2, "timestamp": 0, "resOutputsEvent": {"metadata": metadata}})


def _failed(op: str, urn: str) -> EngineEvent:
    metadata = {"op": op, "urn": urn, "type": urn.split("::")[2].split("$")[-1], "provider": ""}
    return EngineEvent.from_json(
        {"sequence": 3, "timestamp": 0, "resOpFailedEvent": {"metadata": metadata, "status": 1, "steps": 1}}
    )


def _diagnostic(message: str, severity: str, urn: str | None = None) -> EngineEvent:
    event: dict[str, Any] = {"message": message, "color": "never", "severity": severity}
    if urn:
        event["urn"] = urn
    return EngineEvent.from_json({"sequence": 4, "timestamp": 0, "diagnosticEvent": event})


def test_a_replacement_is_one_replace_change_with_its_reasons() -> None:
    collector = _Collector(CONVENTIONS, lambda *_: None, applying=False)
    old = {"bucket": "a", "tags": {"mlplatform:component": "artifact_store"}}
    new = {"bucket": "b", "tags": {"mlplatform:component": "artifact_store"}}
    # As the engine sends them: the old resource's delete carries only its old state, no keys, no diff.
    collector(_pre("create-replacement", BUCKET, old, new, keys=["bucket"], diffs=["bucket"]))
    collector(_pre("replace", BUCKET, old, new, keys=["bucket"], diffs=["bucket"]))
    collector(_pre("delete-replaced", BUCKET, old, None))
    (change,) = collector.plan_changes()
    assert change.action is Action.REPLACE
    assert change.replace_reasons == ("bucket",) and change.diff == ("bucket",)
    assert change.before == old and change.after == new
    assert change.component == "artifact_store"
    assert [entry.path for entry in change.property_diff] == ["bucket"]


@pytest.mark.parametrize(
    ("op", "action"),
    [("same", Action.SAME), ("create", Action.CREATE), ("update", Action.UPDATE), ("delete", Action.DELETE)],
)
def test_each_step_op_maps_to_its_action(op: str, action: Action) -> None:
    collector = _Collector(CONVENTIONS, lambda *_: None, applying=False)
    collector(_pre(op, ROLE, None if op == "create" else {"name": "r"}, None if op == "delete" else {"name": "r"}))
    (change,) = collector.plan_changes()
    assert change.action is action
    assert (change.after is None) == (op == "delete")


def test_the_stack_resource_is_not_a_change_and_unknowns_read_as_known_after_apply() -> None:
    from pulumi.runtime.rpc import UNKNOWN

    collector = _Collector(CONVENTIONS, lambda *_: None, applying=False)
    collector(_pre("create", STACK, None, {}))
    collector(_pre("create", ROLE, None, {"name": "r", "arn": UNKNOWN, "nested": [{"x": UNKNOWN}]}))
    (change,) = collector.plan_changes()
    assert change.urn == ROLE
    assert change.after == {"name": "r", "arn": COMPUTED_MASK, "nested": [{"x": COMPUTED_MASK}]}


def test_progress_and_results_come_from_the_events_and_a_failure_names_its_error() -> None:
    seen: list[tuple[str, str, StepStatus | None]] = []
    collector = _Collector(
        CONVENTIONS, lambda phase, change, status, *_: seen.append((phase, change.name, status)), applying=True
    )
    collector(_pre("create", ROLE, None, {"name": "r"}))
    collector(_pre("create", BUCKET, None, {"bucket": "b"}))
    collector(_outputs_event("create", ROLE))
    collector(_diagnostic("creating bucket b: AccessDenied", "error", BUCKET))
    collector(_failed("create", BUCKET))
    results = {step.change.name: step for step in collector.results()}
    assert results["identity-user"].status is StepStatus.OK
    assert results["artifact-store-artifacts-bucket"].status is StepStatus.FAILED
    assert results["artifact-store-artifacts-bucket"].error == "creating bucket b: AccessDenied"
    assert ("start", "identity-user", None) in seen and ("end", "identity-user", StepStatus.OK) in seen
    assert ("end", "artifact-store-artifacts-bucket", StepStatus.FAILED) in seen
    # The error is the step's: not repeated as a diagnostic of the run.
    assert collector.diagnostics == []


def test_a_change_that_never_finished_is_reported_skipped() -> None:
    collector = _Collector(CONVENTIONS, lambda *_: None, applying=True)
    collector(_pre("create", ROLE, None, {"name": "r"}))
    (step,) = collector.results()
    assert step.status is StepStatus.SKIPPED


def test_outputs_keep_secrets_wrapped() -> None:
    values = {"plain": SimpleNamespace(value="x", secret=False), "key": SimpleNamespace(value="s3cr3t", secret=True)}
    found = _outputs(values)
    assert found["plain"] == "x" and is_secret(found["key"]) and found["key"]["value"] == "s3cr3t"


def test_the_cli_error_shown_is_pulumis_stderr() -> None:
    error = Exception(" code: 255\n stdout: Updating...\nnoise\n stderr: error: the stack is locked\n")
    assert _command_message(error) == "error: the stack is locked"
    quiet = Exception(" code: 1\n stdout: a\nb\nerror: failed to create\n stderr: ")
    assert _command_message(quiet).endswith("error: failed to create")


# ---- wiring -------------------------------------------------------------------------------------------------


def _resolved(target: str = "local", env: str = "dev", **settings: Any) -> Any:
    spec = SimpleNamespace(target=target, region="eu-west-1", account_id="111111111111" if target == "aws" else None)
    defaults = {"secrets_provider": None, "backend": None, "owner": None, "ttl_seconds": lambda: None}
    return SimpleNamespace(env=env, spec=spec, settings=SimpleNamespace(**{**defaults, **settings}))


def test_target_aws_always_uses_pulumi_and_refuses_the_embedded_engine(tmp_path: Path) -> None:
    assert wiring.choose_engine(_resolved("aws"), None, tmp_path) == "pulumi"
    with pytest.raises(ConfigError, match="always deploys through the Pulumi engine"):
        wiring.choose_engine(_resolved("aws"), "embedded", tmp_path)
    with pytest.raises(ConfigError, match="unknown engine"):
        wiring.choose_engine(_resolved(), "terraform", tmp_path)


def test_a_local_environment_keeps_the_engine_it_was_deployed_with(tmp_path: Path) -> None:
    assert wiring.choose_engine(_resolved(), None, tmp_path) == "embedded"
    wiring.remember_engine("dev", tmp_path, "pulumi")
    assert wiring.choose_engine(_resolved(), None, tmp_path) == "pulumi"
    assert wiring.choose_engine(_resolved(), "embedded", tmp_path) == "embedded"


def test_local_secrets_use_a_private_key_file_and_aws_needs_a_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    settings: Any = wiring.settings_for(_resolved(), tmp_path)
    key = Path(settings.env_vars["PULUMI_CONFIG_PASSPHRASE_FILE"])
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text()) >= 32
    again: Any = wiring.settings_for(_resolved(), tmp_path)
    assert again.env_vars == settings.env_vars  # the same key on every run
    assert settings.backend_url == (tmp_path / "pulumi-state").resolve().as_uri()
    assert settings.config == {"aws:region": "eu-west-1"}
    with pytest.raises(ConfigError, match="PULUMI_CONFIG_PASSPHRASE"):
        wiring.settings_for(_resolved("aws"), tmp_path)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "p")
    aws: Any = wiring.settings_for(_resolved("aws", backend="s3://bucket/prefix"), tmp_path)
    assert aws.env_vars == {} and aws.backend_url == "s3://bucket/prefix"
    assert aws.config["aws:allowedAccountIds"] == '["111111111111"]'


def test_the_cli_folder_must_hold_pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(wiring.CLI_ENV, str(tmp_path / "nothing"))
    with pytest.raises(ConfigError, match="holds no Pulumi CLI"):
        wiring.cli_root()
    binary = tmp_path / "pulumi" / "bin" / "pulumi"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    for given in (binary.parent, binary.parent.parent):
        monkeypatch.setenv(wiring.CLI_ENV, str(given))
        assert wiring.cli_root() == binary.parent.parent
    monkeypatch.delenv(wiring.CLI_ENV)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(Exception, match="needs the Pulumi CLI"):
        wiring.require_cli()
    assert os.environ["PATH"] == str(tmp_path / "empty")


def test_a_killed_runs_empty_metadata_sidecar_is_removed_and_nothing_else(tmp_path: Path) -> None:
    """Pulumi's file backend writes ``<file>.attrs`` in place: a kill can leave it empty, and every later
    command then fails with "failed to load checkpoint: EOF" (seen in the kill -9 integration test)."""
    from mlplatform.engine.pulumi.engine import PulumiEngine, PulumiSettings

    stacks = tmp_path / "backend" / ".pulumi" / "stacks" / "mlplatform"
    stacks.mkdir(parents=True)
    (stacks / "local.json").write_text("{}")
    (stacks / "local.json.attrs").write_text("")
    (stacks / "local.json.bak.attrs").write_text('{"user.cache_control": ""}')
    settings = PulumiSettings("mlplatform", tmp_path / "work", (tmp_path / "backend").as_uri())
    PulumiEngine(settings, conventions=CONVENTIONS)._repair_file_backend()
    assert sorted(p.name for p in stacks.iterdir()) == ["local.json", "local.json.bak.attrs"]


def test_after_an_up_the_blueprint_is_a_stack_tag_and_the_stack_config_the_program_entry_reads(tmp_path: Path) -> None:
    # The config key is what mlplatform.app.stack_program reads when the plain Pulumi CLI runs the same stack.
    from mlplatform.app.conventions import BLUEPRINT_CONFIG
    from mlplatform.engine.model import Stack
    from mlplatform.engine.pulumi.engine import PulumiEngine, PulumiSettings

    tags: dict[str, str] = {}
    config: dict[str, Any] = {}
    fake = SimpleNamespace(set_tag=tags.__setitem__, set_config=config.__setitem__)
    settings = PulumiSettings("mlplatform", tmp_path, tmp_path.as_uri(), tags={"mlplatform:owner": "team"})
    PulumiEngine(settings, conventions=CONVENTIONS)._tag(fake, Stack("local", "level2", "local", lambda: None))
    assert tags == {"mlplatform:owner": "team", "mlplatform:blueprint": "level2"}
    assert BLUEPRINT_CONFIG == "mlplatform:blueprint" and list(config) == [BLUEPRINT_CONFIG]
    assert config[BLUEPRINT_CONFIG].value == "level2" and config[BLUEPRINT_CONFIG].secret is False
