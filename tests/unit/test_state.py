"""StateStore: the lock, the journal, compaction, secrets and crash safety of one environment's state.

Everything runs against real files in a temporary directory; crashes are simulated by making the
``os`` call at the crash point raise (the process then carries on as the *next* run would), and lock
holders that are alive or dead are real child processes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlplatform.engine.embedded.state import (
    PLAINTEXT_SECRETS_ENV,
    LoadedState,
    ResourceState,
    StateStore,
)
from mlplatform.engine.embedded.state import lock as lock_module
from mlplatform.engine.values import secret
from mlplatform.errors import StateCorruptError, StateLockedError

ENV = "dev"
URN_A = "urn:pulumi:dev::mlplatform::aws:s3/bucket:Bucket::a"
URN_B = "urn:pulumi:dev::mlplatform::aws:s3/bucket:Bucket::b"
URN_C = "urn:pulumi:dev::mlplatform::aws:s3/bucket:Bucket::c"
BUCKET = "aws:s3/bucket:Bucket"

# Secret values distinctive enough that finding them in a file can only mean they leaked.
SECRET_INPUT = "pa55-INPUT-4f1d9c"
SECRET_OUTPUT = "tok-OUTPUT-8e2b7a"
SECRET_STACK = "stack-OUTPUT-c0ffee"
SECRET_DETAIL = "detail-SECRET-77aa"


def resource(urn: str, **extra: Any) -> ResourceState:
    fields: dict[str, Any] = {"id": urn.rsplit("::", 1)[-1], "inputs": {"bucket": urn[-1]}, **extra}
    return ResourceState(urn=urn, type=BUCKET, **fields)


def create(store: StateStore, res: ResourceState) -> None:
    store.succeed(store.begin("create", res.urn, res.type, {"physical_name": res.id}), res)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path, ENV)


def fresh(store: StateStore) -> StateStore:
    """A second store object on the same directory: what the next run (or another process) sees."""
    return StateStore(store.state_dir, ENV)


def urns(loaded: LoadedState) -> list[str]:
    return [r.urn for r in loaded.snapshot.resources]


def all_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file())


# ------------------------------------------------------------------------------------------------- lock

_HOLD_LOCK = """
import os, sys
from pathlib import Path
from mlplatform.engine.embedded.state import StateStore
store = StateStore(Path(sys.argv[1]), sys.argv[2])
held = store.lock("up")
held.__enter__()
print("locked", flush=True)
if sys.argv[3] == "die":
    os._exit(0)  # killed while holding the lock: lock.json stays behind
sys.stdin.readline()
held.__exit__(None, None, None)
"""


def _holder(state_dir: Path, mode: str) -> subprocess.Popen[str]:
    """A child process that takes the lock of ``ENV``; ``mode`` "hold" waits for stdin, "die" exits holding it."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(state_dir), ENV, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    return process


@pytest.fixture
def live_holder(store: StateStore) -> Iterator[subprocess.Popen[str]]:
    process = _holder(store.state_dir, "hold")
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_second_lock_by_a_live_process_fails_naming_the_holder(
    store: StateStore, live_holder: subprocess.Popen[str]
) -> None:
    recorded = json.loads(store.lock_path.read_text())

    with pytest.raises(StateLockedError) as caught, store.lock("preview"):
        pass

    message = str(caught.value)
    assert f"pid {live_holder.pid}" in message
    assert socket.gethostname() in message
    assert recorded["user"] in message
    assert recorded["started_at"] in message
    assert "'up'" in message
    assert f"mlplatform unlock --env {ENV}" in message
    assert caught.value.holder is not None and caught.value.holder["pid"] == live_holder.pid
    # The refused attempt left the holder's lock alone.
    assert json.loads(store.lock_path.read_text()) == recorded


def test_lock_is_free_again_once_the_holder_releases_it(store: StateStore, live_holder: subprocess.Popen[str]) -> None:
    assert live_holder.stdin is not None
    live_holder.stdin.write("\n")
    live_holder.stdin.flush()
    assert live_holder.wait(timeout=30) == 0
    assert not store.lock_path.exists()

    with store.lock("up") as info:
        assert info.pid == os.getpid()
    assert not store.lock_path.exists()
    assert store.notes == []  # a clean handover is not a takeover


def test_lock_left_by_a_dead_process_on_this_host_is_taken_over_with_a_note(store: StateStore) -> None:
    dead = _holder(store.state_dir, "die")
    assert dead.wait(timeout=30) == 0  # exited and reaped: its pid is gone
    assert json.loads(store.lock_path.read_text())["pid"] == dead.pid

    with store.lock("up") as info:
        assert json.loads(store.lock_path.read_text())["lock_id"] == info.lock_id

    assert len(store.notes) == 1
    assert f"pid {dead.pid}" in store.notes[0] and "no longer running" in store.notes[0]


def test_only_one_of_several_runs_takes_over_a_stale_lock(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard (a filelock) makes "read the holder, judge it stale, remove it, link ours" one step: without
    # it a second run could remove the lock the first one has just taken and both would hold the environment.
    dead = _holder(store.state_dir, "die")
    assert dead.wait(timeout=30) == 0
    real_alive = lock_module._holder_alive

    def slow_alive(holder: Any) -> bool:
        time.sleep(0.05)  # widen the window between judging the lock stale and replacing it
        return real_alive(holder)

    monkeypatch.setattr(lock_module, "_holder_alive", slow_alive)
    runs = [fresh(store) for _ in range(4)]
    start = threading.Barrier(len(runs))
    won: list[StateStore] = []
    refused: list[StateLockedError] = []
    holds: list[Any] = []

    def take(run: StateStore) -> None:
        start.wait()
        held = run.lock("up")  # kept referenced: a collected generator would release the lock
        try:
            held.__enter__()
            won.append(run)
            holds.append(held)
        except StateLockedError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=take, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert (len(won), len(refused)) == (1, len(runs) - 1)
    assert json.loads(store.lock_path.read_text())["lock_id"] == won[0]._lock_info.lock_id  # type: ignore[union-attr]
    for held in holds:
        held.__exit__(None, None, None)


def test_lock_of_a_killed_but_unreaped_process_is_stale(store: StateStore) -> None:
    zombie = _holder(store.state_dir, "die")
    try:
        deadline = time.monotonic() + 10
        # Not waited for: the child stays a zombie, which `kill(pid, 0)` still reports as existing.
        while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "child did not exit"
            time.sleep(0.01)
        with store.lock("up"):
            pass
        assert any(f"pid {zombie.pid}" in note for note in store.notes)
    finally:
        zombie.wait(timeout=10)


def _write_lock(store: StateStore, **fields: Any) -> None:
    store.dir.mkdir(parents=True, exist_ok=True)
    lock = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "user": "someone",
        "command": "up",
        "started_at": "2024-01-01T00:00:00.000Z",
        "lock_id": "x" * 32,
        "process_start": None,
        **fields,
    }
    store.lock_path.write_text(json.dumps(lock))


def test_lock_whose_pid_was_reused_by_another_process_is_stale(store: StateStore) -> None:
    # Our own pid is alive, but with another start time it cannot be the process that wrote the lock.
    _write_lock(store, process_start="1")
    with store.lock("up"):
        pass
    assert len(store.notes) == 1


def test_lock_of_a_live_pid_with_matching_start_time_is_not_taken_over(store: StateStore) -> None:
    start = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19]
    _write_lock(store, process_start=start)
    with pytest.raises(StateLockedError, match="still running on this host"), store.lock("up"):
        pass


def test_lock_from_another_host_is_never_judged_stale(store: StateStore) -> None:
    _write_lock(store, host="build-agent-7", pid=999_999_999)
    with pytest.raises(StateLockedError) as caught, store.lock("up"):
        pass
    assert "build-agent-7" in str(caught.value)
    assert "cannot check whether that run is alive" in str(caught.value)
    assert store.lock_path.exists()


def test_unreadable_lock_file_is_reported_not_taken_over(store: StateStore) -> None:
    store.dir.mkdir(parents=True)
    store.lock_path.write_text('{"pid": 12')
    with pytest.raises(StateLockedError, match="cannot be read"), store.lock("up"):
        pass
    assert store.lock_path.read_text() == '{"pid": 12'


def test_force_unlock_removes_anyones_lock_and_returns_the_holder(
    store: StateStore, live_holder: subprocess.Popen[str]
) -> None:
    removed = store.force_unlock()

    assert removed is not None and removed.pid == live_holder.pid
    assert not store.lock_path.exists()
    assert store.force_unlock() is None  # nothing left to remove
    with store.lock("up"):
        assert store.lock_holder() is not None


def test_force_unlock_of_an_unreadable_lock_returns_unknown_holder(store: StateStore) -> None:
    store.dir.mkdir(parents=True)
    store.lock_path.write_text("garbage")
    removed = store.force_unlock()
    assert removed is not None and removed.host == "unknown"
    assert not store.lock_path.exists()


def test_run_whose_lock_was_force_removed_cannot_compact_but_keeps_its_journal(store: StateStore) -> None:
    other = fresh(store)
    with store.lock("up"):
        create(store, resource(URN_A))
        fresh(store).force_unlock()
        with other.lock("up"), pytest.raises(StateLockedError):
            store.compact()
    assert any("was removed while this run held it" in note for note in store.notes)
    assert not store.snapshot_path.exists()
    # The journaled change survived: nothing was lost by refusing to compact.
    assert urns(fresh(store).load()) == [URN_A]


def test_release_after_force_unlock_leaves_the_new_holders_lock(store: StateStore) -> None:
    other = fresh(store)
    held = store.lock("up")
    held.__enter__()
    fresh(store).force_unlock()
    with other.lock("destroy") as info:
        held.__exit__(None, None, None)
        assert json.loads(store.lock_path.read_text())["lock_id"] == info.lock_id


def test_writes_need_the_lock(store: StateStore) -> None:
    with pytest.raises(RuntimeError, match=r"inside `with store\.lock"):
        store.begin("create", URN_A, BUCKET)
    with pytest.raises(RuntimeError):
        store.set_outputs({"a": 1})
    with pytest.raises(RuntimeError):
        store.compact()
    assert not store.journal_path.exists()


# ---------------------------------------------------------------------------------------------- journal


def test_empty_environment_loads_as_empty_state(store: StateStore) -> None:
    loaded = store.load()
    assert loaded.snapshot.serial == 0
    assert loaded.snapshot.resources == []
    assert loaded.interrupted == [] and loaded.warnings == []
    assert store.load().snapshot.lineage == loaded.snapshot.lineage


def test_journal_replays_without_compaction(store: StateStore) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        op = store.begin("update", URN_A, BUCKET)
        store.succeed(op, resource(URN_A, inputs={"bucket": "a2"}))
        create(store, resource(URN_B))
        op = store.begin("delete", URN_B, BUCKET)
        store.succeed(op, None)
        op = store.begin("create", URN_C, BUCKET)
        store.fail(op, "AccessDenied")
        store.set_outputs({"url": "http://x"})
        store.set_blueprint("basic")

    loaded = fresh(store).load()
    assert urns(loaded) == [URN_A]
    a = loaded.snapshot.resource(URN_A)
    assert a is not None and a.inputs == {"bucket": "a2"}
    assert a.created_at is not None and a.updated_at is not None
    assert loaded.snapshot.outputs == {"url": "http://x"}
    assert loaded.snapshot.blueprint == "basic"
    assert loaded.interrupted == []  # the failed create is resolved, not interrupted
    assert not store.snapshot_path.exists()  # nothing compacted yet


def test_pending_operation_without_completion_is_reported_as_interrupted(store: StateStore) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        op_id = store.begin("create", URN_B, BUCKET, {"physical_name": "bucket-b", "tags": {"k": "v"}})
        # In-flight operations of the run itself are not "interrupted".
        assert store.load().interrupted == []
        # ... the run is killed here: no succeed/fail for URN_B.

    loaded = fresh(store).load()
    assert urns(loaded) == [URN_A]
    assert [(p.op_id, p.op, p.urn, p.type) for p in loaded.interrupted] == [(op_id, "create", URN_B, BUCKET)]
    assert loaded.interrupted[0].detail == {"physical_name": "bucket-b", "tags": {"k": "v"}}
    assert loaded.interrupted[0].started_at is not None


def test_interrupted_operation_survives_compaction_until_resolved(store: StateStore) -> None:
    with store.lock("up"):
        op_id = store.begin("create", URN_B, BUCKET, {"physical_name": "bucket-b"})
    second = fresh(store)
    with second.lock("up"):
        assert [p.op_id for p in second.load().interrupted] == [op_id]
        create(second, resource(URN_A))
        second.compact()
    assert [p.op_id for p in fresh(store).load().interrupted] == [op_id]
    assert [p.op_id for p in fresh(store).load().snapshot.pending] == [op_id]

    third = fresh(store)
    with third.lock("up"):
        interrupted = third.load().interrupted
        third.succeed(interrupted[0].op_id, resource(URN_B))  # adopted by the next run
        third.compact()
    loaded = fresh(store).load()
    assert loaded.interrupted == [] and loaded.snapshot.pending == []
    assert sorted(urns(loaded)) == [URN_A, URN_B]


def test_success_on_a_urn_resolves_older_interrupted_operations_on_it(store: StateStore) -> None:
    with store.lock("up"):
        store.begin("create", URN_A, BUCKET)
    second = fresh(store)
    with second.lock("up"):
        second.load()
        create(second, resource(URN_A))
    assert fresh(store).load().interrupted == []


def test_completion_of_an_unknown_operation_is_refused(store: StateStore) -> None:
    with store.lock("up"):
        with pytest.raises(ValueError, match="unknown or already completed"):
            store.succeed("nope", resource(URN_A))
        op_id = store.begin("create", URN_A, BUCKET)
        store.fail(op_id, "boom")
        with pytest.raises(ValueError):
            store.fail(op_id, "twice")
        with pytest.raises(ValueError, match="unknown operation"):
            store.begin("upsert", URN_A, BUCKET)  # type: ignore[arg-type]
        op_id = store.begin("create", URN_A, BUCKET)
        with pytest.raises(ValueError, match="needs the resource"):
            store.succeed(op_id, None)


def test_success_with_another_urn_renames_the_resource(store: StateStore) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        op_id = store.begin("update", URN_A, BUCKET)
        store.succeed(op_id, resource(URN_C))
    assert urns(fresh(store).load()) == [URN_C]


def test_torn_last_journal_line_loses_nothing_before_it_and_is_cut_on_the_next_append(store: StateStore) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        create(store, resource(URN_B))
    complete = store.journal_path.read_bytes()
    with store.journal_path.open("ab") as journal:  # the process died in the middle of this write
        journal.write(complete.splitlines(keepends=True)[-1][:25])

    loaded = fresh(store).load()
    assert urns(loaded) == [URN_A, URN_B]
    assert len(loaded.warnings) == 1 and "incomplete last entry" in loaded.warnings[0]

    second = fresh(store)
    with second.lock("up"):
        create(second, resource(URN_C))
    assert store.journal_path.read_bytes().startswith(complete)
    loaded = fresh(store).load()
    assert urns(loaded) == [URN_A, URN_B, URN_C]
    assert loaded.warnings == []
    assert any("incomplete last entry" in note for note in second.notes)


def test_failed_journal_write_is_cut_before_the_next_append(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def half_then_fail(fd: int, data: Any) -> int:
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    with store.lock("up"):
        create(store, resource(URN_A))
        monkeypatch.setattr(os, "write", half_then_fail)
        with pytest.raises(OSError, match="No space"):
            store.begin("create", URN_B, BUCKET)
        monkeypatch.setattr(os, "write", real_write)
        create(store, resource(URN_C))

    loaded = fresh(store).load()
    assert urns(loaded) == [URN_A, URN_C]
    assert loaded.warnings == [] and loaded.interrupted == []


def test_corrupt_line_in_the_middle_of_the_journal_is_an_error_naming_it(store: StateStore) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        create(store, resource(URN_B))
    lines = store.journal_path.read_bytes().splitlines(keepends=True)
    lines[1] = b'{"serial": 0, oops\n'
    store.journal_path.write_bytes(b"".join(lines))

    with pytest.raises(StateCorruptError, match="line 2") as caught:
        fresh(store).load()
    assert "journal.jsonl" in str(caught.value)


# ------------------------------------------------------------------------------------------- compaction


def test_compaction_folds_the_journal_bumps_serial_keeps_lineage_and_leaves_a_backup(store: StateStore) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        lineage = store.load().snapshot.lineage
        first = store.compact()
    assert first.serial == 1 and first.lineage == lineage
    assert store.journal_path.read_bytes() == b""
    assert not store.backup_path.exists()  # nothing to back up before the first snapshot
    first_bytes = store.snapshot_path.read_bytes()
    on_disk = json.loads(first_bytes)
    assert on_disk["serial"] == 1 and on_disk["lineage"] == lineage
    assert [r["urn"] for r in on_disk["resources"]] == [URN_A]

    second_store = fresh(store)
    with second_store.lock("up"):
        create(second_store, resource(URN_B))
        second = second_store.compact()
    assert second.serial == 2 and second.lineage == lineage
    assert store.backup_path.read_bytes() == first_bytes
    assert store.journal_path.read_bytes() == b""
    loaded = fresh(store).load()
    assert loaded.snapshot.serial == 2 and urns(loaded) == [URN_A, URN_B]


def test_compaction_with_an_empty_journal_writes_nothing(store: StateStore) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        store.compact()
    before = store.snapshot_path.read_bytes()
    with store.lock("up"):
        assert store.compact().serial == 1
    assert store.snapshot_path.read_bytes() == before
    assert not store.backup_path.exists()


def test_compaction_orders_resources_after_their_dependencies(store: StateStore) -> None:
    # Journal order is completion order; an update can make an earlier resource depend on a later one.
    with store.lock("up"):
        create(store, resource(URN_C, dependencies=[URN_B], provider=f"{URN_A}::prov-id"))
        create(store, resource(URN_B, parent=URN_A))
        create(store, resource(URN_A))
        snapshot = store.compact()
    assert [r.urn for r in snapshot.resources] == [URN_A, URN_B, URN_C]
    assert [r["urn"] for r in json.loads(store.snapshot_path.read_text())["resources"]] == [URN_A, URN_B, URN_C]


def test_crash_between_writing_and_replacing_the_snapshot_leaves_the_old_one_whole(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        store.compact()
        create(store, resource(URN_B))
    before = store.snapshot_path.read_bytes()
    real_replace = os.replace

    def crash_on_snapshot(src: Any, dst: Any) -> None:
        if Path(dst) == store.snapshot_path:
            raise OSError("simulated crash before the rename")
        real_replace(src, dst)

    crashing = fresh(store)
    with crashing.lock("up"):
        monkeypatch.setattr(os, "replace", crash_on_snapshot)
        with pytest.raises(OSError, match="simulated crash"):
            crashing.compact()
        monkeypatch.setattr(os, "replace", real_replace)

    assert store.snapshot_path.read_bytes() == before  # not partially overwritten
    loaded = fresh(store).load()
    assert loaded.snapshot.serial == 1 and urns(loaded) == [URN_A, URN_B]  # the journal still has URN_B

    retry = fresh(store)
    with retry.lock("up"):
        assert retry.compact().serial == 2
    assert list(store.dir.glob(".state.json.*")) == []  # the crashed run's temp file was cleaned up
    assert urns(fresh(store).load()) == [URN_A, URN_B]


def test_crash_before_the_first_snapshot_is_in_place_keeps_the_journal(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(src: Any, dst: Any) -> None:
        raise OSError("simulated crash")

    with store.lock("up"):
        create(store, resource(URN_A))
        monkeypatch.setattr(os, "replace", crash)
        with pytest.raises(OSError):
            store.compact()
    assert not store.snapshot_path.exists()
    assert urns(fresh(store).load()) == [URN_A]


def test_crash_between_snapshot_replace_and_journal_truncation_does_not_replay_twice(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        store.compact()
        create(store, resource(URN_B))
        monkeypatch.setattr(os, "ftruncate", lambda fd, length: (_ for _ in ()).throw(OSError("crash")))
        with pytest.raises(OSError, match="crash"):
            store.compact()
        monkeypatch.undo()
    assert store.journal_path.read_bytes() != b""  # the entries are still there, with the old serial

    loaded = fresh(store).load()
    assert loaded.snapshot.serial == 2 and urns(loaded) == [URN_A, URN_B]
    nxt = fresh(store)
    with nxt.lock("up"):
        # Nothing new happened: the stale entries must not count as changes (no serial 3).
        assert nxt.compact().serial == 2
    assert store.journal_path.read_bytes() == b""
    assert json.loads(store.snapshot_path.read_text())["serial"] == 2


def test_corrupt_snapshot_is_an_error_pointing_at_the_backup(store: StateStore) -> None:
    for _ in range(2):
        with store.lock("up"):
            create(store, resource(URN_A if not store.snapshot_path.exists() else URN_B))
            store.compact()
    store.snapshot_path.write_bytes(store.snapshot_path.read_bytes()[:40])  # truncated by a broken disk

    with pytest.raises(StateCorruptError) as caught:
        fresh(store).load()
    text = str(caught.value)
    assert "state.json is corrupt" in text
    assert f"cp {store.backup_path} {store.snapshot_path}" in text
    # No silent fallback: loading empty (or older) state would make `up` create everything again.


def test_deleted_snapshot_with_a_backup_present_is_an_error(store: StateStore) -> None:
    for urn in (URN_A, URN_B):
        with store.lock("up"):
            create(store, resource(urn))
            store.compact()
    store.snapshot_path.unlink()
    with pytest.raises(StateCorruptError, match="missing"):
        fresh(store).load()


def test_restored_older_snapshot_under_a_newer_journal_is_an_error(store: StateStore) -> None:
    for urn in (URN_A, URN_B):
        with store.lock("up"):
            create(store, resource(urn))
            store.compact()
    with store.lock("up"):
        create(store, resource(URN_C))  # journaled on top of serial 2
    store.snapshot_path.write_bytes(store.backup_path.read_bytes())  # serial 1
    with pytest.raises(StateCorruptError, match="serial"):
        fresh(store).load()


def test_journal_from_another_lineage_is_an_error(store: StateStore, tmp_path: Path) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        store.compact()
    other = StateStore(tmp_path / "other", ENV)
    with other.lock("up"):
        create(other, resource(URN_B))
    store.journal_path.write_bytes(other.journal_path.read_bytes())
    with pytest.raises(StateCorruptError, match="lineage"):
        fresh(store).load()


def test_snapshot_of_another_environment_is_an_error(store: StateStore, tmp_path: Path) -> None:
    prod = StateStore(tmp_path, "prod")
    with prod.lock("up"):
        create(prod, resource(URN_A))
        prod.compact()
    store.dir.mkdir(parents=True)
    store.snapshot_path.write_bytes(prod.snapshot_path.read_bytes())
    with pytest.raises(StateCorruptError, match="'prod'"):
        store.load()


# ---------------------------------------------------------------------------------------------- secrets


def _write_secrets(store: StateStore) -> None:
    res = ResourceState(
        urn=URN_A,
        type=BUCKET,
        id="a",
        inputs={"bucket": "a", "password": secret(SECRET_INPUT), "nested": [{"k": secret(SECRET_INPUT)}]},
        outputs={"token": {"__secret__": True, "value": SECRET_OUTPUT}},
    )
    op_id = store.begin("create", URN_A, BUCKET, {"physical_name": "a", "seed": secret(SECRET_DETAIL)})
    store.succeed(op_id, res)
    store.set_outputs({"admin": secret(SECRET_STACK), "plain": "visible"})


def _assert_secrets_round_trip(loaded: LoadedState) -> None:
    a = loaded.snapshot.resource(URN_A)
    assert a is not None
    assert a.inputs == {"bucket": "a", "password": secret(SECRET_INPUT), "nested": [{"k": secret(SECRET_INPUT)}]}
    assert a.outputs == {"token": {"__secret__": True, "value": SECRET_OUTPUT}}
    assert loaded.snapshot.outputs == {"admin": secret(SECRET_STACK), "plain": "visible"}


def test_secrets_are_never_written_in_plaintext_and_round_trip(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PLAINTEXT_SECRETS_ENV, raising=False)
    store = fresh(store)
    with store.lock("up"):
        _write_secrets(store)
        store.begin("update", URN_A, BUCKET, {"seed": secret(SECRET_DETAIL)})  # left pending
        journal_only = all_bytes(store.dir)
        store.compact()
    compacted = all_bytes(store.dir)

    for leaked in (SECRET_INPUT, SECRET_OUTPUT, SECRET_STACK, SECRET_DETAIL):
        assert leaked.encode() not in journal_only, f"{leaked} in the journal"
        assert leaked.encode() not in compacted, f"{leaked} in the snapshot"
    assert b"visible" in compacted  # the check above would have found plaintext
    assert (store.dir / "secrets.key").stat().st_mode & 0o077 == 0
    assert store.snapshot_path.stat().st_mode & 0o077 == 0

    loaded = fresh(store).load()  # a new process: the key comes from secrets.key
    _assert_secrets_round_trip(loaded)
    assert loaded.interrupted[0].detail == {"seed": secret(SECRET_DETAIL)}


def test_secrets_round_trip_through_the_journal_alone(store: StateStore) -> None:
    with store.lock("up"):
        _write_secrets(store)
    assert SECRET_INPUT.encode() not in all_bytes(store.dir)
    _assert_secrets_round_trip(fresh(store).load())


def test_secrets_under_another_key_are_a_clear_error(store: StateStore) -> None:
    from cryptography.fernet import Fernet

    with store.lock("up"):
        _write_secrets(store)
        store.compact()
    (store.dir / "secrets.key").write_bytes(Fernet.generate_key())
    with pytest.raises(StateCorruptError, match="cannot be decrypted"):
        fresh(store).load()
    (store.dir / "secrets.key").unlink()
    with pytest.raises(StateCorruptError, match="missing"):
        fresh(store).load()


def test_plaintext_opt_in_is_encrypted_once_it_is_turned_off(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PLAINTEXT_SECRETS_ENV, "1")
    opted_in = fresh(store)
    with opted_in.lock("up"):
        _write_secrets(opted_in)
        opted_in.compact()
    assert SECRET_INPUT.encode() in store.snapshot_path.read_bytes()  # what the user asked for

    monkeypatch.delenv(PLAINTEXT_SECRETS_ENV)
    opted_out = fresh(store)
    with opted_out.lock("up"):
        create(opted_out, resource(URN_B))
        opted_out.compact()
    assert SECRET_INPUT.encode() not in store.snapshot_path.read_bytes()
    _assert_secrets_round_trip(fresh(store).load())


# ------------------------------------------------------------------------------ replaced resources (discard)


def test_a_pending_discard_keeps_the_replaced_resource_on_record_until_it_is_deleted(store: StateStore) -> None:
    old = resource(URN_A, id="old-a")
    with store.lock("up"):
        create(store, old)
        store.compact()
    with store.lock("up"):
        replace_op = store.begin("replace", URN_A, BUCKET, {})
        discard = store.begin("discard", URN_A, BUCKET, {"id": "old-a", "resource": old.to_dict()})
        # The replacement succeeding settles the URN, but not the discard: that is another physical resource.
        store.succeed(replace_op, resource(URN_A, id="new-a"))
        # The run dies here, before the old resource is deleted.
    loaded = fresh(store).load()
    assert [r.id for r in loaded.snapshot.resources] == ["new-a"]
    assert [(op_id, r.id) for op_id, r in loaded.replaced] == [(discard, "old-a")]
    assert loaded.unsettled == []  # nothing to adopt: the replacement itself completed
    next_run = fresh(store)
    with next_run.lock("up"):
        next_run.succeed(discard, None)  # the next run deleted it
        next_run.compact()
    loaded = fresh(store).load()
    assert loaded.replaced == [] and loaded.interrupted == []
    assert [r.id for r in loaded.snapshot.resources] == ["new-a"]  # the replacement stays


def test_a_discard_takes_no_resource_on_success(store: StateStore) -> None:
    with store.lock("up"):
        create(store, resource(URN_A))
        op_id = store.begin("discard", URN_A, BUCKET, {})
        with pytest.raises(ValueError, match="discard takes resource=None"):
            store.succeed(op_id, resource(URN_A))
