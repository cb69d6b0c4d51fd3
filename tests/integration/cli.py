"""Run the real ``mlplatform`` CLI as a subprocess, with its own working and state directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MLPLATFORM = str(Path(sys.executable).parent / "mlplatform")


@dataclass
class Cli:
    """The CLI in ``cwd`` with state (and the emulator's records) under ``state_dir``."""

    cwd: Path
    state_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    """More environment for every run (e.g. an isolated Pulumi home, ``tests.integration.pulumi_env.isolated``)."""

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, **self.extra_env, "MLPLATFORM_STATE_DIR": str(self.state_dir), "NO_COLOR": "1"}

    def run(self, *args: str, code: int | None = 0, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Run ``mlplatform *args``; assert its exit code unless ``code`` is None."""
        result = subprocess.run(
            [MLPLATFORM, *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if code is not None:
            assert result.returncode == code, (
                f"mlplatform {' '.join(args)} exited {result.returncode}, expected {code}\n"
                f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
            )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def json(self, *args: str, code: int | None = 0) -> dict[str, Any]:
        result = self.run(*args, "--json", code=code)
        return dict(json.loads(result.stdout))

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [MLPLATFORM, *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    def endpoint(self) -> str:
        """The emulator's endpoint, starting it first when no command has yet (a test run on its own)."""
        started = self.json("emulator", "start")
        assert started["running"] and started["healthy"], started
        return str(started["endpoint"])

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint(),
            region_name="us-east-1",
            aws_access_key_id="check",
            aws_secret_access_key="check",
        )

    def stop_emulator(self) -> None:
        self.run("emulator", "stop", code=None)
