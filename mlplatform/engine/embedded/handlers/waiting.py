"""Waiting for AWS to finish what a call started: botocore's waiters where one exists, one poll loop otherwise.

AWS answers a create or a delete before the resource is ready or gone (an endpoint is ``Creating``, an
interface endpoint's network interfaces outlive it by minutes). Where botocore ships a waiter for exactly
the state a handler needs (``vpc_available``, ``endpoint_in_service``, ``notebook_instance_deleted``, ...),
:func:`wait_until` runs it; for every other state :func:`poll` calls a check with a growing delay. Both
ask before they sleep, so the emulator's instant transitions cost no sleep, both give up after a bounded
total time, and both fail with a :class:`~mlplatform.engine.embedded.handlers.base.HandlerError` that
names the resource, what was awaited and for how long (a resource error: the run exits 4).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from mlplatform.engine.embedded.handlers.base import HandlerError

T = TypeVar("T")

DEFAULT_TIMEOUT = 600.0
"""Seconds to wait for a resource unless a handler says otherwise (Terraform's usual create/delete timeout)."""


def poll(
    check: Callable[[], T | None],
    *,
    what: str,
    timeout: float = DEFAULT_TIMEOUT,
    first_delay: float = 2.0,
    max_delay: float = 15.0,
    status: Callable[[], object] | None = None,
) -> T:
    """Call ``check`` until it returns a true value, and return that value.

    The delay between calls starts at ``first_delay`` and grows by half each time up to ``max_delay``; the
    last sleep is cut short so the whole wait never exceeds ``timeout``. ``check`` may raise to stop at once
    (a failed state).

    Args:
        what: what is awaited, for the timeout message (``"VPC endpoint vpce-1 to be deleted"``).
        status: the state last seen, for the timeout message (``"Creating"``).

    Raises:
        HandlerError: ``check`` still returned a false value after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    delay = first_delay
    while True:
        found = check()
        if found:
            return found
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            seen = status() if status is not None else None
            still = f" (still {seen})" if seen else ""
            raise HandlerError(f"timed out after {_duration(timeout)} waiting for {what}{still}")
        time.sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_delay)


def wait_until(
    client: Any, waiter: str, *, what: str, timeout: float = DEFAULT_TIMEOUT, delay: float = 2.0, **params: Any
) -> None:
    """Run botocore's waiter ``waiter`` (``"vpc_available"``) with ``params``, for at most ``timeout`` seconds.

    The waiter's own delay (15 or 30 seconds in botocore's model) is replaced by ``delay``: most resources
    are ready sooner than that, and the emulator's at once.

    Raises:
        HandlerError: the waiter reached a failure state, met an error it does not expect, or timed out.
    """
    from botocore.exceptions import WaiterError

    attempts = max(1, math.ceil(timeout / delay) + 1)
    try:
        client.get_waiter(waiter).wait(**params, WaiterConfig={"Delay": delay, "MaxAttempts": attempts})
    except WaiterError as exc:
        raise HandlerError(_waiter_failure(exc, what, timeout)) from exc


def _waiter_failure(exc: Any, what: str, timeout: float) -> str:
    """A WaiterError as one sentence: what was awaited, and the state or error that ended the wait."""
    response = exc.last_response if isinstance(getattr(exc, "last_response", None), dict) else {}
    error = response.get("Error") or {}
    if error:
        return f"waiting for {what} failed: {error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    state = next((str(value) for key, value in response.items() if key.endswith("Status")), "")
    reason = response.get("FailureReason")
    if "Max attempts exceeded" in str(exc):
        return f"timed out after {_duration(timeout)} waiting for {what}" + (f" (still {state})" if state else "")
    detail = f"it is {state}" if state else str(getattr(exc, "reason", exc))
    return f"waiting for {what} failed: {detail}" + (f": {reason}" if reason else "")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 120 else f"{seconds:g} seconds"
