"""Bad input through the CLI: one test per class of mistake a user can make.

The contract (README: "Exit codes"): exit 2 (6 when the environment does not exist), one message
on stderr that names the file (and line, where there is one), the field path, the value received and
what is allowed; never a Python traceback.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import Result

from mlplatform import blueprints, environments
from mlplatform.errors import Problem, SpecValidationError
from mlplatform.spec.problems import format_path

ENV_OK = "blueprint: level0\ntarget: aws\nregion: eu-west-1\n"
ACCOUNT = 'account_id: "111111111111"\n'
"""Target aws needs it; appended at the end of a file so the lines the tests expect stay where they are."""

Run = Callable[..., Result]


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def error_of(result: Result, exit_code: int = 2, *, as_json: bool = False) -> str:
    """Check the common contract and return the error message (stderr).

    Without --json nothing is half-printed on stdout; with --json stdout is exactly one JSON error object.
    """
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    if as_json:
        error = json.loads(result.stdout)["error"]
        assert error["exit_code"] == exit_code
        assert result.stderr.startswith(f"error: {error['headline']}: {error['message']}")
    else:
        assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    return result.stderr


# --------------------------------------------------------------------------------------------------
# malformed YAML
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "content", "args", "location", "detail"),
    [
        (
            "stacks/dev.yaml",
            ENV_OK + "  owner: me\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:4",
            "mapping values are not allowed here",
        ),
        (
            "stacks/dev.yaml",
            ENV_OK + "overrides:\n  tags: [a, b\n  training: {}\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:6",
            "expected ',' or ']'",
        ),
        (
            "stacks/dev.yaml",
            "blueprint: level0\ntarget: aws\n\tregion: eu-west-1\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:3",
            "found character '\\t' that cannot start any token",
        ),
        (
            "blueprints/gpu.yaml",
            "description: GPU\nextends: level2\ntraining:\n  spot: [true\n",
            ("validate", "--blueprint", "gpu"),
            "blueprints/gpu.yaml:5",
            "expected ',' or ']'",
        ),
    ],
    ids=["env-indent", "env-flow-sequence", "env-tab", "blueprint-flow-sequence"],
)
def test_malformed_yaml(
    run: Run, tmp_path: Path, relative: str, content: str, args: tuple[str, ...], location: str, detail: str
) -> None:
    write(tmp_path, relative, content)
    message = error_of(run(*args))
    assert message.startswith(f"error: unreadable file: {location}: malformed YAML: ")
    assert detail in message


# --------------------------------------------------------------------------------------------------
# unknown key
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "content", "args", "location", "path", "value", "suggestion"),
    [
        (
            "stacks/dev.yaml",
            "blueprint: level0\ntarget: aws\nregoin: eu-west-1\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:3",
            "regoin",
            '"eu-west-1"',
            "region",
        ),
        (
            "stacks/dev.yaml",
            ENV_OK + "overrides:\n  artifact_store:\n    versionning: true\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:6",
            "overrides.artifact_store.versionning",
            "true",
            "versioning",
        ),
        (
            "blueprints/gpu.yaml",
            "description: GPU\nextends: level2\ntraning:\n  spot: true\n",
            ("validate", "--blueprint", "gpu"),
            "blueprints/gpu.yaml:3",
            "traning",
            '{"spot": true}',
            "training",
        ),
    ],
    ids=["env-top-level", "env-override", "blueprint"],
)
def test_unknown_key(
    run: Run,
    tmp_path: Path,
    relative: str,
    content: str,
    args: tuple[str, ...],
    location: str,
    path: str,
    value: str,
    suggestion: str,
) -> None:
    write(tmp_path, relative, content)
    message = error_of(run(*args))
    assert f"\n{location}: {path}\n" in message
    assert f"problem: unknown key {path.split('.')[-1]!r}" in message
    assert f"value:   {value}\n" in message
    assert f"allowed: did you mean {suggestion!r}? known keys: " in message
    known = message.split("known keys: ", 1)[1].splitlines()[0].split(", ")
    assert suggestion in known


# --------------------------------------------------------------------------------------------------
# wrong type
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "content", "args", "location", "path", "value", "allowed"),
    [
        (
            "stacks/dev.yaml",
            ENV_OK + "overrides:\n  network:\n    availability_zones: two\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:6",
            "overrides.network.availability_zones",
            '"two"',
            "an integer",
        ),
        (
            "stacks/dev.yaml",
            ENV_OK + "overrides:\n  training:\n    spot: maybe\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:6",
            "overrides.training.spot",
            '"maybe"',
            "true or false",
        ),
        (
            "stacks/dev.yaml",
            ENV_OK + "overrides:\n  container_registry:\n    repositories: training\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:6",
            "overrides.container_registry.repositories",
            '"training"',
            "a list",
        ),
        (
            "stacks/dev.yaml",
            ENV_OK + "owner: 1234\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:4",
            "owner",
            "1234",
            "a string (quote it if YAML reads it as a number or date)",
        ),
        (
            "blueprints/gpu.yaml",
            'description: GPU\nextends: level2\ntraining:\n  max_parallel_jobs: "4"\n',
            ("validate", "--blueprint", "gpu"),
            "blueprints/gpu.yaml:4",
            "training.max_parallel_jobs",
            '"4"',
            "an integer",
        ),
    ],
    ids=["string-for-int", "string-for-bool", "string-for-list", "int-for-string", "blueprint-string-for-int"],
)
def test_wrong_type(
    run: Run,
    tmp_path: Path,
    relative: str,
    content: str,
    args: tuple[str, ...],
    location: str,
    path: str,
    value: str,
    allowed: str,
) -> None:
    write(tmp_path, relative, content)
    message = error_of(run(*args))
    assert f"\n{location}: {path}\n" in message
    assert f"value:   {value}\n" in message
    assert f"allowed: {allowed}\n" in message


# --------------------------------------------------------------------------------------------------
# negative or zero count
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "line", "path", "value", "allowed"),
    [
        ("  training:\n    max_parallel_jobs: 0\n", 6, "overrides.training.max_parallel_jobs", "0", "an integer > 0"),
        ("  training:\n    max_parallel_jobs: -3\n", 6, "overrides.training.max_parallel_jobs", "-3", "an integer > 0"),
        (
            "  network:\n    availability_zones: 0\n",
            6,
            "overrides.network.availability_zones",
            "0",
            "an integer >= 1 and <= 6",
        ),
        (
            "  serving:\n    endpoints:\n      - name: churn\n        instance_count: -1\n",
            8,
            "overrides.serving.endpoints[0].instance_count",
            "-1",
            "an integer > 0",
        ),
    ],
    ids=["zero-parallel-jobs", "negative-parallel-jobs", "zero-availability-zones", "negative-instance-count"],
)
def test_non_positive_count(
    run: Run, tmp_path: Path, overrides: str, line: int, path: str, value: str, allowed: str
) -> None:
    write(tmp_path, "stacks/dev.yaml", ENV_OK + "overrides:\n" + overrides)
    message = error_of(run("validate", "--env", "dev"))
    assert message.startswith("error: invalid spec: environment 'dev' does not validate (1 problem):\n")
    assert f"\nstacks/dev.yaml:{line}: {path}\n" in message
    assert f"value:   {value}\n" in message
    assert f"allowed: {allowed}" in message


# --------------------------------------------------------------------------------------------------
# unknown blueprint
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "args", "where", "name"),
    [
        ({}, ("validate", "--blueprint", "level3"), "--blueprint", "level3"),
        (
            {"stacks/dev.yaml": ENV_OK.replace("level0", "level9")},
            ("validate", "--env", "dev"),
            "stacks/dev.yaml",
            "level9",
        ),
        (
            {"blueprints/gpu.yaml": "description: GPU\nextends: level7\n"},
            ("validate", "--blueprint", "gpu"),
            "blueprints/gpu.yaml",
            "level7",
        ),
        (
            {},
            (
                "init",
                "--env",
                "dev",
                "--target",
                "aws",
                "--account-id",
                "111111111111",
                "--region",
                "eu-west-1",
                "--blueprint",
                "levl2",
            ),
            "--blueprint",
            "levl2",
        ),
        ({}, ("blueprints", "show", "level5"), None, "level5"),
        ({}, ("blueprints", "diff", "level1", "level5"), None, "level5"),
    ],
    ids=["validate-flag", "env-file", "extends", "init-flag", "show", "diff"],
)
def test_unknown_blueprint(
    run: Run, tmp_path: Path, files: dict[str, str], args: tuple[str, ...], where: str | None, name: str
) -> None:
    for relative, content in files.items():
        write(tmp_path, relative, content)
    message = error_of(run(*args))
    assert message.startswith("error: unknown blueprint: ")
    assert f"no blueprint named {name!r}" in message
    if where:
        assert where in message
    assert "Did you mean 'level2'?" in message
    allowed = next(line for line in message.splitlines() if line.startswith("allowed: "))
    assert {"level0", "level1", "level2"} <= set(allowed.removeprefix("allowed: ").split(", "))
    # nothing was scaffolded for an unknown blueprint
    assert not (tmp_path / "Pulumi.yaml").exists()


def test_unknown_blueprint_names_the_line(run: Run, tmp_path: Path) -> None:
    write(tmp_path, "stacks/dev.yaml", "target: aws\nregion: eu-west-1\nblueprint: level9\n")
    message = error_of(run("validate", "--env", "dev"))
    assert "stacks/dev.yaml:3" in message


# --------------------------------------------------------------------------------------------------
# extends cycle
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "start", "closing_file", "closing_name", "loop"),
    [
        (
            {"a": "description: A\nextends: b\n", "b": "description: B\nextends: a\n"},
            "a",
            "blueprints/b.yaml",
            "a",
            "a -> b -> a",
        ),
        (
            {"selfish": "description: S\nextends: selfish\n"},
            "selfish",
            "blueprints/selfish.yaml",
            "selfish",
            "selfish -> selfish",
        ),
        (
            {
                "a": "description: A\nextends: c\n",
                "b": "description: B\nextends: a\n",
                "c": "description: C\nextends: b\n",
            },
            "c",
            "blueprints/a.yaml",
            "c",
            "c -> b -> a -> c",
        ),
    ],
    ids=["two", "self", "three"],
)
def test_extends_cycle(
    run: Run, tmp_path: Path, files: dict[str, str], start: str, closing_file: str, closing_name: str, loop: str
) -> None:
    for name, content in files.items():
        write(tmp_path, f"blueprints/{name}.yaml", content)
    message = error_of(run("validate", "--blueprint", start))
    assert message.startswith(
        f"error: blueprint extends cycle: {closing_file}:2: extends: {closing_name!r} closes a loop"
    )
    assert f"{loop}." in message
    assert "hint: A blueprint may extend another only if that one does not" in message


def test_extends_cycle_names_the_line(run: Run, tmp_path: Path) -> None:
    write(tmp_path, "blueprints/a.yaml", "description: A\nextends: b\n")
    write(tmp_path, "blueprints/b.yaml", "description: B\nversion: 1\nextends: a\n")
    message = error_of(run("validate", "--blueprint", "a"))
    assert "blueprints/b.yaml:3" in message


# --------------------------------------------------------------------------------------------------
# invalid environment name
# --------------------------------------------------------------------------------------------------

INVALID_NAMES = {
    "dotdot-slash": ("../prod", "it contains '.', '/'"),
    "space": ("a b", "it contains ' '"),
    "uppercase": ("A", "it contains 'A'"),
    "41-chars": ("a" * 41, "it is 41 characters long (at most 40)"),
    "leading-hyphen": ("-dev", "it starts or ends with '-'"),
    "empty": ("", "it is empty"),
}
COMMANDS = {
    "validate": ("validate",),
    "init": ("init", "--target", "aws", "--account-id", "111111111111", "--region", "eu-west-1"),
}


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
@pytest.mark.parametrize("case", list(INVALID_NAMES), ids=list(INVALID_NAMES))
def test_invalid_env_name(run: Run, tmp_path: Path, case: str, command: str) -> None:
    name, reason = INVALID_NAMES[case]
    message = error_of(run(*COMMANDS[command], "--env", name))
    assert message.startswith(f"error: invalid environment name: environment name {name!r} is not allowed: ")
    assert reason in message
    assert "allowed: a lowercase DNS label of 1-40 characters" in message
    # nothing was written anywhere: not even Pulumi.yaml or an empty stacks/, and `../prod` escaped nowhere
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent / "prod.yaml").exists()


def test_env_name_of_40_chars_is_accepted(run: Run, tmp_path: Path) -> None:
    name = "a" * 40
    result = run("init", "--env", name, "--target", "aws", "--account-id", "111111111111", "--region", "eu-west-1")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "stacks" / f"{name}.yaml").is_file()


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
def test_invalid_env_name_trailing_newline(run: Run, tmp_path: Path, command: str) -> None:
    message = error_of(run(*COMMANDS[command], "--env", "dev\n"))
    assert message.startswith("error: invalid environment name: ")
    assert list(tmp_path.iterdir()) == []


def test_init_flag_value_cannot_inject_yaml(run: Run, tmp_path: Path) -> None:
    result = run(
        "init",
        "--env",
        "dev",
        "--target",
        "aws",
        "--account-id",
        "111111111111",
        "--region",
        "eu-west-1\nbackend: s3://elsewhere/state",
    )
    message = error_of(result)
    assert "region" in message
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# empty env file / env file that is not a mapping
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    ["", "# only a comment\n", "---\n", "\n\n"],
    ids=["zero-bytes", "comment-only", "document-marker", "blank-lines"],
)
def test_empty_env_file(run: Run, tmp_path: Path, content: str) -> None:
    write(tmp_path, "stacks/dev.yaml", content)
    message = error_of(run("validate", "--env", "dev"))
    assert message.startswith(
        "error: unreadable file: stacks/dev.yaml: an environment file must be a mapping with at least "
        "`blueprint:` and `target:`; this file is empty."
    )
    assert "hint: Recreate it with `mlplatform init --env dev --force`." in message


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ("- blueprint: level0\n- target: aws\n", "a YAML list"),
        ("level0\n", "a YAML string"),
        ("42\n", "a YAML number"),
        ("true\n", "a YAML boolean"),
    ],
    ids=["list", "string", "number", "boolean"],
)
def test_env_file_not_a_mapping(run: Run, tmp_path: Path, content: str, kind: str) -> None:
    write(tmp_path, "stacks/dev.yaml", content)
    message = error_of(run("validate", "--env", "dev"))
    assert message.startswith(
        "error: unreadable file: stacks/dev.yaml: an environment file must be a mapping with at least "
        f"`blueprint:` and `target:`; this file is {kind}, not a mapping."
    )


# --------------------------------------------------------------------------------------------------
# not UTF-8
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "content", "args", "location", "byte"),
    [
        (
            "stacks/dev.yaml",
            ENV_OK.encode() + b"description: caf\xe9\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:4",
            "byte 0xe9 at offset 64",
        ),
        (
            "stacks/dev.yaml",
            "blueprint: level0\ntarget: aws\n".encode("utf-16"),
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:1",
            "byte 0xff at offset 0",
        ),
        (
            "blueprints/gpu.yaml",
            b"extends: level2\ndescription: GPU caf\xe9\n",
            ("validate", "--blueprint", "gpu"),
            "blueprints/gpu.yaml:2",
            "byte 0xe9 at offset 36",
        ),
        (
            "blueprints/gpu.yaml",
            b"extends: level2\ndescription: GPU caf\xe9\n",
            ("blueprints", "show", "gpu"),
            "blueprints/gpu.yaml:2",
            "byte 0xe9 at offset 36",
        ),
    ],
    ids=["env-latin1", "env-utf16", "blueprint-latin1", "blueprint-show"],
)
def test_not_utf8(
    run: Run, tmp_path: Path, relative: str, content: bytes, args: tuple[str, ...], location: str, byte: str
) -> None:
    write(tmp_path, relative, content)
    message = error_of(run(*args))
    assert message.startswith(f"error: unreadable file: {location}: the file is not valid UTF-8 ({byte}).")
    assert "hint: Save the file as UTF-8" in message


def test_not_utf8_user_blueprint_in_list(run: Run, tmp_path: Path) -> None:
    write(tmp_path, "blueprints/gpu.yaml", b"extends: level2\ndescription: GPU caf\xe9\n")
    result = run("blueprints", "list")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    gpu = next(line for line in result.stdout.splitlines() if line.startswith("gpu "))
    assert "blueprints/gpu.yaml" in gpu
    assert "INVALID — unreadable file: blueprints/gpu.yaml:2: the file is not valid UTF-8" in gpu
    # the packaged blueprints are still listed
    assert any(line.startswith("level2 ") for line in result.stdout.splitlines())


# --------------------------------------------------------------------------------------------------
# duplicate keys
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "content", "args", "location", "key", "first"),
    [
        (
            "stacks/dev.yaml",
            ENV_OK + "target: local\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:4",
            "target",
            2,
        ),
        (
            "stacks/dev.yaml",
            ENV_OK + "overrides:\n  training:\n    spot: true\n    spot: false\n",
            ("validate", "--env", "dev"),
            "stacks/dev.yaml:7",
            "spot",
            6,
        ),
        (
            "blueprints/gpu.yaml",
            "description: GPU\nextends: level2\ntraining:\n  spot: true\ntraining:\n  spot: false\n",
            ("validate", "--blueprint", "gpu"),
            "blueprints/gpu.yaml:5",
            "training",
            3,
        ),
    ],
    ids=["env-top-level", "env-nested", "blueprint"],
)
def test_duplicate_keys(
    run: Run, tmp_path: Path, relative: str, content: str, args: tuple[str, ...], location: str, key: str, first: int
) -> None:
    write(tmp_path, relative, content)
    message = error_of(run(*args))
    assert message.startswith(
        f"error: unreadable file: {location}: duplicate key {key!r} (first defined on line {first})."
    )
    assert "hint: Remove one of the two" in message


# --------------------------------------------------------------------------------------------------
# environment not found (exit 6)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_env_not_found(run: Run, tmp_path: Path, as_json: bool) -> None:
    write(tmp_path, "stacks/qa.yaml", ENV_OK)
    write(tmp_path, "stacks/Bad Name.yaml", ENV_OK)  # not an environment: skipped in the listing
    args = ("validate", "--env", "staging", *(["--json"] if as_json else []))
    message = error_of(run(*args), exit_code=6, as_json=as_json)
    assert message.startswith(
        "error: environment not found: no environment 'staging': stacks/staging.yaml does not exist "
        f"(environments here: local, qa; project {tmp_path})."
    )
    assert "hint: Create it with `mlplatform init --env staging`." in message


# --------------------------------------------------------------------------------------------------
# values AWS would refuse mid-deploy, refused by validate at the line that set them
# --------------------------------------------------------------------------------------------------

ENV_L1 = ENV_OK.replace("level0", "level1")


@pytest.mark.parametrize(
    ("content", "location", "path", "value", "problem", "allowed"),
    [
        (
            ENV_L1 + "overrides:\n  training:\n    allowed_instance_types: [ml.m5.xlarge, ml.g5.xlarj]\n",
            "stacks/dev.yaml:6",
            "overrides.training.allowed_instance_types[1]",
            '"ml.g5.xlarj"',
            "SageMaker CreateTrainingJob (ResourceConfig.InstanceType) does not accept this instance type",
            "closest: ml.g5.xlarge",
        ),
        (
            ENV_OK + "overrides:\n  serving:\n    endpoints:\n      - name: churn\n        instance_type: ml.g5.huge\n",
            "stacks/dev.yaml:8",
            "overrides.serving.endpoints[0].instance_type",
            '"ml.g5.huge"',
            "SageMaker CreateEndpointConfig (ProductionVariants[].InstanceType) does not accept",
            "ProductionVariantInstanceType values",
        ),
        (
            "blueprint: level0\ntarget: aws\nregion: eu-wset-1\n",
            "stacks/dev.yaml:3",
            "region",
            '"eu-wset-1"',
            "not an AWS region",
            "did you mean 'eu-west-1'?",
        ),
        (
            ENV_OK + "overrides:\n  tags:\n    team: ml\n    'aws:owner': me\n",
            "stacks/dev.yaml:7",
            "overrides.tags.aws:owner",
            '"aws:owner"',
            "the tag key prefix 'aws:' is reserved for AWS",
            "not starting with 'aws:'",
        ),
        (
            ENV_OK + "overrides:\n  tags:\n    managed-by: me\n",
            "stacks/dev.yaml:6",
            "overrides.tags.managed-by",
            '"managed-by"',
            "mlplatform sets the tag 'managed-by' itself and would overwrite yours",
            "any key but",
        ),
        (
            ENV_OK + "overrides:\n  network:\n    cidr_block: 10.20.0.1/16\n",
            "stacks/dev.yaml:6",
            "overrides.network.cidr_block",
            '"10.20.0.1/16"',
            "host bits are set",
            "10.20.0.0/16 (the network address)",
        ),
        (
            ENV_OK + "overrides:\n  network:\n    cidr_block: 10.20.0.0/27\n    availability_zones: 3\n",
            "stacks/dev.yaml:7",
            "overrides.network.availability_zones",
            "3",
            "holds only 2 private /28 subnet(s)",
            "at most 2 availability zone(s)",
        ),
        (
            ENV_L1 + "overrides:\n  pipelines:\n    schedule: rate(1 days)\n",
            "stacks/dev.yaml:6",
            "overrides.pipelines.schedule",
            '"rate(1 days)"',
            "EventBridge would refuse this schedule: use the singular unit",
            "singular when n is 1",
        ),
        (
            ENV_L1 + "overrides:\n  pipelines:\n    schedule: cron(0 3 * * * *)\n",
            "stacks/dev.yaml:6",
            "overrides.pipelines.schedule",
            '"cron(0 3 * * * *)"',
            "exactly one of day-of-month and day-of-week must be '?'",
            "cron(<minutes> <hours>",
        ),
        (
            ENV_OK + "overrides:\n  container_registry:\n    repositories:\n      - training\n      - serving\n"
            "      - training\n",
            "stacks/dev.yaml:9",
            "overrides.container_registry.repositories[2]",
            '"training"',
            "repository 'training' is listed more than once (first as repositories[0])",
            "each repository once",
        ),
        (
            ENV_OK + "name: " + "p" * 32 + "\noverrides:\n  serving:\n    endpoints:\n      - name: " + "e" * 31 + "\n",
            "stacks/dev.yaml:8",
            "overrides.serving.endpoints[0].name",
            '"' + "e" * 31 + '"',
            "(64 characters), longer than SageMaker CreateEndpoint (EndpointName) allows",
            "at most 63 characters",
        ),
        (
            ENV_OK + "overrides:\n  monitoring:\n    budget:\n      monthly_limit_usd: .inf\n",
            "stacks/dev.yaml:7",
            "overrides.monitoring.budget.monthly_limit_usd",
            "Infinity",
            "finite number",
            "a finite number",
        ),
    ],
    ids=[
        "training-instance-type",
        "endpoint-instance-type",
        "region",
        "tag-aws-prefix",
        "tag-collides",
        "cidr-host-bits",
        "subnets-do-not-fit",
        "rate-plural",
        "cron-both-days",
        "duplicate-repository",
        "endpoint-name-too-long",
        "infinite-number",
    ],
)
def test_values_aws_would_refuse_are_refused_at_their_line(
    run: Run, tmp_path: Path, content: str, location: str, path: str, value: str, problem: str, allowed: str
) -> None:
    write(tmp_path, "stacks/dev.yaml", content)
    message = error_of(run("validate", "--env", "dev"))
    assert f"\n{location}: {path}\n" in message
    block = message.split(f"\n{location}: {path}\n", 1)[1]
    assert f"  value:   {value}\n" in block
    assert problem in block.split("\n  value:", 1)[0]
    assert allowed in block.split("\n  allowed: ", 1)[1].splitlines()[0]


def test_a_gpu_endpoint_validates(run: Run, tmp_path: Path) -> None:
    write(
        tmp_path,
        "stacks/dev.yaml",
        ENV_OK
        + "overrides:\n  serving:\n    endpoints:\n      - name: churn\n        instance_type: ml.g5.xlarge\n"
        + ACCOUNT,
    )
    result = run("validate", "--env", "dev")
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------------------------------
# every setting, every depth: a wrong type or an unknown key is a located problem, never a crash
# --------------------------------------------------------------------------------------------------


def _full_overrides() -> dict[str, Any]:
    """Every setting of a level2 platform written out, with one of each list item, as an env would."""
    settings = blueprints.resolve("level2").settings.model_dump(mode="json")
    settings["tags"] = {"team": "ml"}
    settings["identity"]["permissions_boundary_arn"] = "arn:aws:iam::111111111111:policy/boundary"
    settings["serving"]["autoscaling"] = {"min_capacity": 1, "max_capacity": 2, "target_invocations_per_instance": 50}
    settings["serving"]["endpoints"] = [
        {
            "name": "churn",
            "model": {"image": "serving:1", "model_data_url": "s3://bucket/model.tar.gz"},
            "instance_type": "ml.m5.large",
            "instance_count": 1,
            "autoscaling": {"min_capacity": 1, "max_capacity": 3, "target_invocations_per_instance": 10},
            "data_capture_percent": 10,
            "deployment": {"strategy": "canary", "traffic_percent": 10, "wait_minutes": 5, "rollback_alarms": ["5xx"]},
        }
    ]
    settings["feature_store"]["feature_groups"] = [
        {
            "name": "customers",
            "record_identifier": "id",
            "event_time": "t",
            "features": [{"name": "id", "type": "String"}, {"name": "t", "type": "Fractional"}],
            "online": True,
            "offline": True,
        }
    ]
    settings["monitoring"]["budget"] = {"monthly_limit_usd": 100.0, "alert_threshold_percent": 80, "alert_emails": []}
    # The repository is github-oidc's setting (codepipeline refuses it).
    settings["cicd"].update(provider="github-oidc", repository="acme/models")
    return {key: value for key, value in settings.items() if value is not None}


def _nodes(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    found = [(path, value)] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            if item is not None:
                found += _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _nodes(item, (*path, index))
    return found


def _wrong_kind(value: Any) -> Any:
    """A value of another YAML kind than ``value``: what a user writes by mistake."""
    if isinstance(value, bool):
        return "maybe"
    if isinstance(value, (int, float)):
        return "many"
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return {"first": value[0] if value else 1}
    return ["a", "list"]


def _with(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def _env_file(overrides: dict[str, Any]) -> str:
    return ENV_OK.replace("level0", "level2") + yaml.safe_dump({"overrides": overrides}, sort_keys=False) + ACCOUNT


def _problems(tmp_path: Path, content: str) -> list[Problem] | None:
    write(tmp_path, "stacks/dev.yaml", content)
    try:
        environments.resolve("dev", project_dir=tmp_path)
    except SpecValidationError as exc:
        for problem in exc.problems:
            problem.render()  # rendering any received value must work too
        return exc.problems
    return None


def test_the_full_document_is_valid(tmp_path: Path) -> None:
    assert _problems(tmp_path, _env_file(_full_overrides())) is None


@pytest.mark.slow  # one validation per node of the full document: the full run, not the edit loop
def test_a_wrong_kind_of_value_anywhere_is_reported_at_its_path(tmp_path: Path) -> None:
    full = _full_overrides()
    missed = []
    for path, value in _nodes(full):
        problems = _problems(tmp_path, _env_file(_with(full, path, _wrong_kind(value))))
        where = format_path(("overrides", *path))
        if not problems or not any(p.path == where or p.path.startswith(f"{where}.") for p in problems):
            missed.append((where, [p.path for p in problems or []]))
    assert not missed


def test_an_unknown_key_at_any_depth_is_reported_with_its_line(tmp_path: Path) -> None:
    full = _full_overrides()
    mappings = [path for path, value in _nodes(full) if isinstance(value, dict) and path[-1:] != ("tags",)]
    assert len(mappings) > 20
    for path in [(), *mappings]:
        node = _with(full, (*path, "zzz_unknown"), 1) if path else {**full, "zzz_unknown": 1}
        problems = _problems(tmp_path, _env_file(node))
        where = format_path(("overrides", *path, "zzz_unknown"))
        assert problems is not None, where
        matching = [p for p in problems if p.path == where]
        assert matching and matching[0].problem == "unknown key 'zzz_unknown'", (where, [p.path for p in problems])
        assert matching[0].line is not None and str(matching[0].file).endswith("stacks/dev.yaml")


@pytest.mark.parametrize("number", [-1, 10**30, 1.5, float("nan")])
def test_any_number_anywhere_is_accepted_or_located_never_a_crash(tmp_path: Path, number: float) -> None:
    full = _full_overrides()
    for path, value in _nodes(full):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            problems = _problems(tmp_path, _env_file(_with(full, path, number)))
            assert problems is None or all(p.path.startswith("overrides.") for p in problems), path


@pytest.mark.parametrize(
    "field", ["blueprint", "target", "region", "account_id", "name", "description", "owner", "ttl", "backend"]
)
@pytest.mark.parametrize(
    "value", [["a", "list"], {"a": "mapping"}, True, 1.5], ids=["list", "mapping", "bool", "float"]
)
def test_a_wrong_kind_of_value_at_the_top_of_an_env_file_is_located(
    run: Run, tmp_path: Path, field: str, value: Any
) -> None:
    document = {"blueprint": "level0", "target": "aws", "region": "eu-west-1", field: value}
    write(tmp_path, "stacks/dev.yaml", yaml.safe_dump(document, sort_keys=False))
    message = error_of(run("validate", "--env", "dev"))
    assert re.search(rf"\nstacks/dev\.yaml:\d+: {field}\n", message), message
