"""CodeBuild, CodePipeline and the extra S3 handlers (notifications, ownership controls, objects).

Each test runs a Pulumi program through the embedded engine against the real emulator server and checks
the result independently with boto3: create, a second deploy that makes no API call, a refresh that finds
no drift, an update, drift made behind the engine's back and repaired, and destroy.

moto 5.2.5 gaps these handlers rely on (CodeBuild ``UpdateProject``, ``encryptionKey``, CODEPIPELINE sources
without a location; S3's ``EventBridgeConfiguration`` read-back) are filled by the emulator's patches
(mlplatform/emulator/patches/, shown in tests/integration/test_emulator_patches.py), so these are full checks.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.embedded.deployment import Deployment
from mlplatform.engine.embedded.handlers.base import READ_ONLY_PREFIXES
from mlplatform.engine.model import Action
from tests.integration.harness import client, deploy, destroy, provider

pytestmark = pytest.mark.integration

MODEL_BYTES = b"\x1f\x8b\x08\x00sample-model-weights\x00\xff"


def _changes(deployment: Deployment) -> dict[str, Action]:
    """Custom resources whose plan is anything but an unchanged SAME (drift notes count as a change)."""
    return {c.name: c.action for c in deployment.plan() if c.custom and (c.action is not Action.SAME or c.detail)}


def _mutating(deployment: Deployment) -> list[str]:
    """The mutating operations called. ``CallCounter.mutating`` also counts CodeBuild's ``BatchGetProjects``
    (its read-only prefix list has ``Batch_Get``, not ``BatchGet``), so the operations are checked by name."""
    reads = (*READ_ONLY_PREFIXES, "BatchGet")
    return sorted(op for op in deployment.counter.by_operation if not op.split(":", 1)[1].startswith(reads))


def _ok(deployment: Deployment) -> Deployment:
    assert not deployment.broken, [s.error for s in deployment.steps if s.error]
    return deployment


def _assert_noop_and_no_drift(program: Callable[[], None], deployment: Deployment) -> Deployment:
    """A second deploy makes no API call at all; a refresh reads everything and finds nothing to change."""
    again = _ok(deploy(program, deployment.records))
    assert {c.action for c in again.plan() if c.custom} == {Action.SAME}
    assert again.counter.total == 0, again.counter.by_operation
    refreshed = _ok(deploy(program, again.records, refresh=True))
    assert _changes(refreshed) == {}
    assert _mutating(refreshed) == [] and refreshed.counter.total > 0, refreshed.counter.by_operation
    return refreshed


# --- S3: notifications, ownership controls, objects ------------------------------------------------------


def _s3_program(
    endpoint: str,
    bucket_name: str,
    topic_arn: str,
    *,
    prefix: str = "incoming/",
    object_tags: dict[str, str] | None = None,
    extras: bool = True,
) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    key = aws.kms.Key("data-key", description="data key", deletion_window_in_days=7, opts=opts)
    bucket = aws.s3.Bucket("data", bucket=bucket_name, force_destroy=True, opts=opts)
    if extras:
        aws.s3.BucketOwnershipControls(
            "ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
        )
        aws.s3.BucketNotification(
            "notification",
            bucket=bucket.id,
            topics=[{"topic_arn": topic_arn, "events": ["s3:ObjectCreated:*"], "filter_prefix": prefix}],
            opts=opts,
        )
    aws.s3.BucketObjectv2(
        "model",
        bucket=bucket.id,
        key="models/sample/model.tar.gz",
        content_base64=base64.b64encode(MODEL_BYTES).decode(),
        content_type="application/gzip",
        server_side_encryption="aws:kms",
        kms_key_id=key.arn,
        tags=object_tags or {"stage": "sample"},
        force_destroy=True,
        opts=opts,
    )


def test_s3_notification_ownership_and_object(endpoint: str) -> None:
    bucket = "mlp-cicd-s3extras"
    s3, sns = client(endpoint, "s3"), client(endpoint, "sns")
    topic = sns.create_topic(Name="mlp-cicd-new-data")["TopicArn"]

    def program(**kwargs: Any) -> Callable[[], None]:
        return lambda: _s3_program(endpoint, bucket, topic, **kwargs)

    first = _ok(deploy(program()))
    assert set(first.records) and all(c.action is Action.CREATE for c in first.plan() if c.custom)
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    topics = s3.get_bucket_notification_configuration(Bucket=bucket)["TopicConfigurations"]
    assert [(t["TopicArn"], t["Events"], t["Filter"]["Key"]["FilterRules"]) for t in topics] == [
        (topic, ["s3:ObjectCreated:*"], [{"Name": "prefix", "Value": "incoming/"}])
    ]
    key = "models/sample/model.tar.gz"
    head = s3.head_object(Bucket=bucket, Key=key)
    key_arn = next(r for r in first.records.values() if r.type == "aws:kms/key:Key").outputs["arn"]
    assert (head["ContentType"], head["ServerSideEncryption"], head["SSEKMSKeyId"]) == (
        "application/gzip",
        "aws:kms",
        key_arn,
    )
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == MODEL_BYTES
    assert s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"] == [{"Key": "stage", "Value": "sample"}]
    model = next(r for r in first.records.values() if r.type == "aws:s3/bucketObjectv2:BucketObjectv2")
    assert model.outputs["etag"] == head["ETag"].strip('"') and model.outputs["arn"] == f"arn:aws:s3:::{bucket}/{key}"

    current = _assert_noop_and_no_drift(program(), first)

    # Updates in place: the object's tags (no re-upload) and the notification's filter.
    updated = _ok(deploy(program(prefix="landing/", object_tags={"stage": "sample", "team": "ml"}), current.records))
    assert _changes(updated) == {"model": Action.UPDATE, "notification": Action.UPDATE}
    assert "s3:PutObject" not in updated.counter.by_operation
    tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"stage": "sample", "team": "ml"}
    rules = s3.get_bucket_notification_configuration(Bucket=bucket)["TopicConfigurations"][0]["Filter"]
    assert rules["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "landing/"}]

    # Drift behind the engine's back: the object overwritten, ownership loosened. Refresh sees both; up repairs.
    s3.put_object(Bucket=bucket, Key=key, Body=b"tampered", ContentType="application/gzip")
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    after_update = program(prefix="landing/", object_tags={"stage": "sample", "team": "ml"})
    repaired = _ok(deploy(after_update, updated.records, refresh=True))
    assert _changes(repaired) == {"model": Action.UPDATE, "ownership": Action.UPDATE}
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == MODEL_BYTES
    assert s3.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "aws:kms"
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == (
        "BucketOwnerEnforced"
    )
    current = _assert_noop_and_no_drift(after_update, repaired)

    # Dropping the configuration resources deletes them: notifications emptied, ownership controls removed.
    trimmed = _ok(
        deploy(program(prefix="landing/", object_tags={"stage": "sample", "team": "ml"}, extras=False), current.records)
    )
    assert _changes(trimmed) == {"notification": Action.DELETE, "ownership": Action.DELETE}
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert not config.get("TopicConfigurations")
    with pytest.raises(Exception, match="OwnershipControlsNotFoundError"):
        s3.get_bucket_ownership_controls(Bucket=bucket)

    gone = destroy(trimmed.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_s3_eventbridge_notification(endpoint: str) -> None:
    """``eventbridge: true`` is how new data triggers a pipeline (the storage component's shape)."""
    bucket = "mlp-cicd-eventbridge"
    s3 = client(endpoint, "s3")

    def program() -> None:
        opts = pulumi.ResourceOptions(provider=provider(endpoint))
        data = aws.s3.Bucket("data", bucket=bucket, force_destroy=True, opts=opts)
        aws.s3.BucketNotification("events", bucket=data.id, eventbridge=True, opts=opts)

    first = _ok(deploy(program))
    assert first.counter.by_operation.get("s3:PutBucketNotificationConfiguration") == 1
    again = _ok(deploy(program, first.records))
    assert {c.action for c in again.plan() if c.custom} == {Action.SAME} and again.counter.total == 0
    try:
        assert s3.get_bucket_notification_configuration(Bucket=bucket)["EventBridgeConfiguration"] == {}
        current = _assert_noop_and_no_drift(program, again)
        # Drift: the notification configuration emptied behind the engine's back; refresh sees it and repairs.
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
        repaired = _ok(deploy(program, current.records, refresh=True))
        assert _changes(repaired) == {"events": Action.UPDATE}
        assert s3.get_bucket_notification_configuration(Bucket=bucket)["EventBridgeConfiguration"] == {}
        again = _assert_noop_and_no_drift(program, repaired)
    finally:
        gone = destroy(again.records)
        assert not gone.records, [s.error for s in gone.steps if s.error]


# --- CodeBuild and CodePipeline ----------------------------------------------------------------------------


def _role(endpoint: str, name: str, service: str) -> str:
    iam = client(endpoint, "iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def _project(
    name: str, logical: str, role: str, buildspec: str, opts: pulumi.ResourceOptions, description: str
) -> aws.codebuild.Project:
    return aws.codebuild.Project(
        logical,
        name=name,
        description=description,
        service_role=role,
        source={"type": "CODEPIPELINE", "buildspec": buildspec},  # no location: CodePipeline supplies it
        artifacts={"type": "CODEPIPELINE"},
        environment={
            "compute_type": "BUILD_GENERAL1_SMALL",
            "image": "aws/codebuild/standard:7.0",
            "type": "LINUX_CONTAINER",
            "privileged_mode": False,
            "image_pull_credentials_type": "CODEBUILD",
            "environment_variables": [
                {"name": "STAGE", "value": logical},
                {"name": "MODEL_BUCKET", "value": "mlp-cicd-artifacts", "type": "PLAINTEXT"},
            ],
        },
        build_timeout=30,
        queued_timeout=60,
        logs_config={
            "cloudwatch_logs": {"group_name": f"/mlp/codebuild/{name}", "status": "ENABLED"},
            "s3_logs": {"status": "DISABLED", "encryption_disabled": False},
        },
        tags={"managed-by": "mlplatform"},
        opts=opts,
    )


def _cicd_program(
    endpoint: str,
    pipeline_role: str,
    build_role: str,
    *,
    build_description: str = "train and package the model",
    approval_comment: str = "Promote to production?",
    tags: dict[str, str] | None = None,
) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    key = aws.kms.Key("pipeline-key", description="pipeline artifacts", deletion_window_in_days=7, opts=opts)
    artifacts = aws.s3.Bucket("artifacts", bucket="mlp-cicd-artifacts", force_destroy=True, opts=opts)
    aws.s3.BucketVersioning(
        "artifacts-versioning", bucket=artifacts.id, versioning_configuration={"status": "Enabled"}, opts=opts
    )
    build = _project("mlp-cicd-build", "build", build_role, "buildspec/build.yml", opts, build_description)
    staging = _project("mlp-cicd-deploy-staging", "staging", build_role, "buildspec/deploy.yml", opts, "deploy")
    prod = _project("mlp-cicd-deploy-prod", "prod", build_role, "buildspec/deploy.yml", opts, "deploy")

    def codebuild(name: str, project: aws.codebuild.Project, inputs: list[str], outputs: list[str]) -> Any:
        return {
            "name": name,
            "category": "Build",
            "owner": "AWS",
            "provider": "CodeBuild",
            "version": "1",
            "configuration": {"ProjectName": project.name},
            "input_artifacts": inputs,
            "output_artifacts": outputs,
            "run_order": 1,
        }

    pipeline = aws.codepipeline.Pipeline(
        "pipeline",
        name="mlp-cicd-pipeline",
        role_arn=pipeline_role,
        pipeline_type="V2",
        artifact_stores=[
            {"location": artifacts.bucket, "type": "S3", "encryption_key": {"id": key.arn, "type": "KMS"}}
        ],
        stages=[
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Source",
                        "category": "Source",
                        "owner": "AWS",
                        "provider": "S3",
                        "version": "1",
                        "configuration": {
                            "S3Bucket": artifacts.bucket,
                            "S3ObjectKey": "source.zip",
                            "PollForSourceChanges": "false",
                        },
                        "output_artifacts": ["source"],
                        "namespace": "SourceVariables",
                    }
                ],
            },
            {"name": "Build", "actions": [codebuild("Build", build, ["source"], ["model"])]},
            {"name": "DeployStaging", "actions": [codebuild("DeployStaging", staging, ["model"], [])]},
            {
                "name": "Approval",
                "actions": [
                    {
                        "name": "Approve",
                        "category": "Approval",
                        "owner": "AWS",
                        "provider": "Manual",
                        "version": "1",
                        "configuration": {"CustomData": approval_comment},
                    }
                ],
            },
            {"name": "DeployProd", "actions": [codebuild("DeployProd", prod, ["model"], [])]},
        ],
        tags=tags or {"managed-by": "mlplatform"},
        opts=opts,
    )
    pulumi.export("pipeline_arn", pipeline.arn)
    pulumi.export("build_arn", build.arn)


def test_codebuild_and_codepipeline(endpoint: str) -> None:
    pipeline_role = _role(endpoint, "mlp-cicd-pipeline-role", "codepipeline.amazonaws.com")
    build_role = _role(endpoint, "mlp-cicd-build-role", "codebuild.amazonaws.com")
    cb, cp = client(endpoint, "codebuild"), client(endpoint, "codepipeline")

    def program(**kwargs: Any) -> Callable[[], None]:
        return lambda: _cicd_program(endpoint, pipeline_role, build_role, **kwargs)

    first = _ok(deploy(program()))
    names = ["mlp-cicd-build", "mlp-cicd-deploy-staging", "mlp-cicd-deploy-prod"]
    projects = {p["name"]: p for p in cb.batch_get_projects(names=names)["projects"]}
    assert set(projects) == set(names)
    built = projects["mlp-cicd-build"]
    assert built["description"] == "train and package the model" and built["serviceRole"] == build_role
    assert built["source"] == {"type": "CODEPIPELINE", "buildspec": "buildspec/build.yml"}
    assert built["artifacts"] == {"type": "CODEPIPELINE"}
    assert built["environment"]["computeType"] == "BUILD_GENERAL1_SMALL"
    assert built["environment"]["environmentVariables"][0] == {"name": "STAGE", "value": "build"}
    assert (built["timeoutInMinutes"], built["queuedTimeoutInMinutes"]) == (30, 60)
    assert built["logsConfig"]["cloudWatchLogs"] == {"groupName": "/mlp/codebuild/mlp-cicd-build", "status": "ENABLED"}
    assert built["tags"] == [{"key": "managed-by", "value": "mlplatform"}]
    assert first.stack_outputs["build_arn"] == built["arn"]

    found = cp.get_pipeline(name="mlp-cicd-pipeline")
    definition = found["pipeline"]
    assert [s["name"] for s in definition["stages"]] == ["Source", "Build", "DeployStaging", "Approval", "DeployProd"]
    source = definition["stages"][0]["actions"][0]
    assert source["actionTypeId"] == {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}
    assert source["configuration"]["S3ObjectKey"] == "source.zip" and source["outputArtifacts"] == [{"name": "source"}]
    deploy_prod = definition["stages"][4]["actions"][0]
    assert deploy_prod["configuration"] == {"ProjectName": "mlp-cicd-deploy-prod"}
    assert deploy_prod["inputArtifacts"] == [{"name": "model"}]
    store = definition["artifactStore"]
    assert store["location"] == "mlp-cicd-artifacts" and store["encryptionKey"]["type"] == "KMS"
    assert store["encryptionKey"]["id"].startswith("arn:aws:kms:")
    assert first.stack_outputs["pipeline_arn"] == found["metadata"]["pipelineArn"]
    pipeline_arn = found["metadata"]["pipelineArn"]
    assert cp.list_tags_for_resource(resourceArn=pipeline_arn)["tags"] == [{"key": "managed-by", "value": "mlplatform"}]

    current = _assert_noop_and_no_drift(program(), first)

    # Both update in place: the pipeline (UpdatePipeline, Tag/UntagResource), the project (UpdateProject).
    changed = program(
        build_description="train, evaluate and package the model",
        approval_comment="Metrics OK? Promote to production.",
        tags={"managed-by": "mlplatform", "team": "ml"},
    )
    updated = _ok(deploy(changed, current.records))
    assert _changes(updated) == {"pipeline": Action.UPDATE, "build": Action.UPDATE}
    assert "codebuild:DeleteProject" not in updated.counter.by_operation
    assert updated.counter.by_operation.get("codebuild:UpdateProject") == 1
    rebuilt = cb.batch_get_projects(names=["mlp-cicd-build"])["projects"][0]
    assert rebuilt["description"] == "train, evaluate and package the model"
    assert rebuilt["created"] == built["created"]  # the same project, not a new one
    approval = cp.get_pipeline(name="mlp-cicd-pipeline")["pipeline"]["stages"][3]["actions"][0]
    assert approval["configuration"] == {"CustomData": "Metrics OK? Promote to production."}
    tags = cp.list_tags_for_resource(resourceArn=pipeline_arn)["tags"]
    assert {t["key"]: t["value"] for t in tags} == {"managed-by": "mlplatform", "team": "ml"}
    current = _assert_noop_and_no_drift(changed, updated)

    # Drift: the approval stage removed and a project deleted behind the engine's back; refresh repairs both.
    edited = cp.get_pipeline(name="mlp-cicd-pipeline")["pipeline"]
    edited["stages"] = [s for s in edited["stages"] if s["name"] != "Approval"]
    cp.update_pipeline(pipeline=edited)
    cb.delete_project(name="mlp-cicd-deploy-staging")
    repaired = _ok(deploy(changed, current.records, refresh=True))
    assert _changes(repaired) == {"pipeline": Action.UPDATE, "staging": Action.CREATE}
    stages = cp.get_pipeline(name="mlp-cicd-pipeline")["pipeline"]["stages"]
    assert [s["name"] for s in stages] == ["Source", "Build", "DeployStaging", "Approval", "DeployProd"]
    assert cb.batch_get_projects(names=["mlp-cicd-deploy-staging"])["projects"]
    current = _assert_noop_and_no_drift(changed, repaired)

    gone = destroy(current.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    assert cb.batch_get_projects(names=names)["projects"] == []
    assert "mlp-cicd-pipeline" not in [p["name"] for p in cp.list_pipelines()["pipelines"]]


def _single_project(endpoint: str, name: str, **overrides: Any) -> Callable[[], None]:
    def program() -> None:
        opts = pulumi.ResourceOptions(provider=provider(endpoint))
        args: dict[str, Any] = {
            "name": name,
            "service_role": "arn:aws:iam::123456789012:role/mlp-cicd-build-role",
            "source": {"type": "S3", "location": "mlp-cicd-artifacts/source.zip"},
            "artifacts": {"type": "NO_ARTIFACTS"},
            "environment": {
                "compute_type": "BUILD_GENERAL1_SMALL",
                "image": "aws/codebuild/standard:7.0",
                "type": "LINUX_CONTAINER",
            },
        }
        aws.codebuild.Project("project", **{**args, **overrides}, opts=opts)

    return program


def test_codebuild_codepipeline_source_without_location(endpoint: str) -> None:
    """AWS takes a CODEPIPELINE source and artifacts without a location (the cicd component's shape)."""
    program = _single_project(
        endpoint, "mlp-cicd-no-location", source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"}
    )
    first = _ok(deploy(program))
    try:
        live = client(endpoint, "codebuild").batch_get_projects(names=["mlp-cicd-no-location"])["projects"][0]
        assert (live["source"], live["artifacts"]) == ({"type": "CODEPIPELINE"}, {"type": "CODEPIPELINE"})
        first = _assert_noop_and_no_drift(program, first)
    finally:
        gone = destroy(first.records)
        assert not gone.records, [s.error for s in gone.steps if s.error]


def test_codebuild_encryption_key_and_in_place_updates(endpoint: str) -> None:
    """A project's customer-managed encryptionKey, and changes applied with UpdateProject, not a replacement."""
    kms, cb = client(endpoint, "kms"), client(endpoint, "codebuild")
    key_arn = kms.create_key(Description="codebuild artifacts")["KeyMetadata"]["Arn"]
    other_key = kms.create_key(Description="codebuild artifacts v2")["KeyMetadata"]["Arn"]
    name = "mlp-cicd-encrypted"

    def live() -> dict[str, Any]:
        return dict(cb.batch_get_projects(names=[name])["projects"][0])

    program = _single_project(endpoint, name, encryption_key=key_arn, build_timeout=30, tags={"team": "ml"})
    first = _ok(deploy(program))
    try:
        created = live()
        assert created["encryptionKey"] == key_arn and created["timeoutInMinutes"] == 30
        assert created["tags"] == [{"key": "team", "value": "ml"}]
        current = _assert_noop_and_no_drift(program, first)

        # Key, environment and tags changed; the build timeout dropped from the program (reset to 60).
        changed = _single_project(
            endpoint, name, encryption_key=other_key, tags={"team": "data", "stage": "dev"},
            environment={"compute_type": "BUILD_GENERAL1_MEDIUM", "image": "aws/codebuild/standard:7.0",
                         "type": "LINUX_CONTAINER"},
        )  # fmt: skip
        updated = _ok(deploy(changed, current.records))
        assert _changes(updated) == {"project": Action.UPDATE}
        assert _mutating(updated) == ["codebuild:UpdateProject"], updated.counter.by_operation
        after = live()
        assert after["created"] == created["created"] and after["arn"] == created["arn"]
        assert after["encryptionKey"] == other_key and after["environment"]["computeType"] == "BUILD_GENERAL1_MEDIUM"
        assert after["timeoutInMinutes"] == 60
        assert {t["key"]: t["value"] for t in after["tags"]} == {"team": "data", "stage": "dev"}
        current = _assert_noop_and_no_drift(changed, updated)

        # Drift: the key swapped and a tag removed behind the engine's back; refresh repairs with UpdateProject.
        cb.update_project(name=name, encryptionKey=key_arn, tags=[{"key": "team", "value": "data"}])
        repaired = _ok(deploy(changed, current.records, refresh=True))
        assert _changes(repaired) == {"project": Action.UPDATE}
        assert _mutating(repaired) == ["codebuild:UpdateProject"], repaired.counter.by_operation
        after = live()
        assert after["encryptionKey"] == other_key
        assert {t["key"]: t["value"] for t in after["tags"]} == {"team": "data", "stage": "dev"}
        first = _assert_noop_and_no_drift(changed, repaired)
    finally:
        gone = destroy(first.records)
        assert not gone.records, [s.error for s in gone.steps if s.error]
