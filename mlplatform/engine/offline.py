"""Offline plans: evaluate an environment's program with no emulator, no cloud and no credentials.

``mlplatform export`` needs what a preview of a fresh environment would create — every resource the
program declares, with its inputs and the resources each input came from — without touching AWS, the
emulator or the environment's state. The embedded engine's :class:`Deployment` in ``offline`` preview
mode gives exactly that (types without a handler are planned too; outputs only the cloud knows stay
unknown). Its :class:`~mlplatform.engine.model.Change` objects show masked inputs and no dependencies, so
a thin recorder keeps each registration as the monitor delivered it: raw inputs (unknown markers and
secret envelopes intact, for the exporter to map) and property dependencies (which resource each input
came from — what lets a scanner connect a bucket to its separate encryption resource).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from mlplatform import environments
from mlplatform.engine.embedded.deployment import PROVIDER_PREFIX, Deployment, component_of
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.monitor import EngineMonitor, Registration
from mlplatform.engine.embedded.runner import run_program
from mlplatform.engine.values import UNKNOWN
from mlplatform.spec.names import check_env_name

PROJECT = "mlplatform"
OFFLINE_ENDPOINT = "http://127.0.0.1:4566"
"""Target local's provider is pointed here; nothing connects to it during an offline plan."""


@dataclass(frozen=True)
class PlannedResource:
    """One custom resource the program declares.

    Attributes:
        urn: its Pulumi URN.
        type: the pulumi-aws type token (``aws:s3/bucket:Bucket``).
        name: its logical name (``artifact-store-artifacts-bucket``).
        component: the mlplatform component it belongs to.
        inputs: camelCase inputs as the SDK sent them; unknown values are :data:`UNKNOWN`, secrets keep
            their envelope (see :mod:`mlplatform.engine.values`).
        dependencies: URNs of the custom resources it depends on explicitly (``depends_on``).
        property_dependencies: for each input key, the URNs of the custom resources its value came from.
    """

    urn: str
    type: str
    name: str
    component: str | None
    inputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class OfflinePlan:
    """Everything an environment's program would create, in registration order."""

    env: str
    blueprint: str | None
    target: str
    region: str
    resources: list[PlannedResource]


class _Recorder:
    """A registrar that keeps every registration and lets the deployment answer it."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.registrations: list[Registration] = []
        self.lock = threading.Lock()

    def register(self, registration: Registration) -> tuple[str, dict[str, Any]]:
        with self.lock:
            self.registrations.append(registration)
        return self.deployment.register(registration)

    def register_outputs(self, urn: str, outputs: dict[str, Any]) -> None:
        self.deployment.register_outputs(urn, outputs)

    def invoke(self, token: str, args: dict[str, Any], provider: str | None) -> dict[str, Any]:
        return self.deployment.invoke(token, args, provider)


def plain(value: Any) -> Any:
    """Inputs as JSON-like data: the SDK's ``Unknown`` placeholders become :data:`UNKNOWN`, assets their source."""
    kind = type(value).__name__
    if kind == "Unknown":
        return UNKNOWN
    if kind in ("FileAsset", "FileArchive"):
        return value.path
    if kind == "StringAsset":
        return value.text
    if kind in ("RemoteAsset", "RemoteArchive"):
        return value.uri
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def plan_offline(
    env: str,
    blueprint: str | None = None,
    *,
    parallel: int = 10,
    remembered_blueprint: str | None = None,
    allow_unprotected_prod: bool = False,
) -> OfflinePlan:
    """Evaluate ``env``'s program offline and return every custom resource it would create.

    Works for every target: nothing is deployed, read or locked, and no credentials are needed.

    Args:
        env: the environment name (``stacks/<env>.yaml`` or the built-in ``local``).
        blueprint: ``--blueprint``; ``None`` uses the environment's.
        parallel: how many registrations the SDK runs at once.
        remembered_blueprint: the blueprint the environment was last deployed with (the rule's third step).
        allow_unprotected_prod: ``--allow-unprotected-prod`` (see :func:`mlplatform.environments.resolve`).

    Raises:
        ConfigError, EnvNotFoundError: from resolving the environment.
        ProgramError: the program failed.
    """
    from mlplatform.program import TargetSettings, build_platform

    check_env_name(env)
    spec = environments.resolve(
        env, blueprint, remembered_blueprint=remembered_blueprint, allow_unprotected_prod=allow_unprotected_prod
    ).spec
    settings = TargetSettings(
        region=spec.region,
        endpoint=OFFLINE_ENDPOINT if spec.target == "local" else None,
        account_id=spec.account_id,
    )
    deployment = Deployment(previous={}, handlers=registry(), preview=True, offline=True)
    recorder = _Recorder(deployment)
    run_program(
        lambda: build_platform(spec, settings),
        EngineMonitor(recorder, PROJECT, env),
        preview=True,
        parallel=parallel,
    )
    custom = {reg.urn for reg in recorder.registrations if reg.custom and not reg.type.startswith(PROVIDER_PREFIX)}
    resources = []
    for reg in recorder.registrations:
        if reg.urn not in custom:
            continue
        inputs = plain(reg.inputs)
        resources.append(
            PlannedResource(
                urn=reg.urn,
                type=reg.type,
                name=reg.name,
                component=component_of(reg.urn, inputs),
                inputs=inputs,
                dependencies=tuple(urn for urn in reg.dependencies if urn in custom),
                property_dependencies={
                    key: tuple(urn for urn in urns if urn in custom)
                    for key, urns in reg.property_dependencies.items()
                    if any(urn in custom for urn in urns)
                },
            )
        )
    return OfflinePlan(env, spec.blueprint, spec.target, spec.region, resources)
