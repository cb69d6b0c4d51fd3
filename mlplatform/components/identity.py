"""Identity: the platform's least-privilege IAM roles.

Every statement names its actions (no ``*`` or ``service:*`` actions) and scopes resources to the
platform's own ARNs; where AWS offers no resource-level permission for an action (``ecr:GetAuthorizationToken``,
``cloudwatch:PutMetricData``, the EC2 ``Describe*`` calls SageMaker makes for VPC jobs) the statement says
so and uses a condition where one exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, assume_role_policy, child, policy, statement


@dataclass(frozen=True)
class IdentityArgs:
    """What the roles may reach.

    Attributes:
        kms_key_arn: the platform key.
        bucket_arn: the artifact bucket.
        repository_arns: the ECR repositories (pull for jobs and endpoints).
        permissions_boundary_arn: attach this permissions boundary to every role; none by default.
        vpc: jobs run in the platform's VPC (grants the network-interface calls SageMaker makes for them).
    """

    kms_key_arn: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    repository_arns: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    permissions_boundary_arn: str | None = None
    vpc: bool = True


class Identity(pulumi.ComponentResource):
    """The SageMaker execution role, the pipeline role and the EventBridge role.

    * execution role: what training, processing, monitoring jobs, endpoints and notebooks run as — read
      and write the artifact bucket, use the key, pull the platform's images, write their logs and
      metrics, use feature groups and the model registry of this platform;
    * pipeline role: what the continuous-training pipeline runs as — start its own jobs, register models,
      and pass the execution role to them (and nothing else);
    * events role: what EventBridge assumes to start the platform's pipelines.
    """

    execution_role_arn: pulumi.Output[str]
    pipeline_role_arn: pulumi.Output[str]
    events_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: IdentityArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:security:Identity", name, {}, opts)
        self._platform = platform
        self._args = args
        p = platform
        prefix = p.name
        sagemaker_any = p.arn("sagemaker", f"*/{prefix}-*")
        objects = pulumi.Output.concat(args.bucket_arn, "/*")
        key = [args.kms_key_arn]

        execution = self._role(f"{name}-execution", f"{prefix}-sagemaker-execution", "sagemaker.amazonaws.com")
        execution_statements = [
            statement(
                "ArtifactObjects",
                ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                [objects],
            ),
            statement("ArtifactBucket", ["s3:ListBucket", "s3:GetBucketLocation"], [args.bucket_arn]),
            statement(
                "PlatformKey",
                ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
                key,
            ),
            statement(
                "Logs",
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                [p.arn("logs", "log-group:/aws/sagemaker/*")],
            ),
            # No resource-level permissions exist for these two; the namespace condition narrows the metrics.
            statement(
                "Metrics",
                ["cloudwatch:PutMetricData"],
                ["*"],
                condition={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
            ),
            statement(
                "FeatureStore",
                [
                    "sagemaker:PutRecord",
                    "sagemaker:GetRecord",
                    "sagemaker:DeleteRecord",
                    "sagemaker:DescribeFeatureGroup",
                ],
                [p.arn("sagemaker", f"feature-group/{prefix}-*")],
            ),
        ]
        if args.repository_arns:
            execution_statements += [
                statement(
                    "PullImages",
                    ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    list(args.repository_arns),
                ),
                statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),  # account-level call, no resource ARN
            ]
        if args.vpc:
            execution_statements += [
                statement(
                    "VpcDescribe",
                    [
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeVpcs",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeSecurityGroups",
                        "ec2:DescribeDhcpOptions",
                    ],
                    ["*"],  # Describe calls have no resource-level permissions
                ),
                statement(
                    "VpcNetworkInterfaces",
                    [
                        "ec2:CreateNetworkInterface",
                        "ec2:CreateNetworkInterfacePermission",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DeleteNetworkInterfacePermission",
                    ],
                    [p.arn("ec2", "network-interface/*"), p.arn("ec2", "subnet/*"), p.arn("ec2", "security-group/*")],
                ),
            ]
        self._inline(f"{name}-execution-policy", execution, execution_statements)

        pipeline = self._role(f"{name}-pipeline", f"{prefix}-pipeline", "sagemaker.amazonaws.com")
        self._inline(
            f"{name}-pipeline-policy",
            pipeline,
            [
                statement(
                    "RunPipelineJobs",
                    [
                        "sagemaker:CreateProcessingJob",
                        "sagemaker:DescribeProcessingJob",
                        "sagemaker:StopProcessingJob",
                        "sagemaker:CreateTrainingJob",
                        "sagemaker:DescribeTrainingJob",
                        "sagemaker:StopTrainingJob",
                        "sagemaker:AddTags",
                    ],
                    [p.arn("sagemaker", "processing-job/*"), p.arn("sagemaker", "training-job/*")],
                ),
                statement(
                    "RegisterModels",
                    ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:AddTags"],
                    [sagemaker_any, p.arn("sagemaker", f"model-package/{prefix}-*/*")],
                ),
                statement(
                    "PassExecutionRole",
                    ["iam:PassRole"],
                    [execution.arn],
                    condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                statement("ArtifactObjects", ["s3:GetObject", "s3:PutObject"], [objects]),
                statement("PlatformKey", ["kms:Decrypt", "kms:GenerateDataKey"], key),
            ],
        )

        events = self._role(f"{name}-events", f"{prefix}-events", "events.amazonaws.com")
        self._inline(
            f"{name}-events-policy",
            events,
            [
                statement(
                    "StartPlatformPipelines",
                    ["sagemaker:StartPipelineExecution"],
                    [p.arn("sagemaker", f"pipeline/{prefix}-*")],
                )
            ],
        )
        self.execution_role_arn = execution.arn
        self.pipeline_role_arn = pipeline.arn
        self.events_role_arn = events.arn
        self.register_outputs(
            {
                "execution_role_arn": execution.arn,
                "pipeline_role_arn": pipeline.arn,
                "events_role_arn": events.arn,
            }
        )

    def _role(self, logical: str, physical: str, service: str) -> aws.iam.Role:
        return aws.iam.Role(
            logical,
            name=physical,
            assume_role_policy=assume_role_policy(service, source_account=self._platform.account_id),
            permissions_boundary=self._args.permissions_boundary_arn,
            max_session_duration=3600,
            tags=self._platform.tags_for("identity"),
            opts=child(self),
        )

    def _inline(self, logical: str, role: aws.iam.Role, statements: list[dict[str, object]]) -> None:
        aws.iam.RolePolicy(
            logical, role=role.name, name="least-privilege", policy=policy(*statements), opts=child(self)
        )
