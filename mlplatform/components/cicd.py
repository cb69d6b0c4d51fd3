"""CI/CD: CodePipeline + CodeBuild with a manual approval before production, or a GitHub OIDC deploy role."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, assume_role_policy, child, policy, statement
from mlplatform.components.storage import SecureBucket, SecureBucketArgs

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
# GitHub's published OIDC certificate thumbprints (AWS no longer checks them for this provider, but the API
# still requires at least one).
GITHUB_THUMBPRINTS = ("6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd")

_BUILDSPEC = """version: 0.2
phases:
  install:
    commands:
      - pip install -r requirements.txt
  build:
    commands:
      - python -m pytest
artifacts:
  files:
    - '**/*'
"""

_DEPLOY_BUILDSPEC = """version: 0.2
phases:
  build:
    commands:
      - python deploy.py --stage "$STAGE" --platform "$PLATFORM"
"""


@dataclass(frozen=True)
class CicdArgs:
    """Settings of CI/CD.

    Attributes:
        provider: ``codepipeline`` or ``github-oidc``.
        kms_key_arn: the platform key (artifacts, logs).
        execution_role_arn: the role deployments pass to SageMaker models.
        alarm_topic_arn: approval requests and pipeline failures notify this topic.
        log_bucket: access-log bucket for the pipeline's artifact bucket (``None``: no access logs).
        repository: ``owner/name`` on GitHub (github-oidc).
        branch: the branch that deploys.
        stages: deployment stages in order; the last is production.
        manual_approval_before_prod: wait for a person before the last stage.
        log_retention_days: retention of the build log group.
        permissions_boundary_arn: boundary attached to the roles.
    """

    provider: str
    kms_key_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    log_bucket: pulumi.Input[str] | None = None
    repository: str | None = None
    branch: str = "main"
    stages: Sequence[str] = ("staging", "prod")
    manual_approval_before_prod: bool = True
    log_retention_days: int = 365
    permissions_boundary_arn: str | None = None


class Cicd(pulumi.ComponentResource):
    """Continuous delivery of models.

    ``codepipeline``: a KMS-encrypted artifact bucket, CodeBuild projects (build/test, then one deploy
    per stage) logging to an encrypted log group, and a pipeline Source -> Build -> Deploy-<stage> ... with
    a manual approval before the last stage; pushing ``source/<branch>.zip`` to the bucket starts it.
    ``github-oidc``: GitHub's OIDC provider and a deploy role only the given repository and branch can assume.
    """

    pipeline_name: pulumi.Output[str] | None
    deploy_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: CicdArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:delivery:Cicd", name, {}, opts)
        self._platform = platform
        self._args = args
        self.pipeline_name = None
        if args.provider == "github-oidc":
            self.deploy_role_arn = self._github(name)
        else:
            self.deploy_role_arn = self._codepipeline(name)
        self.register_outputs({"pipeline_name": self.pipeline_name, "deploy_role_arn": self.deploy_role_arn})

    def _tags(self) -> dict[str, str]:
        return self._platform.tags_for("cicd")

    def _deploy_statements(self) -> list[dict[str, Any]]:
        """What a deployment may do: roll a new registered model version out to the platform's endpoints."""
        p = self._platform
        return [
            statement(
                "ReadRegistry",
                [
                    "sagemaker:ListModelPackages",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                ],
                [
                    p.arn("sagemaker", f"model-package-group/{p.name}-*"),
                    p.arn("sagemaker", f"model-package/{p.name}-*/*"),
                ],
            ),
            statement(
                "RollOutEndpoints",
                [
                    "sagemaker:CreateModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:AddTags",
                ],
                [
                    p.arn("sagemaker", f"model/{p.name}-*"),
                    p.arn("sagemaker", f"endpoint-config/{p.name}-*"),
                    p.arn("sagemaker", f"endpoint/{p.name}-*"),
                ],
            ),
            statement(
                "PassExecutionRole",
                ["iam:PassRole"],
                [self._args.execution_role_arn],
                condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
        ]

    def _role(
        self, logical: str, physical: str, trust: pulumi.Input[str], statements: list[dict[str, Any]]
    ) -> aws.iam.Role:
        role = aws.iam.Role(
            logical,
            name=physical,
            assume_role_policy=trust,
            permissions_boundary=self._args.permissions_boundary_arn,
            tags=self._tags(),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{logical}-policy", role=role.name, name="least-privilege", policy=policy(*statements), opts=child(self)
        )
        return role

    def _github(self, name: str) -> pulumi.Output[str]:
        p, args = self._platform, self._args
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-github",
            url=GITHUB_OIDC_URL,
            client_id_lists=["sts.amazonaws.com"],
            thumbprint_lists=list(GITHUB_THUMBPRINTS),
            tags=self._tags(),
            opts=child(self),
        )

        subject = f"repo:{args.repository}:ref:refs/heads/{args.branch}"

        def trust(provider_arn: str) -> str:
            return json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "GitHubActionsOfOneRepositoryBranch",
                            "Effect": "Allow",
                            "Principal": {"Federated": provider_arn},
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {
                                "StringEquals": {
                                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                    "token.actions.githubusercontent.com:sub": subject,
                                }
                            },
                        }
                    ],
                },
                sort_keys=True,
            )

        role = self._role(
            f"{name}-deploy", f"{p.name}-github-deploy", provider.arn.apply(trust), self._deploy_statements()
        )
        return role.arn

    def _codepipeline(self, name: str) -> pulumi.Output[str]:
        p, args = self._platform, self._args
        tags = self._tags()
        bucket = SecureBucket(
            f"{name}-artifacts",
            SecureBucketArgs(
                component="cicd",
                role="cicd",
                kms_key_arn=args.kms_key_arn,
                log_bucket=args.log_bucket,
                log_prefix="cicd/",
                noncurrent_version_expiration_days=30,
            ),
            p,
            opts=child(self),
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-build-logs",
            name=f"/mlplatform/{p.name}/codebuild",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=tags,
            opts=child(self),
        )
        objects = pulumi.Output.concat(bucket.bucket_arn, "/*")
        build_access = [
            statement("Artifacts", ["s3:GetObject", "s3:PutObject", "s3:GetObjectVersion"], [objects]),
            statement("ArtifactBucket", ["s3:GetBucketLocation", "s3:ListBucket"], [bucket.bucket_arn]),
            statement(
                "PlatformKey",
                ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                [args.kms_key_arn],
            ),
            statement(
                "BuildLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [logs.arn, pulumi.Output.concat(logs.arn, ":*")],
            ),
        ]
        build_role = self._role(
            f"{name}-build-role",
            f"{p.name}-codebuild",
            assume_role_policy("codebuild.amazonaws.com", source_account=p.account),
            [*build_access, *self._deploy_statements()],
        )
        projects = {"build": self._project(f"{name}-build", f"{p.name}-build", _BUILDSPEC, build_role, logs, {})}
        for stage in args.stages:
            projects[stage] = self._project(
                f"{name}-deploy-{stage}",
                f"{p.name}-deploy-{stage}",
                _DEPLOY_BUILDSPEC,
                build_role,
                logs,
                {"STAGE": stage, "PLATFORM": p.name},
            )
        pipeline_role = self._role(
            f"{name}-pipeline-role",
            f"{p.name}-codepipeline",
            assume_role_policy("codepipeline.amazonaws.com", source_account=p.account),
            [
                statement(
                    "Artifacts",
                    ["s3:GetObject", "s3:PutObject", "s3:GetObjectVersion", "s3:GetBucketVersioning"],
                    [objects, bucket.bucket_arn],
                ),
                statement(
                    "PlatformKey",
                    ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    [args.kms_key_arn],
                ),
                statement(
                    "RunBuilds",
                    ["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
                    [project.arn for project in projects.values()],
                ),
                statement("NotifyApprovers", ["sns:Publish"], [args.alarm_topic_arn]),
            ],
        )
        source_key = f"source/{args.branch}.zip"
        stages: list[dict[str, Any]] = [
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
                            "S3Bucket": bucket.bucket_name,
                            "S3ObjectKey": source_key,
                            "PollForSourceChanges": "false",  # the EventBridge rule below starts it
                        },
                        "output_artifacts": ["source"],
                    }
                ],
            },
            {"name": "Build", "actions": [self._build_action("Build", projects["build"], "source", "built")]},
        ]
        for index, stage in enumerate(args.stages):
            last = index == len(args.stages) - 1
            if last and args.manual_approval_before_prod and len(args.stages) > 1:
                stages.append(
                    {
                        "name": f"Approve-{stage}",
                        "actions": [
                            {
                                "name": "Approve",
                                "category": "Approval",
                                "owner": "AWS",
                                "provider": "Manual",
                                "version": "1",
                                "configuration": {
                                    "NotificationArn": args.alarm_topic_arn,
                                    "CustomData": f"Approve the deployment of the new model version to {stage}.",
                                },
                            }
                        ],
                    }
                )
            stages.append(
                {"name": f"Deploy-{stage}", "actions": [self._build_action("Deploy", projects[stage], "built", None)]}
            )
        pipeline = aws.codepipeline.Pipeline(
            f"{name}-pipeline",
            name=f"{p.name}-model-delivery",
            role_arn=pipeline_role.arn,
            pipeline_type="V2",
            artifact_stores=[
                {
                    "location": bucket.bucket_name,
                    "type": "S3",
                    "encryption_key": {"id": args.kms_key_arn, "type": "KMS"},
                }
            ],
            stages=stages,
            tags=tags,
            opts=child(self),
        )
        events_role = self._role(
            f"{name}-start-role",
            f"{p.name}-start-delivery",
            assume_role_policy("events.amazonaws.com", source_account=p.account),
            [statement("StartDelivery", ["codepipeline:StartPipelineExecution"], [pipeline.arn])],
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-source-changed",
            name=f"{p.name}-source-changed",
            description=f"Start model delivery when {source_key} is uploaded",
            event_pattern=bucket.bucket_name.apply(
                lambda name_: json.dumps(
                    {
                        "source": ["aws.s3"],
                        "detail-type": ["Object Created"],
                        "detail": {"bucket": {"name": [name_]}, "object": {"key": [source_key]}},
                    },
                    sort_keys=True,
                )
            ),
            tags=tags,
            opts=child(self),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-source-changed-target",
            rule=rule.name,
            target_id="delivery",
            arn=pipeline.arn,
            role_arn=events_role.arn,
            opts=child(self),
        )
        self.pipeline_name = pipeline.name
        return build_role.arn

    def _project(
        self,
        logical: str,
        physical: str,
        buildspec: str,
        role: aws.iam.Role,
        logs: aws.cloudwatch.LogGroup,
        variables: dict[str, str],
    ) -> aws.codebuild.Project:
        return aws.codebuild.Project(
            logical,
            name=physical,
            description=f"mlplatform {self._platform.name}: {physical}",
            service_role=role.arn,
            source={"type": "CODEPIPELINE", "buildspec": buildspec},
            artifacts={"type": "CODEPIPELINE"},
            environment={
                "compute_type": "BUILD_GENERAL1_SMALL",
                "image": "aws/codebuild/standard:7.0",
                "type": "LINUX_CONTAINER",
                "privileged_mode": False,
                "image_pull_credentials_type": "CODEBUILD",
                "environment_variables": [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in variables.items()]
                or None,
            },
            encryption_key=self._args.kms_key_arn,
            build_timeout=60,
            logs_config={
                "cloudwatch_logs": {"group_name": logs.name, "status": "ENABLED"},
                "s3_logs": {"status": "DISABLED"},
            },
            tags=self._tags(),
            opts=child(self),
        )

    @staticmethod
    def _build_action(
        action: str, project: aws.codebuild.Project, input_artifact: str, output_artifact: str | None
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "name": action,
            "category": "Build",
            "owner": "AWS",
            "provider": "CodeBuild",
            "version": "1",
            "configuration": {"ProjectName": project.name},
            "input_artifacts": [input_artifact],
        }
        if output_artifact:
            item["output_artifacts"] = [output_artifact]
        return item
