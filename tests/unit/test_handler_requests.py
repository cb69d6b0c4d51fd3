"""The requests handlers send once their names and numbers come from botocore's model (``handlers/shapes.py``).

Each test drives a handler against real boto3 clients whose calls a botocore ``Stubber`` answers: the stubber
checks every request against the service model and the exact parameters expected, offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import boto3
from botocore.stub import Stubber

from mlplatform.engine.embedded.handlers.base import StepContext
from mlplatform.engine.embedded.handlers.budgets import BudgetHandler
from mlplatform.engine.embedded.handlers.cloudwatch import (
    EventRuleHandler,
    EventTargetHandler,
    LogGroupHandler,
    MetricAlarmHandler,
)
from mlplatform.engine.embedded.handlers.ec2 import VpcEndpointHandler
from mlplatform.engine.embedded.handlers.iam import RoleHandler
from mlplatform.engine.embedded.handlers.kms import KeyHandler
from mlplatform.engine.embedded.handlers.s3 import BucketLifecycleHandler

ACCOUNT = "123456789012"


@contextmanager
def _stubbed(service: str) -> Iterator[tuple[Any, Stubber]]:
    """A client of ``service`` whose calls are answered by a stubber, and a step context that hands it out."""
    client = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1").client(
        service
    )
    aws = SimpleNamespace(client=lambda _: client, partition="aws", region="us-east-1", account_id=ACCOUNT)
    with Stubber(client) as stubber:
        yield StepContext(aws, "urn:pulumi:local::mlplatform::x", "x", "test:urn"), stubber  # type: ignore[arg-type]
        stubber.assert_no_pending_responses()


def test_a_role_is_created_with_the_apis_names_and_an_integer_session_duration() -> None:
    inputs = {"name": "r", "assumeRolePolicy": "{}", "maxSessionDuration": 7200.0, "description": ""}
    role = {"Path": "/", "RoleName": "r", "RoleId": "AROAEXAMPLEEXAMPLE1", "Arn": f"arn:aws:iam::{ACCOUNT}:role/r"}
    with _stubbed("iam") as (ctx, stubber):
        stubber.add_response(
            "create_role",
            {"Role": {**role, "CreateDate": "2026-01-01T00:00:00Z", "MaxSessionDuration": 7200}},
            {"RoleName": "r", "AssumeRolePolicyDocument": "{}", "Path": "/", "MaxSessionDuration": 7200},
        )
        assert RoleHandler().create(ctx, inputs)[0] == "r"


def test_a_budgets_notification_sends_its_threshold_as_a_number_with_a_fraction() -> None:
    inputs = {
        "name": "b",
        "accountId": ACCOUNT,
        "budgetType": "COST",
        "timeUnit": "MONTHLY",
        "limitAmount": "10",
        "notifications": [
            {
                "notificationType": "ACTUAL",
                "comparisonOperator": "GREATER_THAN",
                "threshold": 80,
                "subscriberEmailAddresses": ["ops@example.com"],
            }
        ],
    }
    budget = {"BudgetName": "b", "BudgetType": "COST", "TimeUnit": "MONTHLY"}
    notification = {
        "NotificationType": "ACTUAL",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": 80.0,
        "ThresholdType": "PERCENTAGE",
    }
    with _stubbed("budgets") as (ctx, stubber):
        budget_args = {"AccountId": ACCOUNT, "Budget": {**budget, "BudgetLimit": {"Amount": "10", "Unit": "USD"}}}
        stubber.add_response("create_budget", {}, budget_args)
        subscribers = [{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}]
        expected = {"AccountId": ACCOUNT, "BudgetName": "b", "Notification": notification, "Subscribers": subscribers}
        stubber.add_response("create_notification", {}, expected)
        BudgetHandler().create(ctx, inputs)


def test_a_metric_alarm_sends_integers_and_terraforms_renamed_fields() -> None:
    inputs = {
        "comparisonOperator": "GreaterThanThreshold",
        "evaluationPeriods": 2.0,
        "period": 60.0,
        "threshold": 5.0,
        "evaluateLowSampleCountPercentiles": "ignore",
        "okActions": ["arn:topic"],
        "dimensions": {"EndpointName": "e"},
    }
    with _stubbed("cloudwatch") as (ctx, stubber):
        expected = {
            "AlarmName": "a",
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 2,
            "Period": 60,
            "Threshold": 5.0,
            "EvaluateLowSampleCountPercentile": "ignore",
            "OKActions": ["arn:topic"],
            "Dimensions": [{"Name": "EndpointName", "Value": "e"}],
        }
        stubber.add_response("put_metric_alarm", {}, expected)
        MetricAlarmHandler()._put(ctx, "a", inputs, tags=False)


def test_a_log_groups_retention_is_an_integer() -> None:
    with _stubbed("logs") as (ctx, stubber):
        stubber.add_response("create_log_group", {}, {"logGroupName": "g", "tags": {"team": "ml"}})
        stubber.add_response("put_retention_policy", {}, {"logGroupName": "g", "retentionInDays": 30})
        LogGroupHandler().create(ctx, {"name": "g", "retentionInDays": 30.0, "kmsKeyId": "", "tags": {"team": "ml"}})


def test_an_event_rule_sends_its_pattern_as_text_and_an_empty_description() -> None:
    inputs = {"eventPattern": {"source": ["aws.sagemaker"]}, "description": "", "isEnabled": False, "roleArn": ""}
    expected = {
        "Name": "r",
        "EventBusName": "default",
        "State": "DISABLED",
        "EventPattern": '{"source": ["aws.sagemaker"]}',
        "Description": "",
    }
    with _stubbed("events") as (ctx, stubber):
        stubber.add_response("put_rule", {"RuleArn": "arn:rule"}, expected)
        assert EventRuleHandler()._put(ctx, "r", inputs) == "arn:rule"


def test_an_event_targets_pipeline_parameters_are_renamed_and_empty_values_left_out() -> None:
    inputs = {
        "rule": "r",
        "arn": "arn:pipeline",
        "roleArn": "",
        "sagemakerPipelineTarget": {"pipelineParameterLists": [{"name": "TriggeredBy", "value": "drift"}]},
    }
    target = {
        "Id": "t",
        "Arn": "arn:pipeline",
        "SageMakerPipelineParameters": {"PipelineParameterList": [{"Name": "TriggeredBy", "Value": "drift"}]},
    }
    with _stubbed("events") as (ctx, stubber):
        stubber.add_response(
            "put_targets", {"FailedEntryCount": 0}, {"Rule": "r", "EventBusName": "default", "Targets": [target]}
        )
        EventTargetHandler()._put(ctx, "t", inputs)


def test_a_lifecycle_rule_sends_integer_days_and_only_the_managed_blocks() -> None:
    rule = {
        "id": "expire",
        "filter": {"prefix": "tmp/"},
        "expiration": {"days": 30.0},
        "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7.0},
    }
    api_rule = {
        "ID": "expire",
        "Status": "Enabled",
        "Filter": {"Prefix": "tmp/"},
        "Expiration": {"Days": 30},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }
    with _stubbed("s3") as (ctx, stubber):
        stubber.add_response(
            "put_bucket_lifecycle_configuration",
            {},
            {"Bucket": "b", "LifecycleConfiguration": {"Rules": [api_rule]}},
        )
        BucketLifecycleHandler().put(ctx, {"bucket": "b", "rules": [rule]})


def test_a_keys_deletion_window_is_an_integer_under_its_api_name() -> None:
    with _stubbed("kms") as (ctx, stubber):
        stubber.add_response("list_resource_tags", {"Tags": []}, {"KeyId": "k"})
        stubber.add_response("schedule_key_deletion", {}, {"KeyId": "k", "PendingWindowInDays": 7})
        KeyHandler().delete(ctx, "k", {"deletionWindowInDays": 7.0}, {})


def test_a_vpc_endpoint_update_adds_and_removes_ids_and_renames_the_policy() -> None:
    live = {
        "VpcEndpointId": "vpce-1",
        "VpcEndpointType": "Interface",
        "State": "available",
        "SubnetIds": ["subnet-a", "subnet-b"],
        "Groups": [{"GroupId": "sg-1"}],
        "PrivateDnsEnabled": True,
        "PolicyDocument": "{}",
    }
    news = {"subnetIds": ["subnet-b", "subnet-c"], "securityGroupIds": ["sg-1"], "privateDnsEnabled": False}
    news["policy"] = '{"Statement": []}'
    with _stubbed("ec2") as (ctx, stubber):
        answer = {"VpcEndpoints": [live]}
        stubber.add_response("describe_vpc_endpoints", answer, {"VpcEndpointIds": ["vpce-1"]})
        stubber.add_response(
            "modify_vpc_endpoint",
            {"Return": True},
            {
                "VpcEndpointId": "vpce-1",
                "AddSubnetIds": ["subnet-c"],
                "RemoveSubnetIds": ["subnet-a"],
                "PolicyDocument": '{"Statement": []}',
                "PrivateDnsEnabled": False,
            },
        )
        stubber.add_response("describe_vpc_endpoints", answer, {"VpcEndpointIds": ["vpce-1"]})
        VpcEndpointHandler().update(ctx, "vpce-1", {}, news, {})
