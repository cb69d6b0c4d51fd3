"""Hostile and broken files through the real CLI: each refused quickly, with exit 2, the file named, no traceback.

A pull-request preview job validates files written by strangers, so every YAML door of the CLI
(``validate`` with an environment file or a blueprint, ``preview --env``, ``blueprints list`` and
``show``) is tried with documents built to hurt: alias bombs, deep nesting, self-referencing aliases,
Python tags, huge files, values and numbers, non-string keys, control characters, directories where a
file should be. Each case runs under a deadline: measured here they take well under half a second, while
the regressions they guard against (expanding aliases, recursing per level) take minutes or crash.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import Result

from mlplatform.spec import yamlfile
from mlplatform.spec.yamlfile import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, parse_yaml_text

Run = Callable[..., Result]

DEADLINE_SECONDS = 5.0
"""Far above the slowest case measured (about 0.5 s for a 1 MiB file on a busy 2-core machine), far below
what a regression costs (an alias bomb expanded is 9**9 values; deep nesting recursed is a crash)."""

ENV_HEAD = "blueprint: level0\ntarget: aws\nregion: eu-west-1\n"
BLUEPRINT_HEAD = "description: evil\nextends: level0\n"


def laughs(levels: int = 9) -> str:
    """The "billion laughs" document: each anchor is nine aliases of the previous one."""
    lines = ["  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


DEEP = f"nested more than {MAX_DEPTH} levels"
HOSTILE: dict[str, tuple[str | bytes, str]] = {
    # name: (the settings part of a document, what the message must say)
    "billion-laughs": ("tags:\n" + laughs(), "aliases"),
    "alias-bomb-in-a-list": (
        "x: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\ny: [" + ", ".join(["*a"] * 3000) + "]\n",
        "aliases",
    ),
    "recursive-alias": ("tags: &loop\n  again: *loop\n", "used inside the value it names"),
    "deep-flow-nesting": ("tags: " + "[" * 50_000 + "]" * 50_000 + "\n", DEEP),
    "deep-block-nesting": (
        "tags:\n" + "".join("  " * depth + "- \n" for depth in range(1, 200)),
        DEEP,
    ),
    "deep-mapping-nesting": (
        "tags: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
        DEEP,
    ),
    "python-object-tag": (
        "tags: !!python/object/apply:os.system ['echo pwned']\n",
        "'!!python/object/apply:os.system'",
    ),
    "python-name-tag": ("tags: !!python/name:os.system\n", "is not allowed"),
    "binary-tag": ("tags: !!binary aGVsbG8=\n", "'!!binary' is not allowed"),
    "set-tag": ("tags: !!set {a, b}\n", "'!!set' is not allowed"),
    "custom-tag": ("tags: !Ref other\n", "'!Ref' is not allowed"),
    "huge-file": ("# " + "x" * MAX_FILE_BYTES + "\n", "larger than"),
    "huge-value": ("tags:\n  team: " + "x" * 100_000 + "\n", "characters; the longest allowed"),
    "huge-integer": ("training:\n  max_parallel_jobs: " + "9" * 5000 + "\n", "a number of 5000 characters"),
    "huge-float": ("serving:\n  data_capture_percent: 1" + "0" * 400 + ".5\n", "a number of"),
    "too-many-values": ("tags: [" + ", ".join(["1"] * (MAX_VALUES + 10)) + "]\n", f"more than {MAX_VALUES} values"),
    "integer-key": ("tags:\n  1: one\n", "the key '1' is read by YAML as an integer"),
    "boolean-key": ("tags:\n  yes: true\n", "the key 'yes' is read by YAML as a boolean"),
    "null-key": ("tags:\n  ~: nothing\n", "the key '~' is read by YAML as null"),
    "date-key": ("tags:\n  2024-01-01: new year\n", "is read by YAML as a date"),
    "list-key": ("? [a, b]\n: c\n", "a mapping key must be a plain value, got list"),
    "impossible-date": ("tags:\n  when: 2024-13-45\n", "cannot read the value '2024-13-45'"),
    "nul-character": ("tags:\n  a: b\x00c\n", "control character U+0000"),
    "escape-character": ("tags:\n  a: \x1b[31mred\n", "control character U+001B"),
    "binary-garbage": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not valid UTF-8"),
    "utf16": ("tags:\n  a: b\n".encode("utf-16"), "not valid UTF-8"),
    "two-documents": ("tags: {}\n---\ntags: {}\n", "single document"),
}


@contextmanager
def deadline(seconds: float = DEADLINE_SECONDS) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    started = time.monotonic()
    if not hasattr(signal, "setitimer"):  # no interval timers (Windows): measure only
        yield
    else:
        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < seconds


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def refused(result: Result, file: str, detail: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert file in result.stderr
    assert detail in result.stderr, result.stderr
    return result.stderr


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_environment_file_is_refused_by_validate(run: Run, tmp_path: Path, case: str) -> None:
    body, detail = HOSTILE[case]
    # Every case is refused while the file is read, before any key is looked at: top level is as good as any.
    write(tmp_path / "stacks" / "dev.yaml", body if isinstance(body, bytes) else ENV_HEAD + body)

    with deadline():
        result = run("validate", "--env", "dev")

    refused(result, "stacks/dev.yaml", detail)


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_blueprint_is_refused_by_validate(run: Run, tmp_path: Path, case: str) -> None:
    body, detail = HOSTILE[case]
    write(tmp_path / "blueprints" / "evil.yaml", body if isinstance(body, bytes) else BLUEPRINT_HEAD + body)

    with deadline():
        result = run("validate", "--blueprint", "evil")

    refused(result, "blueprints/evil.yaml", detail)


@pytest.mark.parametrize("case", ["billion-laughs", "deep-flow-nesting", "recursive-alias", "python-object-tag"])
def test_hostile_blueprint_is_refused_by_blueprints_show(run: Run, tmp_path: Path, case: str) -> None:
    body, detail = HOSTILE[case]
    write(tmp_path / "blueprints" / "evil.yaml", BLUEPRINT_HEAD + str(body))

    with deadline():
        result = run("blueprints", "show", "evil")

    refused(result, "blueprints/evil.yaml", detail)


@pytest.mark.parametrize("case", ["billion-laughs", "deep-block-nesting", "huge-file", "binary-garbage"])
def test_hostile_blueprint_is_listed_as_invalid_by_blueprints_list(run: Run, tmp_path: Path, case: str) -> None:
    body, detail = HOSTILE[case]
    write(tmp_path / "blueprints" / "evil.yaml", body if isinstance(body, bytes) else BLUEPRINT_HEAD + body)

    with deadline():
        result = run("blueprints", "list")

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("evil "))
    assert "INVALID" in row and "blueprints/evil.yaml" in row and detail in row
    assert any(line.startswith("level2 ") for line in result.stdout.splitlines())


@pytest.mark.parametrize("case", ["billion-laughs", "deep-mapping-nesting", "huge-integer", "nul-character"])
def test_hostile_environment_file_is_refused_by_preview_before_any_emulator_starts(
    run: Run, tmp_path: Path, case: str
) -> None:
    body, detail = HOSTILE[case]
    write(tmp_path / "stacks" / "dev.yaml", ENV_HEAD.replace("aws", "local") + _indented("overrides", str(body)))

    with deadline():
        result = run("preview", "--env", "dev", "--state-dir", str(tmp_path / "state"))

    refused(result, "stacks/dev.yaml", detail)
    assert not (tmp_path / "state").exists()  # refused before the emulator or any state was touched


@pytest.mark.parametrize(
    ("args", "relative"),
    [
        (("validate", "--env", "dev"), "stacks/dev.yaml"),
        (("preview", "--env", "dev"), "stacks/dev.yaml"),
        (("validate", "--env", "local"), "stacks/local.yaml"),
        (("validate", "--blueprint", "evil"), "blueprints/evil.yaml"),
    ],
    ids=["validate-env", "preview-env", "validate-local", "validate-blueprint"],
)
def test_a_directory_where_a_file_is_expected_is_refused(
    run: Run, tmp_path: Path, args: tuple[str, ...], relative: str
) -> None:
    (tmp_path / relative).mkdir(parents=True)

    with deadline():
        result = run(*args)

    refused(result, relative, "is a directory, not a YAML file")


def test_a_byte_order_mark_is_accepted(run: Run, tmp_path: Path) -> None:
    write(tmp_path / "stacks" / "dev.yaml", "\ufeff" + ENV_HEAD + 'account_id: "111111111111"\n')

    result = run("validate", "--env", "dev")

    assert result.exit_code == 0, result.output


@pytest.mark.slow  # subprocesses of the installed command: the full run, not the edit loop
def test_hostile_files_are_refused_through_the_installed_command(tmp_path: Path) -> None:
    # Not CliRunner: a separate process, exactly what a CI job runs, with a hard timeout.
    write(tmp_path / "stacks" / "dev.yaml", ENV_HEAD + _indented("overrides", "tags:\n" + laughs()))
    write(tmp_path / "blueprints" / "deep.yaml", BLUEPRINT_HEAD + "tags: " + "[" * 100_000 + "\n")
    command = Path(sys.executable).parent / "mlplatform"
    for args, file, detail in (
        (("validate", "--env", "dev"), "stacks/dev.yaml", "aliases"),
        (("validate", "--blueprint", "deep"), "blueprints/deep.yaml", "nested more than"),
    ):
        started = time.monotonic()
        result = subprocess.run(
            [str(command), *args], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
        )
        assert time.monotonic() - started < 30  # a fresh interpreter, imports included
        assert result.returncode == 2, result.stderr
        assert result.stdout == "" and "Traceback" not in result.stderr
        assert re.match(rf"error: unreadable file: {re.escape(file)}:\d+: ", result.stderr), result.stderr
        assert detail in result.stderr


def _indented(key: str, body: str) -> str:
    return f"{key}:\n" + "".join(f"  {line}\n" for line in body.splitlines())


# --------------------------------------------------------------------------------------------------
# The loader's limits, at their boundaries
# --------------------------------------------------------------------------------------------------


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_refused() -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_yaml_text(at_limit, "x.yaml").data is not None
    with pytest.raises(yamlfile.FileFormatError, match=r"^x\.yaml:1: nested more than 64 levels deep"):
        parse_yaml_text("[" + at_limit + "]", "x.yaml")


def test_values_up_to_the_limit_are_accepted_and_one_more_is_refused() -> None:
    # The document's sequence is one value, each item another.
    items = ", ".join(["1"] * (MAX_VALUES - 1))
    assert len(parse_yaml_text(f"[{items}]", "x.yaml").data) == MAX_VALUES - 1
    with pytest.raises(yamlfile.FileFormatError, match=f"more than {MAX_VALUES} values"):
        parse_yaml_text(f"[{items}, 1]", "x.yaml")


def test_a_file_of_the_maximum_size_is_read_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"a: 1\n#" + b"x" * (MAX_FILE_BYTES - 7) + b"\n")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert yamlfile.read_yaml_file(path).data == {"a": 1}
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(yamlfile.FileFormatError, match="larger than 1024 KiB"):
        yamlfile.read_yaml_file(path)


def test_ordinary_anchors_aliases_and_merge_keys_still_work() -> None:
    text = "base: &base\n  spot: true\n  volume_size_gb: 100\ntraining:\n  <<: *base\n  spot: false\nother: *base\n"

    parsed = parse_yaml_text(text, "x.yaml")

    assert parsed.data["training"] == {"spot": False, "volume_size_gb": 100}
    assert parsed.data["other"] == {"spot": True, "volume_size_gb": 100}
    assert parsed.lines[("training", "spot")] == 6


def test_every_yaml_reader_goes_through_the_one_loader() -> None:
    # Any other call into PyYAML's loading API would bypass the limits above.
    package = Path(yamlfile.__file__).resolve().parents[1]
    loading = re.compile(r"\byaml\.(safe_load|load|full_load|unsafe_load|load_all|safe_load_all|compose|parse)\b")
    loaders = re.compile(r"\b(SafeLoader|FullLoader|UnsafeLoader|CLoader|CSafeLoader|Loader)\b")
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in package.rglob("*.py")
        if path.name != "yamlfile.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if loading.search(line) or ("yaml" in line and loaders.search(line))
    ]
    assert offenders == []
