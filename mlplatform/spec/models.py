"""The validated model of an environment: :class:`PlatformSpec` and one spec per component.

These models are the user's documentation as much as the code's contract: every field's description
says what it does and what the default means, and is shown by ``mlplatform blueprints show --resolved``
and in docs/blueprints.md. All models are frozen and reject unknown keys.

A spec says *what* an environment needs; it is not the components' Args. The program translates a spec
into Args (docs/architecture.md), so components stay usable from plain Python.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mlplatform.spec import aws_rules, awsmodel, formats, names, rules, tagging

# ---------------------------------------------------------------------------------------------------
# Shared building blocks
# ---------------------------------------------------------------------------------------------------

COMPONENTS: tuple[str, ...] = (
    "network",
    "encryption",
    "artifact_store",
    "container_registry",
    "identity",
    "dev_environment",
    "registry",
    "feature_store",
    "training",
    "pipelines",
    "serving",
    "monitoring",
    "cicd",
)
"""Component keys of :class:`PlatformSpec`, in the order they are described and provisioned."""

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


InstanceType = Annotated[
    str,
    Field(
        pattern=formats.INSTANCE_TYPE,
        description="A SageMaker instance type such as `ml.m5.xlarge`.",
        examples=["ml.m5.xlarge"],
    ),
]
# Each API has its own list of instance types (botocore's model): a type valid for training may be refused
# by endpoints. The dev environment's type depends on its kind and is checked by its model.
TrainingInstanceType = Annotated[
    InstanceType, AfterValidator(aws_rules.instance_type_check(awsmodel.TRAINING_INSTANCE))
]
ProcessingInstanceType = Annotated[
    InstanceType, AfterValidator(aws_rules.instance_type_check(awsmodel.PROCESSING_INSTANCE))
]
EndpointInstanceType = Annotated[
    InstanceType, AfterValidator(aws_rules.instance_type_check(awsmodel.ENDPOINT_INSTANCE))
]
MonitoringInstanceType = Annotated[
    InstanceType, AfterValidator(aws_rules.instance_type_check(awsmodel.MONITORING_INSTANCE))
]
ResourceName = Annotated[
    str,
    Field(
        pattern=formats.RESOURCE_NAME,
        description="Lowercase letters, digits and hyphens; starts with a letter; 2-32 characters.",
    ),
]
Schedule = Annotated[
    str,
    Field(max_length=256, description="An EventBridge schedule: `rate(1 day)` or `cron(0 3 * * ? *)`."),
    AfterValidator(aws_rules.check_schedule),
]
PositiveInt = Annotated[int, Field(gt=0)]
Loc = tuple[str | int, ...]


class SpecModel(BaseModel):
    """Base of every spec model: frozen, strict about types, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True, allow_inf_nan=False)


class ComponentSpec(SpecModel):
    """Base of every component's spec: each component can be switched on or off."""

    enabled: bool = Field(
        default=False,
        description="Provision this component. Blueprints switch on what their maturity level needs.",
    )


# ---------------------------------------------------------------------------------------------------
# Components
# ---------------------------------------------------------------------------------------------------


class NetworkSpec(ComponentSpec):
    """A private VPC for training, processing, notebooks and endpoints."""

    cidr_block: Annotated[str, AfterValidator(aws_rules.check_vpc_cidr)] = Field(
        default="10.20.0.0/16",
        pattern=formats.CIDR,
        description="IPv4 range of the VPC, a /16 to /28 block (its network address, outside reserved ranges); "
        "each availability zone gets an equal private subnet carved from its start.",
    )
    availability_zones: int = Field(
        default=2, ge=1, le=6, description="How many availability zones get a private subnet each."
    )
    interface_endpoints: list[str] = Field(
        default_factory=lambda: ["sagemaker.api", "sagemaker.runtime"],
        description=(
            "AWS services reached through interface VPC endpoints, so private subnets need no internet "
            "route (an S3 gateway endpoint is always created)."
        ),
    )
    flow_logs: bool = Field(
        default=True,
        description="Record VPC flow logs to an encrypted CloudWatch log group. Turning this off is a "
        "visible security override.",
    )

    @field_validator("interface_endpoints")
    @classmethod
    def _endpoint_names(cls, value: list[str]) -> list[str]:
        for service in value:
            if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", service):
                raise ValueError(f"{service!r} is not an AWS service endpoint name such as 'sagemaker.api'")
        return _unique(value, "interface endpoint", "interface_endpoints")

    @model_validator(mode="after")
    def _subnets(self) -> NetworkSpec:
        problems = _Problems("NetworkSpec")
        problems.extend(aws_rules.subnet_findings(self.cidr_block, self.availability_zones))
        problems.raise_if_any()
        return self


class EncryptionSpec(ComponentSpec):
    """The platform's customer-managed KMS key, used by every encrypted resource."""

    key_rotation: bool = Field(
        default=True, description="Rotate the key material yearly. Turning this off is a visible security override."
    )
    deletion_window_days: int = Field(
        default=30, ge=7, le=30, description="Days a deleted key can still be recovered (AWS allows 7-30)."
    )


class ArtifactStoreSpec(ComponentSpec):
    """The artifact bucket (datasets, model artifacts, pipeline outputs) and its access-log bucket."""

    versioning: bool = Field(
        default=True,
        description="Keep every version of every object in the artifact bucket. Off suspends versioning (versions "
        "made before stay until the lifecycle rule expires them) and is a visible security override.",
    )
    access_logging: bool = Field(
        default=True,
        description="Log every request to a separate access-log bucket. Off is a visible security override.",
    )
    noncurrent_version_expiration_days: int = Field(
        default=90, gt=0, le=3650, description="Delete replaced object versions after this many days."
    )
    log_retention_days: int = Field(
        default=365, gt=0, le=3650, description="Delete access-log objects after this many days."
    )


class ContainerRegistrySpec(ComponentSpec):
    """ECR repositories for training and serving images."""

    repositories: list[ResourceName] = Field(
        default_factory=lambda: ["training", "serving"],
        min_length=1,
        description="Repository names, created as `<platform>/<name>`.",
    )
    scan_on_push: bool = Field(
        default=True,
        description="Scan every pushed image for vulnerabilities. Off is a visible security override.",
    )
    immutable_tags: bool = Field(
        default=True,
        description="Forbid overwriting an image tag, so a deployed tag always means one image. Off (mutable "
        "tags) is a visible security override.",
    )
    keep_images: int = Field(
        default=50, gt=0, le=10000, description="Expire the oldest images beyond this many per repository."
    )

    @field_validator("repositories")
    @classmethod
    def _unique_repositories(cls, value: list[str]) -> list[str]:
        return _unique(value, "repository", "repositories")


class IdentitySpec(ComponentSpec):
    """Least-privilege IAM roles, one per workload: dev-environment users, training and processing jobs,
    serving, monitoring, feature store, the pipeline and EventBridge (CI/CD has its own)."""

    permissions_boundary_arn: str | None = Field(
        default=None,
        pattern=formats.IAM_POLICY_ARN,
        description="IAM policy attached as permissions boundary to every role; none by default.",
    )


class DevEnvironmentSpec(ComponentSpec):
    """Where data scientists explore: a SageMaker Domain or a notebook instance, VPC-only."""

    kind: Literal["domain", "notebook"] = Field(
        default="domain", description="`domain` (SageMaker Studio) or `notebook` (a notebook instance)."
    )
    instance_type: InstanceType = Field(
        default="ml.t3.medium", description="Instance type of the notebook or of Studio's default app."
    )
    volume_size_gb: int = Field(default=20, ge=5, le=16384, description="Notebook storage, encrypted with KMS.")
    root_access: bool = Field(
        default=False,
        description="Let notebook users become root (kind `notebook` only; a domain refuses it). On is a visible "
        "security override.",
    )
    direct_internet_access: bool = Field(
        default=False,
        description="Give the notebook a route to the internet outside the VPC (kind `notebook` only; a domain is "
        "always VPC-only and refuses it). On is a visible security override.",
    )

    @model_validator(mode="after")
    def _instance_type(self) -> DevEnvironmentSpec:
        # A notebook instance and a Studio app take different lists of instance types.
        api = awsmodel.NOTEBOOK_INSTANCE if self.kind == "notebook" else awsmodel.STUDIO_APP_INSTANCE
        problems = _Problems("DevEnvironmentSpec")
        problem = aws_rules.instance_type_problem(self.instance_type, api)
        if problem is not None:
            problems.add(("instance_type",), problem[0], self.instance_type, allowed=problem[1])
        # A Studio domain is created VpcOnly and has no root-access switch: accepting these settings for it
        # would promise an override that nothing applies.
        for setting in ("root_access", "direct_internet_access") if self.kind == "domain" else ():
            if getattr(self, setting):
                problems.add(
                    (setting,),
                    f"{setting} applies to notebook instances only; a SageMaker domain (kind: domain) is always "
                    "VPC-only without root access, so this setting would be ignored",
                    True,
                    allowed=f"{setting}: false (or no {setting} key), or kind: notebook",
                )
        problems.raise_if_any()
        return self


class RegistrySpec(ComponentSpec):
    """The model registry: model package groups and the approval workflow."""

    model_package_groups: list[ResourceName] = Field(
        default_factory=lambda: ["default"],
        min_length=1,
        description="Model package groups, created as `<platform>-<name>`.",
    )
    approval: Literal["manual", "automatic"] = Field(
        default="manual",
        description="`manual`: new model versions wait for a person to approve them; `automatic`: approved "
        "on registration (a visible security override: no person reviews a model before it can be deployed).",
    )

    @field_validator("model_package_groups")
    @classmethod
    def _unique_groups(cls, value: list[str]) -> list[str]:
        return _unique(value, "model package group", "model_package_groups")


FeatureType = Literal["Integral", "Fractional", "String"]


class FeatureDefinition(SpecModel):
    """One feature of a feature group."""

    name: str = Field(pattern=formats.FEATURE_NAME, description="Feature name.")
    type: FeatureType = Field(description="`Integral`, `Fractional` or `String`.")


RESERVED_FEATURE_NAMES = ("is_deleted", "write_time", "api_invocation_time")
"""Columns Feature Store adds to every record; CreateFeatureGroup refuses features with these names."""


class FeatureGroupSpec(SpecModel):
    """A SageMaker feature group."""

    name: ResourceName = Field(description="Feature group name, created as `<platform>-<name>`.")
    record_identifier: str = Field(description="The feature that identifies a record.")
    event_time: str = Field(description="The feature holding each record's event time.")
    features: list[FeatureDefinition] = Field(min_length=1, description="The features, at least one.")
    online: bool = Field(default=False, description="Keep an online store for low-latency reads (KMS).")
    offline: bool = Field(default=True, description="Keep an offline store in the artifact bucket (KMS).")

    @model_validator(mode="after")
    def _consistent(self) -> FeatureGroupSpec:
        problems = _Problems("FeatureGroupSpec")
        names = [feature.name for feature in self.features]
        problems.add_all(_duplicates(names, "feature", "features", ("name",)), prefix=("features",))
        for index, name in enumerate(names):
            if name.lower() in RESERVED_FEATURE_NAMES:
                problems.add(
                    ("features", index, "name"),
                    f"Feature Store reserves the feature name {name!r} for its own columns",
                    name,
                    allowed=f"any name but {', '.join(RESERVED_FEATURE_NAMES)}",
                )
        most = awsmodel.constraint(awsmodel.FEATURE_DEFINITIONS).max
        if most is not None and len(names) > most:
            problems.add(
                ("features",),
                f"{len(names)} features; SageMaker CreateFeatureGroup takes at most {most}",
                f"{len(names)} features",
                allowed=f"at most {most} features per group",
            )
        for role in ("record_identifier", "event_time"):
            value = getattr(self, role)
            if value not in names:
                problems.add((role,), f"{value!r} is not one of the features ({', '.join(names)})", value)
        event_types = [f.type for f in self.features if f.name == self.event_time]
        if event_types and event_types[0] not in ("String", "Fractional"):
            problems.add(
                ("event_time",),
                f"the event_time feature must be of type String or Fractional, not {event_types[0]}",
                self.event_time,
            )
        if not (self.online or self.offline):
            problems.add(("offline",), "a feature group needs an online store, an offline store or both", False)
        problems.raise_if_any()
        return self


class FeatureStoreSpec(ComponentSpec):
    """SageMaker Feature Store: feature groups, offline store in S3 under KMS, Glue catalog."""

    feature_groups: list[FeatureGroupSpec] = Field(
        default_factory=list, description="Feature groups; usually declared per environment."
    )

    @field_validator("feature_groups")
    @classmethod
    def _unique_groups(cls, value: list[FeatureGroupSpec]) -> list[FeatureGroupSpec]:
        _unique([group.name for group in value], "feature group", "feature_groups", ("name",))
        return value


class TrainingSpec(ComponentSpec):
    """Settings training jobs share: allowed instances, parallelism, spot, storage."""

    allowed_instance_types: list[TrainingInstanceType] = Field(
        default_factory=lambda: ["ml.m5.xlarge", "ml.m5.2xlarge"],
        min_length=1,
        description="Instance types training jobs may use (each one SageMaker's CreateTrainingJob accepts); the "
        "pipeline's training type must be among them.",
    )
    max_parallel_jobs: int = Field(default=2, gt=0, le=100, description="Training jobs that may run at once.")
    spot: bool = Field(default=False, description="Use managed spot training (cheaper, interruptible).")
    max_runtime_hours: int = Field(default=24, gt=0, le=672, description="Stop a training job after this long.")
    volume_size_gb: int = Field(default=50, gt=0, le=16384, description="Training volume size, encrypted with KMS.")

    @field_validator("allowed_instance_types")
    @classmethod
    def _unique_types(cls, value: list[str]) -> list[str]:
        return _unique(value, "instance type", "allowed_instance_types")


class ApprovalMetricSpec(SpecModel):
    """The evaluation metric that decides whether a newly trained model is registered."""

    name: str = Field(default="accuracy", min_length=1, description="Metric name in the evaluation report.")
    threshold: float = Field(default=0.8, description="Value the metric is compared with.")
    comparison: Literal["greater_than_or_equal", "less_than_or_equal"] = Field(
        default="greater_than_or_equal",
        description="Register when the metric is >= the threshold (accuracy) or <= it (an error metric).",
    )


class PipelinesSpec(ComponentSpec):
    """The continuous-training pipeline: process -> train -> evaluate -> condition -> register."""

    # `false`, not `null`, switches a trigger off: in a merge, null means "remove the key, use the default".
    schedule: Schedule | Literal[False] = Field(
        default="rate(1 day)", description="Retrain on this schedule; `false` for no scheduled retraining."
    )
    new_data_prefix: Annotated[str, Field(pattern=formats.S3_PREFIX)] | Literal[False] = Field(
        default=names.INCOMING_PREFIX,
        description="Retrain when objects land under this artifact-bucket prefix; `false` for no trigger.",
    )
    approval_metric: ApprovalMetricSpec = Field(
        default_factory=ApprovalMetricSpec, description="Condition step that gates registration."
    )
    processing_instance_type: ProcessingInstanceType = Field(
        default="ml.m5.xlarge", description="Instance type of the processing and evaluation steps."
    )
    training_instance_type: TrainingInstanceType = Field(
        default="ml.m5.xlarge", description="Instance type of the training step (must be allowed by training)."
    )
    image: Annotated[str, AfterValidator(aws_rules.member_check(awsmodel.MODEL_IMAGE, "an image URI"))] = Field(
        default="training:latest",
        min_length=1,
        description="Image of the processing, training and evaluation jobs and of the registered model: "
        "`<repository>:<tag>` for one of the platform's own container_registry repositories, or a full URI "
        "(`<account>.dkr.ecr.<region>.amazonaws.com/repo:tag`). It is the default of the pipeline's `ImageUri` "
        "parameter: with immutable tags, push a new tag and start an execution with `ImageUri` set to it (no "
        "redeploy), or change this setting to move the default that scheduled and new-data runs use.",
    )


class AutoscalingSpec(SpecModel):
    """Application Auto Scaling of an endpoint's production variant."""

    min_capacity: PositiveInt = Field(default=1, description="Fewest instances.")
    max_capacity: PositiveInt = Field(default=2, description="Most instances.")
    target_invocations_per_instance: PositiveInt = Field(
        default=100, description="Target-tracking goal: invocations per instance per minute."
    )

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingSpec:
        problems = _Problems("AutoscalingSpec")
        if self.min_capacity > self.max_capacity:
            problems.add(
                ("min_capacity",),
                f"min_capacity must be <= max_capacity ({self.max_capacity})",
                self.min_capacity,
            )
        problems.raise_if_any()
        return self


class DeploymentSpec(SpecModel):
    """How a new model version replaces the old one on an endpoint (SageMaker blue/green)."""

    strategy: Literal["all-at-once", "canary", "linear"] = Field(
        default="all-at-once", description="`all-at-once`, `canary` (a slice first) or `linear` (in steps)."
    )
    traffic_percent: int = Field(
        default=10, gt=0, lt=100, description="Canary size, or the size of each linear step, in percent."
    )
    wait_minutes: int = Field(default=10, gt=0, le=60, description="Bake time between traffic shifts.")
    rollback_alarms: list[Literal["5xx", "latency", "model-errors"]] = Field(
        default_factory=list,
        description="Alarms that roll a deployment back automatically; canary and linear need at least one.",
    )

    @field_validator("rollback_alarms")
    @classmethod
    def _unique_alarms(cls, value: list[str]) -> list[str]:
        return _unique(value, "rollback alarm", "rollback_alarms")

    @model_validator(mode="after")
    def _rollback(self) -> DeploymentSpec:
        problems = _Problems("DeploymentSpec")
        if self.strategy != "all-at-once" and not self.rollback_alarms:
            problems.add(
                ("rollback_alarms",),
                f"a {self.strategy} deployment needs at least one rollback alarm (5xx, latency, model-errors)",
                self.rollback_alarms,
            )
        problems.raise_if_any()
        return self


# `sample` is not a URL (the program uploads a sample artifact), so only the length is AWS's to check.
ModelDataUrl = Annotated[str, AfterValidator(aws_rules.member_check(awsmodel.MODEL_DATA_URL, "a URL", pattern=False))]


class ModelSpec(SpecModel):
    """The model an endpoint serves."""

    image: Annotated[str, AfterValidator(aws_rules.member_check(awsmodel.MODEL_IMAGE, "an image URI"))] = Field(
        min_length=1,
        description="Inference container image: a full URI (`<account>.dkr.ecr.<region>.amazonaws.com/repo:tag`) "
        "or `<repository>:<tag>` for one of the platform's own container_registry repositories.",
    )
    model_data_url: ModelDataUrl | None = Field(
        default=None,
        pattern=formats.MODEL_DATA,
        description="`s3://` URL of model.tar.gz, or `sample` to upload a tiny sample artifact to the artifact "
        "bucket (for trying the platform locally); none for a model without artifacts.",
    )


class EndpointSpec(SpecModel):
    """A real-time inference endpoint. Unset settings take the serving component's defaults."""

    name: ResourceName = Field(description="Endpoint name, created as `<platform>-<name>`.")
    model: ModelSpec | None = Field(
        default=None,
        description="The model to serve. Without one, no endpoint is created: the serving component prepares "
        "roles, the capture prefix and alarms, and says so in its outputs.",
    )
    instance_type: EndpointInstanceType = Field(default="ml.m5.large", description="Instance type of the variant.")
    instance_count: PositiveInt = Field(default=1, description="Initial instance count.")
    autoscaling: AutoscalingSpec | None = Field(
        default=None, description="Scale the variant automatically. Default: `serving.autoscaling`."
    )
    data_capture_percent: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Share of requests captured to S3 for monitoring (0 = off). Default: "
        "`serving.data_capture_percent`.",
    )
    deployment: DeploymentSpec | None = Field(
        default=None, description="Rollout of new model versions. Default: `serving.deployment`."
    )


class EffectiveEndpointSpec(EndpointSpec):
    """An endpoint with the serving component's defaults applied (:meth:`ServingSpec.effective`): what the
    program deploys. Not a setting: nothing in a blueprint or an environment file has this shape."""

    data_capture_percent: int = Field(ge=0, le=100, description="Share of requests captured for monitoring.")
    deployment: DeploymentSpec = Field(description="Rollout of new model versions.")


class ServingSpec(ComponentSpec):
    """Real-time endpoints with encrypted configs, data capture and safe deployments.

    Blueprints set the defaults here (``deployment``, ``autoscaling``, ``data_capture_percent``); the
    endpoints themselves are usually declared per environment, and each may override a default.
    """

    endpoints: list[EndpointSpec] = Field(
        default_factory=list, description="Endpoints; usually declared per environment."
    )
    deployment: DeploymentSpec = Field(
        default_factory=DeploymentSpec, description="Default rollout of new model versions."
    )
    autoscaling: AutoscalingSpec | None = Field(
        default=None, description="Default autoscaling of endpoints; none: fixed instance count."
    )
    data_capture_percent: int = Field(
        default=0, ge=0, le=100, description="Default share of requests captured for monitoring (0 = off)."
    )

    def effective(self, endpoint: EndpointSpec) -> EffectiveEndpointSpec:
        """``endpoint`` with every unset setting taken from this component's defaults."""
        return EffectiveEndpointSpec(
            **{
                **dict(endpoint),
                "autoscaling": endpoint.autoscaling if endpoint.autoscaling is not None else self.autoscaling,
                "data_capture_percent": endpoint.data_capture_percent
                if endpoint.data_capture_percent is not None
                else self.data_capture_percent,
                "deployment": endpoint.deployment or self.deployment,
            }
        )

    def effective_endpoints(self) -> list[EffectiveEndpointSpec]:
        """Every endpoint with defaults applied."""
        return [self.effective(endpoint) for endpoint in self.endpoints]

    @model_validator(mode="after")
    def _endpoints(self) -> ServingSpec:
        problems = _Problems("ServingSpec")
        names = [endpoint.name for endpoint in self.endpoints]
        problems.add_all(_duplicates(names, "endpoint", "endpoints", ("name",)), prefix=("endpoints",))
        for index, endpoint in enumerate(self.endpoints):
            scaling = endpoint.autoscaling or self.autoscaling
            if scaling and not scaling.min_capacity <= endpoint.instance_count <= scaling.max_capacity:
                problems.add(
                    ("endpoints", index, "instance_count"),
                    f"instance_count must lie within autoscaling min_capacity..max_capacity "
                    f"({scaling.min_capacity}..{scaling.max_capacity})",
                    endpoint.instance_count,
                )
        problems.raise_if_any()
        return self


class AlarmsSpec(SpecModel):
    """Thresholds of the endpoint alarms (they notify the alarm topic)."""

    error_rate_5xx_percent: float = Field(default=1.0, gt=0, le=100, description="5XX errors, percent of calls.")
    latency_p99_ms: int = Field(default=1000, gt=0, description="Model latency at the 99th percentile.")


class QualityMonitoringSpec(SpecModel):
    """A SageMaker monitoring schedule (data quality or model quality)."""

    enabled: bool = Field(default=False, description="Run this monitoring schedule.")
    schedule: str = Field(
        default="cron(0 * ? * * *)",
        pattern=formats.MONITORING_CRON,
        description="Monitoring cron expression (SageMaker allows hourly or daily crons).",
    )
    instance_type: MonitoringInstanceType = Field(
        default="ml.m5.large", description="Instance type of the monitoring job."
    )


class BudgetSpec(SpecModel):
    """A monthly AWS Budget for the platform's tagged resources."""

    monthly_limit_usd: float = Field(gt=0, description="Monthly cost limit in US dollars.")
    alert_threshold_percent: int = Field(default=80, gt=0, le=1000, description="Alert at this share of the limit.")
    alert_emails: list[str] = Field(default_factory=list, description="Addresses that get budget alerts.")

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value

    @field_validator("alert_emails")
    @classmethod
    def _subscribers(cls, value: list[str]) -> list[str]:
        problems = _Problems("alert_emails")
        problems.add_all(_duplicates(value, "address", "alert_emails"))
        # Each notification also notifies the platform's alarm topic: one subscriber of AWS's maximum.
        most = (awsmodel.constraint(awsmodel.BUDGET_SUBSCRIBERS).max or 11) - 1
        if len(value) > most:
            problems.add(
                (),
                f"{len(value)} addresses; AWS Budgets takes {most + 1} subscribers per notification and one is the "
                "platform's alarm topic",
                len(value),
                allowed=f"at most {most} addresses (subscribe more people to the alarm topic)",
            )
        problems.raise_if_any()
        return value


class MonitoringSpec(ComponentSpec):
    """Logs, alarms, dashboards, model monitoring and budgets."""

    log_retention_days: int = Field(
        default=365, description="CloudWatch log retention (one of CloudWatch's allowed periods, >= 365 by policy)."
    )
    alarms: AlarmsSpec = Field(default_factory=AlarmsSpec, description="Alarm thresholds.")
    data_quality: QualityMonitoringSpec = Field(
        default_factory=QualityMonitoringSpec, description="Data-quality monitoring of captured endpoint data."
    )
    model_quality: QualityMonitoringSpec = Field(
        default_factory=QualityMonitoringSpec,
        description="Model-quality monitoring against ground truth. Not available yet: pulumi-aws has no "
        "model-quality job definition resource, so enabling it is an error rather than a silent no-op.",
    )
    dashboard: bool = Field(default=False, description="Create a CloudWatch dashboard for the platform.")
    budget: BudgetSpec | None = Field(default=None, description="A monthly budget with alerts; none by default.")

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"CloudWatch does not accept {value}; use one of {', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
        return value


class CicdSpec(ComponentSpec):
    """Continuous delivery of models: CodePipeline + CodeBuild, or GitHub OIDC deploy roles, one role per stage."""

    provider: Literal["codepipeline", "github-oidc"] = Field(
        default="codepipeline",
        description="`codepipeline` (CodePipeline + CodeBuild in this account) or `github-oidc` (GitHub Actions "
        "assumes one deploy role per stage).",
    )
    repository: str | None = Field(
        default=None,
        pattern=formats.REPOSITORY,
        description="`github-oidc`: the GitHub repository (`owner/name`) whose workflows may assume the deploy roles; "
        "required there. Provider `codepipeline` refuses it: its source is the artifact bucket's object "
        "`source/<branch>.zip`.",
    )
    branch: str = Field(
        default="main",
        min_length=1,
        description="Branch that deploys (`github-oidc`: the branch whose workflows may assume the roles of the stages "
        "before production).",
    )
    stages: list[ResourceName] = Field(
        default_factory=lambda: ["staging", "prod"],
        min_length=1,
        description="Deployment stages in order; the last one is production. Each stage deploys with its own role, "
        "which may roll out only that stage's endpoints: an endpoint belongs to an earlier stage when its name is "
        "the stage's name or starts with `<stage>-`, every other endpoint to production.",
    )
    manual_approval_before_prod: bool = Field(
        default=True,
        description="Wait for a person's approval before deploying to the last stage (`codepipeline`: an approval "
        "action, also when production is the only stage). `github-oidc` cannot turn it off here: the production "
        "role trusts only the GitHub environment `github_environment`, whose required reviewers are the approval. Off "
        "is a visible security override.",
    )
    github_environment: str | None = Field(
        default=None,
        pattern=formats.GITHUB_ENVIRONMENT,
        description="`github-oidc`: the GitHub environment whose jobs may assume the production deploy role (give it "
        "required reviewers in GitHub). Default: the last stage's name.",
    )
    github_oidc_provider_arn: str | None = Field(
        default=None,
        pattern=formats.GITHUB_OIDC_PROVIDER_ARN,
        description="`github-oidc`: trust the account's existing GitHub OIDC provider instead of creating one. An "
        "account has one provider per URL, so the second environment in an account sets this to "
        "`arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com`. Default: this environment "
        "creates the provider and owns it (destroying it removes the provider).",
    )

    @field_validator("stages")
    @classmethod
    def _unique_stages(cls, value: list[str]) -> list[str]:
        _unique(value, "stage", "stages")
        # A stage owns the endpoints named `<stage>-*`: with stages `qa` and `qa-eu`, `qa`'s role could also roll
        # out `qa-eu`'s endpoints.
        problems = _Problems("stages")
        for index, stage in enumerate(value):
            for other in value:
                if stage != other and stage.startswith(f"{other}-"):
                    problems.add(
                        (index,),
                        f"starts with {other + '-'!r}: the deploy role of stage {other!r} owns the endpoints named "
                        f"{other}-*, which would include those of {stage!r}",
                        stage,
                        allowed="stage names none of which is another's name followed by '-'",
                    )
        problems.raise_if_any()
        return value

    @model_validator(mode="after")
    def _provider_settings(self) -> CicdSpec:
        problems = _Problems("CicdSpec")
        if self.enabled and self.provider == "github-oidc" and not self.repository:
            problems.add(("repository",), "provider github-oidc needs the GitHub repository as `owner/name`", None)
        if self.enabled and self.provider == "github-oidc" and not self.manual_approval_before_prod:
            problems.add(
                ("manual_approval_before_prod",),
                "with provider github-oidc the approval before production is the required reviewers of the GitHub "
                "environment that alone may assume the production role; configure it in GitHub, not here",
                False,
                allowed="true (the default) with github-oidc",
            )
        if self.enabled and self.provider != "github-oidc":
            for key in ("repository", "github_environment", "github_oidc_provider_arn"):
                value = getattr(self, key)
                if value is not None:
                    # Accepting it would promise a setting that nothing applies: codepipeline's source is the
                    # object `source/<branch>.zip` in the artifact bucket, whatever pushes it there.
                    problems.add(
                        (key,),
                        f"only provider github-oidc uses it; provider is {self.provider}, whose source is the "
                        f"artifact bucket's object source/{self.branch}.zip",
                        value,
                        allowed=f"no {key} key with provider {self.provider}, or provider: github-oidc",
                    )
        problems.raise_if_any()
        return self


# ---------------------------------------------------------------------------------------------------
# The whole platform
# ---------------------------------------------------------------------------------------------------


class SettingsSpec(SpecModel):
    """What a blueprint or an environment's overrides may set: tags, safety switches and components.

    A blueprint document and an env's ``overrides:`` both have this shape; :class:`PlatformSpec` adds the
    environment's identity (name, env, target, region, ...).
    """

    tags: dict[str, str] = Field(
        default_factory=dict,
        description="Extra tags on every taggable resource (the four `mlplatform:*`/`managed-by` tags are "
        "always added). Keys: 1-128 letters, digits, spaces and `_ . : / = + - @`, not starting with `aws:`, "
        "none of mlplatform's own (`mlplatform:*`, `managed-by`, `Name`); values: 0-256 of the same "
        f"characters; at most {tagging.AWS_TAGS_PER_RESOURCE - len(tagging.OWN_KEYS)} tags (AWS's "
        f"{tagging.AWS_TAGS_PER_RESOURCE} per resource less the {len(tagging.OWN_KEYS)} mlplatform may add).",
    )
    protect: bool | None = Field(
        default=None,
        description="Refuse to delete stateful resources (buckets, keys, registries, feature groups). Default: "
        "on, except for target `local`; off for target `aws` is a visible security override, refused together "
        "with allow_destroy_data for a production environment (docs/security.md) unless "
        "`--allow-unprotected-prod` is given.",
    )
    allow_destroy_data: bool | None = Field(
        default=None,
        description="Let destroy empty and delete buckets that still hold data (buckets are created with "
        "force_destroy). Default: off, except for target `local`; on for target `aws` is a visible security "
        "override.",
    )
    network: NetworkSpec = Field(default_factory=NetworkSpec, description=NetworkSpec.__doc__)
    encryption: EncryptionSpec = Field(default_factory=EncryptionSpec, description=EncryptionSpec.__doc__)
    artifact_store: ArtifactStoreSpec = Field(default_factory=ArtifactStoreSpec, description=ArtifactStoreSpec.__doc__)
    container_registry: ContainerRegistrySpec = Field(
        default_factory=ContainerRegistrySpec, description=ContainerRegistrySpec.__doc__
    )
    identity: IdentitySpec = Field(default_factory=IdentitySpec, description=IdentitySpec.__doc__)
    dev_environment: DevEnvironmentSpec = Field(
        default_factory=DevEnvironmentSpec, description=DevEnvironmentSpec.__doc__
    )
    registry: RegistrySpec = Field(default_factory=RegistrySpec, description=RegistrySpec.__doc__)
    feature_store: FeatureStoreSpec = Field(default_factory=FeatureStoreSpec, description=FeatureStoreSpec.__doc__)
    training: TrainingSpec = Field(default_factory=TrainingSpec, description=TrainingSpec.__doc__)
    pipelines: PipelinesSpec = Field(default_factory=PipelinesSpec, description=PipelinesSpec.__doc__)
    serving: ServingSpec = Field(default_factory=ServingSpec, description=ServingSpec.__doc__)
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec, description=MonitoringSpec.__doc__)
    cicd: CicdSpec = Field(default_factory=CicdSpec, description=CicdSpec.__doc__)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        # A field validator (not a model one), so tag problems are reported with every other field's.
        problems = _Problems("tags")
        problems.extend(aws_rules.tag_findings(value), strip=("tags",))
        problems.raise_if_any()
        return value

    def enabled_components(self) -> list[str]:
        """Names of the enabled components, in :data:`COMPONENTS` order."""
        return [name for name in COMPONENTS if getattr(self, name).enabled]


class PlatformSpec(SettingsSpec):
    """One environment's platform, fully resolved: blueprint <- extends <- env overrides, validated."""

    name: str = Field(
        pattern=formats.PLATFORM_NAME,
        description="Prefix of every physical resource name (3-32 characters). Default: `mlp-<env>`.",
    )
    env: str = Field(pattern=formats.ENV_NAME, description="The environment's name.")
    blueprint: str = Field(min_length=1, description="The blueprint this environment was built from.")
    level: Literal[0, 1, 2] = Field(description="MLOps maturity level of the blueprint.")
    target: Literal["local", "aws"] = Field(description="`local` (embedded AWS emulator, no account) or `aws`.")
    region: Annotated[str, AfterValidator(aws_rules.check_region)] = Field(
        description="AWS region, e.g. `eu-west-1` (one botocore knows, in any partition)."
    )
    account_id: str | None = Field(
        default=None,
        pattern=formats.ACCOUNT_ID,
        description="Refuse to deploy unless the credentials belong to this 12-digit AWS account. Required for "
        "target aws: every policy's account guard is built from it.",
    )
    # Re-declared without None: _defaults always resolves them from the target.
    protect: bool = Field(
        description="Refuse to delete stateful resources (buckets, keys, registries, feature groups)."
    )
    allow_destroy_data: bool = Field(description="Let destroy empty and delete buckets that still hold data.")

    @classmethod
    def user_keys(cls) -> list[str]:
        """Keys a blueprint or ``overrides:`` may set (the rest come from the env file and blueprint)."""
        return list(SettingsSpec.model_fields)

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """Safety switches default by target: a laptop emulator is disposable, real accounts are not."""
        if isinstance(data, dict):
            data = dict(data)
            disposable = data.get("target") == "local"
            if data.get("protect") is None:
                data["protect"] = not disposable
            if data.get("allow_destroy_data") is None:
                data["allow_destroy_data"] = disposable
        return data

    @model_validator(mode="after")
    def _cross_component_rules(self) -> PlatformSpec:
        """Rules that span components (:mod:`mlplatform.spec.rules`), each at the field the user should change."""
        problems = _Problems("PlatformSpec")
        problems.extend(rules.findings(self))
        problems.raise_if_any()
        return self


class _Problems:
    """Collects cross-field problems, each at the field path the user should edit.

    A plain ``ValueError`` from a model validator is reported at the model itself, which in a merged
    document has no useful file line. Raising a ``ValidationError`` with explicit locations instead lets
    pydantic nest them under the parent's path, so ``serving.endpoints[0].instance_count`` points at the
    line where that count was written.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.errors: list[Any] = []

    def add(self, loc: Loc, reason: str, value: Any, *, allowed: str | None = None) -> None:
        error = PydanticCustomError("cross_field", "{reason}", {"reason": reason, "allowed": allowed or ""})
        self.errors.append({"type": error, "loc": loc, "input": value})

    def extend(self, findings: list[aws_rules.Finding], *, strip: Loc = ()) -> None:
        """Add a rule's findings; ``strip`` removes the field's own name when used in a field validator."""
        for finding in findings:
            loc = finding.loc[len(strip) :] if finding.loc[: len(strip)] == strip else finding.loc
            self.add(loc, finding.reason, finding.value, allowed=finding.allowed)

    def add_all(self, found: list[tuple[Loc, str, Any, str]], prefix: Loc = ()) -> None:
        for loc, reason, value, allowed in found:
            self.add((*prefix, *loc), reason, value, allowed=allowed)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError.from_exception_data(self.title, self.errors)


def _duplicates(values: list[Any], what: str, field: str, suffix: Loc = ()) -> list[tuple[Loc, str, Any, str]]:
    """Every repeated value, located at its own item (``(index, *suffix)``) and naming the first one.

    Each of these lists becomes AWS resources or settings named by the value, so a repeat would collide (or
    be refused) at deploy time; the repetition is what the user removes.
    """
    first: dict[Any, int] = {}
    found: list[tuple[Loc, str, Any, str]] = []
    for index, value in enumerate(values):
        if value in first:
            reason = f"{what} {value!r} is listed more than once (first as {field}[{first[value]}])"
            found.append(((index, *suffix), reason, value, f"each {what} once"))
        else:
            first[value] = index
    return found


def _unique(values: list[Any], what: str, field: str, suffix: Loc = ()) -> list[Any]:
    """A field validator's body: ``values`` unchanged, or every repetition reported at its item."""
    problems = _Problems(field)
    problems.add_all(_duplicates(values, what, field, suffix))
    problems.raise_if_any()
    return values
