"""The real Pulumi CLI from scripts/pulumi-cli: the pinned version, and a Python project run with `pulumi up`.

The script builds the binaries on first use (minutes) and reuses its cache afterwards (the test command
fills the cache before the tests run). The project here needs no provider: its stack has only outputs, so
the run goes through the whole path a plain `pulumi up` takes (the CLI, the language host, the exec shim,
the Python SDK in this environment, a file backend) without anything from outside this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.pulumi_cli]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cli_dir() -> Path:
    result = subprocess.run(
        [str(ROOT / "scripts" / "pulumi-cli")], capture_output=True, text=True, timeout=3600, check=False
    )
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


def _pin() -> str:
    result = subprocess.run(
        [str(ROOT / "scripts" / "pulumi-cli"), "--pinned-version"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_the_built_cli_reports_the_pin(cli_dir: Path) -> None:
    result = subprocess.run(
        [str(cli_dir / "pulumi"), "version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
    )
    assert result.stdout.strip() == _pin()


Pulumi = Callable[..., "subprocess.CompletedProcess[str]"]


def _pulumi_in(project: Path, cli_dir: Path, tmp_path: Path) -> Pulumi:
    """Run the built `pulumi` in `project` with a file backend and a PULUMI_HOME of the test's own."""
    env = {
        **os.environ,
        # This test's Python (with the pulumi SDK) is the one on PATH for the pip toolchain.
        "PATH": f"{cli_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "test-only",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
    env.pop("VIRTUAL_ENV", None)
    (tmp_path / "state").mkdir(exist_ok=True)

    def pulumi(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, f"pulumi {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    return pulumi


def test_pulumi_up_runs_a_python_project(cli_dir: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: smoke\nruntime:\n  name: python\n  options:\n    toolchain: pip\n")
    (project / "__main__.py").write_text(
        "import sys\n"
        "import pulumi\n"
        "config = pulumi.Config()\n"
        "pulumi.export('greeting', 'hello ' + config.require('who'))\n"
        "pulumi.export('token', config.require_secret('token'))\n"
        "pulumi.export('dry_run', pulumi.runtime.is_dry_run())\n"
        "pulumi.export('python', sys.executable)\n"
    )
    pulumi = _pulumi_in(project, cli_dir, tmp_path)
    pulumi("stack", "init", "dev")
    pulumi("config", "set", "who", "world")
    pulumi("config", "set", "--secret", "token", "s3cr3t")
    preview = pulumi("preview")
    assert "hello world" in preview.stdout
    up = pulumi("up", "--yes")
    assert "s3cr3t" not in up.stdout
    outputs = json.loads(pulumi("stack", "output", "--json", "--show-secrets").stdout)
    assert outputs["greeting"] == "hello world"
    assert outputs["token"] == "s3cr3t"
    assert outputs["dry_run"] is False
    assert Path(outputs["python"]).parent == Path(sys.executable).parent


PLUGIN_MAIN = """\
import sys

import pulumi
from pulumi.provider import ConstructResult, Provider, main


class Greeter(pulumi.ComponentResource):
    def __init__(self, name, inputs, opts):
        super().__init__("smoke:index:Greeter", name, {}, opts)
        self.message = pulumi.Output.from_input(inputs["who"]).apply(lambda who: f"hello {who} from a Python plugin")
        self.register_outputs({"message": self.message})


class SmokeProvider(Provider):
    def construct(self, name, resource_type, inputs, options=None):
        greeter = Greeter(name, inputs, options)
        return ConstructResult(urn=greeter.urn, state={"message": greeter.message})


if __name__ == "__main__":
    main(SmokeProvider("0.0.1"), sys.argv[1:])
"""

PROGRAM_MAIN = """\
import pulumi


class Greeter(pulumi.ComponentResource):
    message: pulumi.Output[str]

    def __init__(self, name, who):
        super().__init__("smoke:index:Greeter", name, {"who": who, "message": None}, None, remote=True)


pulumi.export("message", Greeter("g", "world").message)
"""


def test_pulumi_up_loads_a_provider_plugin_written_in_python(cli_dir: Path, tmp_path: Path) -> None:
    """A plugin directory with `runtime: python` and no executable: the CLI can start it only through the
    language host's RunPlugin. The stack has no config at all (the host must still hand the shim valid JSON)."""
    project = tmp_path / "project"
    (project / "plugin").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text(
        "name: smoke\nruntime: python\nplugins:\n  providers:\n    - name: smoke\n      path: ./plugin\n"
    )
    (project / "plugin" / "PulumiPlugin.yaml").write_text("runtime: python\n")
    (project / "plugin" / "__main__.py").write_text(PLUGIN_MAIN)
    (project / "__main__.py").write_text(PROGRAM_MAIN)
    pulumi = _pulumi_in(project, cli_dir, tmp_path)
    pulumi("stack", "init", "dev")
    pulumi("up", "--yes")
    outputs = json.loads(pulumi("stack", "output", "--json").stdout)
    assert outputs == {"message": "hello world from a Python plugin"}
    state = json.loads(pulumi("stack", "export").stdout)
    types = [resource["type"] for resource in state["deployment"]["resources"]]
    assert "smoke:index:Greeter" in types
