"""Environments: names, the built-in ``local`` env, resolution, located problems and strict YAML files."""

from __future__ import annotations

import pathlib
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlplatform import environments as envs
from mlplatform.errors import (
    BlueprintNotFoundError,
    EnvNotFoundError,
    FileFormatError,
    InvalidEnvNameError,
    Problem,
    SpecValidationError,
)
from mlplatform.spec.names import check_env_name, default_platform_name
from mlplatform.spec.yamlfile import parse_yaml_text, read_yaml_file


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder, also the working directory (files are shown as ``stacks/dev.yaml``)."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "blueprints").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(project: Path, relative: str, text: str) -> Path:
    path = project / relative
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def problems_of(env: str, project: Path, **kwargs: Any) -> list[Problem]:
    with pytest.raises(SpecValidationError) as caught:
        envs.resolve(env, project_dir=project, **kwargs)
    return caught.value.problems


def line_of(path: Path, fragment: str) -> int:
    """1-based line of the first line containing ``fragment`` (so tests do not hard-code numbers)."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in {path}")


AWS_HEADER = """
    blueprint: {blueprint}
    target: aws
    region: eu-west-1
    account_id: "111111111111"
"""


def aws_env(project: Path, env: str, body: str = "", blueprint: str = "level2") -> Path:
    header = textwrap.dedent(AWS_HEADER.format(blueprint=blueprint)).lstrip()
    if "\naccount_id:" in "\n" + textwrap.dedent(body):  # the test writes its own account id
        header = "".join(line for line in header.splitlines(keepends=True) if not line.startswith("account_id:"))
    return write(project, f"stacks/{env}.yaml", header + textwrap.dedent(body))


# ---------------------------------------------------------------------------------------------------
# Environment names
# ---------------------------------------------------------------------------------------------------

VALID_NAMES = ["dev", "prod", "team-a-sandbox", "a", "0", "a1", "1-2", "x" * 40]
INVALID_NAMES = ["../prod", "a/b", "A", "Dev", "a b", "-a", "a-", "", "a" * 41, "dev.yaml", "dév", "dev\n", "a_b"]


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_env_names_are_accepted(name: str, tmp_path: Path) -> None:
    assert check_env_name(name) == name
    assert envs.env_file_path(name, tmp_path) == tmp_path / "stacks" / f"{name}.yaml"


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_env_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidEnvNameError) as caught:
        check_env_name(name)

    assert str(caught.value).startswith(f"environment name {name!r} is not allowed")
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../prod", "it contains '.', '/'"),
        ("a" * 41, "it is 41 characters long (at most 40)"),
        ("-a", "it starts or ends with '-'"),
        ("a-", "it starts or ends with '-'"),
        ("", "it is empty"),
        ("A", "it contains 'A'"),
    ],
)
def test_invalid_env_name_message_says_why(name: str, reason: str) -> None:
    with pytest.raises(InvalidEnvNameError, match=re.escape(reason)):
        check_env_name(name)


class _Touched(AssertionError):
    pass


@pytest.fixture
def no_file_system(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Make every Path call that looks at the disk fail loudly."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise _Touched(f"the file system was touched: {args!r}")

    for method in ("is_file", "is_dir", "exists", "stat", "read_bytes", "read_text", "open", "glob", "iterdir"):
        monkeypatch.setattr(pathlib.Path, method, forbidden)
    return monkeypatch


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_env_name_is_rejected_before_touching_the_file_system(
    name: str, tmp_path: Path, no_file_system: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidEnvNameError):
        envs.resolve(name, project_dir=tmp_path)
    with pytest.raises(InvalidEnvNameError):
        envs.env_file_path(name, tmp_path)


def test_the_file_system_guard_does_catch_a_valid_name(tmp_path: Path, no_file_system: pytest.MonkeyPatch) -> None:
    # Shows the guard above is real: a valid name goes on to look for its file.
    with pytest.raises(_Touched):
        envs.resolve("dev", project_dir=tmp_path)


@given(st.text(max_size=45))
def test_property_accepted_env_names_are_safe_file_names(name: str) -> None:
    try:
        accepted = check_env_name(name)
    except InvalidEnvNameError:
        return
    assert accepted == name
    assert 1 <= len(name) <= 40
    assert re.fullmatch(r"[a-z0-9-]+", name)
    assert not name.startswith("-")
    assert not name.endswith("-")


@given(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?", fullmatch=True))
def test_property_default_platform_name_is_a_valid_spec_name(env: str) -> None:
    name = default_platform_name(env)

    assert check_env_name(env) == env
    assert re.fullmatch(r"[a-z][a-z0-9-]{1,30}[a-z0-9]", name), name
    assert name.startswith("mlp-")


def test_long_env_names_sharing_a_prefix_get_different_platform_names() -> None:
    a, b = "team-analytics-sandbox-experiment-one", "team-analytics-sandbox-experiment-two"

    assert default_platform_name("dev") == "mlp-dev"
    assert default_platform_name(a) != default_platform_name(b)
    assert len(default_platform_name(a)) == 32


def test_list_env_files_skips_files_that_are_not_env_names(project: Path) -> None:
    for name in ("dev", "prod", "Bad", "a b", "-x"):
        (project / "stacks" / f"{name}.yaml").write_text("blueprint: level0\ntarget: local\n")

    assert envs.list_env_files(project) == ["dev", "prod"]


# ---------------------------------------------------------------------------------------------------
# The built-in local environment and remembered defaults
# ---------------------------------------------------------------------------------------------------


def test_builtin_local_env_works_in_an_empty_directory(tmp_path: Path) -> None:
    resolved = envs.resolve("local", project_dir=tmp_path)

    assert resolved.builtin is True
    assert resolved.file is None
    spec = resolved.spec
    assert (spec.env, spec.name, spec.blueprint, spec.level) == ("local", "mlp-local", "level0", 0)
    assert (spec.target, spec.region, spec.account_id) == ("local", "us-east-1", None)
    # The samples fill what level0 deploys: an endpoint; its feature store is off, so no feature group.
    assert [endpoint.name for endpoint in spec.serving.endpoints] == ["demo"]
    assert spec.feature_store.feature_groups == []
    assert envs.resolve("local", "level1", tmp_path).spec.feature_store.feature_groups[0].name == "customers"


@pytest.mark.parametrize(("blueprint", "level"), [("level0", 0), ("level1", 1), ("level2", 2)])
def test_builtin_local_env_takes_a_blueprint_override(tmp_path: Path, blueprint: str, level: int) -> None:
    resolved = envs.resolve("local", blueprint=blueprint, project_dir=tmp_path)

    assert (resolved.spec.blueprint, resolved.spec.level) == (blueprint, level)
    assert resolved.blueprint.name == blueprint
    assert resolved.spec.cicd.enabled is (level == 2)
    assert resolved.spec.feature_store.enabled is (level >= 1)
    assert resolved.settings.blueprint is None  # the built-in env names none: the flag or the last deploy decides
    assert resolved.blueprint_source == "--blueprint"


def test_builtin_local_env_with_a_project_blueprint(project: Path) -> None:
    write(
        project,
        "blueprints/gpu.yaml",
        """
        description: gpu
        extends: level2
        training:
          allowed_instance_types: [ml.g5.xlarge, ml.m5.xlarge]
        """,
    )

    spec = envs.resolve("local", blueprint="gpu", project_dir=project).spec

    assert (spec.blueprint, spec.level) == ("gpu", 2)
    assert spec.training.allowed_instance_types == ["ml.g5.xlarge", "ml.m5.xlarge"]


def test_unknown_blueprint_override_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(BlueprintNotFoundError) as caught:
        envs.resolve("local", blueprint="level9", project_dir=tmp_path)

    assert str(caught.value).startswith("--blueprint: no blueprint named 'level9'.")


def test_local_env_file_wins_over_the_builtin(project: Path) -> None:
    path = write(project, "stacks/local.yaml", "blueprint: level1\ntarget: local\nowner: me@example.com\n")

    resolved = envs.resolve("local", project_dir=project)

    assert resolved.builtin is False
    assert resolved.file == path
    assert (resolved.spec.blueprint, resolved.settings.owner) == ("level1", "me@example.com")


@pytest.mark.parametrize(("target", "protect", "allow_destroy_data"), [("local", False, True), ("aws", True, False)])
def test_safety_switches_default_by_target(project: Path, target: str, protect: bool, allow_destroy_data: bool) -> None:
    account = 'account_id: "111111111111"\n' if target == "aws" else ""
    write(project, "stacks/dev.yaml", f"blueprint: level0\ntarget: {target}\nregion: eu-west-1\n{account}")

    spec = envs.resolve("dev", project_dir=project).spec

    assert (spec.protect, spec.allow_destroy_data) == (protect, allow_destroy_data)


def test_builtin_local_defaults_are_disposable(tmp_path: Path) -> None:
    spec = envs.resolve("local", project_dir=tmp_path).spec

    assert (spec.protect, spec.allow_destroy_data) == (False, True)


def test_overriding_one_safety_switch_keeps_the_other_default(project: Path) -> None:
    aws_env(project, "dev", "overrides:\n  allow_destroy_data: true\n", blueprint="level0")
    write(project, "stacks/lab.yaml", "blueprint: level0\ntarget: local\noverrides:\n  protect: true\n")

    dev = envs.resolve("dev", project_dir=project).spec
    lab = envs.resolve("lab", project_dir=project).spec

    assert (dev.protect, dev.allow_destroy_data) == (True, True)
    assert (lab.protect, lab.allow_destroy_data) == (True, True)


def test_env_settings_outside_the_spec_are_kept(project: Path) -> None:
    aws_env(project, "dev", "owner: team@example.com\nttl: 7d\nname: mlp-devbox\n", blueprint="level0")

    resolved = envs.resolve("dev", project_dir=project)

    assert (resolved.settings.owner, resolved.settings.ttl_seconds()) == ("team@example.com", 7 * 86400)
    assert resolved.spec.name == "mlp-devbox"


def test_missing_env_is_env_not_found(project: Path) -> None:
    write(project, "stacks/dev.yaml", "blueprint: level0\ntarget: local\n")

    with pytest.raises(EnvNotFoundError) as caught:
        envs.resolve("staging", project_dir=project)

    message = str(caught.value)
    assert message.startswith("no environment 'staging': stacks/staging.yaml does not exist")
    assert f"(environments here: local, dev; project {project})" in message
    assert "mlplatform init --env staging" in message
    assert caught.value.exit_code == 6


# ---------------------------------------------------------------------------------------------------
# Problems name the right file, line and path
# ---------------------------------------------------------------------------------------------------


def test_bad_override_value_is_located_in_the_env_file(project: Path) -> None:
    path = aws_env(
        project,
        "dev",
        """
        overrides:
          serving:
            endpoints:
              - name: churn
                instance_count: 0
        """,
    )

    [problem] = problems_of("dev", project)

    assert problem.file == "stacks/dev.yaml"
    assert problem.line == line_of(path, "instance_count: 0")
    assert problem.path == "overrides.serving.endpoints[0].instance_count"
    assert (problem.value, problem.allowed) == ("0", "an integer > 0")


def test_cross_field_problem_is_located_at_the_field_to_change(project: Path) -> None:
    path = aws_env(
        project,
        "dev",
        """
        overrides:
          serving:
            autoscaling: {min_capacity: 2, max_capacity: 3}
            endpoints:
              - name: churn
                model: {image: "example/churn:1"}
                instance_count: 7
        """,
    )

    [problem] = problems_of("dev", project)

    assert (problem.file, problem.line) == ("stacks/dev.yaml", line_of(path, "instance_count: 7"))
    assert problem.path == "overrides.serving.endpoints[0].instance_count"
    assert "(2..3)" in problem.problem


def test_wrong_type_in_overrides_says_what_is_allowed(project: Path) -> None:
    path = aws_env(project, "dev", "overrides:\n  training:\n    spot: yes please\n", blueprint="level1")

    [problem] = problems_of("dev", project)

    assert (problem.line, problem.path) == (line_of(path, "spot:"), "overrides.training.spot")
    assert (problem.value, problem.allowed) == ('"yes please"', "true or false")


def test_unknown_key_in_overrides_gets_did_you_mean(project: Path) -> None:
    path = aws_env(project, "dev", "overrides:\n  monitoring:\n    dashbord: true\n")

    [problem] = problems_of("dev", project)

    assert (problem.line, problem.path) == (line_of(path, "dashbord"), "overrides.monitoring.dashbord")
    assert problem.allowed is not None
    assert problem.allowed.startswith("did you mean 'dashboard'?")


def test_unknown_keys_inside_list_items_and_optional_sections_get_did_you_mean(project: Path) -> None:
    path = aws_env(
        project,
        "dev",
        """
        overrides:
          serving:
            autoscaling:
              min_capcity: 2
            endpoints:
              - name: churn
                instance_cout: 2
        """,
    )

    problems = {problem.path: problem for problem in problems_of("dev", project)}

    assert set(problems) == {
        "overrides.serving.autoscaling.min_capcity",
        "overrides.serving.endpoints[0].instance_cout",
    }
    scaling = problems["overrides.serving.autoscaling.min_capcity"]
    endpoint = problems["overrides.serving.endpoints[0].instance_cout"]
    assert (scaling.line, endpoint.line) == (line_of(path, "min_capcity"), line_of(path, "instance_cout"))
    assert scaling.allowed is not None
    assert scaling.allowed.startswith("did you mean 'min_capacity'?")
    assert endpoint.allowed is not None
    assert endpoint.allowed.startswith("did you mean 'instance_count'?")


def test_unknown_top_level_key_of_an_env_file_gets_did_you_mean(project: Path) -> None:
    path = aws_env(project, "dev", "ownr: me@example.com\n")

    [problem] = problems_of("dev", project)

    assert (problem.file, problem.line, problem.path) == ("stacks/dev.yaml", line_of(path, "ownr"), "ownr")
    assert problem.allowed is not None
    assert problem.allowed.startswith("did you mean 'owner'?")


def test_target_aws_without_region(project: Path) -> None:
    write(project, "stacks/dev.yaml", "blueprint: level0\ntarget: aws\n")

    [problem] = problems_of("dev", project)

    assert (problem.file, problem.path, problem.problem) == ("stacks/dev.yaml", "region", "target aws needs a region")


def test_blueprint_problem_found_through_the_builtin_local_env_is_located_in_the_blueprint(tmp_path: Path) -> None:
    (tmp_path / "blueprints").mkdir()
    write(tmp_path, "blueprints/broken.yaml", "description: x\nextends: level0\nencryption:\n  enabled: false\n")

    with pytest.raises(SpecValidationError) as caught:
        envs.resolve("local", blueprint="broken", project_dir=tmp_path)

    [problem] = caught.value.problems
    assert problem.path == "encryption.enabled"
    assert problem.file is not None
    assert problem.file.endswith("blueprints/broken.yaml")
    assert problem.line == 4


def test_value_broken_in_a_user_blueprint_is_reported_in_the_blueprint(project: Path) -> None:
    blueprint = write(
        project,
        "blueprints/mine.yaml",
        """
        description: mine
        extends: level0
        monitoring:
          log_retention_days: 30
        """,
    )
    aws_env(project, "dev", "overrides:\n  tags: {team: ml}\n", blueprint="mine")

    [problem] = problems_of("dev", project)

    assert problem.file == "blueprints/mine.yaml"
    assert problem.line == line_of(blueprint, "log_retention_days")
    assert (problem.path, problem.value) == ("monitoring.log_retention_days", "30")


def test_blueprint_value_is_blamed_on_the_blueprint_even_when_the_env_overrides_its_section(project: Path) -> None:
    # The env sets serving.autoscaling.max_capacity; min_capacity (now too big) was written in the blueprint.
    blueprint = write(
        project,
        "blueprints/mine.yaml",
        """
        description: mine
        extends: level2
        serving:
          autoscaling:
            min_capacity: 3
            max_capacity: 4
        """,
    )
    aws_env(project, "dev", "overrides:\n  serving:\n    autoscaling:\n      max_capacity: 2\n", "mine")

    [problem] = problems_of("dev", project)

    assert (problem.file, problem.line) == ("blueprints/mine.yaml", line_of(blueprint, "min_capacity"))
    assert problem.path == "serving.autoscaling.min_capacity"
    assert "max_capacity (2)" in problem.problem


def test_packaged_blueprint_value_broken_by_the_env_is_located_in_the_packaged_file(project: Path) -> None:
    aws_env(project, "dev", "overrides:\n  training:\n    allowed_instance_types: [ml.g5.xlarge]\n", "level1")

    [problem] = problems_of("dev", project)

    assert problem.file == "level1 (packaged blueprint level1.yaml)"
    assert problem.path == "pipelines.training_instance_type"
    # level1 states only what differs from the defaults: the pipeline's training type is the default, so the
    # problem is located at the nearest key the packaged file writes on its path.
    assert problem.line == line_of(envs.blueprints.find("level1").path, "pipelines:")


def test_missing_key_in_a_list_the_env_replaced_is_located_in_the_env(project: Path) -> None:
    write(
        project,
        "blueprints/fg.yaml",
        """
        description: fg
        extends: level1
        feature_store:
          feature_groups:
            - name: base
              record_identifier: id
              event_time: ts
              features:
                - {name: id, type: String}
                - {name: ts, type: Fractional}
        """,
    )
    env_file = aws_env(
        project,
        "dev",
        """
        overrides:
          feature_store:
            feature_groups:
              - name: mine
                event_time: ts
                features:
                  - {name: ts, type: Fractional}
        """,
        blueprint="fg",
    )

    [problem] = problems_of("dev", project)

    assert problem.problem == "required field is missing"
    assert problem.file == "stacks/dev.yaml"
    assert problem.path == "overrides.feature_store.feature_groups[0].record_identifier"
    assert problem.line == line_of(env_file, "- name: mine")


def test_cross_field_problem_in_a_list_the_env_replaced_is_located_in_the_env(project: Path) -> None:
    write(
        project,
        "blueprints/ep.yaml",
        """
        description: ep
        extends: level2
        serving:
          endpoints:
            - name: base
              model: {image: "example/base:1"}
              instance_count: 2
        """,
    )
    aws_env(
        project,
        "dev",
        """
        overrides:
          serving:
            autoscaling: {min_capacity: 3, max_capacity: 4}
            endpoints:
              - name: mine
                model: {image: "example/mine:1"}
        """,
        blueprint="ep",
    )

    [problem] = problems_of("dev", project)

    assert problem.value == "1"  # the default count of the env's endpoint "mine"
    assert problem.file == "stacks/dev.yaml"


def test_false_switches_pipeline_triggers_off(project: Path) -> None:
    aws_env(project, "dev", "overrides:\n  pipelines:\n    schedule: false\n    new_data_prefix: false\n", "level1")

    spec = envs.resolve("dev", project_dir=project).spec

    assert (spec.pipelines.schedule, spec.pipelines.new_data_prefix) == (False, False)


def test_null_schedule_restores_the_default(project: Path) -> None:
    aws_env(project, "dev", "overrides:\n  pipelines:\n    schedule: null\n", "level1")

    spec = envs.resolve("dev", project_dir=project).spec

    assert spec.pipelines.schedule == "rate(1 day)"


# ---------------------------------------------------------------------------------------------------
# account_id and identity keys
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["123456789012", '"123456789012"', "'012345678901'"])
def test_account_id_twelve_digits_quoted_or_not(project: Path, written: str) -> None:
    aws_env(project, "dev", f"account_id: {written}\n", blueprint="level0")

    spec = envs.resolve("dev", project_dir=project).spec

    assert spec.account_id == written.strip("'\"")
    assert isinstance(spec.account_id, str)


@pytest.mark.parametrize("written", ["12345678901", "1234567890123"])
def test_account_id_unquoted_with_wrong_digit_count_is_rejected(project: Path, written: str) -> None:
    path = aws_env(project, "dev", f"account_id: {written}\n", blueprint="level0")

    [problem] = problems_of("dev", project)

    assert (problem.file, problem.line, problem.path) == ("stacks/dev.yaml", line_of(path, "account_id"), "account_id")
    assert problem.problem.startswith(f"{written} is not 12 digits; quote the account id")


def test_account_id_as_a_boolean_is_rejected(project: Path) -> None:
    aws_env(project, "dev", "account_id: true\n", blueprint="level0")

    [problem] = problems_of("dev", project)

    assert problem.path == "account_id"


def test_target_local_refuses_a_foreign_account(project: Path) -> None:
    path = write(project, "stacks/dev.yaml", 'blueprint: level0\ntarget: local\naccount_id: "111111111111"\n')

    [problem] = problems_of("dev", project)

    assert (problem.file, problem.line, problem.path) == ("stacks/dev.yaml", line_of(path, "account_id"), "account_id")
    assert "remove account_id" in problem.problem


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("target", "local"),
        ("region", "us-west-2"),
        ("name", "mlp-other"),
        ("account_id", '"123456789012"'),
        ("blueprint", "level2"),
        ("env", "prod"),
        ("level", "2"),
    ],
)
def test_overrides_cannot_set_identity_keys(project: Path, key: str, value: str) -> None:
    path = aws_env(project, "dev", f"overrides:\n  {key}: {value}\n", blueprint="level0")

    problems = problems_of("dev", project)

    assert [(p.file, p.line, p.path) for p in problems] == [
        ("stacks/dev.yaml", line_of(path, f"  {key}:"), f"overrides.{key}")
    ]
    assert problems[0].problem == f"{key!r} cannot be overridden"


def test_identity_key_in_overrides_is_reported_beside_other_problems(project: Path) -> None:
    aws_env(project, "dev", "overrides:\n  region: us-west-2\n  training:\n    spot: maybe\n", blueprint="level1")

    problems = problems_of("dev", project)

    assert [p.path for p in problems] == ["overrides.region", "overrides.training.spot"]


# ---------------------------------------------------------------------------------------------------
# Strict YAML files
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"blueprint: level0\ntarget: local\nregion: us-east-1\ntarget: aws\n",
            r"stacks/dev\.yaml:4: duplicate key 'target' \(first defined on line 2\)",
        ),
        (
            b"blueprint: level0\ntarget: local\ndescription: caf\xe9\n",
            r"stacks/dev\.yaml:3: the file is not valid UTF-8 \(byte 0xe9",
        ),
        (b"blueprint: level0\ntarget: [local\nregion: us-east-1\n", r"stacks/dev\.yaml:3: malformed YAML"),
        (b"blueprint: level0\n  target: local\n", r"stacks/dev\.yaml:2: malformed YAML"),
        (b"blueprint: level0\n---\ntarget: local\n", r"stacks/dev\.yaml:2: malformed YAML: .*single document"),
        (b"", r"stacks/dev\.yaml: an environment file must be a mapping .*; this file is empty\."),
        (b"- blueprint: level0\n- target: local\n", r"stacks/dev\.yaml: .*this file is a YAML list, not a mapping\."),
        (b"just a string\n", r"stacks/dev\.yaml: .*this file is a YAML string, not a mapping\."),
    ],
    ids=["duplicate-key", "not-utf8", "malformed-flow", "malformed-indent", "two-documents", "empty", "list", "scalar"],
)
def test_unreadable_env_files_raise_file_format_error_with_location(
    project: Path, content: bytes, message: str
) -> None:
    (project / "stacks" / "dev.yaml").write_bytes(content)

    with pytest.raises(FileFormatError) as caught:
        envs.resolve("dev", project_dir=project)

    assert re.match(message, str(caught.value)), str(caught.value)
    assert caught.value.exit_code == 2


def test_duplicate_nested_key_is_found(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("overrides:\n  training:\n    spot: true\n  training:\n    spot: false\n")

    with pytest.raises(FileFormatError, match=r"^x\.yaml:4: duplicate key 'training' \(first defined on line 2\)"):
        read_yaml_file(path, shown_as="x.yaml")


def test_non_scalar_mapping_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("? [a, b]\n: 1\n")

    with pytest.raises(FileFormatError, match=r"^x\.yaml:1: a mapping key must be a plain value, got list"):
        read_yaml_file(path, shown_as="x.yaml")


def test_unreadable_path_is_a_file_format_error(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"^d\.yaml: is a directory, not a YAML file"):
        read_yaml_file(tmp_path, shown_as="d.yaml")


def test_file_is_shown_relative_to_the_working_directory(project: Path) -> None:
    path = write(project, "stacks/x.yaml", "a: 1\n")

    assert read_yaml_file(path).file == "stacks/x.yaml"


def test_empty_file_parses_to_none(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("# only a comment\n")

    document = read_yaml_file(path)

    assert (document.data, document.lines) == (None, {})


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes("\ufeffowner: José\n".encode())

    assert read_yaml_file(path).data == {"owner": "José"}


def test_lines_are_recorded_for_every_key_and_list_item() -> None:
    document = parse_yaml_text(
        textwrap.dedent(
            """
            overrides:
              serving:
                endpoints:
                  - name: a
                  - name: b
                    instance_count: 2
            """
        ).lstrip(),
        "t.yaml",
    )

    assert document.lines[("overrides",)] == 1
    assert document.lines[("overrides", "serving", "endpoints")] == 3
    assert document.lines[("overrides", "serving", "endpoints", 1)] == 5
    assert document.lines[("overrides", "serving", "endpoints", 1, "instance_count")] == 6
    # A path that is not in the file is placed at its nearest ancestor.
    assert document.line_of(("overrides", "serving", "endpoints", 1, "model", "image")) == 5
    assert document.line_of(("nowhere",)) == 1


def test_yaml_merge_keys_are_not_duplicates() -> None:
    document = parse_yaml_text("base: &b\n  spot: true\nenv:\n  <<: *b\n  spot: false\n", "t.yaml")

    assert document.data["env"] == {"spot": False}


# ---------------------------------------------------------------------------------------------------
# Which blueprint an environment uses: one rule for every command
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_blueprint", "flag", "remembered", "expected", "source"),
    [
        (None, None, None, "level0", "default"),
        (None, None, "level2", "level2", "last deploy"),  # `up --blueprint level2` then `up`: level2 stays
        (None, "level1", "level2", "level1", "--blueprint"),
        ("level1", None, "level2", "level1", "stacks/local.yaml"),  # the reviewed file wins over the last deploy
        ("level1", "level2", None, "level2", "--blueprint"),
    ],
)
def test_blueprint_precedence_flag_then_file_then_last_deploy_then_default(
    project: Path, file_blueprint: str | None, flag: str | None, remembered: str | None, expected: str, source: str
) -> None:
    write(
        project, "stacks/local.yaml", (f"blueprint: {file_blueprint}\n" if file_blueprint else "") + "target: local\n"
    )

    resolved = envs.resolve("local", flag, project, remembered_blueprint=remembered)

    assert (resolved.spec.blueprint, resolved.blueprint_source) == (expected, source)


def test_builtin_local_env_uses_the_last_deployed_blueprint(tmp_path: Path) -> None:
    resolved = envs.resolve("local", project_dir=tmp_path, remembered_blueprint="level2")
    assert (resolved.spec.blueprint, resolved.blueprint_source) == ("level2", "last deploy")


def test_a_flag_that_overrides_the_files_blueprint_warns_that_it_lasts_one_run(project: Path) -> None:
    write(project, "stacks/local.yaml", "blueprint: level0\ntarget: local\n")

    resolved = envs.resolve("local", "level2", project)

    (warning,) = resolved.warnings
    assert "--blueprint level2 overrides `blueprint: level0` in stacks/local.yaml for this run only" in warning
    assert envs.resolve("local", "level0", project).warnings == ()


def test_a_remembered_blueprint_that_no_longer_exists_says_where_it_came_from(project: Path) -> None:
    with pytest.raises(BlueprintNotFoundError) as caught:
        envs.resolve("local", project_dir=project, remembered_blueprint="gone")
    assert "the blueprint this environment was last deployed with" in str(caught.value)


# ---------------------------------------------------------------------------------------------------
# Samples: fill gaps, never replace a blueprint's own settings
# ---------------------------------------------------------------------------------------------------


def test_a_blueprints_own_endpoints_win_over_the_builtin_sample(project: Path) -> None:
    write(
        project,
        "blueprints/gpu.yaml",
        """
        description: gpu serving
        extends: level1
        serving:
          endpoints:
            - name: llm
              instance_type: ml.g5.xlarge
              model: { image: "serving:llm-1", model_data_url: sample }
        feature_store:
          feature_groups:
            - name: prompts
              record_identifier: id
              event_time: ts
              features:
                - { name: id, type: String }
                - { name: ts, type: Fractional }
        """,
    )

    resolved = envs.resolve("local", "gpu", project)

    assert [(e.name, e.instance_type) for e in resolved.spec.serving.endpoints] == [("llm", "ml.g5.xlarge")]
    assert [g.name for g in resolved.spec.feature_store.feature_groups] == ["prompts"]
    assert resolved.notes == ()  # nothing was added, so nothing is said


def test_the_builtin_env_says_which_samples_it_adds(tmp_path: Path) -> None:
    resolved = envs.resolve("local", "level1", tmp_path)
    (note,) = resolved.notes
    assert "adds the sample endpoint 'demo' and the sample feature group 'customers'" in note
    assert "blueprint level1 and the overrides declare none" in note


def test_overrides_win_over_samples_and_samples_are_off_for_env_files_by_default(project: Path) -> None:
    write(
        project,
        "stacks/lab.yaml",
        """
        target: local
        samples: true
        overrides:
          serving:
            endpoints: [{name: mine}]
        """,
    )
    write(project, "stacks/plain.yaml", "target: local\n")

    assert [e.name for e in envs.resolve("lab", project_dir=project).spec.serving.endpoints] == ["mine"]
    assert envs.resolve("plain", project_dir=project).spec.serving.endpoints == []


def test_no_sample_endpoint_without_the_platforms_serving_repository(project: Path) -> None:
    write(
        project,
        "stacks/lab.yaml",
        "target: local\nsamples: true\noverrides:\n  container_registry:\n    repositories: [training]\n",
    )
    spec = envs.resolve("lab", project_dir=project).spec
    assert spec.serving.endpoints == []  # `serving:sample` would name a repository that does not exist


def test_samples_are_refused_for_target_aws(project: Path) -> None:
    path = aws_env(project, "dev", "samples: true\n")
    (problem,) = problems_of("dev", project)
    assert (problem.path, problem.file, problem.line) == ("samples", "stacks/dev.yaml", line_of(path, "samples"))
    assert "only in the local emulator" in problem.problem


def test_target_aws_must_pin_its_blueprint_in_the_file(project: Path) -> None:
    path = write(project, "stacks/dev.yaml", 'target: aws\nregion: eu-west-1\naccount_id: "111111111111"\n')
    for flag in (None, "level1"):  # not even a flag or the last deploy stand in for the reviewed file
        (problem,) = problems_of("dev", project, blueprint=flag, remembered_blueprint="level2")
        assert (problem.path, problem.file, problem.line) == ("blueprint", "stacks/dev.yaml", line_of(path, "target"))
        assert "target aws needs `blueprint:`" in problem.problem and "level2" in (problem.allowed or "")
