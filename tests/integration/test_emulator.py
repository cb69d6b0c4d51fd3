"""The local AWS emulator: the real server process on 127.0.0.1, driven through the library, the CLI and boto3.

Every server a test starts is stopped in a fixture's teardown, and the teardown checks by pid that the
process is gone. Tests use free ports (never 4566, which a developer's own emulator may hold) and send
traffic only to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from mlplatform import emulator, paths
from mlplatform.cli.main import app
from mlplatform.errors import EmulatorError

pytestmark = pytest.mark.integration

CONSOLE_SCRIPT = Path(sys.executable).with_name("mlplatform")


# --- helpers and fixtures ----------------------------------------------------------------------------


def _gone(pid: int, wait: float = 5.0) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting for init to reap it counts as gone)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (ProcessLookupError, FileNotFoundError):
            return True
        if state == "Z":
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _recorded_pid(state_dir: Path) -> int | None:
    try:
        pid = json.loads((state_dir / emulator.STATE_FILE).read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None
    return pid if isinstance(pid, int) and pid > 0 else None


def _stop_and_verify(state_dir: Path, started_pids: set[int]) -> None:
    """Teardown: stop the emulator, then make sure no server this test started survived."""
    recorded = _recorded_pid(state_dir)
    if recorded is not None:
        started_pids.add(recorded)
    emulator.stop(state_dir)
    leaked = [pid for pid in started_pids if pid != os.getpid() and not _gone(pid)]
    for pid in leaked:  # do not leave it running for the next test, then fail loudly
        os.kill(pid, signal.SIGKILL)
    assert not leaked, f"emulator processes still running after stop: {leaked}"


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh state directory whose emulator (if any test starts one) is stopped and verified gone."""
    directory = tmp_path / "state"
    pids: set[int] = set()
    yield directory
    _stop_and_verify(directory, pids)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emulator.EmulatorInfo]:
    """One emulator on a free port, shared by the tests that only read from or talk to it."""
    directory = tmp_path_factory.mktemp("emulator") / "state"
    info = emulator.start(directory, port=0)
    yield info
    _stop_and_verify(directory, {info.pid})


def _state_dir_of(info: emulator.EmulatorInfo) -> Path:
    return info.log_file.parent


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # One attempt: a 500 from the emulator must surface at once, not after retries.
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something else is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture
def plain_moto() -> Iterator[str]:
    """moto's own server, without mlplatform's patches: the baseline that shows each gap."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while not emulator._healthy(endpoint, timeout=1.0):
            assert proc.poll() is None, "plain moto server exited during start-up"
            assert time.monotonic() < deadline, "plain moto server did not answer"
            time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert _gone(proc.pid)


# --- lifecycle -----------------------------------------------------------------------------------------


def test_started_emulator_is_running_healthy_and_recorded(running: emulator.EmulatorInfo) -> None:
    state_dir = _state_dir_of(running)
    current = emulator.status(state_dir)
    assert current.running and current.healthy
    assert current.endpoint == f"http://127.0.0.1:{running.port}" == running.endpoint
    assert current.pid == running.pid
    assert current.started_at == running.started_at
    record = json.loads((state_dir / "emulator.json").read_text())
    assert record["pid"] == running.pid
    assert record["port"] == running.port
    assert record["endpoint"] == running.endpoint
    assert record["moto_version"] == "5.2.5"
    assert record["started_at"]
    assert "mlplatform.emulator.server" in Path(f"/proc/{running.pid}/cmdline").read_text()


def test_boto3_creates_and_lists_a_bucket(running: emulator.EmulatorInfo) -> None:
    s3 = _client("s3", running.endpoint)
    s3.create_bucket(Bucket="mlplatform-emulator-test")
    names = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    assert "mlplatform-emulator-test" in names


def test_second_start_returns_the_same_server(running: emulator.EmulatorInfo) -> None:
    state_dir = _state_dir_of(running)
    again = emulator.start(state_dir)
    assert again.pid == running.pid and again.endpoint == running.endpoint
    assert again.started is False
    assert emulator.ensure_running(state_dir).pid == running.pid
    assert emulator.start(state_dir, port=0).pid == running.pid  # "any port" is satisfied by the running one


def test_asking_for_another_port_while_running_is_an_error(running: emulator.EmulatorInfo) -> None:
    with pytest.raises(EmulatorError, match=f"already running on port {running.port}"):
        emulator.start(_state_dir_of(running), port=_free_port())


def test_concurrent_starts_share_one_server(state_dir: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        infos = list(pool.map(lambda _: emulator.start(state_dir, port=0), range(3)))
    assert len({info.pid for info in infos}) == 1
    assert sorted(info.started for info in infos) == [False, False, True]
    assert emulator.status(state_dir).healthy


def test_stop_stops_the_server(state_dir: Path) -> None:
    info = emulator.start(state_dir, port=0)
    assert info.started
    assert emulator.stop(state_dir) is True
    assert _gone(info.pid, wait=0.5)  # stop() returns only once the process has exited
    current = emulator.status(state_dir)
    assert not current.running and current.endpoint is None
    assert not (state_dir / "emulator.json").exists()
    assert emulator.stop(state_dir) is False


def test_stale_record_with_a_dead_pid_is_cleaned_up(state_dir: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    state_dir.mkdir(parents=True)
    port = _free_port()
    stale = {"pid": dead_pid, "port": port, "endpoint": f"http://127.0.0.1:{port}", "started_at": "x"}
    (state_dir / "emulator.json").write_text(json.dumps(stale))

    assert emulator.status(state_dir).running is False
    info = emulator.start(state_dir, port=0)
    assert info.started and info.pid != dead_pid
    assert emulator.status(state_dir).healthy


def test_stale_record_pointing_at_another_program_is_never_signalled(state_dir: Path) -> None:
    # A recycled pid: the record names a live process that is not our server (this test process).
    state_dir.mkdir(parents=True)
    (state_dir / "emulator.json").write_text(json.dumps({"pid": os.getpid(), "port": _free_port()}))
    assert emulator.status(state_dir).running is False
    assert emulator.stop(state_dir) is False  # and we are still alive to assert it
    assert not (state_dir / "emulator.json").exists()


def test_hung_server_is_reported_and_replaced(state_dir: Path) -> None:
    hung = emulator.start(state_dir, port=0)
    os.kill(hung.pid, signal.SIGSTOP)  # alive and ours, but answers nothing
    current = emulator.status(state_dir)
    assert current.running and not current.healthy
    replacement = emulator.start(state_dir, port=0)
    assert replacement.started and replacement.pid != hung.pid
    assert _gone(hung.pid)
    assert emulator.status(state_dir).healthy


def test_unreadable_record_is_stale(state_dir: Path) -> None:
    state_dir.mkdir(parents=True)
    (state_dir / "emulator.json").write_text('{"pid": 0, "port": 4566}')  # pid 0 would mean "my process group"
    assert emulator.status(state_dir).running is False
    info = emulator.start(state_dir, port=0)
    assert info.started


def test_explicit_port_in_use_is_a_clear_error(state_dir: Path, busy_port: int) -> None:
    with pytest.raises(EmulatorError, match=f"port {busy_port} on 127.0.0.1 is already in use"):
        emulator.start(state_dir, port=busy_port)
    assert not (state_dir / "emulator.json").exists()


def test_taken_default_port_falls_back_to_a_free_one(
    state_dir: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator, "DEFAULT_PORT", busy_port)
    info = emulator.start(state_dir)
    assert info.port != busy_port
    assert emulator.status(state_dir).healthy


def test_losing_the_race_for_the_default_port_never_adopts_the_winners_server(
    state_dir: Path, running: emulator.EmulatorInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two commands both saw the default port free; the other one's server bound it first and answers the
    health check. Ours exited with "Address already in use": it must start elsewhere, not report the other
    server (another project's resources) as its own."""
    monkeypatch.setattr(emulator, "DEFAULT_PORT", running.port)
    monkeypatch.setattr(emulator, "_port_free", lambda port: True)
    info = emulator.start(state_dir)
    assert info.port != running.port
    assert info.pid != running.pid
    status = emulator.status(state_dir)
    assert status.running and status.healthy and status.port == info.port


def test_start_failure_shows_the_server_log(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator, "_SERVER_MODULE", "mlplatform.no_such_server_module")
    with pytest.raises(EmulatorError, match=r"No module named mlplatform\.no_such_server_module") as caught:
        emulator.start(state_dir, port=0)
    assert "emulator.log" in str(caught.value)
    assert not (state_dir / "emulator.json").exists()


def test_check_reachable(running: emulator.EmulatorInfo) -> None:
    emulator.check_reachable(running.endpoint)
    closed = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(EmulatorError) as caught:
        emulator.check_reachable(closed)
    assert "mlplatform emulator start" in caught.value.message
    assert closed in caught.value.message


# --- moto gaps: each shown on plain moto, then fixed through mlplatform's server ---------------------------


def test_delete_model_package_group_fails_on_plain_moto(plain_moto: str) -> None:
    sagemaker = _client("sagemaker", plain_moto)
    sagemaker.create_model_package_group(ModelPackageGroupName="registry")
    with pytest.raises(ClientError) as caught:
        sagemaker.delete_model_package_group(ModelPackageGroupName="registry")
    # If this starts passing, moto implemented the operation: drop the patch (emulator/patches/sagemaker.py).
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_delete_model_package_group_works_through_the_emulator(running: emulator.EmulatorInfo) -> None:
    sagemaker = _client("sagemaker", running.endpoint)
    sagemaker.create_model_package_group(ModelPackageGroupName="registry", Tags=[{"Key": "k", "Value": "v"}])
    response = sagemaker.delete_model_package_group(ModelPackageGroupName="registry")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert "registry" not in [group["ModelPackageGroupName"] for group in groups]

    arn = sagemaker.create_model_package_group(ModelPackageGroupName="by-arn")["ModelPackageGroupArn"]
    sagemaker.delete_model_package_group(ModelPackageGroupName=arn)

    # Deleting it again: the "does not exist" ValidationException that providers treat as "already gone".
    with pytest.raises(ClientError) as missing:
        sagemaker.delete_model_package_group(ModelPackageGroupName="registry")
    assert missing.value.response["Error"]["Code"] == "ValidationException"
    assert "does not exist" in missing.value.response["Error"]["Message"]


def test_delete_model_package_group_refuses_a_group_with_versions(running: emulator.EmulatorInfo) -> None:
    sagemaker = _client("sagemaker", running.endpoint)
    sagemaker.create_model_package_group(ModelPackageGroupName="has-versions")
    sagemaker.create_model_package(
        ModelPackageGroupName="has-versions",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    with pytest.raises(ClientError) as caught:
        sagemaker.delete_model_package_group(ModelPackageGroupName="has-versions")
    assert caught.value.response["Error"]["Code"] == "ConflictException"
    sagemaker.describe_model_package_group(ModelPackageGroupName="has-versions")  # still there


# --- CLI -------------------------------------------------------------------------------------------------


def test_cli_status_json_when_running(running: emulator.EmulatorInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    state_dir = _state_dir_of(running)
    result = CliRunner().invoke(app, ["emulator", "status", "--json", "--state-dir", str(state_dir)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["running"] is True
    assert document["endpoint"] == f"http://127.0.0.1:{running.port}"
    assert document["healthy"] is True and document["pid"] == running.pid

    # The same emulator found through MLPLATFORM_STATE_DIR instead of the flag.
    monkeypatch.setenv(paths.STATE_DIR_ENV, str(state_dir))
    via_env = CliRunner().invoke(app, ["emulator", "status", "--json"])
    assert json.loads(via_env.stdout)["pid"] == running.pid


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_cli_status_when_not_running_exits_1(tmp_path: Path, as_json: bool) -> None:
    args = ["emulator", "status", "--state-dir", str(tmp_path / "none"), *(["--json"] if as_json else [])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output  # a script can test it; the output still says why
    if as_json:
        document = json.loads(result.stdout)
        assert document["running"] is False and document["endpoint"] is None
    else:
        assert result.stdout.startswith("emulator not running; start it with `mlplatform emulator start`")
    assert not (tmp_path / "none").exists()  # status changes nothing


def test_console_script_status_json(running: emulator.EmulatorInfo, tmp_path: Path) -> None:
    assert CONSOLE_SCRIPT.exists(), CONSOLE_SCRIPT
    env = {**os.environ, paths.STATE_DIR_ENV: str(_state_dir_of(running))}
    result = subprocess.run(
        [str(CONSOLE_SCRIPT), "emulator", "status", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["running"] is True
    assert document["endpoint"] == f"http://127.0.0.1:{running.port}"


def test_cli_start_and_stop(state_dir: Path) -> None:
    runner = CliRunner()
    started = runner.invoke(app, ["emulator", "start", "--port", "0", "--state-dir", str(state_dir)])
    assert started.exit_code == 0, started.output
    assert started.stdout.startswith("emulator started at http://127.0.0.1:")
    pid = _recorded_pid(state_dir)
    assert pid is not None

    again = runner.invoke(app, ["emulator", "start", "--json", "--state-dir", str(state_dir)])
    assert json.loads(again.stdout)["pid"] == pid

    stopped = runner.invoke(app, ["emulator", "stop", "--state-dir", str(state_dir)])
    assert stopped.exit_code == 0 and stopped.stdout.strip() == "emulator stopped"
    assert _gone(pid)
    assert runner.invoke(app, ["emulator", "stop", "--state-dir", str(state_dir)]).stdout.strip() == (
        "emulator was not running"
    )


def test_cli_start_on_a_busy_port_is_a_user_error(state_dir: Path, busy_port: int) -> None:
    result = CliRunner().invoke(app, ["emulator", "start", "--port", str(busy_port), "--state-dir", str(state_dir)])
    assert result.exit_code == 1
    assert f"error: local AWS emulator: port {busy_port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.output


# --- state directory resolution and import cost ----------------------------------------------------------


def test_state_dir_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(paths.STATE_DIR_ENV, raising=False)
    assert paths.state_dir(None) == tmp_path / ".mlplatform"
    monkeypatch.setenv(paths.STATE_DIR_ENV, "")
    assert paths.state_dir(None) == tmp_path / ".mlplatform"
    monkeypatch.setenv(paths.STATE_DIR_ENV, "from-env")
    assert paths.state_dir(None) == tmp_path / "from-env"
    assert paths.state_dir(Path("flag")) == tmp_path / "flag"


def test_emulator_module_does_not_import_moto_or_boto3() -> None:
    code = (
        "import sys, mlplatform.emulator, mlplatform.paths; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'moto', 'boto3', 'botocore', 'urllib3'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
