"""Identity: one least-privilege IAM role per workload.

Every statement names its actions (no ``*`` or ``service:*`` actions) and scopes resources to this
environment's own ARNs — exact names wherever the platform chooses them, so that no environment's pattern
matches another's (``mlp-dev-*`` would also match ``mlp-dev-gpu``'s endpoints); resources named at run
time (training and processing jobs) are scoped by the ``mlplatform:env`` tag instead. Where AWS offers no
resource-level permission for an action (``ecr:GetAuthorizationToken``, ``cloudwatch:PutMetricData``, the
EC2 ``Describe*`` calls SageMaker makes for VPC jobs) the statement says so and uses a condition where one
exists. ``kms:CreateGrant`` is only allowed for grants to AWS services (``kms:GrantIsForAWSResource``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, assume_role_policy, child, policy, statement
from mlplatform.spec import names

SAGEMAKER = "sagemaker.amazonaws.com"
ROLE_NAMES = {
    "user": "sagemaker-user",
    "training": "sagemaker-training",
    "serving": "sagemaker-serving",
    "monitoring": "sagemaker-monitoring",
    "feature_store": "feature-store",
    "pipeline": "pipeline",
    "events": "events",
}
"""Workload -> the suffix of its role's physical name (``<platform>-<suffix>``)."""


@dataclass(frozen=True)
class IdentityArgs:
    """What each workload's role may reach; a role is created only for a workload the platform runs.

    Attributes:
        kms_key_arn: the platform key.
        bucket_arn: the artifact bucket.
        repository_arns: the ECR repositories (pull for jobs, notebooks and endpoints).
        permissions_boundary_arn: attach this permissions boundary to every role; ``None`` for none.
        vpc_id: the platform's VPC (jobs, notebooks and endpoints run in it); ``None`` without a network.
        subnet_ids: its private subnets: the only subnets jobs may be started in.
        security_group_ids: the workload security group: the only groups jobs may use.
        dev_environment: users explore in a Studio domain or notebook (the user role).
        training: training and processing jobs run on the platform (the training role).
        training_instance_types: instance types training jobs may use.
        processing_instance_types: instance types processing jobs may use.
        max_runtime_seconds: the longest a job may run.
        input_prefix: where new training data lands (the retraining trigger's prefix); ``None`` for none.
        pipeline_name: the continuous-training pipeline (the pipeline and EventBridge roles); ``None`` for none.
        model_package_groups: physical names of the model package groups the pipeline registers in.
        endpoint_names: physical names of the endpoints (the serving role writes their logs and capture).
        serving: models are served (the serving role).
        monitoring: endpoints are monitored (the monitoring role).
        feature_groups: physical names of the feature groups (their offline store is written by the
            feature-store role).
        feature_catalog_database: the feature store's Glue database; ``None`` without a feature store.
    """

    kms_key_arn: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    repository_arns: Sequence[pulumi.Input[str]]
    permissions_boundary_arn: str | None
    vpc_id: pulumi.Input[str] | None
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    dev_environment: bool
    training: bool
    training_instance_types: Sequence[str]
    processing_instance_types: Sequence[str]
    max_runtime_seconds: int
    input_prefix: str | None
    pipeline_name: str | None
    model_package_groups: Sequence[str]
    endpoint_names: Sequence[str]
    serving: bool
    monitoring: bool
    feature_groups: Sequence[str]
    feature_catalog_database: str | None


class Identity(pulumi.ComponentResource):
    """One role per workload, each with only its own artifact-bucket prefixes and actions.

    * user role (Studio domain or notebook): read the bucket except captured requests, write only
      ``experiments/``; read feature groups and the model registry (and register a model version: level 0
      is the manual process); no role to pass, so no job can write on the users' behalf;
    * training role (training and processing jobs): read the retraining input, features and its own
      outputs, write ``training/`` and the pipeline's prefix;
    * serving role (models behind endpoints): read model artifacts, write the endpoints' data capture;
    * monitoring role (data-quality jobs): read data capture, write ``monitoring/``;
    * feature-store role: write the offline store (``feature-store/``) and its Glue tables;
    * pipeline role: start training and processing jobs only as the training role, only with the
      platform's instance types, subnets, security group, KMS key, network isolation and inter-container
      encryption; register models in the platform's groups;
    * events role: what EventBridge assumes to start the platform's pipeline.
    """

    user_role_arn: pulumi.Output[str] | None
    training_role_arn: pulumi.Output[str] | None
    serving_role_arn: pulumi.Output[str] | None
    monitoring_role_arn: pulumi.Output[str] | None
    feature_store_role_arn: pulumi.Output[str] | None
    pipeline_role_arn: pulumi.Output[str] | None
    events_role_arn: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: IdentityArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:security:Identity", name, {}, opts)
        self._name = name
        self._platform = platform
        self._args = args
        self.user_role_arn = self.training_role_arn = self.serving_role_arn = None
        self.monitoring_role_arn = self.feature_store_role_arn = self.pipeline_role_arn = None
        self.events_role_arn = None
        p, pipeline = platform, args.pipeline_name
        pipeline_prefix = names.pipeline_prefix(pipeline) if pipeline else None

        if args.dev_environment:
            readable = [
                names.MODELS_PREFIX,
                names.TRAINING_PREFIX,
                names.FEATURE_STORE_PREFIX,
                names.EXPERIMENTS_PREFIX,
                names.MONITORING_PREFIX,
                "pipelines/",
            ]
            if args.input_prefix:
                readable.append(args.input_prefix)
            statements = [
                *self._objects("ReadArtifacts", readable, write=[names.EXPERIMENTS_PREFIX]),
                *self._key(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]),
                *self._logs(["/aws/sagemaker/studio", "/aws/sagemaker/NotebookInstances"]),
                *self._runtime(),
            ]
            if args.feature_groups:
                statements.append(
                    statement(
                        "ReadFeatures",
                        ["sagemaker:GetRecord", "sagemaker:BatchGetRecord", "sagemaker:DescribeFeatureGroup"],
                        [p.sagemaker_arn("feature-group", group) for group in args.feature_groups],
                    )
                )
            if args.model_package_groups:
                statements += self._registry("RegisterModelsByHand")
            self.user_role_arn = self._workload("user", statements)

        if args.training:
            readable = [names.TRAINING_PREFIX, names.FEATURE_STORE_PREFIX]
            writable = [names.TRAINING_PREFIX]
            if pipeline_prefix:
                readable.append(pipeline_prefix)
                writable.append(pipeline_prefix)
            if args.input_prefix:
                readable.append(args.input_prefix)
            statements = [
                *self._objects("ReadInputs", readable, write=writable),
                *self._key(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], grants=True),
                *self._logs(["/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs"]),
                *self._runtime(),
            ]
            self.training_role_arn = self._workload("training", statements)

        if args.serving:
            readable = [names.MODELS_PREFIX, names.TRAINING_PREFIX]
            if pipeline_prefix:
                readable.append(f"{pipeline_prefix}models/")
            statements = [
                *self._objects(
                    "ReadModelArtifacts",
                    readable,
                    write=[names.capture_prefix(endpoint) for endpoint in args.endpoint_names],
                ),
                *self._key(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], grants=True),
                *self._logs([names.endpoint_log_group(endpoint) for endpoint in args.endpoint_names]),
                *self._runtime(),
            ]
            self.serving_role_arn = self._workload("serving", statements)

        if args.monitoring:
            statements = [
                *self._objects(
                    "ReadCapturedData",
                    [names.CAPTURE_PREFIX, names.MONITORING_PREFIX],
                    write=[names.MONITORING_PREFIX],
                ),
                *self._key(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], grants=True),
                *self._logs(["/aws/sagemaker/ProcessingJobs"]),
                *self._runtime(),
            ]
            self.monitoring_role_arn = self._workload("monitoring", statements)

        if args.feature_catalog_database:
            database = args.feature_catalog_database
            statements = [
                *self._objects("OfflineStore", [names.FEATURE_STORE_PREFIX], write=[names.FEATURE_STORE_PREFIX]),
                # Feature Store checks the bucket's ACL before it writes the offline store.
                statement("OfflineStoreBucket", ["s3:GetBucketAcl"], [args.bucket_arn]),
                *self._key(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]),
                statement(
                    "OfflineStoreCatalog",
                    ["glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable"],
                    [
                        p.arn("glue", "catalog"),
                        p.arn("glue", f"database/{database}"),
                        p.arn("glue", f"table/{database}/*"),
                    ],
                ),
            ]
            self.feature_store_role_arn = self._workload("feature_store", statements)

        if pipeline and pipeline_prefix and self.training_role_arn is not None:
            self.pipeline_role_arn = self._workload(
                "pipeline", self._pipeline_statements(pipeline_prefix, self.training_role_arn)
            )
            self.events_role_arn = self._role(
                "events",
                "events.amazonaws.com",
                [
                    statement(
                        "StartPlatformPipeline",
                        ["sagemaker:StartPipelineExecution"],
                        [p.sagemaker_arn("pipeline", pipeline)],
                    )
                ],
            )

        self.register_outputs(
            {
                "user_role_arn": self.user_role_arn,
                "training_role_arn": self.training_role_arn,
                "serving_role_arn": self.serving_role_arn,
                "monitoring_role_arn": self.monitoring_role_arn,
                "feature_store_role_arn": self.feature_store_role_arn,
                "pipeline_role_arn": self.pipeline_role_arn,
                "events_role_arn": self.events_role_arn,
            }
        )

    # ---- statements ---------------------------------------------------------------------------------

    def _objects(self, sid: str, read: Sequence[str], *, write: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Read ``read`` (and list under it), write ``write``: the artifact bucket by prefix, never whole."""
        bucket = self._args.bucket_arn
        prefixes = sorted(set(read) | set(write))

        def objects(under: Sequence[str]) -> list[pulumi.Output[str]]:
            return [pulumi.Output.concat(bucket, "/", prefix, "*") for prefix in sorted(set(under))]

        found = [
            statement(sid, ["s3:GetObject"], objects(read)),
            statement(
                f"{sid}List",
                ["s3:ListBucket"],
                [bucket],
                condition={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
            ),
            statement(f"{sid}Location", ["s3:GetBucketLocation"], [bucket]),
        ]
        if write:
            found.append(
                statement(
                    f"{sid}Write",
                    ["s3:PutObject", "s3:AbortMultipartUpload"],
                    objects(write),
                )
            )
        return found

    def _key(self, actions: list[str], *, grants: bool = False) -> list[dict[str, Any]]:
        """Use the platform key; with ``grants``, also let SageMaker create grants for the workload's volumes."""
        found = [statement("PlatformKey", actions, [self._args.kms_key_arn])]
        if grants:
            # SageMaker encrypts a job's or endpoint's volumes through a grant it creates with the role's
            # credentials; the condition keeps the role from granting the key to anything but an AWS resource.
            found.append(
                statement(
                    "PlatformKeyGrantsForAwsResources",
                    ["kms:CreateGrant"],
                    [self._args.kms_key_arn],
                    condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )
        return found

    def _logs(self, groups: Sequence[str]) -> list[dict[str, Any]]:
        """Write to exactly these log groups (SageMaker creates them on first use); none without groups."""
        p = self._platform
        resources = []
        for group in groups:
            resources += [p.arn("logs", f"log-group:{group}"), p.arn("logs", f"log-group:{group}:log-stream:*")]
        if not resources:
            return []  # IAM refuses a statement without resources
        return [
            statement(
                "Logs",
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources,
            )
        ]

    def _runtime(self) -> list[dict[str, Any]]:
        """What every SageMaker workload needs to run: metrics, the platform's images, its VPC."""
        args, p = self._args, self._platform
        found = [
            # No resource-level permissions exist for PutMetricData; the namespace condition narrows it.
            statement(
                "Metrics",
                ["cloudwatch:PutMetricData"],
                ["*"],
                condition={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
            )
        ]
        if args.repository_arns:
            found += [
                statement(
                    "PullImages",
                    ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    list(args.repository_arns),
                ),
                statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),  # account-level call, no resource ARN
            ]
        if args.vpc_id is not None:
            vpc_arn = pulumi.Output.concat(p.arn("ec2", "vpc/"), args.vpc_id)
            found += [
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
                # The network interfaces SageMaker creates for the workload: only in the platform's VPC, only in
                # its subnets and with its security group (exact ARNs, not every subnet of the region).
                statement(
                    "VpcNetworkInterfaces",
                    [
                        "ec2:CreateNetworkInterface",
                        "ec2:CreateNetworkInterfacePermission",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DeleteNetworkInterfacePermission",
                    ],
                    [p.arn("ec2", "network-interface/*")],
                    condition={"ArnEquals": {"ec2:Vpc": vpc_arn}},
                ),
                statement(
                    "VpcPlacement",
                    ["ec2:CreateNetworkInterface"],
                    [
                        *(pulumi.Output.concat(p.arn("ec2", "subnet/"), subnet) for subnet in args.subnet_ids),
                        *(pulumi.Output.concat(p.arn("ec2", "security-group/"), sg) for sg in args.security_group_ids),
                    ],
                ),
            ]
        return found

    def _registry(self, sid: str) -> list[dict[str, Any]]:
        """Register model versions in the platform's groups (approval stays with people or CI/CD)."""
        p = self._platform
        groups = [p.sagemaker_arn("model-package-group", group) for group in self._args.model_package_groups]
        packages = [p.sagemaker_arn("model-package", f"{group}/*") for group in self._args.model_package_groups]
        return [
            statement(
                sid,
                [
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:ListModelPackages",
                ],
                [*groups, *packages],
            )
        ]

    def _pipeline_statements(self, prefix: str, training_role: pulumi.Output[str]) -> list[dict[str, Any]]:
        args, p = self._args, self._platform
        jobs = [p.arn("sagemaker", "training-job/*"), p.arn("sagemaker", "processing-job/*")]
        statements = [
            # What `training` publishes is enforced here, with SageMaker's condition keys: a job the pipeline
            # starts (or anyone who can change its parameters) cannot pick another instance type, leave the VPC,
            # drop network isolation or inter-container encryption, or use another key for volumes and outputs.
            statement(
                "StartTrainingJobs",
                ["sagemaker:CreateTrainingJob"],
                [p.arn("sagemaker", "training-job/*")],
                condition=self._job_conditions(args.training_instance_types),
            ),
            statement(
                "StartProcessingJobs",
                ["sagemaker:CreateProcessingJob"],
                [p.arn("sagemaker", "processing-job/*")],
                condition=self._job_conditions(args.processing_instance_types),
            ),
            # Jobs are named at run time, so the environment tag (which the pipeline's jobs carry) is what scopes
            # them to this environment: no pattern on job names could.
            statement("TagNewJobs", ["sagemaker:AddTags"], jobs, condition=p.env_tag_condition("aws:RequestTag")),
            statement(
                "WatchJobs",
                [
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                ],
                jobs,
                condition=p.env_tag_condition(),
            ),
            *self._registry("RegisterModels"),
            statement(
                "PassTrainingRole",
                ["iam:PassRole"],
                [training_role],
                condition={"StringEquals": {"iam:PassedToService": SAGEMAKER}},
            ),
            # The condition step reads the evaluation report the pipeline's jobs wrote.
            statement(
                "ReadPipelineOutputs", ["s3:GetObject"], [pulumi.Output.concat(args.bucket_arn, "/", prefix, "*")]
            ),
            statement("PlatformKey", ["kms:Decrypt", "kms:DescribeKey"], [args.kms_key_arn]),
        ]
        return statements

    def _job_conditions(self, instance_types: Sequence[str]) -> dict[str, Any]:
        args, p = self._args, self._platform
        values: dict[str, Any] = {"sagemaker:InstanceTypes": list(instance_types)}
        present = ["sagemaker:InstanceTypes", "sagemaker:VolumeKmsKey", "sagemaker:OutputKmsKey"]
        if args.vpc_id is not None:
            values["sagemaker:VpcSubnets"] = list(args.subnet_ids)
            values["sagemaker:VpcSecurityGroupIds"] = list(args.security_group_ids)
            present += ["sagemaker:VpcSubnets", "sagemaker:VpcSecurityGroupIds"]
        return {
            # ForAllValues alone also holds when the key is missing (no VPC config at all): Null rules that out.
            "ForAllValues:StringEquals": values,
            "Null": dict.fromkeys(present, "false"),
            "Bool": {"sagemaker:NetworkIsolation": "true", "sagemaker:InterContainerTrafficEncryption": "true"},
            "ArnEquals": {"sagemaker:VolumeKmsKey": args.kms_key_arn, "sagemaker:OutputKmsKey": args.kms_key_arn},
            "NumericLessThanEquals": {"sagemaker:MaxRuntimeInSeconds": str(args.max_runtime_seconds)},
            **p.env_tag_condition("aws:RequestTag"),
        }

    # ---- roles --------------------------------------------------------------------------------------

    def _workload(self, workload: str, statements: list[dict[str, Any]]) -> pulumi.Output[str]:
        return self._role(workload, SAGEMAKER, statements)

    def _role(self, workload: str, service: str, statements: list[dict[str, Any]]) -> pulumi.Output[str]:
        logical = f"{self._name}-{workload.replace('_', '-')}"
        role = aws.iam.Role(
            logical,
            name=f"{self._platform.name}-{ROLE_NAMES[workload]}",
            assume_role_policy=assume_role_policy(service, source_account=self._platform.account),
            permissions_boundary=self._args.permissions_boundary_arn,
            max_session_duration=3600,
            tags=self._platform.tags_for("identity"),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{logical}-policy", role=role.name, name="least-privilege", policy=policy(*statements), opts=child(self)
        )
        return role.arn
