"""Serving: real-time SageMaker endpoints with encrypted configs, data capture, safe rollouts and autoscaling."""

from __future__ import annotations

import base64
import gzip
import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, child
from mlplatform.spec import names

SAMPLE_MODEL = "sample"
"""``model_data_url: sample`` uploads :func:`sample_model_archive` to the artifact bucket."""


def sample_model_archive() -> bytes:
    """A tiny, deterministic ``model.tar.gz`` (one JSON file) for trying the platform without a real model."""
    payload = b'{"model": "mlplatform sample", "weights": [0.5, 0.25]}\n'
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo("model.json")
        info.size = len(payload)
        info.mtime = 0
        archive.addfile(info, io.BytesIO(payload))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass(frozen=True)
class AutoscalingArgs:
    """Target-tracking autoscaling of an endpoint's production variant.

    Attributes:
        min_capacity: fewest instances.
        max_capacity: most instances.
        target_invocations: invocations per instance per minute the policy keeps to.
    """

    min_capacity: int
    max_capacity: int
    target_invocations: int


@dataclass(frozen=True)
class EndpointArgs:
    """One endpoint.

    Attributes:
        name: short name; the endpoint is created as ``<platform>-<name>``.
        image: inference image URI; ``None``: no model, so no endpoint (only its alarms and capture prefix).
        model_data_url: ``s3://`` URL of model.tar.gz, ``sample`` for the built-in sample, ``None`` for none.
        instance_type: instance type of the variant.
        instance_count: initial instance count.
        data_capture_percent: share of requests captured under ``capture/<endpoint>/`` (0: off).
        strategy: ``all-at-once``, ``canary`` or ``linear`` (blue/green traffic shifting).
        traffic_percent: canary size or linear step.
        wait_minutes: bake time between shifts.
        rollback_alarms: ``5xx``, ``latency``, ``model-errors``: alarms that roll a deployment back.
        autoscaling: scale the variant automatically; ``None``: a fixed instance count.
    """

    name: str
    image: pulumi.Input[str] | None
    model_data_url: str | None
    instance_type: str
    instance_count: int
    data_capture_percent: int
    strategy: str
    traffic_percent: int
    wait_minutes: int
    rollback_alarms: Sequence[str]
    autoscaling: AutoscalingArgs | None


@dataclass(frozen=True)
class ServingArgs:
    """Settings of serving.

    Attributes:
        execution_role_arn: what models run as.
        kms_key_arn: the platform key (endpoint storage, captured data).
        bucket_name: the artifact bucket.
        alarm_topic_arn: alarms notify this topic.
        endpoints: the endpoints.
        subnet_ids, security_group_ids: run models in the VPC.
        error_rate_5xx_percent: 5XX alarm threshold.
        latency_p99_ms: latency alarm threshold.
    """

    execution_role_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    endpoints: Sequence[EndpointArgs]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    error_rate_5xx_percent: float
    latency_p99_ms: int


class Serving(pulumi.ComponentResource):
    """Per endpoint: model (network isolation, VPC), encrypted endpoint config with data capture, endpoint
    with blue/green rollout and auto-rollback alarms, autoscaling, and 5XX/latency/model-error alarms.

    An endpoint without a model gets its alarms and capture prefix ready and no endpoint; the
    ``endpoints`` output says which endpoints exist.
    """

    endpoint_names: dict[str, pulumi.Output[str]]
    endpoints: dict[str, aws.sagemaker.Endpoint]
    status: dict[str, str]

    def __init__(
        self, name: str, args: ServingArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:ml:Serving", name, {}, opts)
        self._platform = platform
        self._args = args
        self.endpoint_names = {}
        self.endpoints = {}
        self.status = {}
        for endpoint in args.endpoints:
            self._endpoint(name, endpoint)
        self.register_outputs({"endpoint_names": self.endpoint_names, "status": self.status})

    def _endpoint(self, name: str, spec: EndpointArgs) -> None:
        platform, args = self._platform, self._args
        tags = platform.tags_for("serving")
        physical = names.endpoint_name(platform.name, spec.name)
        base = f"{name}-{spec.name}"
        alarms = self._alarms(base, physical, spec, tags)
        if spec.image is None:
            self.status[spec.name] = "no model configured: alarms and capture prefix ready, no endpoint created"
            return

        model_data: pulumi.Input[str] | None = spec.model_data_url
        depends: list[pulumi.Resource] = []
        if spec.model_data_url == SAMPLE_MODEL:
            key = f"{names.MODELS_PREFIX}{physical}/sample/model.tar.gz"
            artifact = aws.s3.BucketObjectv2(
                f"{base}-sample-model",
                bucket=args.bucket_name,
                key=key,
                content_base64=base64.b64encode(sample_model_archive()).decode("ascii"),
                content_type="application/gzip",
                server_side_encryption="aws:kms",
                kms_key_id=args.kms_key_arn,
                tags=tags,
                opts=child(self),
            )
            depends.append(artifact)
            model_data = pulumi.Output.concat("s3://", args.bucket_name, f"/{key}")
        container: dict[str, Any] = {"image": spec.image, "mode": "SingleModel"}
        if model_data is not None:
            container["model_data_url"] = model_data
        model = aws.sagemaker.Model(
            f"{base}-model",
            execution_role_arn=args.execution_role_arn,
            primary_container=container,
            enable_network_isolation=True,  # the model container gets no network at all
            vpc_config={"subnets": list(args.subnet_ids), "security_group_ids": list(args.security_group_ids)}
            if args.subnet_ids
            else None,
            tags=tags,
            opts=child(self, depends_on=depends),
        )
        capture = None
        if spec.data_capture_percent:
            destination = names.capture_prefix(physical).rstrip("/")
            capture = {
                "enable_capture": True,
                "initial_sampling_percentage": spec.data_capture_percent,
                "destination_s3_uri": pulumi.Output.concat("s3://", args.bucket_name, f"/{destination}"),
                "kms_key_id": args.kms_key_arn,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                "capture_content_type_header": {
                    "csv_content_types": ["text/csv"],
                    "json_content_types": ["application/json"],
                },
            }
        # The config has no fixed name: a changed config is created first and the endpoint switched to it
        # (blue/green), then the old one is deleted; a fixed name would force a delete while in use.
        config = aws.sagemaker.EndpointConfiguration(
            f"{base}-config",
            kms_key_arn=args.kms_key_arn,
            production_variants=[
                {
                    "variant_name": names.VARIANT_NAME,
                    "model_name": model.name,
                    "initial_instance_count": spec.instance_count,
                    "instance_type": spec.instance_type,
                    "initial_variant_weight": 1.0,
                }
            ],
            data_capture_config=capture,
            tags=tags,
            opts=child(self),
        )
        deployment = None
        if spec.strategy != "all-at-once":
            routing: dict[str, Any] = {
                "type": "CANARY" if spec.strategy == "canary" else "LINEAR",
                "wait_interval_in_seconds": spec.wait_minutes * 60,
            }
            size = {"type": "CAPACITY_PERCENT", "value": spec.traffic_percent}
            routing["canary_size" if spec.strategy == "canary" else "linear_step_size"] = size
            deployment = {
                "blue_green_update_policy": {
                    "traffic_routing_configuration": routing,
                    "termination_wait_in_seconds": 300,
                    "maximum_execution_timeout_in_seconds": 3600,
                },
                "auto_rollback_configuration": {
                    "alarms": [{"alarm_name": alarms[kind].name} for kind in spec.rollback_alarms]
                },
            }
        endpoint = aws.sagemaker.Endpoint(
            f"{base}-endpoint",
            name=physical,
            endpoint_config_name=config.name,
            deployment_config=deployment,
            tags=tags,
            opts=child(self),
        )
        if spec.autoscaling is not None:
            resource_id = endpoint.name.apply(names.variant_resource_id)
            target = aws.appautoscaling.Target(
                f"{base}-scaling",
                service_namespace="sagemaker",
                resource_id=resource_id,
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                min_capacity=spec.autoscaling.min_capacity,
                max_capacity=spec.autoscaling.max_capacity,
                tags=tags,
                opts=child(self),
            )
            aws.appautoscaling.Policy(
                f"{base}-scaling-policy",
                name=f"{physical}-invocations",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                target_tracking_scaling_policy_configuration={
                    "target_value": float(spec.autoscaling.target_invocations),
                    "predefined_metric_specification": {
                        "predefined_metric_type": "SageMakerVariantInvocationsPerInstance"
                    },
                    "scale_in_cooldown": 300,
                    "scale_out_cooldown": 60,
                },
                opts=child(self),
            )
        self.endpoint_names[spec.name] = endpoint.name
        self.endpoints[spec.name] = endpoint
        self.status[spec.name] = "serving"

    def _alarms(
        self, base: str, physical: str, spec: EndpointArgs, tags: dict[str, str]
    ) -> dict[str, aws.cloudwatch.MetricAlarm]:
        args = self._args
        dimensions = {"EndpointName": physical, "VariantName": names.VARIANT_NAME}
        common: dict[str, Any] = {
            "namespace": "AWS/SageMaker",
            "dimensions": dimensions,
            "period": 60,
            "evaluation_periods": 3,
            "datapoints_to_alarm": 2,
            "comparison_operator": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching",
            "alarm_actions": [args.alarm_topic_arn],
            "ok_actions": [args.alarm_topic_arn],
            "tags": tags,
            "opts": child(self),
        }
        return {
            "5xx": aws.cloudwatch.MetricAlarm(
                f"{base}-5xx",
                name=f"{physical}-5xx-errors",
                alarm_description=f"{physical}: more than {args.error_rate_5xx_percent}% of calls fail with 5XX",
                metric_name="Invocation5XXErrors",
                statistic="Average",  # the metric is 0/1 per call, so its average is the error rate
                threshold=args.error_rate_5xx_percent / 100,
                **common,
            ),
            "latency": aws.cloudwatch.MetricAlarm(
                f"{base}-latency",
                name=f"{physical}-latency-p99",
                alarm_description=f"{physical}: model latency p99 above {args.latency_p99_ms} ms",
                metric_name="ModelLatency",
                extended_statistic="p99",
                threshold=args.latency_p99_ms * 1000,  # ModelLatency is in microseconds
                **common,
            ),
            "model-errors": aws.cloudwatch.MetricAlarm(
                f"{base}-model-errors",
                name=f"{physical}-model-errors",
                # A new model that misreads its input shows up as a jump in client errors (4XX).
                alarm_description=f"{physical}: more than 5% of calls are rejected with 4XX",
                metric_name="Invocation4XXErrors",
                statistic="Average",
                threshold=0.05,
                **common,
            ),
        }
