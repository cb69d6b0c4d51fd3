"""Issue 8, item 3: the Terraform-plan export shows scanners every IAM policy document, concretely.

Role policies, trust policies, the key policy and the bucket and topic policies are built from other
resources' outputs (a role's ARN, the key's ARN, a bucket's ARN, subnet ids); an offline plan used to leave
all of them "known after apply", and Checkov's IAM checks silently skipped them. The export now derives
ARNs from names, account, region and partition, and puts a ``known-after-apply`` placeholder only where AWS
assigns an identifier. That Checkov really evaluates (and fails) every role policy is proven by
``scripts/checkov`` (mutation test), which CI runs.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mlplatform.app.offline import plan_spec
from mlplatform.engine.offline import PLACEHOLDER, Where, derived_outputs
from mlplatform.render.terraform import terraform_plan
from tests.unit.variants import VARIANTS, spec_for

POLICY_ATTRIBUTES = {
    "aws_iam_role_policy": "policy",
    "aws_iam_role": "assume_role_policy",
    "aws_kms_key": "policy",
    "aws_s3_bucket_policy": "policy",
    "aws_sns_topic_policy": "policy",
}

ARN = r"arn:aws(-[a-z]+)?:(kms|ec2):[a-z0-9-]+:\d{12}:(key|vpc|subnet|security-group)/"
ASSIGNED = rf"({ARN})?(vpc-|subnet-|sg-)?{PLACEHOLDER}-mlp-[a-z0-9-]+"
"""A KMS key's id, or a VPC, subnet or security group id (alone or in its ARN)."""


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def exported(request: pytest.FixtureRequest) -> dict[str, Any]:
    return terraform_plan(plan_spec(spec_for(request.param)))


def test_every_policy_document_is_concrete(exported: dict[str, Any]) -> None:
    changes = {item["address"]: item for item in exported["resource_changes"]}
    counted = 0
    for item in exported["planned_values"]["root_module"]["resources"]:
        attribute = POLICY_ATTRIBUTES.get(item["type"])
        if attribute is None:
            continue
        after_unknown = changes[item["address"]]["change"]["after_unknown"]
        assert attribute not in after_unknown, f"{item['address']}.{attribute} is known after apply"
        document = json.loads(item["values"][attribute])
        assert document["Statement"], item["address"]
        counted += 1
    types = {item["type"] for item in exported["planned_values"]["root_module"]["resources"]}
    assert counted >= sum(1 for t in POLICY_ATTRIBUTES if t in types) + 4


def test_placeholders_stand_only_for_ids_aws_assigns(exported: dict[str, Any]) -> None:
    text = json.dumps(exported)
    found = set(re.findall(r"[a-z0-9:/-]*" + PLACEHOLDER + r"[a-z0-9-]*", text))
    assert found
    for value in found:
        assert re.fullmatch(ASSIGNED, value), value


def test_policies_keep_their_references_for_the_scanners_graph(exported: dict[str, Any]) -> None:
    configured = {item["address"]: item for item in exported["configuration"]["root_module"]["resources"]}
    for address, item in configured.items():
        if item["type"] == "aws_iam_role_policy":
            assert item["expressions"]["role"]["references"][1].startswith("aws_iam_role."), address


WHERE = Where("123456789012", "eu-west-1", "aws", "mlp-dev")


@pytest.mark.parametrize(
    ("type_", "inputs", "expected"),
    [
        ("aws:iam/role:Role", {"name": "mlp-dev-pipeline"}, "arn:aws:iam::123456789012:role/mlp-dev-pipeline"),
        ("aws:s3/bucket:Bucket", {"bucket": "b-1"}, "arn:aws:s3:::b-1"),
        ("aws:sns/topic:Topic", {"name": "t"}, "arn:aws:sns:eu-west-1:123456789012:t"),
        ("aws:cloudwatch/logGroup:LogGroup", {"name": "/a/b"}, "arn:aws:logs:eu-west-1:123456789012:log-group:/a/b"),
        (
            "aws:sagemaker/pipeline:Pipeline",
            {"pipelineName": "Mlp-Dev-CT"},
            "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/mlp-dev-ct",
        ),
        (
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
            {"url": "https://token.actions.githubusercontent.com"},
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
        ),
        ("aws:codepipeline/pipeline:Pipeline", {"name": "p"}, "arn:aws:codepipeline:eu-west-1:123456789012:p"),
    ],
)
def test_derived_arns(type_: str, inputs: dict[str, Any], expected: str) -> None:
    assert derived_outputs(type_, inputs, "logical", WHERE)["arn"] == expected


def test_no_name_nothing_derived_and_assigned_ids_are_placeholders() -> None:
    assert derived_outputs("aws:iam/role:Role", {}, "identity-user", WHERE) == {}
    assert derived_outputs("aws:sagemaker/model:Model", {"name": "m"}, "serving-demo-model", WHERE) == {}
    key = derived_outputs("aws:kms/key:Key", {}, "encryption-key", WHERE)
    assert key["arn"] == f"arn:aws:kms:eu-west-1:123456789012:key/{PLACEHOLDER}-mlp-dev-encryption-key"
    assert derived_outputs("aws:ec2/subnet:Subnet", {}, "net-0", WHERE) == {"id": f"subnet-{PLACEHOLDER}-mlp-dev-net-0"}


def test_a_repositorys_url_is_derived_in_its_partition() -> None:
    """`<repository>:<tag>` images are built from the URL: a model's container is known in offline plans."""
    found = derived_outputs("aws:ecr/repository:Repository", {"name": "mlp-dev/serving"}, "registry-serving", WHERE)
    assert found == {
        "arn": "arn:aws:ecr:eu-west-1:123456789012:repository/mlp-dev/serving",
        "registryId": "123456789012",
        "repositoryUrl": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlp-dev/serving",
    }
    china = Where("123456789012", "cn-north-1", "aws-cn", "mlp-dev", "amazonaws.com.cn")
    url = derived_outputs("aws:ecr/repository:Repository", {"name": "r"}, "x", china)["repositoryUrl"]
    assert url == "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/r"


def test_an_endpoints_image_from_the_platforms_repository_is_known_offline() -> None:
    plan = plan_spec(spec_for("level2"))
    model = next(r for r in plan.resources if r.type == "aws:sagemaker/model:Model")
    image = model.inputs["primaryContainer"]["image"]
    assert re.fullmatch(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/mlp-[a-z0-9-]+/serving:[\w.-]+", image), image
