"""Dev environment: where data scientists explore — a SageMaker Domain or a notebook instance, VPC-only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, child
from mlplatform.spec import names


@dataclass(frozen=True)
class DevEnvironmentArgs:
    """Settings of the dev environment.

    Attributes:
        kind: ``domain`` (SageMaker Studio) or ``notebook`` (a notebook instance).
        execution_role_arn: what users' notebooks and apps run as.
        kms_key_arn: the platform key (home storage and notebook volume).
        vpc_id: the platform's VPC.
        subnet_ids: private subnets.
        security_group_ids: the workload security group.
        instance_type: the notebook's instance type, or the instance type of a Studio user's JupyterLab app.
        volume_size_gb: notebook storage.
        root_access: let notebook users become root (on is a security override).
        direct_internet_access: give the notebook an internet route outside the VPC (on is a security override).
    """

    kind: str
    execution_role_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    instance_type: str
    volume_size_gb: int
    root_access: bool
    direct_internet_access: bool


class DevEnvironment(pulumi.ComponentResource):
    """A SageMaker Domain (VPC-only, IAM auth, KMS) or a notebook instance (no internet, no root, IMDSv2)."""

    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: DevEnvironmentArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:workspace:DevEnvironment", name, {}, opts)
        tags = platform.tags_for("dev_environment")
        if args.kind == "domain":
            domain = aws.sagemaker.Domain(
                f"{name}-domain",
                domain_name=platform.name,
                auth_mode="IAM",
                vpc_id=args.vpc_id,
                subnet_ids=list(args.subnet_ids),
                app_network_access_type="VpcOnly",  # Studio traffic stays in the VPC, no SageMaker-managed internet
                kms_key_id=args.kms_key_arn,
                default_user_settings={
                    "execution_role": args.execution_role_arn,
                    "security_groups": list(args.security_group_ids),
                    # What a user's JupyterLab space starts on unless they pick another type.
                    "jupyter_lab_app_settings": {"default_resource_spec": {"instance_type": args.instance_type}},
                },
                # Users' home directories hold their work: keep the EFS volume when the domain goes.
                retention_policy={"home_efs_file_system": "Retain"},
                tags=tags,
                opts=child(self),
            )
            self.url = domain.url
        else:
            notebook = aws.sagemaker.NotebookInstance(
                f"{name}-notebook",
                name=names.notebook_name(platform.name),
                role_arn=args.execution_role_arn,
                instance_type=args.instance_type,
                subnet_id=args.subnet_ids[0],
                security_groups=list(args.security_group_ids),
                kms_key_id=args.kms_key_arn,
                volume_size=args.volume_size_gb,
                direct_internet_access="Enabled" if args.direct_internet_access else "Disabled",
                root_access="Enabled" if args.root_access else "Disabled",
                instance_metadata_service_configuration={"minimum_instance_metadata_service_version": "2"},
                tags=tags,
                opts=child(self),
            )
            self.url = notebook.url
        self.register_outputs({"url": self.url})
