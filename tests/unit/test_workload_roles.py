"""Issue 8, item 4: one role per workload, each with only its own artifact-bucket prefixes and actions.

Each component runs as its own role (the dev environment as the user role, jobs as the training role,
models as the serving role, data-quality jobs as the monitoring role, the offline feature store as the
feature-store role), and the roles' policies are evaluated (``tests.unit.iam_eval``) for what matters: a
notebook user cannot overwrite model artifacts or drop files under the retraining prefix, serving reads
model artifacts and writes only its data capture, nothing deletes objects, and the pipeline passes only
the training role. ``tests/integration/test_workload_roles.py`` makes the S3 calls for real against the
emulator with IAM access control on.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.iam_eval import Request, allowed, as_list
from tests.unit.platform_plans import PlatformPlan, evaluate
from tests.unit.variants import spec_for

ROLES = ("user", "training", "serving", "monitoring", "feature-store", "pipeline", "events")


@pytest.fixture(scope="module")
def plan() -> PlatformPlan:
    return evaluate(spec_for("level2"))


def role_arn(plan: PlatformPlan, role: str) -> str:
    [record] = [r for r in plan.of_type("aws:iam/role:Role") if plan.name(r) == f"identity-{role}"]
    return str(record.outputs["arn"])


def role_policy(plan: PlatformPlan, role: str) -> dict[str, Any]:
    [record] = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if plan.name(r) == f"identity-{role}-policy"]
    return dict(json.loads(record.inputs["policy"]))


def bucket_arn(plan: PlatformPlan) -> str:
    [bucket] = [b for b in plan.of_type("aws:s3/bucket:Bucket") if "artifacts" in str(b.inputs.get("bucket"))]
    return str(bucket.outputs["arn"])


def may(plan: PlatformPlan, role: str, action: str, key: str) -> bool:
    return allowed([role_policy(plan, role)], Request(action, f"{bucket_arn(plan)}/{key}"))


def test_each_workload_runs_as_its_own_role(plan: PlatformPlan) -> None:
    arns = {role: role_arn(plan, role) for role in ROLES}
    assert len(set(arns.values())) == len(ROLES)
    [domain] = plan.of_type("aws:sagemaker/domain:Domain")
    assert domain.inputs["defaultUserSettings"]["executionRole"] == arns["user"]
    assert plan.outputs["training"]["role_arn"] == arns["training"]
    [pipeline] = plan.of_type("aws:sagemaker/pipeline:Pipeline")
    assert pipeline.inputs["roleArn"] == arns["pipeline"]
    steps = json.loads(pipeline.inputs["pipelineDefinition"])["Steps"]
    assert {step["Arguments"]["RoleArn"] for step in steps if "RoleArn" in step.get("Arguments", {})} == {
        arns["training"]
    }
    assert {m.inputs["executionRoleArn"] for m in plan.of_type("aws:sagemaker/model:Model")} == {arns["serving"]}
    jobs = plan.of_type("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    assert jobs and {job.inputs["roleArn"] for job in jobs} == {arns["monitoring"]}
    groups = plan.of_type("aws:sagemaker/featureGroup:FeatureGroup")
    assert groups and {group.inputs["roleArn"] for group in groups} == {arns["feature-store"]}
    targets = [t for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.inputs.get("roleArn")]
    starts = {t.inputs["roleArn"] for t in targets if t.inputs["arn"] == pipeline.outputs["arn"]}
    assert starts == {arns["events"]}
    for role in ("user", "training", "serving", "monitoring"):
        assert plan.outputs[f"{role}_role_arn"] == arns[role]
    assert "execution_role_arn" not in plan.outputs


def test_users_cannot_write_models_or_the_retraining_prefix(plan: PlatformPlan) -> None:
    for key in ("models/churn/1/model.tar.gz", "incoming/batch.csv", "training/job/output/model.tar.gz"):
        assert not may(plan, "user", "s3:PutObject", key), key
    assert not may(plan, "user", "s3:PutObject", "pipelines/mlp-local-continuous-training/models/m.tar.gz")
    assert may(plan, "user", "s3:PutObject", "experiments/alice/notebook-output.csv")
    assert may(plan, "user", "s3:GetObject", "incoming/batch.csv")
    assert may(plan, "user", "s3:GetObject", "models/churn/1/model.tar.gz")
    assert not may(plan, "user", "s3:GetObject", "capture/mlp-local-demo/primary/request.jsonl")


def test_serving_reads_model_artifacts_only_and_writes_its_capture(plan: PlatformPlan) -> None:
    for key in ("models/x/model.tar.gz", "training/job/output/model.tar.gz"):
        assert may(plan, "serving", "s3:GetObject", key)
        assert not may(plan, "serving", "s3:PutObject", key)
    assert may(plan, "serving", "s3:GetObject", "pipelines/mlp-local-continuous-training/models/j/model.tar.gz")
    for key in ("incoming/batch.csv", "feature-store/t/part.parquet", "experiments/alice/x.csv"):
        assert not may(plan, "serving", "s3:GetObject", key), key
    assert may(plan, "serving", "s3:PutObject", "capture/mlp-local-demo/mlp-local-demo/primary/x.jsonl")
    assert not may(plan, "serving", "s3:PutObject", "capture/mlp-local-other/x.jsonl")


def test_training_writes_its_outputs_and_reads_the_retraining_input(plan: PlatformPlan) -> None:
    assert may(plan, "training", "s3:GetObject", "incoming/batch.csv")
    assert not may(plan, "training", "s3:PutObject", "incoming/batch.csv")
    assert may(plan, "training", "s3:PutObject", "pipelines/mlp-local-continuous-training/runs/train/part-0")
    assert may(plan, "training", "s3:PutObject", "training/job/output/model.tar.gz")
    assert not may(plan, "training", "s3:PutObject", "models/churn/1/model.tar.gz")
    assert not may(plan, "training", "s3:GetObject", "capture/mlp-local-demo/x.jsonl")


def test_monitoring_reads_capture_and_writes_reports_only(plan: PlatformPlan) -> None:
    assert may(plan, "monitoring", "s3:GetObject", "capture/mlp-local-demo/x.jsonl")
    assert may(plan, "monitoring", "s3:PutObject", "monitoring/mlp-local-demo/report.json")
    for key in ("models/x/model.tar.gz", "capture/mlp-local-demo/x.jsonl", "incoming/x.csv"):
        assert not may(plan, "monitoring", "s3:PutObject", key), key


def test_no_role_deletes_objects_or_reaches_the_whole_bucket(plan: PlatformPlan) -> None:
    bucket = bucket_arn(plan)
    for role in ROLES:
        policy = role_policy(plan, role)
        for item in as_list(policy["Statement"]):
            assert not any("delete" in a.lower() and a.startswith("s3:") for a in as_list(item["Action"])), role
            assert f"{bucket}/*" not in as_list(item.get("Resource", [])), f"{role}: {item['Sid']} covers every object"


def test_the_pipeline_passes_only_the_training_role(plan: PlatformPlan) -> None:
    policy = role_policy(plan, "pipeline")
    for role in ROLES:
        passes = allowed(
            [policy],
            Request("iam:PassRole", role_arn(plan, role), {"iam:PassedToService": "sagemaker.amazonaws.com"}),
        )
        assert passes == (role == "training"), role
    for role in ROLES:
        assert (
            not any(
                "iam:passrole" in [a.lower() for a in as_list(s["Action"])]
                for s in as_list(role_policy(plan, role)["Statement"])
            )
            or role == "pipeline"
        ), f"{role} may pass a role"


def test_roles_exist_only_for_what_the_platform_runs() -> None:
    level0 = evaluate(spec_for("level0"))
    names = {level0.name(r) for r in level0.of_type("aws:iam/role:Role")}
    assert names == {"identity-user", "identity-serving", "network-flow-logs-role"}
