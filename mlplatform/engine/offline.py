"""Offline plans: evaluate a program with no emulator, no cloud and no credentials.

The application hands in the program and where it would run (:func:`evaluate_offline`;
:mod:`mlplatform.app.offline` does it for an environment). ``mlplatform export`` needs what a preview of a
fresh environment would create — every resource the program declares, with its inputs and the resources
each input came from — without touching AWS, the emulator or the environment's state. The embedded
engine's :class:`Deployment` in ``offline`` preview mode gives exactly that (types without a handler are
planned too; outputs only the cloud knows stay unknown). Its :class:`~mlplatform.engine.model.Change`
objects show masked inputs and no dependencies, so a thin recorder keeps each registration as the monitor
delivered it: raw inputs (unknown markers and secret envelopes intact, for the exporter to map) and
property dependencies (which resource each input came from — what lets a scanner connect a bucket to its
separate encryption resource).

Outputs only the cloud knows would leave every policy built from them (a role's ARN in ``iam:PassRole``,
the key's ARN, a bucket's ARN) "known after apply", and scanners skip a policy they cannot read. So the
offline plan answers each new resource with the outputs AWS derives from what the program already knows —
ARNs from names, account, region and partition (:func:`derived_outputs`) — and, only where AWS assigns an
identifier (a KMS key's id, VPC, subnet and security group ids), a placeholder that says so
(``subnet-known-after-apply-mlp-dev-network-private-0``: the platform and the resource it stands for).
Every policy document is then concrete in the export.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlplatform.engine.conventions import Conventions
from mlplatform.engine.embedded.deployment import PROVIDER_PREFIX, Deployment
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.monitor import EngineMonitor, Registration
from mlplatform.engine.embedded.runner import Program, run_program
from mlplatform.engine.values import UNKNOWN


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
        derived: the outputs the offline plan derived for it (``id`` included), which other resources'
            inputs may now contain in place of an unknown value.
    """

    urn: str
    type: str
    name: str
    component: str | None
    inputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)


@dataclass
class OfflinePlan:
    """Everything an environment's program would create, in registration order."""

    env: str
    blueprint: str | None
    target: str
    region: str
    resources: list[PlannedResource]


PLACEHOLDER = "known-after-apply"
"""Marks a value AWS assigns when the resource is created; the export shows it instead of hiding a policy."""


@dataclass(frozen=True)
class Where:
    """The account, region and partition ARNs are derived in, and the platform placeholders name."""

    account: str
    region: str
    partition: str = "aws"
    platform: str = ""
    dns_suffix: str = "amazonaws.com"
    """The partition's DNS suffix (``amazonaws.com.cn`` in China): service host names end with it."""

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        """An ARN in this account and region (or without either, for global services)."""
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )


def _named(key: str, build: Callable[[Where, str], str]) -> Callable[[Where, dict[str, Any], str], dict[str, str]]:
    """An ``arn`` derived from the input ``key`` (nothing when the program left the name to AWS)."""

    def derive(where: Where, inputs: dict[str, Any], _: str) -> dict[str, str]:
        value = inputs.get(key)
        return {"arn": build(where, value)} if isinstance(value, str) and value else {}

    return derive


def _assigned(prefix: str) -> Callable[[Where, dict[str, Any], str], dict[str, str]]:
    """An ``id`` AWS assigns at creation: a placeholder named after the resource."""
    return lambda where, _inputs, name: {"id": f"{prefix}{_placeholder(where, name)}"}


def _placeholder(where: Where, name: str) -> str:
    return "-".join(part for part in (PLACEHOLDER, where.platform, name) if part)


def _key(where: Where, _: dict[str, Any], name: str) -> dict[str, str]:
    key_id = _placeholder(where, name)
    return {"id": key_id, "keyId": key_id, "arn": where.arn("kms", f"key/{key_id}")}


def _repository(where: Where, inputs: dict[str, Any], _: str) -> dict[str, str]:
    # `<repository>:<tag>` images are built from the URL: without it a model's container (and a pipeline's
    # whole definition) would be unknown in every offline plan.
    name = inputs.get("name")
    if not isinstance(name, str) or not name:
        return {}
    return {
        "arn": where.arn("ecr", f"repository/{name}"),
        "registryId": where.account,
        "repositoryUrl": f"{where.account}.dkr.ecr.{where.region}.{where.dns_suffix}/{name}",
    }


def _sagemaker(kind: str, key: str = "name") -> Callable[[Where, dict[str, Any], str], dict[str, str]]:
    # SageMaker writes resource names in ARNs in lower case.
    return _named(key, lambda where, value: where.arn("sagemaker", f"{kind}/{value.lower()}"))


DERIVED: dict[str, Callable[[Where, dict[str, Any], str], dict[str, str]]] = {
    "aws:iam/role:Role": _named("name", lambda w, v: w.arn("iam", f"role/{v}", region=False)),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _named(
        "url", lambda w, v: w.arn("iam", f"oidc-provider/{v.removeprefix('https://')}", region=False)
    ),
    "aws:s3/bucket:Bucket": _named("bucket", lambda w, v: w.arn("s3", v, region=False, account=False)),
    "aws:kms/key:Key": _key,
    "aws:sns/topic:Topic": _named("name", lambda w, v: w.arn("sns", v)),
    # The Terraform provider's log group ARN has no trailing ":*".
    "aws:cloudwatch/logGroup:LogGroup": _named("name", lambda w, v: w.arn("logs", f"log-group:{v}")),
    "aws:cloudwatch/eventRule:EventRule": _named("name", lambda w, v: w.arn("events", f"rule/{v}")),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _named("name", lambda w, v: w.arn("cloudwatch", f"alarm:{v}")),
    "aws:ecr/repository:Repository": _repository,
    "aws:codebuild/project:Project": _named("name", lambda w, v: w.arn("codebuild", f"project/{v}")),
    "aws:codepipeline/pipeline:Pipeline": _named("name", lambda w, v: w.arn("codepipeline", v)),
    "aws:glue/catalogDatabase:CatalogDatabase": _named("name", lambda w, v: w.arn("glue", f"database/{v}")),
    "aws:sagemaker/pipeline:Pipeline": _sagemaker("pipeline", "pipelineName"),
    "aws:sagemaker/endpoint:Endpoint": _sagemaker("endpoint"),
    "aws:sagemaker/featureGroup:FeatureGroup": _sagemaker("feature-group", "featureGroupName"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _sagemaker("model-package-group", "modelPackageGroupName"),
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": _sagemaker("monitoring-schedule"),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": _sagemaker("data-quality-job-definition"),
    "aws:sagemaker/notebookInstance:NotebookInstance": _sagemaker("notebook-instance"),
    "aws:ec2/vpc:Vpc": _assigned("vpc-"),
    "aws:ec2/subnet:Subnet": _assigned("subnet-"),
    "aws:ec2/securityGroup:SecurityGroup": _assigned("sg-"),
}
"""pulumi-aws type -> the outputs AWS derives from the resource's inputs (or assigns: placeholders)."""


def derived_outputs(type_: str, inputs: dict[str, Any], name: str, where: Where) -> dict[str, str]:
    """The outputs of a new resource that are known before it exists (``id`` among them, if any).

    Args:
        type_: the pulumi-aws type token.
        inputs: the resource's inputs (camelCase).
        name: its logical name (placeholders carry it).
        where: the account, region and partition.
    """
    derive = DERIVED.get(type_)
    return derive(where, inputs, name) if derive else {}


class _Recorder:
    """A registrar that keeps every registration and lets the deployment answer it.

    With ``where``, outputs the deployment leaves unknown are answered with :func:`derived_outputs`.
    """

    def __init__(self, deployment: Deployment, where: Where | None) -> None:
        self.deployment = deployment
        self.where = where
        self.registrations: list[Registration] = []
        self.derived: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()

    def register(self, registration: Registration) -> tuple[str, dict[str, Any]]:
        with self.lock:
            self.registrations.append(registration)
        resource_id, outputs = self.deployment.register(registration)
        if self.where is None or not registration.custom:
            return resource_id, outputs
        derived = derived_outputs(registration.type, plain(registration.inputs), registration.name, self.where)
        assigned = derived.pop("id", None)
        known = {key: value for key, value in derived.items() if outputs.get(key) in (None, UNKNOWN)}
        if assigned is not None and not resource_id:
            resource_id = known["id"] = assigned
        with self.lock:
            self.derived[registration.urn] = known
        return resource_id, {**outputs, **{key: value for key, value in known.items() if key != "id"}}

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


def evaluate_offline(
    program: Program,
    *,
    env: str,
    blueprint: str | None,
    target: str,
    region: str,
    where: Where | None,
    conventions: Conventions,
    parallel: int = 10,
) -> OfflinePlan:
    """Evaluate ``program`` offline and return every custom resource it would create.

    Nothing is deployed, read or locked, and no credentials are needed.

    Args:
        program: declares the resources (the application's program for one environment).
        env, blueprint, target, region: the facts the plan carries (the stack's name is ``env``).
        where: the account, region, partition and platform name outputs are derived in; ``None`` derives
            nothing (without an account no ARN can be).
        conventions: the application's project name and how resources map to components.
        parallel: how many registrations the SDK runs at once.

    Raises:
        ProgramError: the program failed.
    """
    deployment = Deployment(previous={}, handlers=registry(), preview=True, offline=True, conventions=conventions)
    recorder = _Recorder(deployment, where)
    run_program(program, EngineMonitor(recorder, conventions.project, env), preview=True, parallel=parallel)
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
                component=conventions.component_of(reg.urn, inputs),
                inputs=inputs,
                dependencies=tuple(urn for urn in reg.dependencies if urn in custom),
                property_dependencies={
                    key: tuple(urn for urn in urns if urn in custom)
                    for key, urns in reg.property_dependencies.items()
                    if any(urn in custom for urn in urns)
                },
                derived=recorder.derived.get(reg.urn, {}),
            )
        )
    return OfflinePlan(env, blueprint, target, region, resources)
