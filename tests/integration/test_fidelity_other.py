"""Auto-naming and in-place updates of the 'other' handlers against the emulator: a CodeBuild project and a
CodePipeline without ``name`` get Pulumi's auto-name (they used to fail with a KeyError), update in place under
that name, and are found by nothing else; ``namePrefix`` names follow Terraform's prefix + 26-character suffix."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.embedded.deployment import Deployment
from mlplatform.engine.model import Action
from tests.integration.harness import client, deploy, destroy, provider

pytestmark = pytest.mark.integration


def _ok(deployment: Deployment) -> Deployment:
    assert not deployment.broken, [s.error for s in deployment.steps if s.error]
    return deployment


def _actions(deployment: Deployment) -> dict[str, Action]:
    return {c.name: c.action for c in deployment.plan() if c.custom}


def _trust(*services: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            # One statement per service: the emulator's CodePipeline wants the principal as a plain string.
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
                for service in services
            ],
        }
    )


def _cicd(endpoint: str, *, description: str) -> Any:
    def program() -> None:
        opts = pulumi.ResourceOptions(provider=provider(endpoint))
        role = aws.iam.Role(
            "fid-role",
            name_prefix="fid-role-",
            assume_role_policy=_trust("codebuild.amazonaws.com", "codepipeline.amazonaws.com"),
            opts=opts,
        )
        bucket = aws.s3.Bucket("fid-artifacts", bucket="mlp-fidelity-other-artifacts", force_destroy=True, opts=opts)
        project = aws.codebuild.Project(
            "fid-build",
            description=description,
            service_role=role.arn,
            source={"type": "CODEPIPELINE", "buildspec": "buildspec.yml"},
            artifacts={"type": "CODEPIPELINE"},
            environment={
                "compute_type": "BUILD_GENERAL1_SMALL",
                "image": "aws/codebuild/standard:7.0",
                "type": "LINUX_CONTAINER",
            },
            opts=opts,
        )
        aws.codepipeline.Pipeline(
            "fid-pipeline",
            role_arn=role.arn,
            artifact_stores=[{"location": bucket.bucket, "type": "S3"}],
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
                            "configuration": {"S3Bucket": bucket.bucket, "S3ObjectKey": "source.zip"},
                            "output_artifacts": ["source"],
                        }
                    ],
                },
                {
                    "name": "Build",
                    "actions": [
                        {
                            "name": "Build",
                            "category": "Build",
                            "owner": "AWS",
                            "provider": "CodeBuild",
                            "version": "1",
                            "configuration": {"ProjectName": project.name, "Note": description[:20]},
                            "input_artifacts": ["source"],
                        }
                    ],
                },
            ],
            opts=opts,
        )

    return program


def test_codebuild_and_codepipeline_are_auto_named_and_update_in_place(endpoint: str) -> None:
    cb, cp, iam = client(endpoint, "codebuild"), client(endpoint, "codepipeline"), client(endpoint, "iam")
    first = deploy(_cicd(endpoint, description="first"))
    records = first.records
    try:
        _ok(first)
        project_arn = next(r.id for r in records.values() if r.type == "aws:codebuild/project:Project")
        pipeline_name = next(r.id for r in records.values() if r.type == "aws:codepipeline/pipeline:Pipeline")
        role_name = next(r.id for r in records.values() if r.type == "aws:iam/role:Role")
        project_name = project_arn.rsplit("project/", 1)[-1]
        # Pulumi's auto-name: logical name, '-', 7 random characters.
        assert re.fullmatch(r"fid-build-[0-9a-f]{7}", project_name), project_name
        assert re.fullmatch(r"fid-pipeline-[0-9a-f]{7}", pipeline_name), pipeline_name
        # Terraform's namePrefix: the prefix and a 26-character unique suffix, no dash added.
        assert re.fullmatch(r"fid-role-\d{18}[0-9a-f]{8}", role_name), role_name
        assert iam.get_role(RoleName=role_name)["Role"]["RoleName"] == role_name
        assert cb.batch_get_projects(names=[project_name])["projects"][0]["description"] == "first"
        assert cp.get_pipeline(name=pipeline_name)["pipeline"]["name"] == pipeline_name

        # An unchanged program plans nothing; find() has no name to look for and does not crash.
        again = _ok(deploy(_cicd(endpoint, description="first"), records))
        assert set(_actions(again).values()) == {Action.SAME}

        second = _ok(deploy(_cicd(endpoint, description="second"), records))
        records = second.records
        actions = _actions(second)
        assert actions["fid-build"] is Action.UPDATE and actions["fid-pipeline"] is Action.UPDATE, actions
        assert next(r.id for r in records.values() if r.type == "aws:codebuild/project:Project") == project_arn
        assert cb.batch_get_projects(names=[project_name])["projects"][0]["description"] == "second"
        build = cp.get_pipeline(name=pipeline_name)["pipeline"]["stages"][1]["actions"][0]
        assert build["configuration"]["Note"] == "second"
    finally:
        _ok(destroy(records))
    assert cb.batch_get_projects(names=[project_name])["projects"] == []


def test_unsupported_inputs_are_refused_before_anything_is_deployed(endpoint: str) -> None:
    def program() -> None:
        opts = pulumi.ResourceOptions(provider=provider(endpoint))
        aws.sns.Topic("fid-topic", name="mlp-fidelity-refused", tracing_config="Active", opts=opts)

    with pytest.raises(Exception, match="tracingConfig"):
        deploy(program)
    assert not [t for t in client(endpoint, "sns").list_topics()["Topics"] if "mlp-fidelity-refused" in t["TopicArn"]]
