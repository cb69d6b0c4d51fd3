"""scripts/pulumi-cli: the pin, the PATH rule, the missing-Go message, and the cache's build-once promises.

Each test runs the real script from a copy of the repository's scripts/ and tools/ (so a test may edit the
copy's go.mod) with its own empty cache. Where a build is involved a fake `go` stands in for the toolchain:
it writes a small file where `go build -o` asks and logs every call, so these tests check the script's
logic in seconds; tests/integration/test_pulumi_cli.py builds and runs the real binaries.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import threading
import time
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS_FILES = ["pulumi-cli/go.mod", "pulumi-cli/go.sum", "pulumi-language-python/go.mod",
               "pulumi-language-python/go.sum", "pulumi-language-python/main.go"]  # fmt: skip


def _required(go_mod: Path, module: str) -> str:
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", go_mod.read_text(), re.MULTILINE)
    assert match, f"{go_mod} does not require {module}"
    return match.group(1)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.lstrip("v").split("-")[0].split("."))


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the files the script reads, laid out as in the repository."""
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "pulumi-cli", copy / "scripts" / "pulumi-cli")
    for name in TOOLS_FILES:
        (copy / "tools" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "tools" / name, copy / "tools" / name)
    return copy


@pytest.fixture
def no_go_path(tmp_path: Path) -> str:
    """The test process's PATH with every `go` hidden (a directory holding one is replaced by a copy
    of its other entries, as symlinks), so the script runs as on a machine without Go."""
    dirs = []
    for index, entry in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        directory = Path(entry)
        if not (directory / "go").exists():
            dirs.append(entry)
            continue
        farm = tmp_path / f"path-{index}"
        farm.mkdir()
        for item in directory.iterdir():
            if item.name != "go":
                (farm / item.name).symlink_to(item)
        dirs.append(str(farm))
    path = os.pathsep.join(dirs)
    assert shutil.which("go", path=path) is None
    assert shutil.which("pulumi", path=path) is None, "a real pulumi on PATH would change what these tests see"
    return path


@pytest.fixture
def fake_go(tmp_path: Path, no_go_path: str) -> tuple[str, Path]:
    """A PATH whose `go` logs its arguments to the returned file and fakes `build -o` and `list -m`.

    FAKE_GO_FAIL=<binary name> makes the build of that binary fail after writing half an output file;
    FAKE_GO_SLEEP makes each build write part of its output and then take that many seconds (to hold the
    lock while another run waits, or to be interrupted)."""
    bin_dir = tmp_path / "fake-go-bin"
    bin_dir.mkdir()
    log = tmp_path / "go-calls.log"
    sdk = tmp_path / "fake-sdk"
    (sdk / "python" / "cmd").mkdir(parents=True)
    (sdk / "python" / "cmd" / "pulumi-language-python-exec").write_text("# shim\n")
    _executable(
        bin_dir / "go",
        f"""#!/usr/bin/env bash
echo "$*" >> {log}
if [ "$1" = list ]; then echo {sdk}; exit 0; fi
out=""; prev=""
for a in "$@"; do [ "$prev" = -o ] && out="$a"; prev="$a"; done
[ -n "${{FAKE_GO_SLEEP:-}}" ] && echo partial > "$out"
sleep "${{FAKE_GO_SLEEP:-0}}"
name="$(basename "$(pwd)")"
if [ "${{FAKE_GO_FAIL:-}}" = "$name" ]; then echo half > "$out"; echo "fake go: build failed" >&2; exit 1; fi
printf '#!/bin/sh\\necho fake-%s\\n' "$name" > "$out"; chmod +x "$out"
""",
    )
    return f"{bin_dir}{os.pathsep}{no_go_path}", log


def _run(repo: Path, path: str, cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PATH": path, "MLPLATFORM_PULUMI_CACHE": str(cache), **env}
    return subprocess.run(
        ["bash", str(repo / "scripts" / "pulumi-cli"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _builds(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("build")] if log.exists() else []


def test_the_pin_is_the_go_modules_and_at_least_the_python_sdk(repo: Path, no_go_path: str, tmp_path: Path) -> None:
    pin = _required(ROOT / "tools/pulumi-cli/go.mod", "github.com/pulumi/pulumi/pkg/v3")
    assert _required(ROOT / "tools/pulumi-cli/go.mod", "github.com/pulumi/pulumi/sdk/v3") == pin
    assert _required(ROOT / "tools/pulumi-language-python/go.mod", "github.com/pulumi/pulumi/sdk/v3") == pin
    printed = _run(repo, no_go_path, tmp_path / "cache", "--pinned-version")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == pin
    # The CLI must be at least as new as the SDK the program runs with (the engine speaks the SDK's protocol).
    assert _version_tuple(pin) >= _version_tuple(installed_version("pulumi")), (pin, installed_version("pulumi"))


def test_a_go_mod_whose_sdk_differs_from_pkg_is_refused(repo: Path, no_go_path: str, tmp_path: Path) -> None:
    go_mod = repo / "tools/pulumi-cli/go.mod"
    pin = _required(go_mod, "github.com/pulumi/pulumi/pkg/v3")
    sdk = "github.com/pulumi/pulumi/sdk/v3"
    go_mod.write_text(go_mod.read_text().replace(f"{sdk} {pin}", f"{sdk} v3.1.0"))
    result = _run(repo, no_go_path, tmp_path / "cache", "--pinned-version")
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"pkg/v3: '{pin}'" in result.stderr and "sdk/v3: 'v3.1.0'" in result.stderr


def test_without_go_one_clear_message_and_nothing_written(repo: Path, no_go_path: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = _run(repo, no_go_path, cache)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Go is not installed" in lines[0]
    assert "Install Go >= 1.26.6" in lines[0]  # the go line of tools/pulumi-cli/go.mod
    assert "embedded engine" in lines[0]
    assert not cache.exists()


def _fake_pulumi(directory: Path, reported: str, *, language_host: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    _executable(directory / "pulumi", f'#!/bin/sh\n[ "$1" = version ] && echo {reported}\n')
    if language_host:
        _executable(directory / "pulumi-language-python", "#!/bin/sh\n")
    return directory


@pytest.mark.parametrize("reported", ["v3.100.0", "v3.275.9", "v3.276.0-alpha.1", "", "not a version"])
def test_an_older_pulumi_on_path_is_not_used(repo: Path, no_go_path: str, tmp_path: Path, reported: str) -> None:
    fake = _fake_pulumi(tmp_path / "old", reported)
    result = _run(repo, f"{fake}{os.pathsep}{no_go_path}", tmp_path / "cache")
    assert result.returncode == 1  # falls through to building, and there is no Go here
    assert str(fake) not in result.stdout
    assert "not a version >= the pin v3.276.0" in result.stderr


@pytest.mark.parametrize("reported", ["v3.276.0", "v3.276.1", "v3.300.0", "v4.0.0", "3.277.0"])
def test_a_new_enough_pulumi_on_path_is_used(repo: Path, no_go_path: str, tmp_path: Path, reported: str) -> None:
    fake = _fake_pulumi(tmp_path / "new", reported)
    result = _run(repo, f"{fake}{os.pathsep}{no_go_path}", tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(fake)


def test_a_pulumi_on_path_without_the_language_host_is_not_used(repo: Path, no_go_path: str, tmp_path: Path) -> None:
    fake = _fake_pulumi(tmp_path / "bare", "v3.300.0", language_host=False)
    result = _run(repo, f"{fake}{os.pathsep}{no_go_path}", tmp_path / "cache")
    assert result.returncode == 1
    assert "no pulumi-language-python beside it" in result.stderr


def test_builds_once_into_the_cache_and_reuses_it(repo: Path, fake_go: tuple[str, Path], tmp_path: Path) -> None:
    path, log = fake_go
    cache = tmp_path / "cache"
    first = _run(repo, path, cache)
    assert first.returncode == 0, first.stderr
    out = cache / "v3.276.0" / "bin"
    assert first.stdout.strip() == str(out)
    assert sorted(p.name for p in out.iterdir()) == [
        ".lock",
        ".stamp",
        "pulumi",
        "pulumi-language-python",
        "pulumi-language-python-exec",
    ]
    builds = _builds(log)
    assert len(builds) == 2
    ldflag = "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.276.0"
    assert all("-trimpath" in b and ldflag in b for b in builds)
    assert builds[0].endswith("github.com/pulumi/pulumi/pkg/v3/cmd/pulumi")

    again = _run(repo, path, cache)
    assert again.returncode == 0 and again.stdout.strip() == str(out)
    assert len(_builds(log)) == 2  # reused: no second build

    check = _run(repo, path, cache, "--check")
    assert check.returncode == 0 and check.stdout.strip() == str(out)


def test_check_builds_nothing(repo: Path, fake_go: tuple[str, Path], tmp_path: Path) -> None:
    path, log = fake_go
    result = _run(repo, path, tmp_path / "cache", "--check")
    assert result.returncode == 1
    assert result.stdout == ""
    assert not log.exists()


def test_an_edited_wrapper_module_is_rebuilt(repo: Path, fake_go: tuple[str, Path], tmp_path: Path) -> None:
    path, log = fake_go
    cache = tmp_path / "cache"
    assert _run(repo, path, cache).returncode == 0
    go_sum = repo / "tools/pulumi-cli/go.sum"
    go_sum.write_text(go_sum.read_text() + "example.invalid/m v1.0.0 h1:x=\n")
    assert _run(repo, path, cache, "--check").returncode == 1
    assert _run(repo, path, cache).returncode == 0
    assert len(_builds(log)) == 4


def test_an_interrupted_build_is_never_taken_for_a_finished_one(
    repo: Path, fake_go: tuple[str, Path], tmp_path: Path
) -> None:
    path, _ = fake_go
    cache = tmp_path / "cache"
    failed = _run(repo, path, cache, FAKE_GO_FAIL="pulumi-language-python")
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert "building pulumi-language-python failed" in failed.stderr
    out = cache / "v3.276.0" / "bin"
    assert not (out / "pulumi-language-python").exists()
    assert not list(out.glob(".*tmp*")), "the half-written output was left behind"
    assert _run(repo, path, cache, "--check").returncode == 1
    # The next run completes the build instead of reusing the half.
    assert _run(repo, path, cache).returncode == 0
    assert _run(repo, path, cache, "--check").returncode == 0


def test_concurrent_runs_build_once(repo: Path, fake_go: tuple[str, Path], tmp_path: Path) -> None:
    path, log = fake_go
    cache = tmp_path / "cache"
    results: list[subprocess.CompletedProcess[str]] = []

    def run() -> None:
        results.append(_run(repo, path, cache, FAKE_GO_SLEEP="1"))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    assert {r.stdout for r in results} == {f"{cache / 'v3.276.0' / 'bin'}\n"}
    assert len(_builds(log)) == 2


def test_an_interrupted_rebuild_does_not_pass_the_old_binaries_off_as_new(
    repo: Path, fake_go: tuple[str, Path], tmp_path: Path
) -> None:
    path, _ = fake_go
    cache = tmp_path / "cache"
    assert _run(repo, path, cache).returncode == 0
    go_sum = repo / "tools/pulumi-language-python/go.sum"
    go_sum.write_text(go_sum.read_text() + "example.invalid/m v1.0.0 h1:x=\n")
    # The new pulumi is in place, the language host's build fails: the old host is still there.
    assert _run(repo, path, cache, FAKE_GO_FAIL="pulumi-language-python").returncode == 1
    assert (cache / "v3.276.0" / "bin" / "pulumi-language-python").exists()
    assert _run(repo, path, cache, "--check").returncode == 1


def test_ctrl_c_during_a_build_leaves_nothing_behind(repo: Path, fake_go: tuple[str, Path], tmp_path: Path) -> None:
    path, _ = fake_go
    cache = tmp_path / "cache"
    out = cache / "v3.276.0" / "bin"
    env = {**os.environ, "PATH": path, "MLPLATFORM_PULUMI_CACHE": str(cache), "FAKE_GO_SLEEP": "30"}
    process = subprocess.Popen(
        ["bash", str(repo / "scripts" / "pulumi-cli")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not list(out.glob(".pulumi.tmp.*")):
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: to the script and the go it runs
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    assert stdout == b""
    assert not list(out.glob(".*tmp*")), "an interrupted build left its temporary file"
    assert not (out / "pulumi").exists()
    assert _run(repo, path, cache, "--check").returncode == 1
