"""Dependency graphs: order them, and walk them with bounded parallelism (Terraform's ``dag.Walker``, in small).

Both rest on :class:`graphlib.TopologicalSorter`. :func:`order` is the one topological sort of the engine
(state files and delete plans): deterministic, ties broken by input position. :func:`walk` runs a node once
every node it depends on has finished successfully. When a node fails, everything that depends on it —
directly or not — is skipped, and independent branches carry on; the caller gets every node's outcome.
Deletes walk the same graph reversed: a resource is deleted only after everything that depends on it is gone.
"""

from __future__ import annotations

import contextlib
import heapq
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from enum import Enum
from graphlib import CycleError, TopologicalSorter
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)


class Outcome(str, Enum):
    """How a node of :func:`walk` ended."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


def order(nodes: Sequence[Node], deps: Callable[[Node], Iterable[Node]]) -> list[Node]:
    """``nodes`` ordered so that each comes after the nodes it depends on.

    Deterministic: among the nodes that could come next, the one earliest in ``nodes`` does, so input that
    already respects the dependencies comes back unchanged, and the result never depends on the iteration
    order of the sets ``deps`` may return (which varies between runs with string hashing). A cycle (invalid,
    but state recorded across runs could hold one) does not raise: its nodes, and what waits for them, follow
    in input order.

    Args:
        nodes: the nodes, each once.
        deps: the nodes a node depends on; ones outside ``nodes`` are ignored.
    """
    position = {node: index for index, node in enumerate(nodes)}
    sorter: TopologicalSorter[Node] = TopologicalSorter()
    for node in nodes:
        sorter.add(node, *(dep for dep in deps(node) if dep in position and dep != node))
    with contextlib.suppress(CycleError):  # the nodes that are not on a cycle still become ready
        sorter.prepare()
    ready = [position[node] for node in sorter.get_ready()]
    heapq.heapify(ready)
    ordered: list[Node] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        ordered.append(node)
        sorter.done(node)
        for follower in sorter.get_ready():
            heapq.heappush(ready, position[follower])
    if len(ordered) < len(nodes):
        placed = set(ordered)
        ordered.extend(node for node in nodes if node not in placed)
    return ordered


def reverse(deps: Mapping[Node, Iterable[Node]]) -> dict[Node, set[Node]]:
    """``deps`` turned around: for each node, the nodes that depend on it (restricted to ``deps``'s keys)."""
    out: dict[Node, set[Node]] = {node: set() for node in deps}
    for node, needs in deps.items():
        for need in needs:
            if need in out:
                out[need].add(node)
    return out


def walk(
    deps: Mapping[Node, Iterable[Node]],
    run: Callable[[Node], None],
    *,
    parallel: int,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[Node, tuple[Outcome, BaseException | None]]:
    """Run ``run(node)`` for every node in ``deps`` after the nodes it depends on.

    Args:
        deps: node -> the nodes it depends on (dependencies outside ``deps`` are ignored: they are done).
        run: does the work; raising marks the node failed and its dependents skipped.
        parallel: how many nodes may run at once.
        should_stop: polled before starting each node; ``True`` (e.g. after Ctrl-C) skips what has not started.

    Returns:
        Every node's outcome, with the exception for failed nodes.
    """
    needs = {node: {d for d in wanted if d in deps and d != node} for node, wanted in deps.items()}
    dependents = reverse(needs)
    outcome: dict[Node, tuple[Outcome, BaseException | None]] = {}
    lock = threading.Lock()
    sorter: TopologicalSorter[Node] = TopologicalSorter()
    for node, wanted in needs.items():
        sorter.add(node, *wanted)
    with contextlib.suppress(CycleError):  # nodes on a cycle never become ready: reported skipped below
        sorter.prepare()
    ready = list(sorter.get_ready())
    running: dict[Future[None], Node] = {}

    def skip_dependents(node: Node) -> None:
        stack = list(dependents[node])
        while stack:
            child = stack.pop()
            if child not in outcome:
                outcome[child] = (Outcome.SKIPPED, None)
                stack.extend(dependents[child])

    with ThreadPoolExecutor(max_workers=max(parallel, 1), thread_name_prefix="mlplatform-apply") as pool:
        while ready or running:
            while ready and len(running) < max(parallel, 1):
                node = ready.pop(0)
                if node in outcome:
                    continue
                if should_stop():
                    outcome[node] = (Outcome.SKIPPED, None)
                    skip_dependents(node)
                    continue
                running[pool.submit(run, node)] = node
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                node = running.pop(future)
                error = future.exception()
                with lock:
                    if error is None:
                        outcome[node] = (Outcome.OK, None)
                        sorter.done(node)
                        ready.extend(child for child in sorter.get_ready() if child not in outcome)
                    else:
                        outcome[node] = (Outcome.FAILED, error)
                        skip_dependents(node)
    for node in deps:  # a cycle would leave nodes unreached: report them rather than hang or drop them
        outcome.setdefault(node, (Outcome.SKIPPED, None))
    return outcome
