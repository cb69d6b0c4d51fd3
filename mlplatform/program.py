"""The Pulumi program: ``PlatformSpec -> components``, the same for every target and engine.

:func:`build_platform` is what the embedded engine evaluates in-process and what ``Pulumi.yaml`` runs
under the Pulumi CLI. It translates the spec into each component's Args (spec is not
Args), creates one explicit ``aws.Provider`` for the target, and exports what data scientists need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlplatform.components.cicd import Cicd, CicdArgs
from mlplatform.components.common import Platform
from mlplatform.components.dev_environment import DevEnvironment, DevEnvironmentArgs
from mlplatform.components.encryption import Encryption, EncryptionArgs
from mlplatform.components.feature_store import FeatureGroupArgs, FeatureStore, FeatureStoreArgs
from mlplatform.components.identity import Identity, IdentityArgs
from mlplatform.components.monitoring import (
    BudgetArgs,
    ModelMonitoring,
    ModelMonitoringArgs,
    MonitoredEndpoint,
    Monitoring,
    MonitoringArgs,
)
from mlplatform.components.network import Network, NetworkArgs
from mlplatform.components.pipelines import Pipelines, PipelinesArgs
from mlplatform.components.registry import ContainerRegistry, ContainerRegistryArgs, ModelRegistry, ModelRegistryArgs
from mlplatform.components.serving import AutoscalingArgs, EndpointArgs, Serving, ServingArgs
from mlplatform.components.storage import ArtifactStore, ArtifactStoreArgs
from mlplatform.components.training import Training, TrainingArgs
from mlplatform.spec import awsmodel, images, names
from mlplatform.spec.models import PlatformSpec
from mlplatform.spec.rules import EMULATOR_ACCOUNT_ID

EMULATED_SERVICES = (
    "s3", "kms", "sts", "iam", "ecr", "ec2", "logs", "cloudwatch", "events", "sns", "sagemaker", "glue",
    "codebuild", "codepipeline", "appautoscaling", "budgets", "resourcegroupstaggingapi",
)  # fmt: skip
"""Services the local target's provider points at the emulator: every service the blueprints use, and the
tagging API the engine asks for resources already tagged for an environment."""


@dataclass(frozen=True)
class TargetSettings:
    """Where the program deploys.

    Attributes:
        region: AWS region.
        endpoint: the emulator's URL for target ``local``; ``None`` for real AWS.
        account_id: the account, when known before deploying (the emulator's, or the env's guard).
    """

    region: str
    endpoint: str | None = None
    account_id: str | None = None


def make_provider(settings: TargetSettings, *, allowed_account: str | None = None) -> aws.Provider:
    """One explicit provider: the emulator (endpoints, fake credentials, path-style S3) or real AWS."""
    if settings.endpoint is None:
        return aws.Provider(
            "aws", region=settings.region, allowed_account_ids=[allowed_account] if allowed_account else None
        )
    return aws.Provider(
        "aws",
        region=settings.region,
        access_key="mlplatform-local",
        secret_key="mlplatform-local",
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_metadata_api_check=True,
        skip_region_validation=True,
        s3_use_path_style=True,
        endpoints=[aws.ProviderEndpointArgs(**dict.fromkeys(EMULATED_SERVICES, settings.endpoint))],
    )


def platform_of(spec: PlatformSpec, settings: TargetSettings) -> Platform:
    """The identity every component gets: names, account, region and partition, safety switches, tags."""
    account = settings.account_id or spec.account_id
    if spec.target == "local":
        account = EMULATOR_ACCOUNT_ID
    # The spec's rules read the same partition (botocore's data) for the ARNs they check.
    partition = awsmodel.partition_of(spec.region)
    assert partition is not None, "the spec accepts only regions botocore knows"
    return Platform(
        name=spec.name,
        env=spec.env,
        blueprint=spec.blueprint,
        region=spec.region,
        account_id=account,
        partition=partition,
        protect=spec.protect,
        allow_destroy_data=spec.allow_destroy_data,
        tags=dict(spec.tags),
    )


def _image(image: str, registry: ContainerRegistry | None) -> pulumi.Input[str]:
    """``<repository>:<tag>`` names one of the platform's repositories; anything else is a full URI."""
    repo, _, tag = image.partition(":")
    if registry is not None and "/" not in image and repo in registry.repository_urls:
        return pulumi.Output.concat(registry.repository_urls[repo], ":", tag or "latest")
    return image


def _model_buckets(spec: PlatformSpec) -> tuple[str, ...]:
    """Buckets named by endpoints' ``s3://`` model artifact URLs: endpoints in the VPC read them through S3's
    gateway endpoint, whose policy must admit them."""
    if not spec.serving.enabled:
        return ()
    urls = [e.model.model_data_url for e in spec.serving.endpoints if e.model and e.model.model_data_url]
    return tuple(sorted({url.removeprefix("s3://").split("/")[0] for url in urls if url.startswith("s3://")}))


def _role(arn: pulumi.Output[str] | None) -> pulumi.Output[str]:
    """A workload's role, which Identity creates whenever the spec enables that workload."""
    assert arn is not None, "Identity did not create a role the program wires to a component"
    return arn


def build_platform(spec: PlatformSpec, settings: TargetSettings) -> dict[str, Any]:
    """Create the platform's components for ``spec`` and export their outputs.

    Returns:
        the exported outputs (also registered as stack outputs).
    """
    platform = platform_of(spec, settings)
    provider = make_provider(settings, allowed_account=spec.account_id)
    opts = pulumi.ResourceOptions(providers=[provider])
    exports: dict[str, Any] = {"platform": platform.name, "region": platform.region}

    encryption = Encryption(
        "encryption",
        EncryptionArgs(
            key_rotation=spec.encryption.key_rotation, deletion_window_days=spec.encryption.deletion_window_days
        ),
        platform,
        opts,
    )
    key = encryption.key_arn
    exports["kms_key_arn"] = key

    store = ArtifactStore(
        "artifact-store",
        ArtifactStoreArgs(
            kms_key_arn=key,
            access_logging=spec.artifact_store.access_logging,
            versioning=spec.artifact_store.versioning,
            noncurrent_version_expiration_days=spec.artifact_store.noncurrent_version_expiration_days,
            log_retention_days=spec.artifact_store.log_retention_days,
        ),
        platform,
        opts,
    )
    exports["artifact_bucket"] = store.bucket_name

    registry = None
    if spec.container_registry.enabled:
        registry = ContainerRegistry(
            "container-registry",
            ContainerRegistryArgs(
                kms_key_arn=key,
                repositories=tuple(spec.container_registry.repositories),
                scan_on_push=spec.container_registry.scan_on_push,
                immutable_tags=spec.container_registry.immutable_tags,
                keep_images=spec.container_registry.keep_images,
            ),
            platform,
            opts,
        )
        exports["repository_urls"] = registry.repository_urls

    network = None
    if spec.network.enabled:
        network = Network(
            "network",
            NetworkArgs(
                kms_key_arn=key,
                bucket_names=(store.bucket_name,),
                read_only_bucket_names=_model_buckets(spec),
                cidr_block=spec.network.cidr_block,
                availability_zones=spec.network.availability_zones,
                interface_endpoints=tuple(spec.network.interface_endpoints),
                flow_logs=spec.network.flow_logs,
                log_retention_days=spec.monitoring.log_retention_days,
            ),
            platform,
            opts,
        )
        exports["vpc_id"] = network.vpc_id
        exports["subnet_ids"] = network.subnet_ids
    subnets = network.subnet_ids if network else []
    groups = [network.workload_security_group_id] if network else []

    endpoints = spec.serving.effective_endpoints() if spec.serving.enabled else []
    # Endpoints with a model and data capture get a data-quality monitoring schedule (see below).
    monitored_endpoints = (
        [e for e in endpoints if e.model and e.data_capture_percent] if spec.monitoring.data_quality.enabled else []
    )
    pipeline_name = names.pipeline_name(platform.name) if spec.pipelines.enabled else None
    identity = Identity(
        "identity",
        IdentityArgs(
            kms_key_arn=key,
            bucket_arn=store.bucket_arn,
            repository_arns=tuple(registry.repository_arns.values()) if registry else (),
            permissions_boundary_arn=spec.identity.permissions_boundary_arn,
            vpc_id=network.vpc_id if network else None,
            subnet_ids=subnets,
            security_group_ids=groups,
            dev_environment=spec.dev_environment.enabled and network is not None,
            training=spec.training.enabled or spec.pipelines.enabled,
            training_instance_types=tuple(spec.training.allowed_instance_types),
            processing_instance_types=(spec.pipelines.processing_instance_type,),
            max_runtime_seconds=spec.training.max_runtime_hours * 3600,
            input_prefix=(spec.pipelines.new_data_prefix or None) if spec.pipelines.enabled else None,
            pipeline_name=pipeline_name,
            model_package_groups=tuple(
                names.model_package_group_name(platform.name, group) for group in spec.registry.model_package_groups
            ),
            endpoint_names=tuple(names.endpoint_name(platform.name, e.name) for e in endpoints),
            serving=spec.serving.enabled,
            monitoring=bool(monitored_endpoints),
            feature_groups=tuple(
                names.feature_group_name(platform.name, group.name) for group in spec.feature_store.feature_groups
            )
            if spec.feature_store.enabled
            else (),
            feature_catalog_database=names.feature_catalog_database(platform.name)
            if spec.feature_store.enabled
            else None,
        ),
        platform,
        opts,
    )
    for workload in ("user", "training", "serving", "monitoring"):
        role_arn = getattr(identity, f"{workload}_role_arn")
        if role_arn is not None:
            exports[f"{workload}_role_arn"] = role_arn
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            kms_key_arn=key,
            log_retention_days=spec.monitoring.log_retention_days,
            endpoint_names=tuple(names.endpoint_name(platform.name, e.name) for e in endpoints if e.model),
            dashboard=spec.monitoring.dashboard,
            budget=BudgetArgs(
                monthly_limit_usd=spec.monitoring.budget.monthly_limit_usd,
                alert_threshold_percent=spec.monitoring.budget.alert_threshold_percent,
                alert_emails=tuple(spec.monitoring.budget.alert_emails),
            )
            if spec.monitoring.budget
            else None,
        ),
        platform,
        opts,
    )
    exports["alarm_topic_arn"] = monitoring.topic_arn
    if monitoring.dashboard_name is not None:
        exports["dashboard_name"] = monitoring.dashboard_name

    if spec.dev_environment.enabled and network is not None:
        dev = DevEnvironment(
            "dev-environment",
            DevEnvironmentArgs(
                kind=spec.dev_environment.kind,
                execution_role_arn=_role(identity.user_role_arn),
                kms_key_arn=key,
                vpc_id=network.vpc_id,
                subnet_ids=subnets,
                security_group_ids=groups,
                instance_type=spec.dev_environment.instance_type,
                volume_size_gb=spec.dev_environment.volume_size_gb,
                root_access=spec.dev_environment.root_access,
                direct_internet_access=spec.dev_environment.direct_internet_access,
            ),
            platform,
            opts,
        )
        exports["dev_environment_url"] = dev.url

    model_registry = ModelRegistry(
        "registry",
        ModelRegistryArgs(
            groups=tuple(spec.registry.model_package_groups),
            approval=spec.registry.approval,
            alarm_topic_arn=monitoring.topic_arn,
        ),
        platform,
        opts,
    )
    exports["model_package_groups"] = model_registry.group_names

    if spec.feature_store.enabled:
        features = FeatureStore(
            "feature-store",
            FeatureStoreArgs(
                role_arn=_role(identity.feature_store_role_arn),
                kms_key_arn=key,
                bucket_name=store.bucket_name,
                groups=[
                    FeatureGroupArgs(
                        name=group.name,
                        record_identifier=group.record_identifier,
                        event_time=group.event_time,
                        features=[(f.name, f.type) for f in group.features],
                        online=group.online,
                        offline=group.offline,
                    )
                    for group in spec.feature_store.feature_groups
                ],
            ),
            platform,
            opts,
        )
        exports["feature_groups"] = features.group_names
        exports["feature_catalog_database"] = features.database_name

    if spec.training.enabled:
        training = Training(
            "training",
            TrainingArgs(
                role_arn=_role(identity.training_role_arn),
                bucket_name=store.bucket_name,
                kms_key_arn=key,
                subnet_ids=subnets,
                security_group_ids=groups,
                allowed_instance_types=tuple(spec.training.allowed_instance_types),
                max_parallel_jobs=spec.training.max_parallel_jobs,
                spot=spec.training.spot,
                max_runtime_hours=spec.training.max_runtime_hours,
                volume_size_gb=spec.training.volume_size_gb,
            ),
            platform,
            opts,
        )
        exports["training"] = training.settings

    pipelines = None
    if spec.pipelines.enabled:
        first_group = spec.registry.model_package_groups[0]
        pipelines = Pipelines(
            "pipelines",
            PipelinesArgs(
                pipeline_role_arn=_role(identity.pipeline_role_arn),
                execution_role_arn=_role(identity.training_role_arn),
                events_role_arn=_role(identity.events_role_arn),
                kms_key_arn=key,
                bucket_name=store.bucket_name,
                image_uri=_image(spec.pipelines.image, registry),
                model_package_group=model_registry.group_names[first_group],
                approval=spec.registry.approval,
                metric_name=spec.pipelines.approval_metric.name,
                threshold=spec.pipelines.approval_metric.threshold,
                comparison=spec.pipelines.approval_metric.comparison,
                processing_instance_type=spec.pipelines.processing_instance_type,
                training_instance_type=spec.pipelines.training_instance_type,
                schedule=spec.pipelines.schedule or None,
                new_data_prefix=spec.pipelines.new_data_prefix or None,
                subnet_ids=subnets,
                security_group_ids=groups,
                max_parallel_jobs=spec.training.max_parallel_jobs,
                spot=spec.training.spot,
                max_runtime_hours=spec.training.max_runtime_hours,
                volume_size_gb=spec.training.volume_size_gb,
            ),
            platform,
            opts,
        )
        exports["pipeline_arn"] = pipelines.pipeline_arn

    if spec.serving.enabled:
        alarms = spec.monitoring.alarms
        serving = Serving(
            "serving",
            ServingArgs(
                execution_role_arn=_role(identity.serving_role_arn),
                kms_key_arn=key,
                bucket_name=store.bucket_name,
                alarm_topic_arn=monitoring.topic_arn,
                endpoints=[
                    EndpointArgs(
                        name=e.name,
                        image=_image(e.model.image, registry) if e.model else None,
                        model_data_url=e.model.model_data_url if e.model else None,
                        instance_type=e.instance_type,
                        instance_count=e.instance_count,
                        data_capture_percent=e.data_capture_percent,
                        strategy=e.deployment.strategy,
                        traffic_percent=e.deployment.traffic_percent,
                        wait_minutes=e.deployment.wait_minutes,
                        rollback_alarms=tuple(e.deployment.rollback_alarms),
                        autoscaling=AutoscalingArgs(
                            min_capacity=e.autoscaling.min_capacity,
                            max_capacity=e.autoscaling.max_capacity,
                            target_invocations=e.autoscaling.target_invocations_per_instance,
                        )
                        if e.autoscaling
                        else None,
                    )
                    for e in endpoints
                ],
                subnet_ids=subnets,
                security_group_ids=groups,
                error_rate_5xx_percent=alarms.error_rate_5xx_percent,
                latency_p99_ms=alarms.latency_p99_ms,
            ),
            platform,
            opts,
        )
        exports["endpoints"] = serving.endpoint_names
        exports["endpoint_status"] = serving.status

        if spec.monitoring.data_quality.enabled:
            monitored = [
                MonitoredEndpoint(names.endpoint_name(platform.name, e.name), serving.endpoints[e.name])
                for e in monitored_endpoints
                if e.name in serving.endpoints
            ]
            if monitored:
                # The spec refuses data-quality monitoring in a region without the analyzer image.
                image = images.model_monitor_image(platform.region)
                model_monitoring = ModelMonitoring(
                    "model-monitoring",
                    ModelMonitoringArgs(
                        role_arn=_role(identity.monitoring_role_arn),
                        kms_key_arn=key,
                        bucket_name=store.bucket_name,
                        endpoints=monitored,
                        image_uri=image,
                        schedule=spec.monitoring.data_quality.schedule,
                        instance_type=spec.monitoring.data_quality.instance_type,
                        subnet_ids=subnets,
                        security_group_ids=groups,
                        alarm_topic_arn=monitoring.topic_arn,
                        retrain_pipeline_arn=pipelines.pipeline_arn if pipelines else None,
                        events_role_arn=identity.events_role_arn,
                    ),
                    platform,
                    opts,
                )
                exports["monitoring_schedules"] = model_monitoring.schedule_names

    if spec.cicd.enabled:
        cicd = Cicd(
            "cicd",
            CicdArgs(
                provider=spec.cicd.provider,
                kms_key_arn=key,
                # Deployments create models that run as the serving role.
                execution_role_arn=_role(identity.serving_role_arn),
                alarm_topic_arn=monitoring.topic_arn,
                log_bucket=store.log_bucket_name,
                repository=spec.cicd.repository,
                branch=spec.cicd.branch,
                stages=tuple(spec.cicd.stages),
                endpoints=tuple(e.name for e in endpoints),
                model_package_groups=tuple(
                    names.model_package_group_name(platform.name, group) for group in spec.registry.model_package_groups
                ),
                manual_approval_before_prod=spec.cicd.manual_approval_before_prod,
                github_environment=spec.cicd.github_environment,
                github_oidc_provider_arn=spec.cicd.github_oidc_provider_arn,
                log_retention_days=spec.monitoring.log_retention_days,
                permissions_boundary_arn=spec.identity.permissions_boundary_arn,
            ),
            platform,
            # Its artifact bucket logs into the access-log bucket, which must be ready to receive logs.
            pulumi.ResourceOptions(providers=[provider], depends_on=[store]),
        )
        exports["deploy_role_arn"] = cicd.deploy_role_arn
        exports["deploy_role_arns"] = cicd.deploy_role_arns
        if cicd.pipeline_name is not None:
            exports["delivery_pipeline"] = cicd.pipeline_name

    for key_, value in exports.items():
        pulumi.export(key_, value)
    return exports
