"""EC2 handlers update in place what the provider updates in place, and name what pulumi-aws would name.

In-place updates are called on the handlers directly (so they are shown whatever the engine's diff decides),
then checked with boto3; auto-naming goes through the embedded engine. The moto gap the emulator closes for
``ModifyVpcEndpoint`` is shown on plain moto and fixed through the emulator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.embedded.handlers.base import AwsContext, CallCounter, StepContext
from mlplatform.engine.embedded.handlers.ec2 import (
    RouteTableAssociationHandler,
    VpcEndpointHandler,
    VpcHandler,
)
from tests.integration.harness import CONVENTIONS, client, deploy, destroy, moto_server, provider

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def plain() -> Iterator[str]:
    with moto_server(patched=False) as url:
        yield url


def _ctx(endpoint: str, name: str = "r") -> StepContext:
    aws_ctx = AwsContext(
        {"region": "us-east-1", "accessKey": "testing", "secretKey": "testing"}, CallCounter(), endpoint
    )
    aws_ctx.endpoints = {"ec2": endpoint, "sts": endpoint}
    return StepContext(aws=aws_ctx, urn=f"urn:pulumi:test::p::t::{name}", name=name, urn_tag=CONVENTIONS.urn_tag)


def _ec2(url: str) -> Any:
    return boto3.client(
        "ec2", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


# ---- VPC --------------------------------------------------------------------------------------------------


def test_vpc_tenancy_dedicated_to_default_and_usage_metrics_update_in_place(endpoint: str) -> None:
    ctx, handler, ec2 = _ctx(endpoint, "vpc"), VpcHandler(), client(endpoint, "ec2")
    olds = {"cidrBlock": "10.61.0.0/16", "instanceTenancy": "dedicated", "enableNetworkAddressUsageMetrics": True}
    vpc_id, outputs = handler.create(ctx, olds)
    try:
        assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["InstanceTenancy"] == "dedicated"
        metrics = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableNetworkAddressUsageMetrics")
        assert metrics["EnableNetworkAddressUsageMetrics"]["Value"] is True

        # instanceTenancy removed: the provider's default "default" (dedicated -> default is the in-place change).
        news = {"cidrBlock": "10.61.0.0/16", "enableNetworkAddressUsageMetrics": False}
        handler.update(ctx, vpc_id, olds, news, outputs)
        assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["InstanceTenancy"] == "default"
        metrics = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableNetworkAddressUsageMetrics")
        assert metrics["EnableNetworkAddressUsageMetrics"]["Value"] is False
        assert handler.read(ctx, vpc_id, news) == news
    finally:
        handler.delete(ctx, vpc_id, olds, outputs)


def test_vpc_dns_support_back_to_its_default_when_removed(endpoint: str) -> None:
    ctx, handler, ec2 = _ctx(endpoint, "vpc-dns"), VpcHandler(), client(endpoint, "ec2")
    olds = {"cidrBlock": "10.62.0.0/16", "enableDnsSupport": False}
    vpc_id, outputs = handler.create(ctx, olds)
    try:
        attribute = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
        assert attribute["EnableDnsSupport"]["Value"] is False
        handler.update(ctx, vpc_id, olds, {"cidrBlock": "10.62.0.0/16"}, outputs)
        attribute = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
        assert attribute["EnableDnsSupport"]["Value"] is True
    finally:
        handler.delete(ctx, vpc_id, olds, outputs)


# ---- route table association --------------------------------------------------------------------------------


def test_route_table_association_moves_to_another_table_in_place(endpoint: str) -> None:
    ec2 = client(endpoint, "ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.63.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.63.1.0/24")["Subnet"]["SubnetId"]
    first = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    second = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ctx, handler = _ctx(endpoint, "assoc"), RouteTableAssociationHandler()
    olds = {"subnetId": subnet, "routeTableId": first}
    news = {"subnetId": subnet, "routeTableId": second}

    def associations() -> list[tuple[str, str]]:
        tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])
        return [
            (a["RouteTableId"], a["RouteTableAssociationId"])
            for t in tables["RouteTables"]
            for a in t["Associations"]
            if a.get("SubnetId") == subnet
        ]

    association_id, outputs = handler.create(ctx, olds)
    assert associations() == [(first, association_id)]
    handler.update(ctx, association_id, olds, news, outputs)
    ((table, new_id),) = associations()
    assert table == second  # one association, moved: ReplaceRouteTableAssociation (AWS issues a new id)
    # The engine keeps the recorded id: read and delete still find the association through the subnet.
    assert handler.read(ctx, association_id, news) == news
    handler.update(ctx, association_id, news, news, outputs)  # converged: nothing to do
    assert associations() == [(second, new_id)]
    handler.delete(ctx, association_id, news, outputs)
    assert associations() == []
    # A second delete (the association is gone) and a delete whose table no longer matches touch nothing.
    handler.delete(ctx, association_id, news, outputs)
    ec2.associate_route_table(SubnetId=subnet, RouteTableId=first)
    handler.delete(ctx, association_id, news, outputs)
    assert [t for t, _ in associations()] == [first]


# ---- VPC endpoints --------------------------------------------------------------------------------------------


def test_vpc_endpoint_private_dns_and_auto_accept_update_in_place(endpoint: str) -> None:
    ec2 = client(endpoint, "ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.64.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.64.1.0/24")["Subnet"]["SubnetId"]
    ctx, handler = _ctx(endpoint, "vpce"), VpcEndpointHandler()
    olds = {
        "vpcId": vpc_id,
        "serviceName": "com.amazonaws.us-east-1.sagemaker.api",
        "vpcEndpointType": "Interface",
        "subnetIds": [subnet],
        "privateDnsEnabled": False,
    }
    endpoint_id, outputs = handler.create(ctx, olds)
    try:
        live = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
        assert live["PrivateDnsEnabled"] is False
        news = {**olds, "privateDnsEnabled": True, "autoAccept": True}
        handler.update(ctx, endpoint_id, olds, news, outputs)
        live = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
        assert live["PrivateDnsEnabled"] is True and live["State"].lower() == "available"
        assert handler.read(ctx, endpoint_id, news)["privateDnsEnabled"] is True
    finally:
        handler.delete(ctx, endpoint_id, olds, outputs)


def test_vpc_endpoint_without_service_name_is_a_clear_error(endpoint: str) -> None:
    from mlplatform.engine.embedded.handlers.base import HandlerError

    with pytest.raises(HandlerError, match="serviceName"):
        VpcEndpointHandler().create(_ctx(endpoint, "vpce-none"), {"vpcId": "vpc-123"})


DENY_ALL = {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}


def _endpoint_settings(url: str) -> tuple[Any, str]:
    ec2 = _ec2(url)
    vpc_id = ec2.create_vpc(CidrBlock="10.65.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.65.1.0/24")["Subnet"]["SubnetId"]
    created = ec2.create_vpc_endpoint(
        VpcId=vpc_id,
        ServiceName="com.amazonaws.us-east-1.sagemaker.runtime",
        VpcEndpointType="Interface",
        SubnetIds=[subnet],
        PrivateDnsEnabled=False,
        PolicyDocument=json.dumps({"Statement": [DENY_ALL]}),
    )["VpcEndpoint"]["VpcEndpointId"]
    ec2.modify_vpc_endpoint(VpcEndpointId=created, PrivateDnsEnabled=True, ResetPolicy=True)
    return ec2, created


def test_modify_vpc_endpoint_settings_on_plain_moto(plain: str) -> None:
    ec2, endpoint_id = _endpoint_settings(plain)
    live = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
    assert live["PrivateDnsEnabled"] is False  # dropped
    assert '"Deny"' in live["PolicyDocument"]  # not reset


def test_modify_vpc_endpoint_settings_through_the_emulator(endpoint: str) -> None:
    ec2, endpoint_id = _endpoint_settings(endpoint)
    live = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
    assert live["PrivateDnsEnabled"] is True
    assert '"Deny"' not in live["PolicyDocument"] and '"Allow"' in live["PolicyDocument"]


# ---- auto-naming ----------------------------------------------------------------------------------------------


def _groups(endpoint: str) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    vpc = aws.ec2.Vpc("names-vpc", cidr_block="10.66.0.0/16", opts=opts)
    aws.ec2.SecurityGroup("auto-named", vpc_id=vpc.id, description="no name", opts=opts)
    aws.ec2.SecurityGroup("prefixed", vpc_id=vpc.id, name_prefix="mlp-pre-", opts=opts)


def test_security_group_names_are_generated_like_pulumi_aws(endpoint: str) -> None:
    first = deploy(lambda: _groups(endpoint))
    assert not first.broken, [s.error for s in first.steps if s.error]
    try:
        names = {
            urn.rsplit("::", 1)[-1]: record.outputs["name"]
            for urn, record in first.records.items()
            if record.type == "aws:ec2/securityGroup:SecurityGroup"
        }
        assert re.fullmatch(r"auto-named-[0-9a-f]{7}", names["auto-named"]), names
        assert re.fullmatch(r"mlp-pre-\d{18}[0-9a-f]{8}", names["prefixed"]), names
        live = {
            g["GroupName"]
            for g in client(endpoint, "ec2").describe_security_groups(
                Filters=[{"Name": "group-name", "Values": list(names.values())}]
            )["SecurityGroups"]
        }
        assert live == set(names.values())
        again = deploy(lambda: _groups(endpoint), first.records)  # the generated names are kept, not regenerated
        assert not again.broken and again.counter.mutating == 0
    finally:
        gone = destroy(first.records)
        assert not gone.records, [s.error for s in gone.steps if s.error]
