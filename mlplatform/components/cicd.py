"""CI/CD: CodePipeline + CodeBuild with a manual approval before production, or GitHub OIDC deploy roles.

Who may deploy what (docs/security.md, "CI/CD"):

- Every stage deploys with a role of its own, which may roll out only that stage's endpoints. An endpoint
  belongs to an earlier stage ``S`` when its short name is ``S`` or starts with ``S-`` (``staging-churn``);
  every other endpoint belongs to production, the last stage. A stage's role may update its endpoints
  (exact ARNs) and create the models and endpoint configurations of a new version under their names
  (``<endpoint>-*``); it cannot create or delete endpoints (they are the platform's, declared in
  ``serving.endpoints``).
- ``codepipeline``: the build/test project runs repository code (its dependencies, its tests) before the
  approval, so its role can read the source and write its logs, nothing else: no SageMaker, no
  ``iam:PassRole``, no writes to the artifact bucket. Deploy projects run the approved *source* (not the
  build's output, which repository code could have changed). The pipeline's role starts the projects but
  cannot assume their roles; each project's role trusts CodeBuild only for that project.
- ``github-oidc``: the production role trusts only jobs of the production GitHub environment
  (``repo:<owner>/<name>:environment:<env>``), whose required reviewers are the approval; the roles of
  earlier stages trust workflows on the branch. GitHub's OIDC provider exists once per account: one
  environment creates it, the others reuse it (``github_oidc_provider_arn``).

Every policy is built from ARNs derived from names, account and region (not from other resources'
outputs, except the KMS key and the roles and topic passed in), so ``mlplatform export`` shows scanners
concrete documents.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, assume_role_policy, child, policy, statement
from mlplatform.components.storage import SecureBucket, SecureBucketArgs
from mlplatform.spec import names

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
# GitHub's published OIDC certificate thumbprints (AWS no longer checks them for this provider, but the API
# still requires at least one).
GITHUB_THUMBPRINTS = ("6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd")

# The build runs the repository's code and tests; it produces no artifact, so nothing it does can change
# what the deploy stages run.
_BUILDSPEC = """version: 0.2
phases:
  install:
    commands:
      - pip install -r requirements.txt
  build:
    commands:
      - python -m pytest
"""

_DEPLOY_BUILDSPEC = """version: 0.2
phases:
  build:
    commands:
      - python deploy.py --stage "$STAGE" --platform "$PLATFORM"
"""

_SOURCE = "source"


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
        branch: the branch that deploys (github-oidc: whose workflows may assume the earlier stages' roles).
        stages: deployment stages in order; the last is production.
        endpoints: short names of the platform's endpoints (``serving.endpoints``); each belongs to one stage
            (see :func:`stage_endpoints`).
        model_package_groups: physical names of the registry's model package groups deployments read.
        manual_approval_before_prod: wait for a person before the last stage (codepipeline).
        github_environment: the GitHub environment that may assume the production role; ``None``: the last
            stage's name.
        github_oidc_provider_arn: trust this existing GitHub OIDC provider; ``None``: create it.
        log_retention_days: retention of the build log group.
        permissions_boundary_arn: boundary attached to the roles.
    """

    provider: str
    kms_key_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    log_bucket: pulumi.Input[str] | None
    repository: str | None
    branch: str
    stages: Sequence[str]
    endpoints: Sequence[str]
    model_package_groups: Sequence[str]
    manual_approval_before_prod: bool
    github_environment: str | None
    github_oidc_provider_arn: str | None
    log_retention_days: int
    permissions_boundary_arn: str | None


def stage_endpoints(stages: Sequence[str], endpoints: Sequence[str]) -> dict[str, list[str]]:
    """Which stage each endpoint belongs to: an earlier stage ``S`` owns ``S`` and ``S-*``, production the rest.

    Returns:
        for every stage, the short names of its endpoints (possibly none), in the given order.
    """
    *earlier, production = stages
    owned: dict[str, list[str]] = {stage: [] for stage in stages}
    for endpoint in endpoints:
        owner = next((s for s in earlier if endpoint == s or endpoint.startswith(f"{s}-")), production)
        owned[owner].append(endpoint)
    return owned


class Cicd(pulumi.ComponentResource):
    """Continuous delivery of models.

    ``codepipeline``: a KMS-encrypted artifact bucket, CodeBuild projects (build/test, then one deploy per
    stage, each with its own role) logging to an encrypted log group, and a pipeline Source -> Build ->
    Deploy-<stage> ... with a manual approval before the last stage; pushing ``source/<branch>.zip`` to the
    bucket starts it. ``github-oidc``: GitHub's OIDC provider (or the account's existing one) and one deploy
    role per stage, the production one assumable only from the production GitHub environment.
    """

    pipeline_name: pulumi.Output[str] | None
    deploy_role_arn: pulumi.Output[str]
    deploy_role_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: CicdArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:delivery:Cicd", name, {}, opts)
        self._platform = platform
        self._args = args
        self.pipeline_name = None
        if args.provider == "github-oidc":
            self.deploy_role_arns = self._github(name)
        else:
            self.deploy_role_arns = self._codepipeline(name)
        # The production role: what `deploy_role_arn` has always named (the one that deploys to production).
        self.deploy_role_arn = self.deploy_role_arns[args.stages[-1]]
        self.register_outputs(
            {
                "pipeline_name": self.pipeline_name,
                "deploy_role_arn": self.deploy_role_arn,
                "deploy_role_arns": self.deploy_role_arns,
            }
        )

    def _tags(self) -> dict[str, str]:
        return self._platform.tags_for("cicd")

    def _deploy_statements(self, endpoints: Sequence[str]) -> list[dict[str, Any]]:
        """What one stage's deployment may do: roll a registered model version out to ``endpoints`` only."""
        p = self._platform
        statements = [
            # The Service Authorization Reference gives ListModelPackages the model-package resource type but
            # not which package ARN a list call is matched against, so this names every package of this account
            # and region rather than guessing a per-group form that could deny the call. Listing returns
            # only summaries (name, version, approval status); reading a package stays limited to the
            # platform's own groups below.
            statement("ListRegistry", ["sagemaker:ListModelPackages"], [p.arn("sagemaker", "model-package/*")]),
            statement(
                "ReadRegistry",
                ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
                # Exact groups: `<platform>-*` would also match another environment whose name extends this one's.
                [
                    *(p.arn("sagemaker", f"model-package-group/{group}") for group in self._args.model_package_groups),
                    *(p.arn("sagemaker", f"model-package/{group}/*") for group in self._args.model_package_groups),
                ],
            ),
        ]
        if not endpoints:
            return statements
        physical = [names.endpoint_name(p.name, endpoint) for endpoint in endpoints]
        return [
            *statements,
            statement(
                "NewVersions",
                [
                    "sagemaker:CreateModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeModel",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:AddTags",
                ],
                [p.arn("sagemaker", f"model/{e}-*") for e in physical]
                + [p.arn("sagemaker", f"endpoint-config/{e}-*") for e in physical],
            ),
            statement(
                "RollOut",
                ["sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint"],
                [p.arn("sagemaker", f"endpoint/{e}") for e in physical]
                # UpdateEndpoint is also authorized against the endpoint configuration it switches to.
                + [p.arn("sagemaker", f"endpoint-config/{e}-*") for e in physical],
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

    # ---- github-oidc ------------------------------------------------------------------------------

    def _github(self, name: str) -> dict[str, pulumi.Output[str]]:
        p, args = self._platform, self._args
        provider_arn = args.github_oidc_provider_arn
        if provider_arn is None:
            # An account has one provider per URL: this environment creates it, the others name it
            # (github_oidc_provider_arn) instead of failing to create it again.
            aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=GITHUB_OIDC_URL,
                client_id_lists=["sts.amazonaws.com"],
                thumbprint_lists=list(GITHUB_THUMBPRINTS),
                tags=self._tags(),
                opts=child(self),
            )
            # The provider's ARN is fixed by its URL: derived, the trust policies are known before deploying.
            provider_arn = f"arn:{p.partition}:iam::{p.account}:oidc-provider/{GITHUB_OIDC_HOST}"
        production = args.stages[-1]
        owned = stage_endpoints(args.stages, args.endpoints)
        roles: dict[str, pulumi.Output[str]] = {}
        for stage in args.stages:
            if stage == production:
                # Only jobs that reference the production environment get this subject, and GitHub runs them
                # only after the environment's protection rules (required reviewers, allowed branches) pass.
                subject = f"repo:{args.repository}:environment:{args.github_environment or production}"
            else:
                subject = f"repo:{args.repository}:ref:refs/heads/{args.branch}"
            role = self._role(
                f"{name}-github-{stage}",
                names.deploy_role_name(p.name, args.provider, stage),
                _github_trust(provider_arn, subject, stage),
                self._deploy_statements(owned[stage]),
            )
            roles[stage] = role.arn
        return roles

    # ---- codepipeline -----------------------------------------------------------------------------

    def _codepipeline(self, name: str) -> dict[str, pulumi.Output[str]]:
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
                versioning=True,  # every build's artifacts stay recoverable
            ),
            p,
            opts=child(self),
        )
        log_group = f"/mlplatform/{p.name}/codebuild"
        logs = aws.cloudwatch.LogGroup(
            f"{name}-build-logs",
            name=log_group,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=tags,
            opts=child(self),
        )
        # ARNs from the fixed names (the same values as the resources' outputs), so the policies are concrete
        # before deploying; a bucket without a fixed name (account unknown) falls back to its output.
        bucket_name = p.global_name("cicd")
        bucket_arn: pulumi.Input[str] = f"arn:{p.partition}:s3:::{bucket_name}" if bucket_name else bucket.bucket_arn
        objects = pulumi.Output.concat(bucket_arn, "/*")
        logs_arn = p.arn("logs", f"log-group:{log_group}")
        read_source = [
            statement("ReadArtifacts", ["s3:GetObject", "s3:GetObjectVersion"], [objects]),
            statement("ArtifactBucket", ["s3:GetBucketLocation", "s3:ListBucket"], [bucket_arn]),
            statement("DecryptArtifacts", ["kms:Decrypt", "kms:DescribeKey"], [args.kms_key_arn]),
            statement("BuildLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [logs_arn, f"{logs_arn}:*"]),
        ]
        project_names = {"build": f"{p.name}-build", **{s: f"{p.name}-deploy-{s}" for s in args.stages}}
        build_role = self._role(
            f"{name}-build-role",
            f"{p.name}-codebuild",
            _codebuild_trust(p, project_names["build"]),
            read_source,
        )
        projects = {"build": self._project(f"{name}-build", project_names["build"], _BUILDSPEC, build_role, logs, {})}
        owned = stage_endpoints(args.stages, args.endpoints)
        roles: dict[str, pulumi.Output[str]] = {}
        for stage in args.stages:
            role = self._role(
                f"{name}-deploy-{stage}-role",
                names.deploy_role_name(p.name, args.provider, stage),
                _codebuild_trust(p, project_names[stage]),
                [*read_source, *self._deploy_statements(owned[stage])],
            )
            roles[stage] = role.arn
            projects[stage] = self._project(
                f"{name}-deploy-{stage}",
                project_names[stage],
                _DEPLOY_BUILDSPEC,
                role,
                logs,
                {"STAGE": stage, "PLATFORM": p.name},
            )
        pipeline_name = f"{p.name}-model-delivery"
        pipeline_role = self._role(
            f"{name}-pipeline-role",
            f"{p.name}-codepipeline",
            assume_role_policy("codepipeline.amazonaws.com", source_account=p.account),
            # Starting a project runs it with the project's own role: the pipeline needs no iam:PassRole and
            # no sts:AssumeRole, so it can never act as a deploy role itself.
            [
                statement(
                    "Artifacts",
                    ["s3:GetObject", "s3:PutObject", "s3:GetObjectVersion", "s3:GetBucketVersioning"],
                    [objects, bucket_arn],
                ),
                statement(
                    "PlatformKey",
                    ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    [args.kms_key_arn],
                ),
                statement(
                    "RunBuilds",
                    ["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
                    [p.arn("codebuild", f"project/{project}") for project in project_names.values()],
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
                        "output_artifacts": [_SOURCE],
                    }
                ],
            },
            {"name": "Build", "actions": [self._build_action("Build", projects["build"])]},
        ]
        production = args.stages[-1]
        for stage in args.stages:
            # The gate stands before production whatever comes before it, a single prod stage included.
            if stage == production and args.manual_approval_before_prod:
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
            stages.append({"name": f"Deploy-{stage}", "actions": [self._build_action("Deploy", projects[stage])]})
        pipeline = aws.codepipeline.Pipeline(
            f"{name}-pipeline",
            name=pipeline_name,
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
            [
                statement(
                    "StartDelivery", ["codepipeline:StartPipelineExecution"], [p.arn("codepipeline", pipeline_name)]
                )
            ],
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
        return roles

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
    def _build_action(action: str, project: aws.codebuild.Project) -> dict[str, Any]:
        """A CodeBuild action on the source artifact, with no output: every project runs the commit as pushed."""
        return {
            "name": action,
            "category": "Build",
            "owner": "AWS",
            "provider": "CodeBuild",
            "version": "1",
            "configuration": {"ProjectName": project.name},
            "input_artifacts": [_SOURCE],
        }


def _codebuild_trust(platform: Platform, project: str) -> str:
    """Trust CodeBuild only when it runs ``project`` in this account (confused deputy: aws:SourceArn)."""
    condition: dict[str, Any] = {
        "ArnEquals": {"aws:SourceArn": platform.arn("codebuild", f"project/{project}")},
        "StringEquals": {"aws:SourceAccount": platform.account},  # raises for an unknown account: never "*"
    }
    trust = {
        "Sid": "AssumeByCodeBuildForOneProject",
        "Effect": "Allow",
        "Principal": {"Service": "codebuild.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": condition,
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [trust]}, sort_keys=True)


def _github_trust(provider_arn: str, subject: str, stage: str) -> str:
    """Trust GitHub Actions jobs whose token names exactly ``subject``, issued for AWS STS."""
    trust = {
        "Sid": f"GitHubActions{''.join(part.capitalize() for part in stage.split('-'))}",
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
                f"{GITHUB_OIDC_HOST}:sub": subject,
            }
        },
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [trust]}, sort_keys=True)
