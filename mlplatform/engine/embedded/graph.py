"""Walk a dependency graph with bounded parallelism (Terraform's ``dag.Walker``, in small).

A node runs once every node it depends on has finished successfully. When a node fails, everything
that depends on it — directly or not — is skipped, and independent branches carry on; the caller gets
every node's outcome. Deletes walk the same graph reversed: a resource is deleted only after
everything that depends on it is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from enum import Enum
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)


class Outcome(str, Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


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
    ready = [node for node, wanted in needs.items() if not wanted]
    remaining = {node: len(wanted) for node, wanted in needs.items()}
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
                        for child in dependents[node]:
                            remaining[child] -= 1
                            if remaining[child] == 0 and child not in outcome:
                                ready.append(child)
                    else:
                        outcome[node] = (Outcome.FAILED, error)
                        skip_dependents(node)
    for node in deps:  # a cycle would leave nodes unreached: report them rather than hang or drop them
        outcome.setdefault(node, (Outcome.SKIPPED, None))
    return outcome
