"""EC2 handlers refuse what they do not implement (never silently ignore an input), and the replace-rule table
for the EC2 group (/work/rules/ec2.json when present) names only arguments pulumi-aws has."""

from __future__ import annotations

from typing import Any

import pytest

from mlplatform.engine.embedded.handlers import ec2, security_groups
from mlplatform.engine.embedded.handlers.base import Handler

HANDLERS: tuple[type[Handler], ...] = (*ec2.HANDLERS, *security_groups.HANDLERS)


def _handler(type_token: str) -> Handler:
    return next(cls() for cls in HANDLERS if cls.type == type_token)


@pytest.mark.parametrize(
    ("type_token", "inputs", "refused"),
    [
        ("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16", "ipv6IpamPoolId": "ipam-pool-1"}, ["ipv6IpamPoolId"]),
        (
            "aws:ec2/vpc:Vpc",
            {"cidrBlock": "10.0.0.0/16", "assignGeneratedIpv6CidrBlock": True},
            ["assignGeneratedIpv6CidrBlock"],
        ),
        ("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16", "assignGeneratedIpv6CidrBlock": False}, []),
        ("aws:ec2/vpc:Vpc", {"ipv4IpamPoolId": "p", "ipv4NetmaskLength": 20}, ["ipv4IpamPoolId", "ipv4NetmaskLength"]),
        (
            "aws:ec2/vpc:Vpc",
            {
                "cidrBlock": "10.0.0.0/16",
                "instanceTenancy": "dedicated",
                "enableNetworkAddressUsageMetrics": True,
                "region": "us-east-1",
                "tags": {"a": "b"},
            },
            [],
        ),
        (
            "aws:ec2/subnet:Subnet",
            {"vpcId": "vpc-1", "ipv4IpamPoolId": "p", "ipv4NetmaskLength": 24},
            ["ipv4IpamPoolId", "ipv4NetmaskLength"],
        ),
        ("aws:ec2/subnet:Subnet", {"vpcId": "vpc-1", "ipv6Native": True}, ["ipv6Native"]),
        ("aws:ec2/subnet:Subnet", {"vpcId": "vpc-1", "ipv6Native": False, "enableDns64": False}, []),
        (
            "aws:ec2/subnet:Subnet",
            {"vpcId": "vpc-1", "privateDnsHostnameTypeOnLaunch": "resource-name"},
            ["privateDnsHostnameTypeOnLaunch"],
        ),
        (
            "aws:ec2/routeTable:RouteTable",
            {"vpcId": "vpc-1", "routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}]},
            ["routes"],
        ),
        ("aws:ec2/routeTable:RouteTable", {"vpcId": "vpc-1", "routes": [], "propagatingVgws": []}, []),
        ("aws:ec2/routeTableAssociation:RouteTableAssociation", {"subnetId": "s", "routeTableId": "r"}, []),
        ("aws:ec2/vpcEndpoint:VpcEndpoint", {"vpcId": "v", "serviceName": "s", "autoAccept": True}, []),
        (
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            {"vpcId": "v", "serviceName": "s", "dnsOptions": {"dnsRecordIpType": "ipv4"}},
            ["dnsOptions"],
        ),
        (
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            {"vpcId": "v", "resourceConfigurationArn": "arn:x"},
            ["resourceConfigurationArn"],
        ),
        (
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            {"vpcId": "v", "serviceName": "s", "subnetConfigurations": [{"subnetId": "a"}]},
            ["subnetConfigurations"],
        ),
        ("aws:ec2/flowLog:FlowLog", {"vpcId": "v", "destinationOptions": {"fileFormat": "parquet"}}, []),
        ("aws:ec2/flowLog:FlowLog", {"regionalNatGatewayId": "nat-1"}, ["regionalNatGatewayId"]),
        (
            "aws:ec2/flowLog:FlowLog",
            {"vpcId": "v", "tagFieldSpecifications": [{"field": "f"}]},
            ["tagFieldSpecifications"],
        ),
        ("aws:ec2/securityGroup:SecurityGroup", {"namePrefix": "x-", "revokeRulesOnDelete": True, "ingress": []}, []),
        ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {"vpcId": "v", "revokeRulesOnDelete": True}, []),
        (
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            {"securityGroupId": "sg", "ipProtocol": "tcp", "fromPort": 1, "toPort": 2, "prefixListId": "pl"},
            [],
        ),
        (
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
            {"securityGroupId": "sg", "ipProtocol": "-1", "cidrIpv6": "::/0", "region": "us-east-1"},
            [],
        ),
    ],
)
def test_unsupported_inputs(type_token: str, inputs: dict[str, Any], refused: list[str]) -> None:
    assert _handler(type_token).unsupported_inputs(inputs) == refused
