"""The 'other' handlers (budgets, CloudWatch/EventBridge, CodeBuild, CodePipeline, ECR, Glue, IAM, SNS) refuse what
they do not implement (never silently ignore an input), carry every input the packaged components set, and the
replace-rule table for the group (/work/rules/other.json when present) names only arguments pulumi-aws has."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from mlplatform.engine.embedded.handlers import budgets, cloudwatch, codebuild, codepipeline, ecr, glue, iam, sns
from mlplatform.engine.embedded.handlers.base import Handler

HANDLERS: tuple[type[Handler], ...] = (
    *budgets.HANDLERS,
    *cloudwatch.HANDLERS,
    *codebuild.HANDLERS,
    *codepipeline.HANDLERS,
    *ecr.HANDLERS,
    *glue.HANDLERS,
    *iam.HANDLERS,
    *sns.HANDLERS,
)


def _handler(type_token: str) -> Handler:
    return next(cls() for cls in HANDLERS if cls.type == type_token)


@pytest.mark.parametrize(
    ("type_token", "inputs", "refused"),
    [
        ("aws:codebuild/project:Project", {"serviceRole": "r", "vpcConfig": {"vpcId": "v"}}, ["vpcConfig"]),
        (
            "aws:codebuild/project:Project",
            {"serviceRole": "r", "concurrentBuildLimit": 2, "tags": {"a": "b"}},
            ["concurrentBuildLimit"],
        ),
        ("aws:codebuild/project:Project", {"serviceRole": "r", "description": "d", "badgeEnabled": True}, []),
        ("aws:codepipeline/pipeline:Pipeline", {"roleArn": "r", "triggers": [{"providerType": "x"}]}, ["triggers"]),
        ("aws:codepipeline/pipeline:Pipeline", {"roleArn": "r", "variables": []}, []),
        (
            "aws:codepipeline/pipeline:Pipeline",
            {
                "roleArn": "r",
                "stages": [
                    {"name": "S", "actions": [{"name": "a", "category": "Source", "runOrder": 1}]},
                    {
                        "name": "B",
                        "onFailure": {"result": "ROLLBACK"},
                        "actions": [{"name": "b", "commands": ["make"], "timeoutInMinutes": 10}],
                    },
                ],
            },
            ["stages[1].onFailure", "stages[1].actions[0].commands"],
        ),
        ("aws:cloudwatch/logGroup:LogGroup", {"deletionProtectionEnabled": False, "skipDestroy": True}, []),
        ("aws:cloudwatch/logGroup:LogGroup", {"deletionProtectionEnabled": True}, ["deletionProtectionEnabled"]),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", {"metricQueries": [{"id": "m"}]}, ["metricQueries"]),
        ("aws:cloudwatch/eventRule:EventRule", {"scheduleExpression": "rate(1 hour)", "forceDestroy": True}, []),
        ("aws:cloudwatch/eventTarget:EventTarget", {"rule": "r", "arn": "a", "retryPolicy": {}}, []),
        (
            "aws:cloudwatch/eventTarget:EventTarget",
            {"rule": "r", "arn": "a", "sqsTarget": {"messageGroupId": "g"}},
            ["sqsTarget"],
        ),
        ("aws:budgets/budget:Budget", {"budgetType": "COST", "plannedLimits": [{"amount": "1"}]}, ["plannedLimits"]),
        (
            "aws:ecr/repository:Repository",
            {"imageTagMutabilityExclusionFilters": [{"filter": "x"}]},
            ["imageTagMutabilityExclusionFilters"],
        ),
        ("aws:glue/catalogDatabase:CatalogDatabase", {"targetDatabase": {"catalogId": "1"}}, ["targetDatabase"]),
        ("aws:iam/role:Role", {"assumeRolePolicy": "{}", "inlinePolicies": [{"name": "p"}]}, ["inlinePolicies"]),
        ("aws:iam/role:Role", {"assumeRolePolicy": "{}", "namePrefix": "p-", "forceDetachPolicies": True}, []),
        ("aws:sns/topic:Topic", {"archivePolicy": "{}", "tracingConfig": "Active"}, ["archivePolicy", "tracingConfig"]),
        ("aws:sns/topic:Topic", {"fifoTopic": True, "contentBasedDeduplication": True}, []),
    ],
)
def test_unsupported_inputs(type_token: str, inputs: dict[str, Any], refused: list[str]) -> None:
    assert _handler(type_token).unsupported_inputs(inputs) == refused


def test_codebuild_no_longer_refuses_at_create_time() -> None:
    # The refusal happens before planning (unsupported_inputs); create has no second, late check.
    assert not hasattr(codebuild, "_SUPPORTED")
    assert "HandlerError" not in inspect.getsource(codebuild.ProjectHandler)
