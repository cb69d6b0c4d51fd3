"""CLI contracts of import, state show/rm, destroy --target and the lost-state refusal (exit codes, messages).

Commands that open an environment get the embedded engine over an in-memory cloud
(:mod:`tests.unit.fake_cloud`) instead of the emulator; ``state show`` and ``state rm`` read the real state
files, which need nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mlplatform.app import workspace as workspace_module
from mlplatform.app.workspace import Workspace
from mlplatform.engine.embedded import discovery
from mlplatform.engine.embedded.state import ResourceState, StateStore
from mlplatform.engine.model import TaggedResource
from mlplatform.engine.values import secret
from tests.unit.conftest import Run
from tests.unit.fake_cloud import ENV, STACK, FakeCloud, fake_engine, urn

SECRET = "s3cr3t-VALUE-71c2"


@pytest.fixture
def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCloud:
    """Commands that open an environment get the fake-cloud engine, with state under tmp_path/state."""
    engine, fake = fake_engine(tmp_path, monkeypatch)

    resolved = SimpleNamespace(
        env=ENV, notes=(), warnings=(), blueprint_source="default", spec=SimpleNamespace(blueprint=STACK.blueprint)
    )

    def open_workspace(*args: Any, **kwargs: Any) -> Workspace:
        return Workspace(resolved, engine, STACK, None, tmp_path, tmp_path / "state")  # type: ignore[arg-type]

    monkeypatch.setattr(workspace_module, "open_workspace", open_workspace)
    monkeypatch.setenv("MLPLATFORM_STATE_DIR", str(tmp_path / "state"))
    return fake


def deployed(run: Run) -> None:
    result = run("up", "--env", ENV, "--yes")
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------------------------------------ lost state


def test_lost_state_refusal_exit_codes(run: Run, cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "tagged_resources", lambda *_: [TaggedResource("arn:aws:s3:::data-raw")])

    preview = run("preview", "--env", ENV)
    assert preview.exit_code == 4, preview.output
    assert "error: resources already exist: environment 'dev' has no resources in its state" in preview.stdout
    assert run("preview", "--env", ENV, "--detailed-exitcode").exit_code == 1  # every error is 1 there
    as_json = run("preview", "--env", ENV, "--json")
    assert as_json.exit_code == 4
    assert json.loads(as_json.stdout)["diagnostics"][0]["severity"] == "error"

    asked = run("up", "--env", ENV)  # shows the plan, then stops: no question about a doomed update
    assert asked.exit_code == 4, asked.output
    assert "refusing to change" not in asked.output and "resources already exist" in asked.stdout

    applied = run("up", "--env", ENV, "--yes")
    assert applied.exit_code == 4, applied.output
    assert "error: the plan has errors: 1 planned change would fail; nothing was changed:" in applied.stderr
    assert "- resources already exist:" in applied.stderr
    assert "Adopt them into state with `mlplatform import --env dev`" in applied.stderr
    assert "Traceback" not in applied.output and cloud.calls == []


# ---------------------------------------------------------------------------------------------------- import


def test_import_needs_yes_off_a_terminal_and_then_adopts(run: Run, cloud: FakeCloud, tmp_path: Path) -> None:
    cloud.buckets = {"data-raw": {"tags": {}}, "data-clean": {"tags": {}}}

    refused = run("import", "--env", ENV)
    assert refused.exit_code == 2, refused.output
    assert "= import   aws:s3/bucket:Bucket  data-raw  id data-raw" in refused.stdout
    assert "refusing to change the environment's state without confirmation" in refused.stderr
    assert not StateStore(tmp_path / "state", ENV).snapshot_path.exists()

    done = run("import", "--env", ENV, "--yes")
    assert done.exit_code == 0, done.output
    assert "+ create   aws:s3/bucket:Bucket  logs" in done.stdout  # not found: up creates it
    assert "Imported 2 resources into the state of environment 'dev'" in done.stdout
    assert "create the 1 not found and update the 2 that differ from the program" in done.stdout
    assert cloud.mutating() == []

    again = run("import", "--env", ENV, "--yes", "--json")
    doc = json.loads(again.stdout)
    assert doc["summary"] == {"import": 0, "missing": 1, "in_state": 2} and doc["imported"] is False
    assert doc["mutating_api_calls"] == 0


# ------------------------------------------------------------------------------------------- state show / rm


def _state_with_a_secret(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state", ENV)
    resource = ResourceState(
        urn=urn("data-raw"),
        type="aws:s3/bucket:Bucket",
        id="data-raw",
        inputs={"bucket": "data-raw", "token": secret(SECRET)},
        outputs={"arn": "arn:aws:s3:::data-raw"},
        dependencies=[],
        protect=True,
    )
    with store.lock("test"):
        store.succeed(store.begin("create", resource.urn, resource.type), resource)
        store.compact()


def test_state_show_masks_secrets_unless_asked(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPLATFORM_STATE_DIR", str(tmp_path / "state"))
    _state_with_a_secret(tmp_path)

    shown = run("state", "show", "data-raw", "--env", ENV)
    assert shown.exit_code == 0, shown.output
    assert f"urn                    {urn('data-raw')}" in shown.stdout
    assert "protect                true" in shown.stdout and '  token: "[secret]"' in shown.stdout
    assert SECRET not in shown.stdout

    doc = json.loads(run("state", "show", urn("data-raw"), "--env", ENV, "--json").stdout)
    assert doc["id"] == "data-raw" and doc["inputs"]["token"] == "[secret]" and doc["created_at"]
    revealed = json.loads(run("state", "show", "data-raw", "--env", ENV, "--json", "--show-secrets").stdout)
    assert revealed["inputs"]["token"] == SECRET


def test_state_show_unknown_name_is_exit_2_with_suggestions(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPLATFORM_STATE_DIR", str(tmp_path / "state"))
    _state_with_a_secret(tmp_path)
    result = run("state", "show", "data-rw", "--env", ENV)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown resource: no resource 'data-rw' (did you mean 'data-raw'?)")
    assert "hint: `mlplatform state list --env dev` lists the resources in state." in result.stderr


def test_state_rm_asks_refuses_dependents_and_forgets(run: Run, cloud: FakeCloud, tmp_path: Path) -> None:
    deployed(run)

    assert run("state", "rm", "logs", "--env", ENV).exit_code == 2  # not a terminal and no --yes
    blocked = run("state", "rm", "data-raw", "--env", ENV, "--yes")
    assert blocked.exit_code == 2 and "error: resources depend on it:" in blocked.stderr
    assert f"{urn('data-clean')} (depends on data-raw)" in blocked.stderr

    removed = run("state", "rm", "data-raw", "--env", ENV, "--yes", "--target-dependents")
    assert removed.exit_code == 0, removed.output
    assert "removed 2 resources from the state of environment 'dev'; nothing was deleted" in removed.stdout
    assert sorted(cloud.buckets) == ["data-clean", "data-raw", "logs"]
    assert [r.urn for r in StateStore(tmp_path / "state", ENV).load().snapshot.resources if r.id == "logs"]


# ---------------------------------------------------------------------------------------------- destroy --target


def test_destroy_target(run: Run, cloud: FakeCloud) -> None:
    deployed(run)

    unknown = run("destroy", "--env", ENV, "--target", "data-rw", "--yes")
    assert unknown.exit_code == 2 and "did you mean 'data-raw'" in unknown.stderr

    plan = run("destroy", "--env", ENV, "--target", "data-raw")
    assert plan.exit_code == 2  # asked, and not a terminal: nothing deleted
    assert " - delete   aws:s3/bucket:Bucket  data-clean  [depends on data-raw]" in plan.stdout
    assert "logs" not in plan.stdout.split("Resources:")[0]
    assert sorted(cloud.buckets) == ["data-clean", "data-raw", "logs"]

    done = run("destroy", "--env", ENV, "--target", "data-raw", "--yes")
    assert done.exit_code == 0, done.output
    assert sorted(cloud.buckets) == ["logs"]


def test_up_json_without_changes_and_without_yes_prints_the_plan_document(
    run: Run, cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discovery, "tagged_resources", lambda aws, env, conventions: [])
    deployed(run)
    result = run("up", "--env", ENV, "--json")  # no --yes, nothing to change: nothing runs, nothing is asked
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["format_version"] == 1 and document["summary"]["same"] == 3 and document["summary"]["create"] == 0
    assert "No changes" in result.stderr  # the human plan went to stderr
