"""The SageMaker and Application Auto Scaling handlers refuse what they do not carry to AWS (issue 11).

Every input a handler ignores would make a local run differ from AWS silently: these check the declared
``implemented`` inputs and the nested parts the handlers refuse, without an emulator.
"""

from __future__ import annotations

import pytest

from mlplatform.engine.embedded.handlers import appautoscaling, sagemaker, sagemaker_studio
from mlplatform.engine.embedded.handlers.base import Handler

HANDLERS: tuple[type[Handler], ...] = (*sagemaker.HANDLERS, *sagemaker_studio.HANDLERS, *appautoscaling.HANDLERS)


@pytest.mark.parametrize(
    ("token", "refused"),
    [
        # pulumi-aws inputs a handler does not carry: refused, never silently dropped.
        (
            "aws:appautoscaling/policy:Policy",
            {"stepScalingPolicyConfiguration", "predictiveScalingPolicyConfiguration"},
        ),
    ],
)
def test_inputs_outside_implemented_are_refused(token: str, refused: set[str]) -> None:
    handler = next(h for h in HANDLERS if h.type == token)()
    inputs = {key: {"x": 1} for key in refused}
    assert set(handler.unsupported_inputs(inputs)) == refused


def test_an_inline_monitoring_job_definition_is_refused_before_planning() -> None:
    handler = sagemaker.MonitoringScheduleHandler()
    named = {"monitoringScheduleConfig": {"monitoringJobDefinitionName": "dq", "monitoringType": "DataQuality"}}
    assert handler.unsupported_inputs(named) == []
    inline = {
        "monitoringScheduleConfig": {"monitoringJobDefinition": {"roleArn": "r"}, "monitoringType": "DataQuality"}
    }
    assert handler.unsupported_inputs(inline) == ["monitoringScheduleConfig.monitoringJobDefinition"]


def test_scaling_policies_other_than_target_tracking_are_refused() -> None:
    handler = appautoscaling.PolicyHandler()
    tracking = {"policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": {"targetValue": 70}}
    assert handler.unsupported_inputs(tracking) == []
    assert handler.unsupported_inputs({"policyType": "StepScaling"}) == ["policyType"]
    customized = {
        "policyType": "TargetTrackingScaling",
        "targetTrackingScalingPolicyConfiguration": {"targetValue": 70, "customizedMetricSpecification": {"a": 1}},
    }
    assert handler.unsupported_inputs(customized) == [
        "targetTrackingScalingPolicyConfiguration.customizedMetricSpecification"
    ]


def test_the_dropped_notebook_accelerator_types_are_refused() -> None:
    # Neither pulumi-aws 7.51 nor the provider has acceleratorTypes any more: a stale program is told so.
    assert sagemaker_studio.NotebookInstanceHandler().unsupported_inputs({"acceleratorTypes": ["ml.eia1.medium"]}) == [
        "acceleratorTypes"
    ]


def test_the_domain_updates_what_the_provider_updates_in_place() -> None:
    updatable = set(sagemaker_studio.DomainHandler._UPDATABLE)
    assert {"domainSettings", "appSecurityGroupManagement", "tagPropagation", "appNetworkAccessType"} <= updatable
    assert "retentionPolicy" in sagemaker_studio.DomainHandler.implemented  # type: ignore[operator]
