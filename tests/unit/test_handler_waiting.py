"""The one poll helper and the waiter wrapper (``handlers/waiting.py``), with a fake clock.

Waiters themselves are exercised against the emulator by the handler integration tests (VPCs, subnets,
SageMaker endpoints and notebook instances); here only the bounds and the messages.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mlplatform.engine.embedded.handlers import waiting
from mlplatform.engine.embedded.handlers.base import HandlerError


class Clock:
    """``time.monotonic``/``time.sleep`` that only move when slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(waiting.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(waiting.time, "sleep", fake.sleep)
    return fake


def test_a_ready_resource_costs_no_sleep(clock: Clock) -> None:
    assert waiting.poll(lambda: {"State": "available"}, what="x") == {"State": "available"}
    assert clock.sleeps == []


def test_delays_grow_to_the_cap_and_the_total_is_bounded(clock: Clock) -> None:
    with pytest.raises(
        HandlerError, match=r"timed out after 60 seconds waiting for VPC endpoint vpce-1 to go \(still pending\)"
    ):
        waiting.poll(lambda: None, what="VPC endpoint vpce-1 to go", timeout=60, max_delay=15, status=lambda: "pending")
    assert clock.sleeps[:5] == [2.0, 3.0, 4.5, 6.75, 10.125]
    assert max(clock.sleeps) == 15
    assert clock.now == 60  # the last sleep is cut short: never past the timeout


def test_a_check_that_raises_stops_the_wait_at_once(clock: Clock) -> None:
    def failed() -> None:
        raise HandlerError("endpoint e is Failed: no capacity")

    with pytest.raises(HandlerError, match="no capacity"):
        waiting.poll(failed, what="endpoint e")
    assert clock.sleeps == []


def _stubbed_sagemaker() -> tuple[Any, Stubber]:
    client = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1").client(
        "sagemaker"
    )
    return client, Stubber(client)


def _endpoint(status: str, reason: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "EndpointName": "e",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e",
        "EndpointStatus": status,
        "CreationTime": "2026-01-01T00:00:00Z",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
    }
    if reason:
        answer["FailureReason"] = reason
    return answer


def test_a_waiter_failure_state_is_a_resource_error_with_the_reason(clock: Clock) -> None:
    client, stub = _stubbed_sagemaker()
    stub.add_response("describe_endpoint", _endpoint("Creating"), {"EndpointName": "e"})
    stub.add_response("describe_endpoint", _endpoint("Failed", "no capacity"), {"EndpointName": "e"})
    with (
        stub,
        pytest.raises(HandlerError, match=r"waiting for endpoint e to be InService failed: it is Failed: no capacity"),
    ):
        waiting.wait_until(client, "endpoint_in_service", what="endpoint e to be InService", delay=5, EndpointName="e")


def test_a_waiter_gives_up_after_the_timeout(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.waiter.time.sleep", clock.sleep)
    client, stub = _stubbed_sagemaker()
    for _ in range(3):
        stub.add_response("describe_endpoint", _endpoint("Creating"), {"EndpointName": "e"})
    with (
        stub,
        pytest.raises(HandlerError, match=r"timed out after 10 seconds waiting for endpoint e \(still Creating\)"),
    ):
        waiting.wait_until(client, "endpoint_in_service", what="endpoint e", timeout=10, delay=5, EndpointName="e")
    assert clock.sleeps == [5, 5]
