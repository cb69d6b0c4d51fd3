"""Evaluate the platform program with fake handlers (the embedded engine's equivalent of Pulumi mocks).

Every resource "creates" instantly with fake but well-formed outputs (ARNs, ids), so policies and other
inputs built from other resources' outputs are fully known and can be inspected. No emulator, no cloud.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from mlplatform import environments
from mlplatform.engine.embedded.deployment import Deployment
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.monitor import EngineMonitor
from mlplatform.engine.embedded.runner import run_program
from mlplatform.engine.embedded.state import ResourceState
from mlplatform.program import TargetSettings, build_platform
from mlplatform.spec.models import PlatformSpec
from mlplatform.spec.rules import EMULATOR_ACCOUNT_ID


class FakeHandler(Handler):
    """Answers every create with fake outputs; never calls AWS."""

    def __init__(self, type_: str, computed: tuple[str, ...]) -> None:
        self.type_ = type_
        self.computed = tuple(dict.fromkeys(("arn", *computed)))

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = ctx.name
        outputs = {key: f"fake-{key}-{name}" for key in self.computed}
        outputs["arn"] = f"arn:aws:fake:us-east-1:{EMULATOR_ACCOUNT_ID}:{name}"
        return f"{name}-id", outputs


class FakeHandlers(dict[str, Handler]):
    """A handler for any type, with the real handler's computed outputs where one exists."""

    def __init__(self) -> None:
        super().__init__()
        self.real = registry()

    def get(self, key: str, default: Any = None) -> Handler:  # type: ignore[override]
        if key not in self:
            real = self.real.get(key)
            self[key] = FakeHandler(key, tuple(real.computed) if real else ())
        return self[key]


@dataclass
class PlatformPlan:
    """The resources one evaluation of the program registered."""

    spec: PlatformSpec
    records: dict[str, ResourceState]
    outputs: dict[str, Any]

    def custom(self) -> list[ResourceState]:
        return [r for r in self.records.values() if r.custom and not r.type.startswith("pulumi:providers:")]

    def of_type(self, type_: str) -> list[ResourceState]:
        return [r for r in self.custom() if r.type == type_]

    def name(self, record: ResourceState) -> str:
        return record.urn.rsplit("::", 1)[-1]

    def inventory(self) -> list[str]:
        return sorted(f"{r.type} {self.name(r)}" for r in self.custom())


def evaluate(spec: PlatformSpec) -> PlatformPlan:
    """Run the program for ``spec`` with fake handlers; return what it registered."""
    endpoint = "http://127.0.0.1:9" if spec.target == "local" else None
    settings = TargetSettings(region=spec.region, endpoint=endpoint, account_id=spec.account_id)
    deployment = Deployment(previous={}, handlers=FakeHandlers(), preview=False)
    run_program(
        lambda: build_platform(spec, settings),
        EngineMonitor(deployment, "mlplatform", spec.env),
        preview=False,
        parallel=4,
    )
    failed = [step.error for step in deployment.steps if step.error]
    assert not failed, failed
    return PlatformPlan(spec, dict(deployment.records), dict(deployment.stack_outputs))


@cache
def plan_for(blueprint: str, env: str = "local") -> PlatformPlan:
    """The platform of a packaged blueprint in a shipped environment (cached: the program is deterministic)."""
    return evaluate(environments.resolve(env, blueprint).spec)
