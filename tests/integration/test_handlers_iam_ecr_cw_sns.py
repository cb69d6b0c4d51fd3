"""IAM, ECR, CloudWatch (logs, alarms, dashboards, EventBridge) and SNS handlers against the real moto
server, through the embedded engine; checked independently with boto3.

Each test uses the shapes an MLOps blueprint registers, proves that a second deploy is a zero-call no-op,
that a refresh of the untouched resources reports no drift, that an out-of-band change is seen and
repaired, that one in-place update works, and that destroy removes everything.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.embedded.deployment import Deployment
from mlplatform.engine.model import Action
from tests.integration.harness import CONVENTIONS, client, deploy, destroy, provider

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"


def _ok(deployment: Deployment) -> Deployment:
    assert not deployment.broken, [s.error for s in deployment.steps if s.error]
    return deployment


def _changed(deployment: Deployment) -> dict[str, Action]:
    return {c.name: c.action for c in deployment.plan() if c.custom and c.action is not Action.SAME}


def _assert_noop(program: Any, records: dict[str, Any]) -> Deployment:
    """A second deploy makes no API call at all; a refresh reads but finds no drift and mutates nothing."""
    second = _ok(deploy(program, records))
    assert {c.action for c in second.plan() if c.custom} == {Action.SAME}
    assert second.counter.total == 0 and second.counter.mutating == 0
    refreshed = _ok(deploy(program, second.records, refresh=True))
    drift = {c.name: c.detail for c in refreshed.plan() if c.custom and (c.action is not Action.SAME or c.detail)}
    assert drift == {}
    assert refreshed.counter.mutating == 0
    return refreshed


# --- IAM -------------------------------------------------------------------------------------------

ASSUME_SAGEMAKER = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _least_privilege(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadArtifacts",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                },
                {
                    "Sid": "Logs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
                },
            ],
        }
    )


def _iam_program(endpoint: str, *, description: str = "SageMaker execution role", thumbprint: str = "a" * 40) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    role = aws.iam.Role(
        "exec-role",
        name="mlp-iam-exec",
        assume_role_policy=json.dumps(ASSUME_SAGEMAKER),
        description=description,
        max_session_duration=7200,
        tags={"managed-by": "mlplatform"},
        opts=opts,
    )
    aws.iam.RolePolicy(
        "exec-policy", role=role.name, name="least-privilege", policy=_least_privilege("mlp-iam-artifacts"), opts=opts
    )
    aws.iam.OpenIdConnectProvider(
        "github",
        url="https://token.actions.mlp-iam.example.com",
        client_id_lists=["sts.amazonaws.com"],
        thumbprint_lists=[thumbprint],
        tags={"managed-by": "mlplatform"},
        opts=opts,
    )
    pulumi.export("role_arn", role.arn)


def test_iam_role_policy_oidc(endpoint: str) -> None:
    iam = client(endpoint, "iam")
    first = _ok(deploy(lambda: _iam_program(endpoint)))
    role = iam.get_role(RoleName="mlp-iam-exec")["Role"]
    assert role["AssumeRolePolicyDocument"] == ASSUME_SAGEMAKER
    assert role["Description"] == "SageMaker execution role" and role["MaxSessionDuration"] == 7200
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == {"managed-by": "mlplatform"}
    assert first.stack_outputs["role_arn"] == role["Arn"]
    inline = iam.get_role_policy(RoleName="mlp-iam-exec", PolicyName="least-privilege")["PolicyDocument"]
    assert inline == json.loads(_least_privilege("mlp-iam-artifacts"))
    oidc_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.mlp-iam.example.com"
    oidc = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=oidc_arn)
    assert oidc["ClientIDList"] == ["sts.amazonaws.com"] and oidc["ThumbprintList"] == ["a" * 40]
    assert {t["Key"]: t["Value"] for t in oidc["Tags"]} == {"managed-by": "mlplatform"}
    records = {r.urn.rsplit("::", 1)[-1]: r for r in first.records.values()}
    assert records["exec-policy"].id == "mlp-iam-exec:least-privilege" and records["github"].id == oidc_arn
    assert records["exec-role"].outputs["uniqueId"] == role["RoleId"]

    refreshed = _assert_noop(lambda: _iam_program(endpoint), first.records)

    # An equivalent document written differently (statements reordered, one-element lists as scalars,
    # keys reordered) is not drift.
    doc = json.loads(_least_privilege("mlp-iam-artifacts"))
    doc["Statement"] = list(reversed(doc["Statement"]))
    doc["Statement"][0]["Condition"]["StringEquals"]["aws:RequestedRegion"] = ["us-east-1"]
    doc["Statement"][1]["Action"] = list(reversed(doc["Statement"][1]["Action"]))
    iam.put_role_policy(
        RoleName="mlp-iam-exec",
        PolicyName="least-privilege",
        PolicyDocument=json.dumps(dict(reversed(list(doc.items())))),
    )
    refreshed = _assert_noop(lambda: _iam_program(endpoint), refreshed.records)

    # Drift: the inline policy widened, the description edited and a tag added outside mlplatform.
    iam.put_role_policy(
        RoleName="mlp-iam-exec",
        PolicyName="least-privilege",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    iam.update_role_description(RoleName="mlp-iam-exec", Description="edited by hand")
    iam.tag_role(RoleName="mlp-iam-exec", Tags=[{"Key": "owner", "Value": "someone"}])
    repaired = _ok(deploy(lambda: _iam_program(endpoint), refreshed.records, refresh=True))
    assert _changed(repaired) == {"exec-role": Action.UPDATE, "exec-policy": Action.UPDATE}
    role = iam.get_role(RoleName="mlp-iam-exec")["Role"]
    assert role["Description"] == "SageMaker execution role"
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == {"managed-by": "mlplatform"}
    inline = iam.get_role_policy(RoleName="mlp-iam-exec", PolicyName="least-privilege")["PolicyDocument"]
    assert inline == json.loads(_least_privilege("mlp-iam-artifacts"))

    # In-place updates: the description and the OIDC thumbprint change; nothing is replaced.
    updated = _ok(deploy(lambda: _iam_program(endpoint, description="v2", thumbprint="b" * 40), repaired.records))
    assert _changed(updated) == {"exec-role": Action.UPDATE, "github": Action.UPDATE}
    assert iam.get_role(RoleName="mlp-iam-exec")["Role"]["Description"] == "v2"
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=oidc_arn)["ThumbprintList"] == ["b" * 40]
    assert updated.records[records["exec-role"].urn].outputs["uniqueId"] == role["RoleId"]

    gone = destroy(updated.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    assert "mlp-iam-exec" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert oidc_arn not in [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]


def _detach_program(endpoint: str, name: str, force: bool) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    aws.iam.Role(
        "role", name=name, assume_role_policy=json.dumps(ASSUME_SAGEMAKER), force_detach_policies=force, opts=opts
    )


@pytest.mark.parametrize("force", [True, False])
def test_iam_role_delete_with_unmanaged_policies(endpoint: str, force: bool) -> None:
    """Policies attached outside mlplatform: forceDetachPolicies strips them; without it the delete fails
    with the API's DeleteConflict, as with Terraform, and the role stays in state."""
    iam = client(endpoint, "iam")
    name = f"mlp-iam-detach-{str(force).lower()}"
    first = _ok(deploy(lambda: _detach_program(endpoint, name, force)))
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    )
    policy_arn = iam.create_policy(PolicyName=f"{name}-managed", PolicyDocument=document)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=document)
    gone = destroy(first.records)
    names = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    if force:
        assert not gone.records and name not in names
    else:
        assert gone.records and name in names
        assert any("DeleteConflict" in (s.error or "") for s in gone.steps)
        iam.detach_role_policy(RoleName=name, PolicyArn=policy_arn)
        iam.delete_role_policy(RoleName=name, PolicyName="inline")
        assert not destroy(gone.records).records


# --- ECR -------------------------------------------------------------------------------------------

LIFECYCLE = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 2,
                "description": "expire untagged",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 14,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 1,
                "description": "keep releases",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPrefixList": ["v", "release"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 50,
                },
                "action": {"type": "expire"},
            },
        ]
    }
)


def _ecr_program(endpoint: str, *, mutability: str = "IMMUTABLE") -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    key = aws.kms.Key("ecr-key", description="ecr", deletion_window_in_days=7, opts=opts)
    repo = aws.ecr.Repository(
        "repo",
        name="mlp-ecr-training",
        image_tag_mutability=mutability,
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
        force_delete=True,
        tags={"managed-by": "mlplatform"},
        opts=opts,
    )
    aws.ecr.LifecyclePolicy("repo-lifecycle", repository=repo.name, policy=LIFECYCLE, opts=opts)
    pulumi.export("url", repo.repository_url)


def test_ecr_repository_and_lifecycle(endpoint: str) -> None:
    ecr, kms = client(endpoint, "ecr"), client(endpoint, "kms")
    first = _ok(deploy(lambda: _ecr_program(endpoint)))
    repo = ecr.describe_repositories(repositoryNames=["mlp-ecr-training"])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE" and repo["imageScanningConfiguration"]["scanOnPush"] is True
    key_arn = repo["encryptionConfiguration"]["kmsKey"]
    assert repo["encryptionConfiguration"]["encryptionType"] == "KMS"
    assert kms.describe_key(KeyId=key_arn)["KeyMetadata"]["Description"] == "ecr"
    tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"managed-by": "mlplatform"}
    assert first.stack_outputs["url"] == repo["repositoryUri"]
    policy = ecr.get_lifecycle_policy(repositoryName="mlp-ecr-training")["lifecyclePolicyText"]
    assert json.loads(policy) == json.loads(LIFECYCLE)

    refreshed = _assert_noop(lambda: _ecr_program(endpoint), first.records)

    # Drift: scanning switched off and tags mutable outside mlplatform; refresh sees it, up repairs it.
    ecr.put_image_scanning_configuration(
        repositoryName="mlp-ecr-training", imageScanningConfiguration={"scanOnPush": False}
    )
    ecr.put_image_tag_mutability(repositoryName="mlp-ecr-training", imageTagMutability="MUTABLE")
    repaired = _ok(deploy(lambda: _ecr_program(endpoint), refreshed.records, refresh=True))
    assert _changed(repaired) == {"repo": Action.UPDATE}
    repo = ecr.describe_repositories(repositoryNames=["mlp-ecr-training"])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE" and repo["imageScanningConfiguration"]["scanOnPush"] is True

    # A lifecycle policy changed by hand is drift too; its policy is ForceNew (as in Terraform): replaced.
    ecr.put_lifecycle_policy(
        repositoryName="mlp-ecr-training",
        lifecyclePolicyText=json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 1,
                        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
                        "action": {"type": "expire"},
                    }
                ]
            }
        ),
    )
    restored = _ok(deploy(lambda: _ecr_program(endpoint), repaired.records, refresh=True))
    assert _changed(restored) == {"repo-lifecycle": Action.REPLACE}
    policy = ecr.get_lifecycle_policy(repositoryName="mlp-ecr-training")["lifecyclePolicyText"]
    assert json.loads(policy) == json.loads(LIFECYCLE)

    # An update in place: tag mutability relaxed; the repository (and its images) stay.
    updated = _ok(deploy(lambda: _ecr_program(endpoint, mutability="MUTABLE"), restored.records))
    assert _changed(updated) == {"repo": Action.UPDATE}
    repo2 = ecr.describe_repositories(repositoryNames=["mlp-ecr-training"])["repositories"][0]
    assert repo2["imageTagMutability"] == "MUTABLE" and repo2["createdAt"] == repo["createdAt"]

    gone = destroy(updated.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    assert "mlp-ecr-training" not in [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]


# --- CloudWatch (logs, alarms, dashboards, EventBridge) and SNS ---------------------------------------

MODEL_STATE_PATTERN = {
    "source": ["aws.sagemaker"],
    "detail-type": ["SageMaker Model Package State Change"],
    "detail": {"ModelPackageGroupName": ["mlp-cw-models"], "ModelApprovalStatus": ["Approved"]},
}
DASHBOARD = {
    "widgets": [
        {
            "type": "metric",
            "x": 0,
            "y": 0,
            "width": 12,
            "height": 6,
            "properties": {
                "metrics": [["AWS/SageMaker", "ModelLatency", "EndpointName", "mlp-cw"]],
                "period": 300,
                "stat": "Average",
                "region": "us-east-1",
                "title": "Latency",
            },
        }
    ]
}
PIPELINE_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/mlp-cw-train"


def _topic_policy(arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowEventsAndAlarms",
                    "Effect": "Allow",
                    "Principal": {"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]},
                    "Action": "sns:Publish",
                    "Resource": arn,
                }
            ],
        }
    )


def _cw_program(endpoint: str, *, retention: int = 365, threshold: float = 500.0) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    tags = {"managed-by": "mlplatform"}
    key = aws.kms.Key("cw-key", description="monitoring", deletion_window_in_days=7, opts=opts)
    topic = aws.sns.Topic(
        "alerts", name="mlp-cw-alerts", display_name="ML alerts", kms_master_key_id=key.arn, tags=tags, opts=opts
    )
    aws.sns.TopicPolicy("alerts-policy", arn=topic.arn, policy=topic.arn.apply(_topic_policy), opts=opts)
    aws.cloudwatch.LogGroup(
        "endpoint-logs",
        name="/aws/sagemaker/Endpoints/mlp-cw",
        retention_in_days=retention,
        kms_key_id=key.arn,
        tags=tags,
        opts=opts,
    )
    aws.cloudwatch.MetricAlarm(
        "latency",
        name="mlp-cw-latency",
        alarm_description="p50 model latency too high",
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=3,
        datapoints_to_alarm=2,
        metric_name="ModelLatency",
        namespace="AWS/SageMaker",
        period=300,
        statistic="Average",
        threshold=threshold,
        dimensions={"EndpointName": "mlp-cw", "VariantName": "AllTraffic"},
        alarm_actions=[topic.arn],
        ok_actions=[topic.arn],
        treat_missing_data="notBreaching",
        tags=tags,
        opts=opts,
    )
    aws.cloudwatch.Dashboard("dashboard", dashboard_name="mlp-cw", dashboard_body=json.dumps(DASHBOARD), opts=opts)
    approved = aws.cloudwatch.EventRule(
        "model-approved",
        name="mlp-cw-model-approved",
        description="model package approved",
        event_pattern=json.dumps(MODEL_STATE_PATTERN),
        tags=tags,
        opts=opts,
    )
    aws.cloudwatch.EventTarget("model-approved-sns", rule=approved.name, target_id="notify", arn=topic.arn, opts=opts)
    role = aws.iam.Role(
        "scheduler-role",
        name="mlp-cw-scheduler",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
        opts=opts,
    )
    schedule = aws.cloudwatch.EventRule(
        "retrain", name="mlp-cw-retrain", schedule_expression="rate(7 days)", state="ENABLED", tags=tags, opts=opts
    )
    aws.cloudwatch.EventTarget(
        "retrain-pipeline",
        rule=schedule.name,
        target_id="pipeline",
        arn=PIPELINE_ARN,
        role_arn=role.arn,
        sagemaker_pipeline_target={
            "pipeline_parameter_lists": [{"name": "TrainingInstanceType", "value": "ml.m5.xlarge"}]
        },
        opts=opts,
    )


def test_cloudwatch_and_sns(endpoint: str) -> None:
    logs, cw, events, sns = (client(endpoint, s) for s in ("logs", "cloudwatch", "events", "sns"))
    first = _ok(deploy(lambda: _cw_program(endpoint)))
    records = {r.urn.rsplit("::", 1)[-1]: r for r in first.records.values()}
    topic_arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:mlp-cw-alerts"
    key_arn = records["cw-key"].outputs["arn"]
    assert records["alerts"].id == topic_arn and records["alerts-policy"].id == topic_arn
    assert records["model-approved-sns"].id == "mlp-cw-model-approved-notify"
    assert (
        records["latency"].id == "mlp-cw-latency" and records["endpoint-logs"].id == "/aws/sagemaker/Endpoints/mlp-cw"
    )
    assert records["endpoint-logs"].outputs["arn"].endswith(":log-group:/aws/sagemaker/Endpoints/mlp-cw")

    attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    assert attributes["DisplayName"] == "ML alerts" and attributes["KmsMasterKeyId"] == key_arn
    assert json.loads(attributes["Policy"]) == json.loads(_topic_policy(topic_arn))
    assert {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"]} == {
        "managed-by": "mlplatform"
    }
    group = logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/Endpoints/mlp-cw")["logGroups"][0]
    assert group["retentionInDays"] == 365 and group["kmsKeyId"] == key_arn
    assert logs.list_tags_for_resource(resourceArn=records["endpoint-logs"].outputs["arn"])["tags"] == {
        "managed-by": "mlplatform"
    }
    alarm = cw.describe_alarms(AlarmNames=["mlp-cw-latency"])["MetricAlarms"][0]
    assert alarm["AlarmActions"] == [topic_arn] and alarm["OKActions"] == [topic_arn]
    assert alarm["Threshold"] == 500.0 and alarm["EvaluationPeriods"] == 3 and alarm["DatapointsToAlarm"] == 2
    assert alarm["TreatMissingData"] == "notBreaching"
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "EndpointName": "mlp-cw",
        "VariantName": "AllTraffic",
    }
    assert cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"] == [
        {"Key": "managed-by", "Value": "mlplatform"}
    ]
    assert json.loads(cw.get_dashboard(DashboardName="mlp-cw")["DashboardBody"]) == DASHBOARD
    rule = events.describe_rule(Name="mlp-cw-model-approved")
    assert json.loads(rule["EventPattern"]) == MODEL_STATE_PATTERN and rule["State"] == "ENABLED"
    assert events.list_targets_by_rule(Rule="mlp-cw-model-approved")["Targets"] == [{"Id": "notify", "Arn": topic_arn}]
    assert events.describe_rule(Name="mlp-cw-retrain")["ScheduleExpression"] == "rate(7 days)"
    (target,) = events.list_targets_by_rule(Rule="mlp-cw-retrain")["Targets"]
    assert target["Arn"] == PIPELINE_ARN and target["RoleArn"] == records["scheduler-role"].outputs["arn"]
    assert target["SageMakerPipelineParameters"] == {
        "PipelineParameterList": [{"Name": "TrainingInstanceType", "Value": "ml.m5.xlarge"}]
    }

    refreshed = _assert_noop(lambda: _cw_program(endpoint), first.records)

    # Drift on every type: each is seen by refresh and repaired by the same up.
    logs.put_retention_policy(logGroupName="/aws/sagemaker/Endpoints/mlp-cw", retentionInDays=7)
    cw.put_metric_alarm(
        AlarmName="mlp-cw-latency",
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
        MetricName="ModelLatency",
        Namespace="AWS/SageMaker",
        Period=60,
        Statistic="Average",
        Threshold=1e9,
        AlarmActions=[],
    )
    cw.put_dashboard(DashboardName="mlp-cw", DashboardBody=json.dumps({"widgets": []}))
    events.disable_rule(Name="mlp-cw-model-approved")
    events.put_targets(
        Rule="mlp-cw-retrain",
        Targets=[
            {
                **target,
                "SageMakerPipelineParameters": {
                    "PipelineParameterList": [{"Name": "TrainingInstanceType", "Value": "ml.p4d.24xlarge"}]
                },
            }
        ],
    )
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="DisplayName", AttributeValue="hijacked")
    sns.set_topic_attributes(
        TopicArn=topic_arn,
        AttributeName="Policy",
        AttributeValue=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sns:*", "Resource": topic_arn}],
            }
        ),
    )
    repaired = _ok(deploy(lambda: _cw_program(endpoint), refreshed.records, refresh=True))
    assert _changed(repaired) == dict.fromkeys(
        ["endpoint-logs", "latency", "dashboard", "model-approved", "retrain-pipeline", "alerts", "alerts-policy"],
        Action.UPDATE,
    )
    assert (
        logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/Endpoints/mlp-cw")["logGroups"][0][
            "retentionInDays"
        ]
        == 365
    )
    alarm = cw.describe_alarms(AlarmNames=["mlp-cw-latency"])["MetricAlarms"][0]
    assert alarm["Threshold"] == 500.0 and alarm["AlarmActions"] == [topic_arn] and alarm["Period"] == 300
    assert json.loads(cw.get_dashboard(DashboardName="mlp-cw")["DashboardBody"]) == DASHBOARD
    assert events.describe_rule(Name="mlp-cw-model-approved")["State"] == "ENABLED"
    (target,) = events.list_targets_by_rule(Rule="mlp-cw-retrain")["Targets"]
    assert target["SageMakerPipelineParameters"]["PipelineParameterList"][0]["Value"] == "ml.m5.xlarge"
    attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    assert attributes["DisplayName"] == "ML alerts"
    assert json.loads(attributes["Policy"]) == json.loads(_topic_policy(topic_arn))
    _assert_noop(lambda: _cw_program(endpoint), repaired.records)

    # Updates in place: a longer retention and a new alarm threshold.
    updated = _ok(deploy(lambda: _cw_program(endpoint, retention=731, threshold=750.0), repaired.records))
    assert _changed(updated) == {"endpoint-logs": Action.UPDATE, "latency": Action.UPDATE}
    assert (
        logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/Endpoints/mlp-cw")["logGroups"][0][
            "retentionInDays"
        ]
        == 731
    )
    assert cw.describe_alarms(AlarmNames=["mlp-cw-latency"])["MetricAlarms"][0]["Threshold"] == 750.0

    gone = destroy(updated.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    assert not logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/Endpoints/mlp-cw")["logGroups"]
    assert not cw.describe_alarms(AlarmNames=["mlp-cw-latency"])["MetricAlarms"]
    assert "mlp-cw" not in [d["DashboardName"] for d in cw.list_dashboards()["DashboardEntries"]]
    assert not [r for r in events.list_rules(NamePrefix="mlp-cw-")["Rules"]]
    assert topic_arn not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]


# --- Adoption after an interrupted run ---------------------------------------------------------------


def _adopting(program: Any, interrupted: list[str]) -> Deployment:
    """A run whose state lost every resource of ``program`` while the journal shows their operations begun."""
    from mlplatform.engine.embedded.handlers import registry
    from mlplatform.engine.embedded.monitor import EngineMonitor
    from mlplatform.engine.embedded.runner import run_program

    deployment = Deployment(
        previous={}, handlers=registry(), preview=False, interrupted=interrupted, conventions=CONVENTIONS
    )
    run_program(program, EngineMonitor(deployment, "mlplatform", "test"), preview=False, parallel=10)
    return deployment


def _adoption_program(endpoint: str) -> None:
    _iam_program(endpoint)
    _cw_program(endpoint)
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    aws.sns.Topic("unnamed-topic", tags={"managed-by": "mlplatform"}, opts=opts)  # found by its URN tag
    aws.ecr.Repository("adopted-repo", name="mlp-adopt-repo", opts=opts)


def test_interrupted_run_adopts_instead_of_duplicating(endpoint: str) -> None:
    sns = client(endpoint, "sns")
    first = _ok(deploy(lambda: _adoption_program(endpoint)))
    topics = sorted(t["TopicArn"] for t in sns.list_topics()["Topics"])
    adopted = _ok(_adopting(lambda: _adoption_program(endpoint), list(first.records)))
    by_name = {c.name: c for c in adopted.plan() if c.custom}
    # Every resource is adopted (their reads match, so nothing changes): those with a name or URN tag by it,
    # and the config-style ones (policies, targets, dashboard) through what they are attached to.
    for name, change in by_name.items():
        if change.type.startswith("aws:kms/"):
            continue  # not this module's handlers
        assert change.detail == "adopted: created by an interrupted run", name
        assert change.action is Action.SAME, (name, change.action, change.detail)
    for urn, record in first.records.items():
        if not record.type.startswith("pulumi:providers:"):
            assert adopted.records[urn].id == record.id, urn
    assert sorted(t["TopicArn"] for t in sns.list_topics()["Topics"]) == topics
    assert _changed(deploy(lambda: _adoption_program(endpoint), adopted.records, refresh=True)) == {}
    assert not destroy(adopted.records).records
