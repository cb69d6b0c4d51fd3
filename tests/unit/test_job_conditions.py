"""Issue 8, item 8: the pipeline role starts jobs only the way ``training`` says jobs run.

``sagemaker:CreateTrainingJob`` and ``sagemaker:CreateProcessingJob`` are allowed only with SageMaker's
condition keys pinned to what the platform publishes: the allowed instance types, the platform's subnets
and security group, its KMS key for volumes and outputs, network isolation, inter-container traffic
encryption, the maximum runtime, and the environment's tag.

The emulator cannot evaluate any of this — moto's IAM access control ignores every condition except
``sts:ExternalId`` and never computes SageMaker's request keys — so these tests assert on the policy
document: they evaluate it (``tests.unit.iam_eval``) against the request each step of the pipeline
definition would send (allowed: the pipeline can still run) and against that request with one setting
changed (denied).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.unit.iam_eval import Request, allowed, as_list
from tests.unit.platform_plans import PlatformPlan, evaluate
from tests.unit.variants import spec_for

# Condition keys of CreateTrainingJob / CreateProcessingJob in AWS's Service Authorization Reference
# ("Actions, resources, and condition keys for Amazon SageMaker").
SAGEMAKER_JOB_KEYS = {
    "sagemaker:InstanceTypes",
    "sagemaker:InterContainerTrafficEncryption",
    "sagemaker:MaxRuntimeInSeconds",
    "sagemaker:NetworkIsolation",
    "sagemaker:OutputKmsKey",
    "sagemaker:VolumeKmsKey",
    "sagemaker:VpcSecurityGroupIds",
    "sagemaker:VpcSubnets",
}
ACTIONS = {"Training": "sagemaker:CreateTrainingJob", "Processing": "sagemaker:CreateProcessingJob"}


@pytest.fixture(scope="module")
def plan() -> PlatformPlan:
    return evaluate(spec_for("level2"))


def pipeline_policy(plan: PlatformPlan) -> dict[str, Any]:
    [record] = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if plan.name(r) == "identity-pipeline-policy"]
    return dict(json.loads(record.inputs["policy"]))


def steps(plan: PlatformPlan) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    [pipeline] = plan.of_type("aws:sagemaker/pipeline:Pipeline")
    definition = json.loads(pipeline.inputs["pipelineDefinition"])
    return definition, [step for step in definition["Steps"] if step["Type"] in ACTIONS]


def request(definition: dict[str, Any], step: dict[str, Any]) -> Request:
    """The request a step makes, with the condition keys SageMaker computes from it."""
    args = step["Arguments"]
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}

    def value(item: Any) -> Any:
        return defaults[item["Get"].removeprefix("Parameters.")] if isinstance(item, dict) else item

    if step["Type"] == "Training":
        resources, network, output = args["ResourceConfig"], args, args["OutputDataConfig"]["KmsKeyId"]
        vpc = args.get("VpcConfig")
        resource = "training-job/pipelines-a1b2c3-train-x"
    else:
        resources = args["ProcessingResources"]["ClusterConfig"]
        network, output = args["NetworkConfig"], args["ProcessingOutputConfig"]["KmsKeyId"]
        vpc = network.get("VpcConfig")
        resource = "processing-job/pipelines-a1b2c3-preprocess-x"
    context: dict[str, Any] = {
        "sagemaker:InstanceTypes": [value(resources["InstanceType"])],
        "sagemaker:VolumeKmsKey": resources["VolumeKmsKeyId"],
        "sagemaker:OutputKmsKey": output,
        "sagemaker:NetworkIsolation": str(network["EnableNetworkIsolation"]).lower(),
        "sagemaker:InterContainerTrafficEncryption": str(network["EnableInterContainerTrafficEncryption"]).lower(),
        "sagemaker:MaxRuntimeInSeconds": args["StoppingCondition"]["MaxRuntimeInSeconds"],
        **{f"aws:RequestTag/{tag['Key']}": tag["Value"] for tag in args.get("Tags", [])},
    }
    if vpc:
        context["sagemaker:VpcSubnets"] = list(vpc["Subnets"])
        context["sagemaker:VpcSecurityGroupIds"] = list(vpc["SecurityGroupIds"])
    return Request(ACTIONS[step["Type"]], f"arn:aws:sagemaker:us-east-1:123456789012:{resource}", context)


def test_create_job_statements_use_sagemakers_condition_keys(plan: PlatformPlan) -> None:
    policy = pipeline_policy(plan)
    for action in ACTIONS.values():
        [item] = [s for s in as_list(policy["Statement"]) if action in as_list(s["Action"])]
        assert as_list(item["Action"]) == [action]
        keys = {key for operator in item["Condition"].values() for key in operator}
        assert keys - {"aws:RequestTag/mlplatform:env"} == SAGEMAKER_JOB_KEYS, action
        values = item["Condition"]["ForAllValues:StringEquals"]
        assert values["sagemaker:VpcSubnets"] and values["sagemaker:VpcSecurityGroupIds"]
        assert set(item["Condition"]["Null"].values()) == {"false"}


def test_the_pipelines_own_jobs_are_allowed(plan: PlatformPlan) -> None:
    definition, jobs = steps(plan)
    assert {step["Type"] for step in jobs} == {"Training", "Processing"}
    for step in jobs:
        assert allowed([pipeline_policy(plan)], request(definition, step)), step["Name"]


CHANGES = {
    "an instance type training does not allow": ("sagemaker:InstanceTypes", ["ml.p4d.24xlarge"]),
    "no VPC": ("sagemaker:VpcSubnets", None),
    "another subnet": ("sagemaker:VpcSubnets", ["subnet-0123456789abcdef0"]),
    "no security group": ("sagemaker:VpcSecurityGroupIds", None),
    "another security group": ("sagemaker:VpcSecurityGroupIds", ["sg-0123456789abcdef0"]),
    "no network isolation": ("sagemaker:NetworkIsolation", "false"),
    "no inter-container encryption": ("sagemaker:InterContainerTrafficEncryption", "false"),
    "no volume key": ("sagemaker:VolumeKmsKey", None),
    "another volume key": ("sagemaker:VolumeKmsKey", "arn:aws:kms:us-east-1:123456789012:key/other"),
    "no output key": ("sagemaker:OutputKmsKey", None),
    "another output key": ("sagemaker:OutputKmsKey", "arn:aws:kms:us-east-1:123456789012:key/other"),
    "a longer runtime": ("sagemaker:MaxRuntimeInSeconds", 10 * 86400),
    "no environment tag": ("aws:RequestTag/mlplatform:env", None),
    "another environment's tag": ("aws:RequestTag/mlplatform:env", "dev-gpu"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_job_that_breaks_a_rule_is_denied(plan: PlatformPlan, change: str) -> None:
    key, new = CHANGES[change]
    definition, jobs = steps(plan)
    for step in jobs:
        changed = copy.deepcopy(request(definition, step))
        if new is None:
            changed.context.pop(key)
        else:
            changed.context[key] = new
        assert not allowed([pipeline_policy(plan)], changed), f"{step['Name']} with {change} is allowed"


def test_processing_jobs_may_use_only_the_processing_instance_type(plan: PlatformPlan) -> None:
    definition, jobs = steps(plan)
    preprocess = next(step for step in jobs if step["Type"] == "Processing")
    changed = request(definition, preprocess)
    changed.context["sagemaker:InstanceTypes"] = ["ml.c5.2xlarge"]  # allowed for training, not for processing
    assert not allowed([pipeline_policy(plan)], changed)


def test_jobs_are_watched_and_stopped_only_in_this_environment(plan: PlatformPlan) -> None:
    policy = pipeline_policy(plan)
    job = "arn:aws:sagemaker:us-east-1:123456789012:training-job/pipelines-x"
    mine = Request("sagemaker:StopTrainingJob", job, {"aws:ResourceTag/mlplatform:env": "local"})
    assert allowed([policy], mine)
    assert not allowed([policy], Request("sagemaker:StopTrainingJob", job, {"aws:ResourceTag/mlplatform:env": "x"}))
    assert not allowed([policy], Request("sagemaker:StopTrainingJob", job))
