"""What the user reads about a plan: the property diff, ``preview --diff`` text, plan JSON and run summaries.

The diff is built from plain data here (what the engine puts in a :class:`Change`); the engine side —
that a preview fills ``property_diff`` with ints and unknown markers — is in test_deployment_diff.py.
"""

from __future__ import annotations

import io
import json

import pytest

from mlplatform.engine.diff import PropertyDiff, property_diff
from mlplatform.engine.model import Action, Change, Plan, PlanMode, Result, StepResult, StepStatus
from mlplatform.engine.values import COMPUTED_MASK, SECRET_MASK, UNKNOWN, mask, normalize, secret
from mlplatform.render.plan import diff_lines, outputs_json, plan_text, result_text, use_color

LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def entries(before: dict[str, object] | None, after: dict[str, object] | None) -> list[tuple[str, str, object, object]]:
    return [(d.path, d.kind, d.before, d.after) for d in property_diff(before, after)]


def change(action: Action, before: object, after: object, **fields: object) -> Change:
    """A change as the engine makes it: masked before/after, the property diff computed on the raw values."""
    raw_before = before if isinstance(before, dict) else None
    raw_after = after if isinstance(after, dict) else None
    keys = sorted(
        key
        for key in set(raw_before or {}) | set(raw_after or {})
        if action in (Action.UPDATE, Action.REPLACE) and property_diff(raw_before, raw_after, [key])
    )
    return Change(
        urn=f"urn:pulumi:local::mlplatform::{LIFECYCLE}::lifecycle",
        type=LIFECYCLE,
        name="lifecycle",
        component="artifact_store",
        action=action,
        before=mask(raw_before) if raw_before is not None else None,
        after=mask(raw_after) if raw_after is not None else None,
        diff=tuple(keys),
        property_diff=tuple(property_diff(raw_before, raw_after, keys)) if keys else (),
        **fields,  # type: ignore[arg-type]
    )


def plan_of(*changes: Change) -> Plan:
    return Plan(PlanMode.UPDATE, "local", "level0", "local", list(changes))


# ----------------------------------------------------------------------------------------- property_diff


def test_nested_mapping_is_diffed_path_by_path() -> None:
    before = {"bucket": "b", "versioningConfiguration": {"status": "Suspended", "mfaDelete": "Disabled"}}
    after = {"bucket": "b", "versioningConfiguration": {"status": "Enabled", "mfaDelete": "Disabled"}}
    assert entries(before, after) == [("versioningConfiguration.status", "update", "Suspended", "Enabled")]


def test_list_of_mappings_is_diffed_index_by_index() -> None:
    rule = {"id": "baseline", "status": "Enabled", "noncurrentVersionExpiration": {"noncurrentDays": 90}}
    before = {"rules": [rule, {"id": "logs", "status": "Enabled"}]}
    after = {"rules": [{**rule, "noncurrentVersionExpiration": {"noncurrentDays": 30}}]}
    assert entries(before, after) == [
        ("rules[0].noncurrentVersionExpiration.noncurrentDays", "update", 90, 30),
        ("rules[1].id", "delete", "logs", None),
        ("rules[1].status", "delete", "Enabled", None),
    ]


def test_added_and_removed_keys_and_keys_that_are_not_identifiers() -> None:
    before = {"tags": {"mlplatform:env": "local", "team": "a"}}
    after = {"tags": {"mlplatform:env": "dev", "owner": "me"}}
    assert entries(before, after) == [
        ('tags["mlplatform:env"]', "update", "local", "dev"),
        ("tags.owner", "add", None, "me"),
        ("tags.team", "delete", "a", None),
    ]
    assert property_diff(before, after)[0].key == "tags"


def test_json_string_policy_is_diffed_as_parsed_json() -> None:
    def policy(actions: list[str], indent: int | None) -> str:
        statement = {"Effect": "Allow", "Action": actions, "Resource": "arn:aws:s3:::bucket/*"}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=indent)

    before = {"policy": policy(["s3:GetObject"], 2)}  # multi-line, as a program's json.dumps(indent=2) makes it
    after = {"policy": policy(["s3:GetObject", "s3:PutObject"], None)}
    assert entries(before, after) == [("policy.Statement[0].Action[1]", "add", None, "s3:PutObject")]
    # Same document, other text (whitespace only): still a change, shown at the key itself.
    reformatted = entries({"policy": policy(["s3:GetObject"], 2)}, {"policy": policy(["s3:GetObject"], None)})
    assert [(path, kind) for path, kind, _, _ in reformatted] == [("policy", "update")]


def test_secrets_are_compared_by_value_and_never_shown() -> None:
    before = {"password": secret("hunter2"), "token": secret("same")}
    after = {"password": secret("correct horse"), "token": secret("same")}
    found = property_diff(before, after)
    assert [(d.path, d.kind, d.before, d.after) for d in found] == [("password", "update", SECRET_MASK, SECRET_MASK)]
    assert "hunter2" not in json.dumps([d.as_dict() for d in found])
    # A secret structure is not entered: its keys could say more than "[secret]".
    assert entries({"conf": secret({"user": "a"})}, {"conf": secret({"user": "b"})}) == [
        ("conf", "update", SECRET_MASK, SECRET_MASK)
    ]


def test_unknowns_are_known_after_apply() -> None:
    assert entries({"arn": "arn:old"}, {"arn": UNKNOWN}) == [("arn", "update", "arn:old", COMPUTED_MASK)]
    assert entries(None, {"arn": UNKNOWN}) == [("arn", "add", None, "(known after apply)")]


def test_ints_stay_ints_and_old_floats_compare_equal() -> None:
    assert normalize({"days": 2.0, "ratio": 0.5, "list": [7.0, True]}) == {"days": 2, "ratio": 0.5, "list": [7, True]}
    assert type(normalize(2.0)) is int and type(mask(90.0)) is int
    assert entries({"days": 90.0}, {"days": 90}) == []  # state written before normalisation: no spurious diff
    assert entries({"flag": True}, {"flag": 1}) == [("flag", "update", True, 1)]  # True == 1, but it changed


def test_create_lists_every_leaf_and_empty_containers() -> None:
    assert entries(None, {"bucket": "b", "tags": {}, "rules": [{"id": "x"}]}) == [
        ("bucket", "add", None, "b"),
        ("rules[0].id", "add", None, "x"),
        ("tags", "add", None, {}),
    ]


# ------------------------------------------------------------------------------------------ preview --diff


def test_diff_text_shows_the_changed_leaf_with_ints() -> None:
    rule = {"id": "baseline", "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7.0}}
    before = {"rules": [{**rule, "noncurrentVersionExpiration": {"noncurrentDays": 90.0}}]}
    after = {"rules": [{**rule, "noncurrentVersionExpiration": {"noncurrentDays": 30}}]}
    text = plan_text(plan_of(change(Action.UPDATE, before, after)), show_diff=True)
    assert "      ~ rules[0].noncurrentVersionExpiration.noncurrentDays: 90 => 30" in text.splitlines()
    assert ".0" not in text and "daysAfterInitiation" not in text  # only what changed, ints as ints


def test_long_values_that_differ_at_the_end_never_look_identical() -> None:
    prefix = "arn:aws:iam::123456789012:role/" + "a-very-long-role-path/" * 8
    before, after = {"role": prefix + "reader-90"}, {"role": prefix + "reader-30"}
    (line,) = diff_lines(change(Action.UPDATE, before, after))
    old, new = line.split(": ", 1)[1].split(" => ")
    assert old != new
    assert old.endswith('reader-90"') and new.endswith('reader-30"')
    assert "…" in old  # the common part is what was shortened


def test_multi_line_text_is_shown_as_a_line_diff() -> None:
    before = {"buildspec": "version: 0.2\nphases:\n  build:\n    commands: [make]\n"}
    after = {"buildspec": "version: 0.2\nphases:\n  build:\n    commands: [make test]\n"}
    lines = diff_lines(change(Action.UPDATE, before, after))
    assert lines[0].strip() == "~ buildspec:"
    assert "          -    commands: [make]" in lines
    assert "          +    commands: [make test]" in lines
    assert "version: 0.2" not in "\n".join(lines)  # one line of context, not the whole text


def test_secret_and_unknown_in_text() -> None:
    text = "\n".join(
        diff_lines(change(Action.UPDATE, {"pw": secret("a"), "arn": "x"}, {"pw": secret("b"), "arn": UNKNOWN}))
    )
    assert "~ pw: [secret] => [secret]" in text
    assert '~ arn: "x" => (known after apply)' in text
    assert "Unknown object" not in text


def test_create_shows_every_input_and_delete_only_its_line_unless_diff() -> None:
    created = change(Action.CREATE, None, {"bucket": "b", "tags": {"team": "a"}, "arn": UNKNOWN})
    deleted = change(Action.DELETE, {"bucket": "old"}, None)
    assert diff_lines(created) == [
        "      + arn: (known after apply)",
        '      + bucket: "b"',
        '      + tags.team: "a"',
    ]
    plain = plan_text(plan_of(created, deleted)).splitlines()
    assert not any(line.startswith("      ") for line in plain)
    with_diff = plan_text(plan_of(created, deleted), show_diff=True).splitlines()
    assert '      - bucket: "old"' in with_diff


def test_replacement_marks_the_paths_that_force_it() -> None:
    replaced = change(
        Action.REPLACE,
        {"bucket": "a", "tags": {"x": "1"}},
        {"bucket": "b", "tags": {"x": "2"}},
        replace_reasons=("bucket",),
    )
    assert diff_lines(replaced) == [
        '      ~ bucket: "a" => "b"  (forces replacement)',
        '      ~ tags.x: "1" => "2"',
    ]


def test_colours_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_of(
        change(Action.CREATE, None, {"bucket": "b"}),
        change(Action.UPDATE, {"v": 1}, {"v": 2}),
        change(Action.DELETE, {"bucket": "c"}, None),
    )
    coloured = plan_text(plan, show_diff=True, color=True)
    assert "\x1b[32m + create" in coloured and "\x1b[33m ~ update" in coloured and "\x1b[31m - delete" in coloured
    assert "\x1b[" not in plan_text(plan, show_diff=True, color=False)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Tty()) and not use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty())


# --------------------------------------------------------------------------------------------- plan JSON


def test_plan_json_carries_before_after_and_property_diff_masked() -> None:
    before = {"bucket": "b", "days": 90.0, "password": secret("hunter2")}
    after = {"bucket": "b", "days": 30, "password": secret("hunter3"), "arn": UNKNOWN}
    document = json.loads(json.dumps(plan_of(change(Action.UPDATE, before, after)).as_dict()))
    (entry,) = document["changes"]
    assert entry["before"] == {"bucket": "b", "days": 90, "password": "[secret]"}
    assert entry["after"] == {"bucket": "b", "days": 30, "password": "[secret]", "arn": "(known after apply)"}
    assert entry["property_diff"] == [
        {"path": "arn", "kind": "add", "before": None, "after": "(known after apply)"},
        {"path": "days", "kind": "update", "before": 90, "after": 30},
        {"path": "password", "kind": "update", "before": "[secret]", "after": "[secret]"},
    ]
    assert entry["diff"] == ["arn", "days", "password"]  # the existing fields stay
    assert "hunter" not in json.dumps(document)
    assert '"days": 90,' in json.dumps(entry["before"], indent=1) + ","  # an int in the text, not 90.0


def test_result_json_keeps_its_step_shape_and_counts_failed_and_skipped() -> None:
    document = failed_result().as_dict()
    assert set(document["steps"][0]) == {
        "urn", "type", "name", "component", "action", "diff", "replace_reasons", "detail", "status", "seconds", "error"
    }  # fmt: skip
    assert document["summary"] == {
        "create": 1, "update": 0, "replace": 0, "delete": 0, "same": 1, "failed": 1, "skipped": 2
    }  # fmt: skip
    assert (document["failed"], document["skipped"]) == (1, 2)


def test_outputs_json_is_sorted_with_ints() -> None:
    outputs = {"zeta": 1, "alpha": {"b": 2.0, "a": [3.0, secret("s")]}, "mid": secret("k")}
    shown = outputs_json(outputs)
    assert json.dumps(shown) == '{"alpha": {"a": [3, "[secret]"], "b": 2}, "mid": "[secret]", "zeta": 1}'
    assert outputs_json(outputs, show_secrets=True)["mid"] == "k"


# ------------------------------------------------------------------------------------------ run summaries


def failed_result(*, cancelled: bool = False, env: str = "local", mode: PlanMode = PlanMode.UPDATE) -> Result:
    def step(name: str, action: Action, status: StepStatus, error: str | None = None) -> StepResult:
        return StepResult(Change(f"urn::{name}", "aws:s3/bucket:Bucket", name, None, action), status, 0.1, error)

    steps = [
        step("made", Action.CREATE, StepStatus.OK),
        step("kept", Action.SAME, StepStatus.OK),
        step("broke", Action.CREATE, StepStatus.FAILED, "AccessDenied"),
        step("after-1", Action.CREATE, StepStatus.SKIPPED, "a dependency failed"),
        step("after-2", Action.UPDATE, StepStatus.SKIPPED, "a dependency failed"),
    ]
    return Result(mode, env, "level0", "local", steps, cancelled=cancelled)


def test_failed_run_summary_counts_failed_and_skipped_and_says_what_to_do() -> None:
    lines = result_text(failed_result()).splitlines()
    assert lines[0] == "Resources: 1 created, 1 failed, 2 skipped, 1 unchanged"
    assert "FAILED  aws:s3/bucket:Bucket  broke: AccessDenied" in lines
    assert lines[-1] == "hint: fix the error above and run `mlplatform up` again: what succeeded is saved"


def test_cancelled_and_destroy_hints_name_the_command_and_env() -> None:
    cancelled = Result(PlanMode.UPDATE, "dev", "level0", "local", [], cancelled=True)
    assert result_text(cancelled).splitlines()[-1] == (
        "hint: run `mlplatform up --env dev` again to finish: what succeeded is saved"
    )
    destroy = failed_result(mode=PlanMode.DESTROY)
    assert "run `mlplatform destroy` again" in result_text(destroy).splitlines()[-1]
    finished = Result(PlanMode.UPDATE, "local", "level0", "local", [failed_result().steps[0]])
    assert "hint" not in result_text(finished)


def test_property_diff_as_dict_is_the_documented_shape() -> None:
    assert PropertyDiff("a.b", "update", 1, 2).as_dict() == {"path": "a.b", "kind": "update", "before": 1, "after": 2}


def test_an_empty_destroy_plan_says_there_is_nothing_to_destroy() -> None:
    from mlplatform.engine.model import Plan, PlanMode
    from mlplatform.render.plan import plan_text

    destroy = plan_text(Plan(PlanMode.DESTROY, "dev", "level0", "local", []))
    assert "Nothing to destroy: environment dev has no resources in state." in destroy
    assert "No changes" in plan_text(Plan(PlanMode.UPDATE, "dev", "level0", "local", []))
