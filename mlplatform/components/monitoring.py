"""Monitoring: the alarm topic, log groups, dashboard and budget, and model monitoring of endpoints."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, child, policy, statement
from mlplatform.components.encryption import TOPIC_PUBLISHERS
from mlplatform.spec import names


@dataclass(frozen=True)
class BudgetArgs:
    """A monthly cost budget on the platform's tagged resources.

    Attributes:
        monthly_limit_usd: the limit in US dollars.
        alert_threshold_percent: notify at this share of the limit (actual and forecast spend).
        alert_emails: e-mail subscribers besides the alarm topic.
    """

    monthly_limit_usd: float
    alert_threshold_percent: int
    alert_emails: Sequence[str]


@dataclass(frozen=True)
class MonitoringArgs:
    """Settings of the platform's monitoring.

    Attributes:
        kms_key_arn: the platform key; the topic and log groups are encrypted with it.
        log_retention_days: retention of the log groups (at least 365 by the security baseline).
        endpoint_names: physical names of the endpoints whose log groups and dashboard widgets are created.
        dashboard: create a CloudWatch dashboard.
        budget: a monthly budget; ``None`` for none.
    """

    kms_key_arn: pulumi.Input[str]
    log_retention_days: int
    endpoint_names: Sequence[str]
    dashboard: bool
    budget: BudgetArgs | None


class Monitoring(pulumi.ComponentResource):
    """The alarm topic (KMS), log groups (KMS, retention), a dashboard and a budget.

    Log groups are created before SageMaker writes to them, so endpoint logs are encrypted with the
    platform key and kept for the retention period instead of AWS's unencrypted never-expire default.
    """

    topic_arn: pulumi.Output[str]
    dashboard_name: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: MonitoringArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:monitoring:Monitoring", name, {}, opts)
        tags = platform.tags_for("monitoring")
        topic = aws.sns.Topic(
            f"{name}-alarms",
            name=names.alarm_topic_name(platform.name),
            kms_master_key_id=args.kms_key_arn,
            tags=tags,
            opts=child(self),
        )
        publishers = list(TOPIC_PUBLISHERS)
        # The topic's ARN from its name (same value as topic.arn): the policy is then known before deploying,
        # so `mlplatform export` shows scanners who may publish.
        topic_arn = platform.arn("sns", names.alarm_topic_name(platform.name))
        aws.sns.TopicPolicy(
            f"{name}-alarms-policy",
            arn=topic.arn,
            policy=policy(
                statement(
                    "PublishByPlatformServices",
                    ["sns:Publish"],
                    [topic_arn],
                    principal={"Service": publishers},
                    condition={"StringEquals": {"aws:SourceAccount": platform.account}},
                ),
                statement(
                    "DenyInsecureTransport",
                    ["sns:Publish"],
                    [topic_arn],
                    effect="Deny",
                    principal="*",
                    condition={"Bool": {"aws:SecureTransport": "false"}},
                ),
            ),
            opts=child(self),
        )
        for endpoint in args.endpoint_names:
            aws.cloudwatch.LogGroup(
                f"{name}-{endpoint}-logs",
                name=names.endpoint_log_group(endpoint),
                retention_in_days=args.log_retention_days,
                kms_key_id=args.kms_key_arn,
                tags=tags,
                opts=child(self),
            )
        self.dashboard_name = None
        if args.dashboard:
            dashboard = aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=platform.name,
                dashboard_body=_dashboard_body(platform.region, args.endpoint_names),
                opts=child(self),
            )
            self.dashboard_name = dashboard.dashboard_name
        if args.budget is not None:
            budget = args.budget
            notifications = [
                {
                    "comparison_operator": "GREATER_THAN",
                    "threshold": budget.alert_threshold_percent,
                    "threshold_type": "PERCENTAGE",
                    "notification_type": kind,
                    "subscriber_sns_topic_arns": [topic.arn],
                    "subscriber_email_addresses": list(budget.alert_emails) or None,
                }
                for kind in ("ACTUAL", "FORECASTED")
            ]
            aws.budgets.Budget(
                f"{name}-budget",
                name=f"{platform.name}-monthly",
                budget_type="COST",
                limit_amount=f"{budget.monthly_limit_usd:.2f}",
                limit_unit="USD",
                time_unit="MONTHLY",
                cost_filters=[{"name": "TagKeyValue", "values": [f"user:mlplatform:env${platform.env}"]}],
                notifications=notifications,
                tags=tags,
                opts=child(self),
            )
        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": topic.arn, "dashboard_name": self.dashboard_name})


def _dashboard_body(region: str, endpoints: Sequence[str]) -> str:
    widgets = []
    for index, endpoint in enumerate(endpoints):
        for column, (title, metrics) in enumerate(
            (
                ("invocations and errors", ["Invocations", "Invocation5XXErrors", "Invocation4XXErrors"]),
                ("model latency (p99, microseconds)", ["ModelLatency"]),
            )
        ):
            widgets.append(
                {
                    "type": "metric",
                    "x": column * 12,
                    "y": index * 6,
                    "width": 12,
                    "height": 6,
                    "properties": {
                        "title": f"{endpoint}: {title}",
                        "region": region,
                        "stat": "p99" if metrics == ["ModelLatency"] else "Sum",
                        "period": 300,
                        "metrics": [
                            ["AWS/SageMaker", metric, "EndpointName", endpoint, "VariantName", names.VARIANT_NAME]
                            for metric in metrics
                        ],
                    },
                }
            )
    if not widgets:
        widgets.append(
            {
                "type": "text",
                "x": 0,
                "y": 0,
                "width": 24,
                "height": 2,
                "properties": {"markdown": "No endpoints are deployed on this platform yet."},
            }
        )
    return json.dumps({"widgets": widgets}, sort_keys=True)


@dataclass(frozen=True)
class MonitoredEndpoint:
    """An endpoint whose captured data is checked by a data-quality monitoring schedule."""

    name: str
    """Physical endpoint name."""
    endpoint: pulumi.Resource
    """The endpoint resource (the schedule waits for it)."""


@dataclass(frozen=True)
class ModelMonitoringArgs:
    """Settings of model monitoring.

    Attributes:
        role_arn: the SageMaker execution role the monitoring jobs run as.
        kms_key_arn: the platform key (job volumes and outputs).
        bucket_name: the artifact bucket; reports go under ``monitoring/<endpoint>/``.
        endpoints: endpoints to monitor (each needs data capture).
        schedule: the data-quality schedule (an hourly or daily cron).
        instance_type: instance type of the monitoring jobs.
        image_uri: the Model Monitor analyzer image of the region.
        subnet_ids: run the jobs in these private subnets (empty: no VPC).
        security_group_ids: security groups of the jobs.
        alarm_topic_arn: notify this topic when a monitoring run finds violations (drift).
        retrain_pipeline_arn: also start this pipeline on drift; ``None`` to only notify.
        events_role_arn: the role EventBridge assumes to start the pipeline.
    """

    role_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    endpoints: Sequence[MonitoredEndpoint]
    image_uri: str
    schedule: str
    instance_type: str
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    alarm_topic_arn: pulumi.Input[str] | None
    retrain_pipeline_arn: pulumi.Input[str] | None
    events_role_arn: pulumi.Input[str] | None


class ModelMonitoring(pulumi.ComponentResource):
    """Data-quality monitoring of endpoints, and the drift signal.

    Each monitored endpoint gets a data-quality job definition (KMS-encrypted volumes and outputs,
    inter-container traffic encryption, network isolation, VPC) and an hourly or daily schedule. A
    monitoring run that finds violations ends its processing job with ``CompletedWithViolations``; an
    EventBridge rule on exactly that event is the drift alarm: it notifies the alarm topic and, with a
    continuous-training pipeline, starts retraining.
    """

    schedule_names: list[pulumi.Output[str]]
    drift_rule_name: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: ModelMonitoringArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:monitoring:ModelMonitoring", name, {}, opts)
        tags = platform.tags_for("monitoring")
        self.schedule_names = []
        schedule_arns: list[str] = []
        for monitored in args.endpoints:
            reports = pulumi.Output.concat("s3://", args.bucket_name, f"/{names.monitoring_prefix(monitored.name)}")
            definition = aws.sagemaker.DataQualityJobDefinition(
                f"{name}-{monitored.name}-data-quality",
                name=names.monitoring_name(monitored.name),
                role_arn=args.role_arn,
                data_quality_app_specification={"image_uri": args.image_uri},
                data_quality_job_input={
                    "endpoint_input": {
                        "endpoint_name": monitored.name,
                        "local_path": "/opt/ml/processing/input/endpoint",
                        "s3_input_mode": "File",
                        "s3_data_distribution_type": "FullyReplicated",
                    }
                },
                data_quality_job_output_config={
                    "kms_key_id": args.kms_key_arn,
                    "monitoring_outputs": {
                        "s3_output": {
                            "s3_uri": reports,
                            "local_path": "/opt/ml/processing/output",
                            "s3_upload_mode": "EndOfJob",
                        }
                    },
                },
                job_resources={
                    "cluster_config": {
                        "instance_count": 1,
                        "instance_type": args.instance_type,
                        "volume_size_in_gb": 20,
                        "volume_kms_key_id": args.kms_key_arn,
                    }
                },
                network_config={
                    "enable_inter_container_traffic_encryption": True,
                    "enable_network_isolation": True,
                    "vpc_config": {
                        "security_group_ids": list(args.security_group_ids),
                        "subnets": list(args.subnet_ids),
                    }
                    if args.subnet_ids
                    else None,
                },
                stopping_condition={"max_runtime_in_seconds": 3600},
                tags=tags,
                opts=child(self, depends_on=[monitored.endpoint]),
            )
            schedule_name = names.monitoring_name(monitored.name)
            schedule = aws.sagemaker.MonitoringSchedule(
                f"{name}-{monitored.name}-schedule",
                name=schedule_name,
                monitoring_schedule_config={
                    "monitoring_job_definition_name": definition.name,
                    "monitoring_type": "DataQuality",
                    "schedule_config": {"schedule_expression": args.schedule},
                },
                tags=tags,
                opts=child(self),
            )
            self.schedule_names.append(schedule.name)
            schedule_arns.append(platform.arn("sagemaker", f"monitoring-schedule/{schedule_name}"))

        self.drift_rule_name = None
        if args.endpoints and args.alarm_topic_arn is not None:
            rule = aws.cloudwatch.EventRule(
                f"{name}-drift",
                name=f"{platform.name}-drift",
                description="Drift: a data-quality monitoring run of a platform endpoint found violations",
                event_pattern=json.dumps(
                    {
                        "source": ["aws.sagemaker"],
                        "detail-type": ["SageMaker Processing Job State Change"],
                        "detail": {
                            "MonitoringScheduleArn": schedule_arns,
                            "ExitMessage": [{"prefix": "CompletedWithViolations"}],
                        },
                    },
                    sort_keys=True,
                ),
                tags=tags,
                opts=child(self),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-drift-notify", rule=rule.name, target_id="notify", arn=args.alarm_topic_arn, opts=child(self)
            )
            if args.retrain_pipeline_arn is not None:
                aws.cloudwatch.EventTarget(
                    f"{name}-drift-retrain",
                    rule=rule.name,
                    target_id="retrain",
                    arn=args.retrain_pipeline_arn,
                    role_arn=args.events_role_arn,
                    sagemaker_pipeline_target={"pipeline_parameter_lists": [{"name": "TriggeredBy", "value": "drift"}]},
                    opts=child(self),
                )
            self.drift_rule_name = rule.name
        self.register_outputs({"schedule_names": self.schedule_names, "drift_rule_name": self.drift_rule_name})
