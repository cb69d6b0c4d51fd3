"""graph.order and graph.walk: dependency order (deterministic), bounded parallelism, failure propagation and
reversed walks for deletes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from mlplatform.engine.embedded import graph
from mlplatform.engine.embedded.graph import Outcome

# a <- b <- c (c depends on b, b on a); d independent; e depends on c and d.
DIAMOND = {"a": set(), "b": {"a"}, "c": {"b"}, "d": set(), "e": {"c", "d"}}


class Recorder:
    """A ``run`` that records start/finish order and can fail chosen nodes."""

    def __init__(self, fail: frozenset[str] = frozenset()) -> None:
        self.fail = fail
        self.started: list[str] = []
        self.finished: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, node: str) -> None:
        with self.lock:
            self.started.append(node)
        time.sleep(0.005)  # give a wrong scheduler the chance to start a dependent early
        if node in self.fail:
            raise RuntimeError(f"{node} failed")
        with self.lock:
            self.finished.append(node)


@pytest.mark.parametrize("parallel", [1, 3, 10])
def test_dependencies_finish_before_dependents_start(parallel: int) -> None:
    run = Recorder()
    outcome = graph.walk(DIAMOND, run, parallel=parallel)

    assert outcome == {node: (Outcome.OK, None) for node in DIAMOND}
    assert sorted(run.started) == sorted(DIAMOND)
    for node, needs in DIAMOND.items():
        for need in needs:
            assert run.finished.index(need) < run.started.index(node), f"{node} started before {need} finished"


def test_at_most_parallel_nodes_run_at_once() -> None:
    parallel = 3
    active = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Event()

    def run(_: int) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        release.wait(timeout=10)
        with lock:
            active -= 1

    def opener() -> None:
        # Wait until the walker has filled its slots, then give it time to (wrongly) start more.
        deadline = time.monotonic() + 10
        while True:
            with lock:
                if active >= parallel or time.monotonic() > deadline:
                    break
            time.sleep(0.005)
        time.sleep(0.2)
        release.set()

    thread = threading.Thread(target=opener)
    thread.start()
    outcome = graph.walk({n: set() for n in range(12)}, run, parallel=parallel)
    thread.join()

    assert peak == parallel  # never more, and the independent nodes really did run side by side
    assert all(result is Outcome.OK for result, _ in outcome.values())


def test_failure_skips_transitive_dependents_and_runs_independent_nodes() -> None:
    run = Recorder(fail=frozenset({"b"}))
    outcome = graph.walk(DIAMOND, run, parallel=2)

    assert outcome["a"] == (Outcome.OK, None)
    assert outcome["d"] == (Outcome.OK, None)
    result, error = outcome["b"]
    assert result is Outcome.FAILED and isinstance(error, RuntimeError) and str(error) == "b failed"
    assert outcome["c"] == (Outcome.SKIPPED, None)
    assert outcome["e"] == (Outcome.SKIPPED, None)  # two levels down, although its other dependency succeeded
    assert "c" not in run.started and "e" not in run.started


def test_reversed_graph_deletes_dependents_first() -> None:
    deletes = graph.reverse(DIAMOND)
    assert deletes == {"a": {"b"}, "b": {"c"}, "c": {"e"}, "d": {"e"}, "e": set()}

    run = Recorder()
    graph.walk(deletes, run, parallel=4)
    for node, needs in DIAMOND.items():
        for need in needs:
            assert run.finished.index(node) < run.started.index(need), f"{need} deleted while {node} still exists"


def test_failed_delete_keeps_what_it_depends_on() -> None:
    run = Recorder(fail=frozenset({"c"}))
    outcome = graph.walk(graph.reverse(DIAMOND), run, parallel=4)
    assert outcome["e"][0] is Outcome.OK
    assert outcome["c"][0] is Outcome.FAILED
    assert outcome["b"][0] is Outcome.SKIPPED and outcome["a"][0] is Outcome.SKIPPED
    assert outcome["d"][0] is Outcome.OK


def test_dependencies_outside_the_graph_and_self_loops_are_ignored() -> None:
    run = Recorder()
    outcome = graph.walk({"x": {"already-done", "x"}, "y": {"x"}}, run, parallel=2)
    assert outcome == {"x": (Outcome.OK, None), "y": (Outcome.OK, None)}
    assert run.finished == ["x", "y"]


def test_should_stop_skips_what_has_not_started() -> None:
    run = Recorder()
    outcome = graph.walk(DIAMOND, run, parallel=1, should_stop=lambda: len(run.started) >= 2)
    assert len(run.started) == 2
    assert sorted(node for node, (result, _) in outcome.items() if result is Outcome.OK) == sorted(run.started)
    assert all(result is Outcome.SKIPPED for node, (result, _) in outcome.items() if node not in run.started)


def test_cycle_is_reported_as_skipped_instead_of_hanging() -> None:
    run = Recorder()
    outcome = graph.walk({"p": {"q"}, "q": {"p"}, "r": set()}, run, parallel=2)
    assert outcome == {"p": (Outcome.SKIPPED, None), "q": (Outcome.SKIPPED, None), "r": (Outcome.OK, None)}


def test_parallel_below_one_still_runs_everything() -> None:
    run = Recorder()
    outcome = graph.walk(DIAMOND, run, parallel=0)
    assert all(result is Outcome.OK for result, _ in outcome.values())


# ------------------------------------------------------------------------------------------------ order


def test_order_keeps_an_order_that_already_respects_dependencies() -> None:
    nodes = ["d", "a", "b", "c", "e"]
    assert graph.order(nodes, lambda node: DIAMOND[node]) == nodes


def test_order_moves_what_comes_too_early_and_otherwise_keeps_input_positions() -> None:
    # "e" and "c" come before what they need; everything else stays where it was.
    nodes = ["e", "c", "d", "a", "b"]
    assert graph.order(nodes, lambda node: DIAMOND[node]) == ["d", "a", "b", "c", "e"]
    assert graph.order(["x", "y", "z"], lambda node: set()) == ["x", "y", "z"]  # ties: input order


def test_order_survives_a_cycle_and_ignores_outside_nodes() -> None:
    deps = {"a": {"b"}, "b": {"a"}, "c": set(), "d": {"a", "outside"}}
    # The cycle's nodes, and what waits for them, follow in input order instead of raising.
    assert graph.order(["a", "b", "c", "d"], lambda node: deps[node]) == ["c", "a", "b", "d"]


_DELETE_ORDER = """
from mlplatform.engine.embedded.deployment import Deployment, Record
from mlplatform.engine.embedded.state.model import dependency_order

urn = "urn:pulumi:dev::mlplatform::aws:s3/bucket:Bucket::{}".format
# State written out of order: "c" depends on two resources recorded after it.
records = [Record(urn=urn("c"), type="t", dependencies=[urn(n) for n in "ab"]), Record(urn=urn("a"), type="t"),
           Record(urn=urn("b"), type="t"), Record(urn=urn("e"), type="t", dependencies=[urn("b"), urn("c")])]
deployment = Deployment(previous={r.urn: r for r in records}, handlers={}, preview=True)
print(" ".join(change.name for change in deployment.plan_deletes(records)))
print(" ".join(r["urn"][-1] for r in dependency_order({r.urn: r.to_dict() for r in records})))
"""


def test_delete_plans_and_state_files_do_not_depend_on_string_hashing() -> None:
    # Dependencies are sets, whose iteration order changes with PYTHONHASHSEED; a plan (and so its JSON and
    # markdown) and the order of state.json must not.
    seen = set()
    for seed in ("0", "1", "2", "3", "4", "5"):
        result = subprocess.run(
            [sys.executable, "-c", _DELETE_ORDER],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        seen.add(result.stdout)
    assert seen == {"e c b a\na b c e\n"}
