"""Network: a private VPC with VPC endpoints instead of an internet route, and flow logs.

The VPC endpoints are the only way out of the private subnets, so their policies are the data perimeter:
the S3 gateway endpoint reaches the platform's own buckets (for the platform account's identities) and
the AWS-owned bucket ECR serves image layers from, nothing else; each interface endpoint admits only the
platform account's identities acting on the platform account's resources. Endpoint policies only narrow
what IAM allows — they grant nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlplatform.components.common import Platform, assume_role_policy, child, policy, statement
from mlplatform.spec.aws_rules import subnet_cidrs
from mlplatform.spec.tagging import NAME_KEY

# What SageMaker jobs, endpoints and notebooks do with objects through the S3 gateway endpoint (the object and
# bucket actions the platform's roles are granted; IAM still decides which of them each role may use).
S3_WORKLOAD_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:GetBucketLocation",
)


@dataclass(frozen=True)
class NetworkArgs:
    """Settings of the VPC.

    Attributes:
        cidr_block: IPv4 range of the VPC.
        availability_zones: how many availability zones get a private subnet each.
        interface_endpoints: services reached through interface endpoints (``sagemaker.api``, ...); an S3
            gateway endpoint is always created.
        flow_logs: record flow logs to a KMS-encrypted log group.
        kms_key_arn: the platform key (flow-log group).
        log_retention_days: retention of the flow-log group.
        bucket_names: the platform's buckets that workloads in the VPC read and write (the artifact bucket):
            the S3 gateway endpoint's policy admits these and no other bucket of any account.
        read_only_bucket_names: buckets outside the platform that workloads only read (model artifacts named by
            an endpoint's ``model_data_url``).
    """

    kms_key_arn: pulumi.Input[str]
    bucket_names: Sequence[pulumi.Input[str]]
    read_only_bucket_names: Sequence[str]
    cidr_block: str
    availability_zones: int
    interface_endpoints: Sequence[str]
    flow_logs: bool
    log_retention_days: int


class Network(pulumi.ComponentResource):
    """A VPC with private subnets only: no internet gateway, no NAT, no public IPs.

    AWS services are reached through an S3 gateway endpoint and interface endpoints that admit HTTPS from
    the VPC only, each with a policy scoped to the platform's account and buckets. The default security
    group is emptied (it allows nothing), workloads get their own group that may only talk HTTPS to the
    VPC (the interface endpoints) and to S3 through the gateway endpoint's prefix list, and flow logs go to
    an encrypted log group.
    """

    vpc_id: pulumi.Output[str]
    subnet_ids: list[pulumi.Output[str]]
    workload_security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: NetworkArgs, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplatform:network:Network", name, {}, opts)
        if platform.account_id is None:
            raise ValueError("the network's endpoint policies are scoped to the platform's account: set account_id")
        tags = platform.tags_for("network")
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr_block,
            enable_dns_hostnames=True,  # interface endpoints' private DNS needs both
            enable_dns_support=True,
            tags={**tags, NAME_KEY: platform.name},
            opts=child(self),
        )
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], tags=tags, opts=child(self)
        )
        routes = aws.ec2.RouteTable(
            f"{name}-private-routes",
            vpc_id=vpc.id,
            tags={**tags, NAME_KEY: f"{platform.name}-private"},
            opts=child(self),
        )
        self.subnet_ids = []
        for index, cidr in enumerate(subnet_cidrs(args.cidr_block, args.availability_zones)):
            zone = f"{platform.region}{'abcdef'[index]}"
            subnet = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**tags, NAME_KEY: f"{platform.name}-private-{zone}"},
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}-routes", subnet_id=subnet.id, route_table_id=routes.id, opts=child(self)
            )
            self.subnet_ids.append(subnet.id)

        endpoints_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            name=f"{platform.name}-vpc-endpoints",
            description="VPC interface endpoints: HTTPS from inside the VPC only",
            vpc_id=vpc.id,
            tags=tags,
            opts=child(self),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https-in",
            security_group_id=endpoints_sg.id,
            description="HTTPS from the VPC",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=args.cidr_block,
            tags=tags,
            opts=child(self),
        )
        workload_sg = aws.ec2.SecurityGroup(
            f"{name}-workload-sg",
            name=f"{platform.name}-workloads",
            description="SageMaker jobs, notebooks and endpoints: HTTPS within the VPC only",
            vpc_id=vpc.id,
            tags=tags,
            opts=child(self),
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-workload-https-out",
            security_group_id=workload_sg.id,
            description="HTTPS to VPC endpoints",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=args.cidr_block,
            tags=tags,
            opts=child(self),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-workload-peers-in",
            security_group_id=workload_sg.id,
            description="Distributed training between the platform's own workloads",
            ip_protocol="tcp",
            from_port=0,
            to_port=65535,
            referenced_security_group_id=workload_sg.id,
            tags=tags,
            opts=child(self),
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-workload-peers-out",
            security_group_id=workload_sg.id,
            description="Distributed training between the platform's own workloads",
            ip_protocol="tcp",
            from_port=0,
            to_port=65535,
            referenced_security_group_id=workload_sg.id,
            tags=tags,
            opts=child(self),
        )
        s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{platform.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[routes.id],
            policy=s3_endpoint_policy(platform, args.bucket_names, args.read_only_bucket_names),
            tags=tags,
            opts=child(self),
        )
        # The gateway endpoint's route sends S3 traffic to AWS's S3 address ranges, which lie outside the VPC:
        # without a rule for S3's prefix list the group would drop it (HTTPS to the VPC CIDR does not cover it).
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-workload-s3-out",
            security_group_id=workload_sg.id,
            description="HTTPS to S3 through the gateway endpoint",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            prefix_list_id=s3_endpoint.prefix_list_id,
            tags=tags,
            opts=child(self),
        )
        for service in args.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{platform.region}.{service}",
                vpc_endpoint_type="Interface",
                subnet_ids=self.subnet_ids,
                security_group_ids=[endpoints_sg.id],
                private_dns_enabled=True,
                policy=interface_endpoint_policy(platform.account_id),
                tags=tags,
                opts=child(self),
            )
        if args.flow_logs:
            group = aws.cloudwatch.LogGroup(
                f"{name}-flow-logs",
                name=f"/mlplatform/{platform.name}/vpc-flow-logs",
                retention_in_days=args.log_retention_days,
                kms_key_id=args.kms_key_arn,
                tags=tags,
                opts=child(self),
            )
            role = aws.iam.Role(
                f"{name}-flow-logs-role",
                name=f"{platform.name}-vpc-flow-logs",
                assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", source_account=platform.account),
                tags=tags,
                opts=child(self),
            )
            aws.iam.RolePolicy(
                f"{name}-flow-logs-policy",
                role=role.name,
                name="deliver-flow-logs",
                policy=policy(
                    statement(
                        "DeliverFlowLogs",
                        ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        [group.arn, pulumi.Output.concat(group.arn, ":*")],
                    )
                ),
                opts=child(self),
            )
            aws.ec2.FlowLog(
                f"{name}-flow-log",
                vpc_id=vpc.id,
                traffic_type="ALL",
                log_destination_type="cloud-watch-logs",
                log_destination=group.arn,
                iam_role_arn=role.arn,
                max_aggregation_interval=60,
                tags=tags,
                opts=child(self),
            )
        self.vpc_id = vpc.id
        self.workload_security_group_id = workload_sg.id
        self.register_outputs(
            {"vpc_id": vpc.id, "subnet_ids": self.subnet_ids, "workload_security_group_id": workload_sg.id}
        )


def s3_endpoint_policy(
    platform: Platform, bucket_names: Sequence[pulumi.Input[str]], read_only_bucket_names: Sequence[str] = ()
) -> pulumi.Output[str]:
    """The S3 gateway endpoint's policy: the platform's buckets, read-only model buckets, and ECR's layers.

    * the platform's buckets, for identities of the platform's account (a stolen or personal credential of
      another account cannot use the endpoint, and no identity can reach another bucket through it);
    * buckets named by endpoints' model artifact URLs, read-only, for the same identities;
    * ECR's image layers: ECR answers an image pull with a pre-signed URL into the AWS-owned bucket
      ``prod-<region>-starport-layer-bucket``, requested by AWS's own identity (so no account condition),
      read-only. Without it no container image could be pulled from inside the VPC.
    """
    partition = platform.partition
    account = {"StringEquals": {"aws:PrincipalAccount": platform.account_id}}
    buckets = [pulumi.Output.concat(f"arn:{partition}:s3:::", bucket) for bucket in bucket_names]
    statements = [
        statement(
            "PlatformBuckets",
            S3_WORKLOAD_ACTIONS,
            [*buckets, *(pulumi.Output.concat(arn, "/*") for arn in buckets)],
            principal="*",
            condition=account,
        )
    ]
    if read_only_bucket_names:
        statements.append(
            statement(
                "ModelArtifacts",
                ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation"],
                [
                    *(f"arn:{partition}:s3:::{bucket}" for bucket in read_only_bucket_names),
                    *(f"arn:{partition}:s3:::{bucket}/*" for bucket in read_only_bucket_names),
                ],
                principal="*",
                condition=account,
            )
        )
    statements.append(
        statement(
            "EcrImageLayers",
            ["s3:GetObject"],
            [f"arn:{partition}:s3:::prod-{platform.region}-starport-layer-bucket/*"],
            principal="*",
        )
    )
    return policy(*statements)


def interface_endpoint_policy(account_id: str) -> pulumi.Output[str]:
    """An interface endpoint's policy: the platform account's identities on the platform account's resources.

    AWS's data-perimeter pattern for a VPC endpoint: every action, but only when both the caller and the
    resource belong to the account, so data cannot leave to another account's resources through the endpoint
    and no other account's credentials can use it. The action is ``*`` because the endpoint serves a whole
    service's API; what each role may do is still decided by IAM.
    """
    return policy(
        statement(
            "PlatformAccountOnly",
            ["*"],
            ["*"],
            principal="*",
            condition={"StringEquals": {"aws:PrincipalAccount": account_id, "aws:ResourceAccount": account_id}},
        )
    )
