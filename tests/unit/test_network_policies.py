"""The network's data perimeter (issue 8, item 6): VPC endpoint policies and the workload group's route to S3.

The program runs with fake handlers (``platform_plans``), so every policy document is known and inspected
here; tests/integration/test_cli_network_perimeter.py checks the same through the real CLI and emulator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlplatform import environments
from mlplatform.components.network import S3_WORKLOAD_ACTIONS
from mlplatform.engine.embedded.state import ResourceState
from tests.unit.platform_plans import PlatformPlan, evaluate, plan_for

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ACCOUNT = "123456789012"  # the emulator's: the built-in local environment deploys there


def _endpoints(plan: PlatformPlan) -> dict[str, ResourceState]:
    return {plan.name(record): record for record in plan.of_type(ENDPOINT)}


def _policy(record: ResourceState) -> dict[str, Any]:
    policy = record.inputs.get("policy")
    assert isinstance(policy, str), f"{record.urn} has no endpoint policy"
    return dict(json.loads(policy))


def _aws_plan(overrides: dict[str, Any], region: str = "eu-west-1") -> PlatformPlan:
    settings = environments.EnvironmentFile(
        blueprint="level2", target="aws", region=region, account_id="111111111111", overrides=overrides
    )
    return evaluate(environments.resolve_loaded("dev", None, settings).spec)


@pytest.mark.parametrize("blueprint", ["level0", "level1", "level2"])
def test_every_vpc_endpoint_has_a_policy(blueprint: str) -> None:
    endpoints = _endpoints(plan_for(blueprint))
    assert "network-s3" in endpoints and len(endpoints) >= 3
    for record in endpoints.values():
        assert _policy(record)["Statement"], record.urn


@pytest.mark.parametrize("blueprint", ["level0", "level1", "level2"])
def test_the_s3_gateway_reaches_only_the_platforms_buckets_and_ecrs_layers(blueprint: str) -> None:
    plan = plan_for(blueprint)
    bucket = plan.outputs["artifact_bucket"]
    statements = {s["Sid"]: s for s in _policy(_endpoints(plan)["network-s3"])["Statement"]}

    assert set(statements) == {"PlatformBuckets", "EcrImageLayers"}
    platform = statements["PlatformBuckets"]
    assert platform["Effect"] == "Allow"
    assert sorted(platform["Resource"]) == sorted([f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"])
    assert platform["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}
    assert platform["Action"] == list(S3_WORKLOAD_ACTIONS)
    assert not any(action.endswith("*") for action in platform["Action"])
    layers = statements["EcrImageLayers"]
    assert (layers["Action"], layers["Resource"]) == (
        ["s3:GetObject"],
        ["arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"],
    )
    # No statement lets anything else through: every resource is one of the buckets named above.
    for statement in statements.values():
        assert all(r != "*" and not r.startswith("arn:aws:s3:::*") for r in statement["Resource"])


def test_model_artifacts_outside_the_platform_are_readable_and_nothing_else() -> None:
    endpoint = {
        "name": "churn",
        "model": {"image": "serving:1", "model_data_url": "s3://models-eu/churn/1/model.tar.gz"},
    }
    plan = _aws_plan({"serving": {"endpoints": [endpoint]}})
    statements = {s["Sid"]: s for s in _policy(_endpoints(plan)["network-s3"])["Statement"]}

    models = statements["ModelArtifacts"]
    assert sorted(models["Resource"]) == ["arn:aws:s3:::models-eu", "arn:aws:s3:::models-eu/*"]
    assert not {"s3:PutObject", "s3:DeleteObject"} & set(models["Action"])
    assert models["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "111111111111"}}
    assert statements["EcrImageLayers"]["Resource"] == ["arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*"]
    assert statements["PlatformBuckets"]["Resource"][0] == "arn:aws:s3:::mlp-dev-artifacts-111111111111"


@pytest.mark.parametrize("blueprint", ["level0", "level1", "level2"])
def test_interface_endpoints_admit_only_the_account(blueprint: str) -> None:
    plan = plan_for(blueprint)
    interfaces = [r for r in plan.of_type(ENDPOINT) if r.inputs.get("vpcEndpointType") == "Interface"]
    assert interfaces
    for record in interfaces:
        [statement] = _policy(record)["Statement"]
        assert statement["Effect"] == "Allow"
        # The action is the whole service (a perimeter, not a grant); the caller and the resource are the account's.
        assert statement["Condition"] == {
            "StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:ResourceAccount": ACCOUNT}
        }, record.urn


def test_endpoint_policies_name_the_real_account_on_aws() -> None:
    plan = _aws_plan({})
    for record in plan.of_type(ENDPOINT):
        text = record.inputs["policy"]
        assert "111111111111" in text and ACCOUNT not in text, record.urn


@pytest.mark.parametrize("blueprint", ["level0", "level1", "level2"])
def test_workloads_reach_s3_through_its_prefix_list(blueprint: str) -> None:
    plan = plan_for(blueprint)
    gateway = _endpoints(plan)["network-s3"]
    rules = {plan.name(r): r for r in plan.of_type(EGRESS)}

    rule = rules["network-workload-s3-out"].inputs
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)
    # The prefix list is the gateway endpoint's own output (what AWS assigns), so the rule follows the endpoint.
    assert rule["prefixListId"] == gateway.outputs["prefixListId"]
    assert "cidrIpv4" not in rule
    workload = next(r for r in plan.of_type("aws:ec2/securityGroup:SecurityGroup") if r.urn.endswith("workload-sg"))
    assert rule["securityGroupId"] == workload.outputs.get("id", workload.id)
