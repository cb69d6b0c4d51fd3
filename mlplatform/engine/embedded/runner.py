"""Evaluate a Pulumi Python program in-process, against the embedded engine's monitor.

This is what ``pulumi up`` does through a language host, done directly (docs/architecture.md): a fresh
``contextvars`` context so no SDK state leaks between runs, ``Settings`` pointing at our monitor,
``dry_run`` for previews, and ``run_in_stack`` on a new event loop. ``set_mocks`` is deliberately not
used: it registers the root stack differently and loses the stack's exports.

The SDK runs resource registrations on a thread pool; its size bounds how many registrations (and
so, during ``up``, how many cloud calls) run at once.

Pulumi SDK surface used here: ``Settings``, ``configure``, ``get_root_resource`` and ``run_in_stack`` are
public (``pulumi.runtime.__all__``); ``MockEngine`` is not (see the comment where it is imported), and the
SDK's feature-refusal messages are matched by text (:data:`_SDK_FEATURE_MESSAGES`).
tests/unit/test_sdk_assumptions.py holds the SDK to each of these.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mlplatform.engine.embedded.monitor import EngineMonitor, UnsupportedFeatureError
from mlplatform.errors import MlplatformError

Program = Callable[[], object]


class ProgramError(MlplatformError):
    """The Pulumi program raised an exception while being evaluated."""

    headline = "program failed"


# The SDK refuses these features with a RunError naming "the Pulumi CLI" (pulumi/runtime/resource.py, stack.py);
# there is no error type to catch, so the text is matched and the message made to name the embedded engine.
_SDK_FEATURE_MESSAGES = {
    "does not support transforms": "transforms",
    "does not support resource hooks": "resource hooks",
    "does not support state migrations": "state migrations",
}


def _discard(_: object) -> None:
    """The SDK expects a program returning None; build_platform returns its exports for other callers."""


def run_program(program: Program, monitor: EngineMonitor, *, preview: bool, parallel: int) -> None:
    """Run ``program`` to completion with ``monitor`` as its engine.

    Args:
        program: a function that declares resources (e.g. ``lambda: build_platform(spec)``).
        monitor: receives every registration.
        preview: ``True`` for a dry run (outputs may be unknown).
        parallel: how many registrations may be in flight at once.

    Raises:
        MlplatformError: raised by the deployment while registering (passed through unchanged).
        ProgramError: the program itself failed.
    """

    def evaluate() -> None:
        # Imported here so that commands that never run a program do not pay for the SDK import.
        from pulumi.runtime import Settings, configure, get_root_resource, run_in_stack

        # Not exported by pulumi.runtime: the SDK's in-process stand-in for the engine's Log RPC. Without an
        # engine the SDK prints pulumi.log messages to stderr itself; this routes them to a logger instead.
        # No public equivalent exists (Settings(engine=...) wants an object with the gRPC engine's Log).
        from pulumi.runtime.mocks import MockEngine

        async def after_root_stack() -> None:
            # Let the root stack's registration finish before the program declares anything. Otherwise every
            # resource parented to the stack queues up waiting for the stack's URN, and the SDK's
            # wait-for-outstanding-outputs loop re-scans that whole queue on each pass (quadratic): at 500
            # resources this took ~1.4 s of CPU more than with the URN known (benchmarks/engine.py). Exports
            # still work: the stack is finished by run_in_stack after the program, as before.
            root = get_root_resource()
            if root is not None:
                await root.urn.future()
            _discard(program())

        configure(
            Settings(
                project=monitor.project,
                stack=monitor.stack,
                monitor=monitor,
                engine=MockEngine(logging.getLogger("mlplatform.program")),
                dry_run=preview,
                parallel=parallel,
                organization="organization",
            )
        )
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet_when_reported)
        executor = ThreadPoolExecutor(max_workers=max(parallel, 1), thread_name_prefix="mlplatform-register")
        loop.set_default_executor(executor)
        try:
            loop.run_until_complete(run_in_stack(after_root_stack))
        finally:
            executor.shutdown(wait=True)
            loop.close()
            monitor.close()

    try:
        # A fresh, empty context: the SDK keeps its settings and root resource in context variables.
        contextvars.Context().run(evaluate)
    except MlplatformError:
        raise
    except Exception as exc:
        cause = _find_cause(exc)
        if cause is not None:
            raise cause from None
        text = str(exc)
        for needle, feature in _SDK_FEATURE_MESSAGES.items():
            if needle in text:
                raise UnsupportedFeatureError(
                    f"the program uses {feature}, which the embedded engine does not run. Remove them or deploy "
                    "with the Pulumi engine."
                ) from None
        raise ProgramError(f"{type(exc).__name__}: {text}") from exc


def _quiet_when_reported(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The event loop's exception handler: silent about our own errors, which the run raises anyway.

    The SDK sets a failed registration's error on several futures (the resource's URN, id and outputs) and
    awaits only some; the others would print "Future exception was never retrieved" with a traceback when
    they are garbage collected, after the CLI has already reported the error in one clear message.
    """
    if isinstance(context.get("exception"), MlplatformError):
        return
    loop.default_exception_handler(context)


def _find_cause(exc: BaseException) -> MlplatformError | None:
    """An MlplatformError anywhere in ``exc``'s cause/context chain (the SDK wraps what monitors raise)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, MlplatformError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
