"""Start, stop and inspect the local AWS emulator that the ``local`` target deploys into.

The emulator is moto's HTTP server, run as a background process on 127.0.0.1 through
:mod:`mlplatform.emulator.server`, which applies :mod:`mlplatform.emulator.patches` (the fixes for moto's
known gaps) inside that process. This module is the lifecycle: start, stop, status. One emulator per
state directory; its record lives in ``<state_dir>/emulator.json`` (pid, port, endpoint, start time, moto
version) and its output in ``<state_dir>/emulator.log``. Starting and stopping hold ``emulator.lock``
(``flock``) so that two commands racing to start the emulator end up sharing one.

This module is imported by the CLI for every command, so it imports neither moto nor boto3 (nor
``urllib.request``): talking to the emulator is plain HTTP, done lazily.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import filelock

from mlplatform.errors import EmulatorError
from mlplatform.fileio import atomic_write

HOST = "127.0.0.1"
DEFAULT_PORT = 4566  # the port LocalStack made the convention for local AWS endpoints
STATE_FILE = "emulator.json"
LOG_FILE = "emulator.log"
LOCK_FILE = "emulator.lock"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
RECORD_FORMAT_VERSION = 1

START_COMMAND = "mlplatform emulator start"
_SERVER_MODULE = "mlplatform.emulator.server"
# What the server ran as before it moved into this package: a server an older release started is still ours
# (still found, reused and stopped) instead of being left running on its port.
_LEGACY_SERVER_MODULES = ("mlplatform.emulator_server",)
# Answers 2xx with a small JSON object on every moto release we know; the dashboard at /moto-api/ needs
# Flask templates and is slower. A JSON object here also tells moto apart from whatever else holds a port.
_HEALTH_PATH = "/moto-api/config"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class EmulatorInfo:
    """A running, healthy emulator.

    Attributes:
        pid: the server's process id.
        port: the TCP port on 127.0.0.1.
        endpoint: ``http://127.0.0.1:<port>``, for boto3's ``endpoint_url`` and the AWS provider.
        started_at: when the server was started, ISO 8601 in UTC.
        moto_version: the moto release serving requests.
        log_file: where the server's output goes.
        started: True when this call started the server, False when it was already running.
    """

    pid: int
    port: int
    endpoint: str
    started_at: str
    moto_version: str
    log_file: Path
    started: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON form (``log_file`` as a string)."""
        return {
            "pid": self.pid,
            "port": self.port,
            "endpoint": self.endpoint,
            "started_at": self.started_at,
            "moto_version": self.moto_version,
            "log_file": str(self.log_file),
            "started": self.started,
        }


@dataclass(frozen=True)
class EmulatorStatus:
    """What ``emulator status`` reports.

    Attributes:
        running: the recorded server process exists and is ours (not a recycled pid).
        healthy: it answers HTTP on its endpoint.
        endpoint: ``http://127.0.0.1:<port>`` when running, else ``None``.
        pid, port, started_at, moto_version: from the record when running, else ``None``.
        log_file: where the server's output goes (also useful after it died).
    """

    running: bool
    healthy: bool
    endpoint: str | None
    pid: int | None
    port: int | None
    started_at: str | None
    moto_version: str | None
    log_file: Path

    def as_dict(self) -> dict[str, Any]:
        """JSON form; the keys are a contract (``running`` and ``endpoint`` at least): add, never rename."""
        return {
            "running": self.running,
            "healthy": self.healthy,
            "endpoint": self.endpoint,
            "pid": self.pid,
            "port": self.port,
            "started_at": self.started_at,
            "moto_version": self.moto_version,
            "log_file": str(self.log_file),
        }


def endpoint_for(port: int) -> str:
    """The emulator's endpoint URL for a port."""
    return f"http://{HOST}:{port}"


def start(state_dir: Path, port: int | None = None, *, timeout: float = START_TIMEOUT) -> EmulatorInfo:
    """Start the emulator in the background, or return the one already running for this state directory.

    Args:
        state_dir: where the record, log and lock live (created if missing).
        port: ``None`` for 4566, or a free port when 4566 is taken; ``0`` for any free port; any other
            number for exactly that port (an error when it is taken). Only used when a server is started:
            asking for a specific port while the emulator runs on another one is an error.
        timeout: seconds to wait for the new server to answer its health check.

    Returns:
        The running emulator; ``started`` says whether this call started it.

    Raises:
        EmulatorError: the port is taken or invalid, moto is missing, or the server did not come up
            (the message ends with the tail of its log).
    """
    if port is not None and not 0 <= port <= 65535:
        raise EmulatorError(f"port {port} is not a TCP port; use 1-65535, or 0 for any free port.")
    with _locked(state_dir):
        record = _read_record(state_dir)
        if record is not None and _is_ours(record["pid"], record["port"]):
            endpoint = endpoint_for(record["port"])
            # A server that is ours but slow to answer (busy, or still starting after a crash of the
            # command that launched it) gets a few seconds before it is declared hung and replaced.
            if _wait_healthy(endpoint, record["pid"], record["port"], deadline=time.monotonic() + 3.0):
                if port not in (None, 0) and port != record["port"]:
                    raise EmulatorError(
                        f"the emulator for {state_dir} is already running on port {record['port']}, not {port}.",
                        hint=f"Use {endpoint}, or run `mlplatform emulator stop` first to change the port.",
                    )
                return _info(record, state_dir, started=False)
            _terminate(record["pid"], record["port"], STOP_TIMEOUT)
        if record is not None or (state_dir / STATE_FILE).exists():
            _remove_record(state_dir)  # stale: dead pid, someone else's process, or a hung server
        return _launch(state_dir, port, timeout)


def stop(state_dir: Path, *, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the emulator recorded in the state directory and remove its record.

    Sends SIGTERM, then SIGKILL if the server has not exited after ``timeout`` seconds. A stale record
    (dead pid, or a pid now used by another program) is removed without signalling anything.

    Args:
        state_dir: the state directory the emulator was started with.
        timeout: seconds to wait after SIGTERM before SIGKILL.

    Returns:
        True when a running server was stopped, False when there was none.

    Raises:
        EmulatorError: the process survived SIGKILL (for example, it belongs to another user).
    """
    if not (state_dir / STATE_FILE).exists():
        return False  # nothing to do, and no reason to create the state directory for a lock
    with _locked(state_dir):
        record = _read_record(state_dir)
        stopped = False
        if record is not None and _is_ours(record["pid"], record["port"]):
            _terminate(record["pid"], record["port"], timeout)
            stopped = True
        _remove_record(state_dir)
        return stopped


def status(state_dir: Path) -> EmulatorStatus:
    """Report whether the emulator for this state directory runs and answers. Changes nothing.

    Args:
        state_dir: the state directory the emulator was started with.

    Returns:
        The status; ``running`` is False (and ``endpoint`` None) for a missing or stale record.
    """
    log_file = state_dir / LOG_FILE
    record = _read_record(state_dir)
    if record is None or not _is_ours(record["pid"], record["port"]):
        return EmulatorStatus(False, False, None, None, None, None, None, log_file)
    endpoint = endpoint_for(record["port"])
    return EmulatorStatus(
        running=True,
        healthy=_healthy(endpoint, timeout=2.0),
        endpoint=endpoint,
        pid=record["pid"],
        port=record["port"],
        started_at=record["started_at"],
        moto_version=record["moto_version"],
        log_file=log_file,
    )


def ensure_running(state_dir: Path) -> EmulatorInfo:
    """Return the running emulator, starting it first if needed (what ``preview``/``up`` for ``local`` use).

    The common case (already running and healthy) takes no lock and starts no process.

    Args:
        state_dir: the state directory of the environment being deployed.

    Returns:
        The running emulator.

    Raises:
        EmulatorError: it was not running and could not be started.
    """
    record = _read_record(state_dir)
    if (
        record is not None
        and _is_ours(record["pid"], record["port"])
        and _healthy(endpoint_for(record["port"]), timeout=2.0)
    ):
        return _info(record, state_dir, started=False)
    return start(state_dir)


def check_reachable(endpoint: str, *, timeout: float = 2.0) -> None:
    """Fail with a clear message when nothing answers HTTP at an endpoint.

    Any HTTP answer counts, even an error status: the question is whether a server is there, not
    whether it is moto (an environment may point at another emulator).

    Args:
        endpoint: a base URL such as ``http://127.0.0.1:4566``.
        timeout: seconds to wait for a connection and an answer.

    Raises:
        EmulatorError: connection refused, timed out, or the server does not speak HTTP; the message says
            to run ``mlplatform emulator start``.
    """
    import http.client
    import urllib.error

    try:
        _http_get(endpoint.rstrip("/") + "/", timeout)
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise EmulatorError(
            f"nothing answers at {endpoint} ({reason}). Start the local AWS emulator with "
            f"`{START_COMMAND}` (with the same --state-dir, if you use one), or check the endpoint "
            "configured for this environment.",
        ) from None


# --- internals -------------------------------------------------------------------------------------


def _info(record: dict[str, Any], state_dir: Path, *, started: bool) -> EmulatorInfo:
    return EmulatorInfo(
        pid=record["pid"],
        port=record["port"],
        endpoint=endpoint_for(record["port"]),
        started_at=record["started_at"],
        moto_version=record["moto_version"],
        log_file=state_dir / LOG_FILE,
        started=started,
    )


def _launch(state_dir: Path, port: int | None, timeout: float) -> EmulatorInfo:
    """Start a server (caller holds the lock); retry on another port if an automatic choice was taken."""
    try:
        moto_version = importlib.metadata.version("moto")
    except importlib.metadata.PackageNotFoundError:
        raise EmulatorError(
            "moto is not installed in this Python environment.",
            hint="Install it with: pip install 'moto[server]==5.2.5'",
        ) from None
    if port not in (None, 0) and not _port_free(port):
        raise EmulatorError(
            f"port {port} on {HOST} is already in use.",
            hint="Choose another --port, or leave --port out to use 4566 or a free port.",
        )
    # Between probing a port and the server binding it, another program can take it: only an automatic
    # choice may be retried elsewhere.
    attempts = 1 if port not in (None, 0) else 3
    for attempt in range(attempts):
        if port not in (None, 0):
            chosen = port
        elif port is None and attempt == 0 and _port_free(DEFAULT_PORT):
            chosen = DEFAULT_PORT
        else:
            chosen = _free_port()
        try:
            return _launch_on(state_dir, chosen, moto_version, timeout)
        except _PortTakenError as exc:
            if attempt == attempts - 1:
                raise EmulatorError(str(exc), hint=f"Full log: {state_dir / LOG_FILE}") from None
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


class _PortTakenError(Exception):
    """The server exited because its port was taken after it was probed."""


def _launch_on(state_dir: Path, port: int, moto_version: str, timeout: float) -> EmulatorInfo:
    log_path = state_dir / LOG_FILE
    endpoint = endpoint_for(port)
    command = [sys.executable, "-m", _SERVER_MODULE, "--host", HOST, "--port", str(port), "--detach"]
    # The launcher forks the real server and exits at once, printing its pid (see server._detach):
    # the server is then nobody's child, so it outlives this command and never lingers as our zombie.
    with log_path.open("wb") as log:
        launcher = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        try:
            out, _ = launcher.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.communicate()
            raise EmulatorError(
                f"the emulator launcher did not return within {timeout:.0f} s.{_log_tail_text(log_path)}",
                hint=f"Full log: {log_path}",
            ) from None
    text = out.decode("ascii", "replace").strip()
    if launcher.returncode != 0 or not text.isdigit() or int(text) <= 0:
        raise EmulatorError(
            f"could not launch the emulator (`{' '.join(command)}` exited with {launcher.returncode})."
            f"{_log_tail_text(log_path)}",
            hint=f"Full log: {log_path}",
        )
    pid = int(text)
    record = {
        "format_version": RECORD_FORMAT_VERSION,
        "pid": pid,
        "host": HOST,
        "port": port,
        "endpoint": endpoint,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "moto_version": moto_version,
    }
    # Recorded before the health check, so that if this command is killed while waiting, the next one finds
    # (and reuses or cleans up) the server instead of leaking it.
    _write_record(state_dir, record)
    if _wait_healthy(endpoint, pid, port, deadline=time.monotonic() + timeout):
        return _info(record, state_dir, started=True)
    alive = _is_ours(pid, port)
    if alive:
        _terminate(pid, port, STOP_TIMEOUT)
    _remove_record(state_dir)
    tail = _log_tail(log_path)
    if not alive and "Address already in use" in tail:
        raise _PortTakenError(f"port {port} on {HOST} was taken while the emulator was starting.")
    what = f"did not answer at {endpoint} within {timeout:.0f} s" if alive else "exited during start-up"
    raise EmulatorError(
        f"the emulator (pid {pid}) {what}.{_log_tail_text(log_path)}",
        hint=f"Full log: {log_path}",
    )


def _wait_healthy(endpoint: str, pid: int, port: int, *, deadline: float) -> bool:
    """Poll the health check until it passes, the process is gone, or the deadline passes."""
    while True:
        # Healthy is not enough: when two commands (two projects, two test workers) start an emulator on
        # 4566 at once, the loser's health check is answered by the winner's server while the loser exits
        # with "Address already in use"; the loser would then deploy into the other project's emulator.
        if _healthy(endpoint, timeout=1.0) and _listens(pid, port):
            return True
        if not _is_ours(pid, port) or time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _healthy(endpoint: str, *, timeout: float) -> bool:
    """True when moto's API answers at the endpoint with a JSON object."""
    import http.client
    import urllib.error

    try:
        status_code, body = _http_get(endpoint + _HEALTH_PATH, timeout)
        return 200 <= status_code < 300 and isinstance(json.loads(body), dict)
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError):
        return False


def _http_get(url: str, timeout: float) -> tuple[int, bytes]:
    import urllib.request

    # No proxies: a corporate HTTP_PROXY must not intercept traffic meant for 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return int(response.status), bytes(response.read())


def _terminate(pid: int, port: int, timeout: float) -> None:
    """SIGTERM, wait, SIGKILL, wait; the caller has checked that ``pid`` is our server."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
            if sig == signal.SIGTERM:
                # A suspended server (Ctrl-Z, SIGSTOP) only acts on SIGTERM once it runs again.
                os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            return
        except PermissionError:
            raise EmulatorError(f"not allowed to stop the emulator (pid {pid}); it belongs to another user.") from None
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _is_ours(pid, port):
                return
            time.sleep(0.05)
    raise EmulatorError(f"the emulator (pid {pid}) did not exit after SIGKILL.")


def _is_ours(pid: int, port: int) -> bool:
    """True when ``pid`` is alive (not a zombie) and is our server for ``port``, not a recycled pid."""
    argv = _process_argv(pid)
    if argv is None or not {_SERVER_MODULE, *_LEGACY_SERVER_MODULES} & set(argv):
        return False
    try:
        return argv[argv.index("--port") + 1] == str(port)
    except (ValueError, IndexError):
        return False


def _listens(pid: int, port: int) -> bool:
    """True when process ``pid`` holds the listening TCP socket on ``port`` (always True without ``/proc``).

    Linux: the inodes of the process's sockets (``/proc/<pid>/fd``) against the listening sockets of its
    network namespace (``/proc/<pid>/net/tcp`` and ``tcp6``, state ``0A``). Elsewhere the check is skipped and
    a health answer is trusted, as before.
    """
    proc = Path("/proc") / str(pid)
    if not Path("/proc/self/net/tcp").exists():
        return True
    try:
        inodes = {
            link[len("socket:[") : -1]
            for link in (os.readlink(fd) for fd in (proc / "fd").iterdir())
            if link.startswith("socket:[")
        }
        for table in ("tcp", "tcp6"):
            with contextlib.suppress(FileNotFoundError):
                for line in (proc / "net" / table).read_text().splitlines()[1:]:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    if fields[3] == "0A" and local_port == port and fields[9] in inodes:
                        return True
    except OSError:
        return False
    return False


def _process_argv(pid: int) -> list[str] | None:
    """The command line of a live process, or None when it does not exist or is a zombie."""
    proc = Path("/proc") / str(pid)
    if Path("/proc/self").exists():
        try:
            stat = (proc / "stat").read_text()
            # The state letter follows the command name, which is in parentheses and may contain spaces.
            if stat[stat.rindex(")") + 2 :].startswith("Z"):
                return None
            return (proc / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")[:-1]
        except (OSError, ValueError):
            return None
    # No /proc (macOS): ask ps. Our arguments contain no spaces, so splitting its output is enough.
    result = subprocess.run(
        ["ps", "-ww", "-o", "stat=", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    fields = result.stdout.split()
    if result.returncode != 0 or not fields or fields[0].startswith("Z"):
        return None
    return fields[1:]


def _port_free(port: int) -> bool:
    """True when a server could bind ``HOST:port`` now (with SO_REUSEADDR, as werkzeug does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _read_record(state_dir: Path) -> dict[str, Any] | None:
    """The emulator record, or None when missing or unreadable (an unreadable record is stale)."""
    try:
        record = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    pid, port = record.get("pid"), record.get("port")
    # A pid of 0 or less would signal a whole process group: never trust one from a file.
    if not (isinstance(pid, int) and pid > 0 and isinstance(port, int) and 0 < port <= 65535):
        return None
    record.setdefault("started_at", None)
    record.setdefault("moto_version", None)
    return record


def _write_record(state_dir: Path, record: dict[str, Any]) -> None:
    """Write the record atomically: a reader sees the old file or the new one, never half of one."""
    atomic_write(state_dir / STATE_FILE, json.dumps(record, indent=2) + "\n", mode=0o644)


def _remove_record(state_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (state_dir / STATE_FILE).unlink()


@contextlib.contextmanager
def _locked(state_dir: Path, timeout: float = START_TIMEOUT + STOP_TIMEOUT + 10.0) -> Iterator[None]:
    """Hold ``emulator.lock``; bounded wait, so a stuck holder gives an error, not a hang.

    The lock is an OS file lock (flock), released by the kernel when the holder exits, however it exits, so
    it never goes stale.
    """
    path = state_dir / LOCK_FILE
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmulatorError(
            f"cannot use {state_dir} as the state directory: {exc.strerror or exc}.",
            hint="Choose another one with --state-dir or MLPLATFORM_STATE_DIR.",
        ) from None
    lock = filelock.FileLock(path, timeout=timeout, mode=0o644)
    try:
        lock.acquire(poll_interval=0.05)
    except filelock.Timeout:
        raise EmulatorError(
            f"another mlplatform command has been starting or stopping the emulator for more than "
            f"{timeout:.0f} s (it holds {path})."
        ) from None
    except OSError as exc:
        raise EmulatorError(
            f"cannot use {state_dir} as the state directory: {exc.strerror or exc}.",
            hint="Choose another one with --state-dir or MLPLATFORM_STATE_DIR.",
        ) from None
    try:
        yield
    finally:
        lock.release()


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(_ANSI.sub("", text).strip().splitlines()[-lines:])


def _log_tail_text(path: Path) -> str:
    tail = _log_tail(path)
    return f"\nLast lines of {path}:\n{tail}" if tail else f"\n{path} is empty."
