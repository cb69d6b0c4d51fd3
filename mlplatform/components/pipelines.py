"""Pipelines: the continuous-training SageMaker Pipeline and its triggers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, child
from mlplatform.components.pipeline_definition import PipelineSettings, definition_json
from mlplatform.spec import names


@dataclass(frozen=True)
class PipelinesArgs:
    """Settings of the continuous-training pipeline.

    Attributes:
        pipeline_role_arn: what the pipeline runs as.
        execution_role_arn: what its jobs run as (the training role).
        events_role_arn: what EventBridge assumes to start it.
        kms_key_arn: the platform key.
        bucket_name: the artifact bucket.
        image_uri: default of the pipeline's ``ImageUri`` parameter (processing, training and registered-model image).
        model_package_group: physical name of the group models are registered in.
        approval: ``manual`` or ``automatic`` (the registered version's approval status).
        metric_name, threshold, comparison: the condition that gates registration.
        processing_instance_type, training_instance_type: parameter defaults.
        schedule: retrain on this EventBridge schedule; ``None`` for no schedule.
        new_data_prefix: retrain when objects land under this prefix; ``None`` for no trigger.
        subnet_ids, security_group_ids: run the jobs in the VPC.
        max_parallel_jobs: steps that run at once.
        spot, max_runtime_hours, volume_size_gb: training job settings.
    """

    pipeline_role_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    events_role_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    image_uri: pulumi.Input[str]
    model_package_group: pulumi.Input[str]
    approval: str
    metric_name: str
    threshold: float
    comparison: str
    processing_instance_type: str
    training_instance_type: str
    schedule: str | None
    new_data_prefix: str | None
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    max_parallel_jobs: int
    spot: bool
    max_runtime_hours: int
    volume_size_gb: int


class Pipelines(pulumi.ComponentResource):
    """A SageMaker Pipeline (process -> train -> evaluate -> condition -> register) and its triggers.

    Triggers are EventBridge rules that start the pipeline as the events role: a schedule, and
    ``Object Created`` events under the new-data prefix of the artifact bucket (the bucket sends its
    events to EventBridge).
    """

    pipeline_arn: pulumi.Output[str]
    pipeline_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: PipelinesArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:ml:Pipelines", name, {}, opts)
        tags = platform.tags_for("pipelines")
        pipeline_name = names.pipeline_name(platform.name)
        self._pipeline_name = pipeline_name

        def definition(values: list[Any]) -> str:
            bucket, role, key, image, group, subnets, groups = values
            return definition_json(
                PipelineSettings(
                    bucket=bucket,
                    prefix=names.pipeline_prefix(pipeline_name).rstrip("/"),
                    role_arn=role,
                    kms_key_arn=key,
                    image_uri=image,
                    model_package_group=group,
                    approval_status="Approved" if args.approval == "automatic" else "PendingManualApproval",
                    metric_name=args.metric_name,
                    threshold=args.threshold,
                    comparison="GreaterThanOrEqualTo"
                    if args.comparison == "greater_than_or_equal"
                    else "LessThanOrEqualTo",
                    processing_instance_type=args.processing_instance_type,
                    training_instance_type=args.training_instance_type,
                    input_prefix=args.new_data_prefix or names.INCOMING_PREFIX,
                    subnets=list(subnets),
                    security_group_ids=list(groups),
                    spot=args.spot,
                    max_runtime_seconds=args.max_runtime_hours * 3600,
                    volume_size_gb=args.volume_size_gb,
                    tags=tags,
                )
            )

        body = pulumi.Output.all(
            args.bucket_name,
            args.execution_role_arn,
            args.kms_key_arn,
            args.image_uri,
            args.model_package_group,
            pulumi.Output.all(*args.subnet_ids),
            pulumi.Output.all(*args.security_group_ids),
        ).apply(definition)
        pipeline = aws.sagemaker.Pipeline(
            f"{name}-pipeline",
            pipeline_name=pipeline_name,
            pipeline_display_name=pipeline_name,
            pipeline_description="Continuous training: process -> train -> evaluate -> condition -> register",
            pipeline_definition=body,
            role_arn=args.pipeline_role_arn,
            parallelism_configuration={"max_parallel_execution_steps": args.max_parallel_jobs},
            tags=tags,
            opts=child(self),
        )
        if args.schedule is not None:
            self._trigger(
                name,
                "schedule",
                "Retrain the platform's model on a schedule",
                tags,
                args,
                pipeline,
                schedule_expression=args.schedule,
            )
        if args.new_data_prefix is not None:
            pattern = pulumi.Output.from_input(args.bucket_name).apply(
                lambda bucket: json.dumps(
                    {
                        "source": ["aws.s3"],
                        "detail-type": ["Object Created"],
                        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": args.new_data_prefix}]}},
                    },
                    sort_keys=True,
                )
            )
            self._trigger(
                name,
                "new-data",
                "Retrain when new training data lands in the artifact bucket",
                tags,
                args,
                pipeline,
                event_pattern=pattern,
            )
        self.pipeline_arn = pipeline.arn
        self.pipeline_name = pipeline.pipeline_name
        self.register_outputs({"pipeline_arn": pipeline.arn, "pipeline_name": pipeline.pipeline_name})

    def _trigger(
        self,
        name: str,
        role: str,
        description: str,
        tags: dict[str, str],
        args: PipelinesArgs,
        pipeline: aws.sagemaker.Pipeline,
        **rule: Any,
    ) -> None:
        event_rule = aws.cloudwatch.EventRule(
            f"{name}-{role}",
            name=f"{self._pipeline_name}-{role}",
            description=description,
            tags=tags,
            opts=child(self),
            **rule,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-{role}-target",
            rule=event_rule.name,
            target_id="pipeline",
            arn=pipeline.arn,
            role_arn=args.events_role_arn,
            sagemaker_pipeline_target={"pipeline_parameter_lists": [{"name": "TriggeredBy", "value": role}]},
            opts=child(self),
        )
