"""Bad input through the CLI: one test per class of mistake a user can make.

The contract (DESIGN.md §4 step 1 and §8): exit 2 (6 when the environment does not exist), one message
on stderr that names the file (and line, where there is one), the field path, the value received and
what is allowed; never a Python traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

ENV_OK = "blueprint: level0\ntarget: aws\nregion: eu-west-1\n"

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
            ("init", "--env", "dev", "--target", "aws", "--region", "eu-west-1", "--blueprint", "levl2"),
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
    "init": ("init", "--target", "aws", "--region", "eu-west-1"),
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
    result = run("init", "--env", name, "--target", "aws", "--region", "eu-west-1")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "stacks" / f"{name}.yaml").is_file()


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
def test_invalid_env_name_trailing_newline(run: Run, tmp_path: Path, command: str) -> None:
    message = error_of(run(*COMMANDS[command], "--env", "dev\n"))
    assert message.startswith("error: invalid environment name: ")
    assert list(tmp_path.iterdir()) == []


def test_init_flag_value_cannot_inject_yaml(run: Run, tmp_path: Path) -> None:
    result = run("init", "--env", "dev", "--target", "aws", "--region", "eu-west-1\nbackend: s3://elsewhere/state")
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
