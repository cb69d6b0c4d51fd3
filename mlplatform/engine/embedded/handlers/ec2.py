"""EC2 networking: VPCs, subnets, route tables and their associations, VPC endpoints and flow logs (pulumi-aws v7).

Security groups and their rules are in ``security_groups.py``; what both modules share (the URN tag in
every create call, tag sync, ARNs, deletes that wait for dependents) is in ``ec2_common.py``.

Updates converge on the *live* resource (read, then change what differs) rather than diffing old
against new inputs: tags and attachments are sets that AWS may have changed in ways the old inputs do
not record, and a retried update after a partial failure must still finish the job.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext
from mlplatform.engine.embedded.handlers.common import ignore_missing, only_inputs, same_policy
from mlplatform.engine.embedded.handlers.ec2_common import (
    delete_with_retry,
    describe_items,
    ec2_arn,
    refuse_unless_default,
    sync_tags,
    tag_specs,
    urn_filter,
)
from mlplatform.engine.embedded.handlers.shapes import from_api, output_shape, request
from mlplatform.engine.embedded.handlers.waiting import poll, wait_until


def same_set(live: list[str], wanted: Any) -> Any:
    """Set-valued inputs (ids): report the recorded list when the members agree, so order is not drift."""
    if isinstance(wanted, list) and sorted(map(str, wanted)) == sorted(live):
        return wanted
    return sorted(live)


# ---- VPC ---------------------------------------------------------------------------------------------

# The VPC's DNS settings: pulumi's names are the attribute names of DescribeVpcAttribute; ModifyVpcAttribute's
# members (``EnableDnsSupport``) and the answers' come from the EC2 model (shapes.py).
_DNS_ATTRIBUTES = ("enableDnsHostnames", "enableDnsSupport", "enableNetworkAddressUsageMetrics")
# What a new VPC has before any ModifyVpcAttribute (the Terraform provider's vpcInfo on create).
_ATTRIBUTE_DEFAULTS = {"enableDnsHostnames": False, "enableDnsSupport": True, "enableNetworkAddressUsageMetrics": False}


def _set_vpc_attribute(ec2: Any, vpc_id: str, key: str, value: bool) -> None:
    ec2.modify_vpc_attribute(**request(ec2, "ModifyVpcAttribute", {"vpcId": vpc_id, key: {"value": value}}))


class VpcHandler(Handler):
    """``aws.ec2.Vpc``; the id is the VPC id (``vpc-…``), as in the Terraform provider."""

    type = "aws:ec2/vpc:Vpc"
    service = "ec2"
    # IPAM pools and IPv6 blocks are not implemented (refused when set); ``assignGeneratedIpv6CidrBlock=False``
    # is the provider's default and asks for nothing.
    implemented = frozenset(
        {"cidrBlock", "instanceTenancy", "enableDnsHostnames", "enableDnsSupport", "enableNetworkAddressUsageMetrics"}
    )
    computed = (
        "arn",
        "defaultSecurityGroupId",
        "mainRouteTableId",
        "defaultRouteTableId",
        "defaultNetworkAclId",
        "ownerId",
    )

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.aws.client("ec2")
        args: dict[str, Any] = {"TagSpecifications": tag_specs("vpc", ctx, inputs.get("tags"))}
        if inputs.get("cidrBlock"):
            args["CidrBlock"] = inputs["cidrBlock"]
        if inputs.get("instanceTenancy"):
            args["InstanceTenancy"] = inputs["instanceTenancy"]
        vpc = ec2.create_vpc(**args)["Vpc"]
        vpc_id = vpc["VpcId"]
        wait_until(ec2, "vpc_available", what=f"VPC {vpc_id} to become available", VpcIds=[vpc_id])
        # AWS defaults: DNS support on, DNS hostnames and usage metrics off; only a different wish costs a call.
        for key, default in _ATTRIBUTE_DEFAULTS.items():
            if inputs.get(key) is not None and bool(inputs[key]) != default:
                _set_vpc_attribute(ec2, vpc_id, key, bool(inputs[key]))
        return vpc_id, self._outputs(ctx, vpc_id, vpc.get("OwnerId"), inputs)

    def unsupported_inputs(self, inputs: dict[str, Any]) -> list[str]:
        return refuse_unless_default(
            inputs, super().unsupported_inputs(inputs), {"assignGeneratedIpv6CidrBlock": False}
        )

    def _outputs(self, ctx: StepContext, vpc_id: str, owner: str | None, inputs: dict[str, Any]) -> dict[str, Any]:
        ec2 = ctx.aws.client("ec2")
        by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
        groups = ec2.describe_security_groups(Filters=[*by_vpc, {"Name": "group-name", "Values": ["default"]}])
        tables = ec2.describe_route_tables(Filters=[*by_vpc, {"Name": "association.main", "Values": ["true"]}])
        acls = ec2.describe_network_acls(Filters=[*by_vpc, {"Name": "default", "Values": ["true"]}])
        main_table = tables["RouteTables"][0]["RouteTableId"] if tables.get("RouteTables") else None
        return {
            "arn": ec2_arn(ctx, "vpc", vpc_id, owner),
            "ownerId": owner or ctx.aws.account_id,
            "defaultSecurityGroupId": groups["SecurityGroups"][0]["GroupId"] if groups.get("SecurityGroups") else None,
            "mainRouteTableId": main_table,
            "defaultRouteTableId": main_table,
            "defaultNetworkAclId": acls["NetworkAcls"][0]["NetworkAclId"] if acls.get("NetworkAcls") else None,
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        ec2 = ctx.aws.client("ec2")
        vpcs = describe_items(ec2.describe_vpcs, "Vpcs", VpcIds=[resource_id])
        if not vpcs:
            return None
        vpc = vpcs[0]
        live: dict[str, Any] = {
            "cidrBlock": vpc.get("CidrBlock"),
            "instanceTenancy": vpc.get("InstanceTenancy"),
            "tags": ctx.read_tags(vpc.get("Tags")),
        }
        for key in _DNS_ATTRIBUTES:  # pulumi's names are DescribeVpcAttribute's attribute names
            if key in inputs:
                answer = ec2.describe_vpc_attribute(VpcId=resource_id, Attribute=key)
                got = from_api(answer, {key: {"value": None}}, output_shape(ec2, "DescribeVpcAttribute"))
                live[key] = bool(got[key]["value"])
        return only_inputs(live, inputs)

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        ec2 = ctx.aws.client("ec2")
        wanted = {**dict.fromkeys(_DNS_ATTRIBUTES), **news, "instanceTenancy": None, "tags": None}
        live = self.read(ctx, resource_id, wanted) or {}
        for key in _DNS_ATTRIBUTES:
            if key in news and news[key] is not None and bool(news[key]) != live.get(key):
                _set_vpc_attribute(ec2, resource_id, key, bool(news[key]))
            elif key == "enableDnsSupport" and news.get(key) is None and live.get(key) is False:
                # Default true (not computed): removing the input turns DNS support back on, as Terraform does.
                _set_vpc_attribute(ec2, resource_id, key, True)
        # The only in-place tenancy change is dedicated -> default (any other forces a replacement); an absent
        # instanceTenancy is the provider's default, "default".
        wanted_tenancy = news.get("instanceTenancy") or "default"
        if live.get("instanceTenancy") and wanted_tenancy != live["instanceTenancy"]:
            ec2.modify_vpc_tenancy(VpcId=resource_id, InstanceTenancy=wanted_tenancy)
        sync_tags(ec2, resource_id, live.get("tags") or {}, news.get("tags"))
        return {**outputs, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        ec2 = ctx.aws.client("ec2")
        delete_with_retry(lambda: ec2.delete_vpc(VpcId=resource_id), f"VPC {resource_id}")

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        vpcs = ctx.aws.client("ec2").describe_vpcs(Filters=urn_filter(ctx))["Vpcs"]
        if not vpcs:
            return None
        return vpcs[0]["VpcId"], self._outputs(ctx, vpcs[0]["VpcId"], vpcs[0].get("OwnerId"), inputs)


# ---- subnets and route tables -----------------------------------------------------------------------


class SubnetHandler(Handler):
    """``aws.ec2.Subnet``; the id is the subnet id."""

    type = "aws:ec2/subnet:Subnet"
    service = "ec2"
    implemented = frozenset({"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "mapPublicIpOnLaunch"})
    # Booleans whose provider default (false) asks for nothing: accepted when they restate it.
    _DEFAULTS: ClassVar[dict[str, Any]] = dict.fromkeys(
        (
            "assignIpv6AddressOnCreation",
            "enableDns64",
            "enableResourceNameDnsAaaaRecordOnLaunch",
            "enableResourceNameDnsARecordOnLaunch",
            "ipv6Native",
            "mapCustomerOwnedIpOnLaunch",
        ),
        False,
    )
    computed = ("arn", "availabilityZone", "availabilityZoneId", "ownerId")

    def unsupported_inputs(self, inputs: dict[str, Any]) -> list[str]:
        return refuse_unless_default(inputs, super().unsupported_inputs(inputs), self._DEFAULTS)

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.aws.client("ec2")
        sent = {
            key: inputs.get(key) or None for key in ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId")
        }
        args = request(ec2, "CreateSubnet", sent)
        args["TagSpecifications"] = tag_specs("subnet", ctx, inputs.get("tags"))
        subnet = ec2.create_subnet(**args)["Subnet"]
        subnet_id = subnet["SubnetId"]
        wait_until(ec2, "subnet_available", what=f"subnet {subnet_id} to become available", SubnetIds=[subnet_id])
        if inputs.get("mapPublicIpOnLaunch"):
            ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
        return subnet_id, self._outputs(ctx, subnet, inputs)

    @staticmethod
    def _describe(ec2: Any, subnet_id: str) -> dict[str, Any]:
        subnets = describe_items(ec2.describe_subnets, "Subnets", SubnetIds=[subnet_id])
        return subnets[0] if subnets else {}

    def _outputs(self, ctx: StepContext, subnet: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": subnet.get("SubnetArn") or ec2_arn(ctx, "subnet", subnet["SubnetId"], subnet.get("OwnerId")),
            "availabilityZone": subnet.get("AvailabilityZone"),
            "availabilityZoneId": subnet.get("AvailabilityZoneId"),
            "ownerId": subnet.get("OwnerId"),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        subnet = self._describe(ctx.aws.client("ec2"), resource_id)
        if not subnet:
            return None
        shape = output_shape(ctx.aws.client("ec2"), "DescribeSubnets", "Subnets")
        live = from_api(subnet, dict.fromkeys(("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId")), shape)
        live["mapPublicIpOnLaunch"] = bool(subnet.get("MapPublicIpOnLaunch", False))
        live["tags"] = ctx.read_tags(subnet.get("Tags"))
        return only_inputs(live, inputs)

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        ec2 = ctx.aws.client("ec2")
        live = self.read(ctx, resource_id, {"mapPublicIpOnLaunch": None, "tags": None}) or {}
        wanted_public = bool(news.get("mapPublicIpOnLaunch", False))
        if wanted_public != live.get("mapPublicIpOnLaunch"):
            ec2.modify_subnet_attribute(SubnetId=resource_id, MapPublicIpOnLaunch={"Value": wanted_public})
        sync_tags(ec2, resource_id, live.get("tags") or {}, news.get("tags"))
        return {**outputs, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        ec2 = ctx.aws.client("ec2")
        delete_with_retry(lambda: ec2.delete_subnet(SubnetId=resource_id), f"subnet {resource_id}")

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        subnets = ctx.aws.client("ec2").describe_subnets(Filters=urn_filter(ctx))["Subnets"]
        return (subnets[0]["SubnetId"], self._outputs(ctx, subnets[0], inputs)) if subnets else None


class RouteTableHandler(Handler):
    """``aws.ec2.RouteTable`` without inline routes; the id is the route table id."""

    type = "aws:ec2/routeTable:RouteTable"
    service = "ec2"
    implemented = frozenset({"vpcId"})  # inline routes and propagatingVgws are refused
    computed = ("arn", "ownerId")

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if inputs.get("routes") or inputs.get("propagatingVgws"):
            # Refuse rather than silently drop routes the program asked for.
            raise HandlerError(
                "inline routes and propagatingVgws of aws.ec2.RouteTable are not supported by the embedded engine"
            )
        table = (
            ctx.aws.client("ec2")
            .create_route_table(
                VpcId=inputs["vpcId"], TagSpecifications=tag_specs("route-table", ctx, inputs.get("tags"))
            )
            .get("RouteTable", {})
        )
        return table["RouteTableId"], self._outputs(ctx, table, inputs)

    def _outputs(self, ctx: StepContext, table: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": ec2_arn(ctx, "route-table", table["RouteTableId"], table.get("OwnerId")),
            "ownerId": table.get("OwnerId"),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        ec2 = ctx.aws.client("ec2")
        tables = describe_items(ec2.describe_route_tables, "RouteTables", RouteTableIds=[resource_id])
        if not tables:
            return None
        return only_inputs({"vpcId": tables[0].get("VpcId"), "tags": ctx.read_tags(tables[0].get("Tags"))}, inputs)

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        if news.get("routes") or news.get("propagatingVgws"):
            raise HandlerError(
                "inline routes and propagatingVgws of aws.ec2.RouteTable are not supported by the embedded engine"
            )
        live = self.read(ctx, resource_id, {"tags": None}) or {}
        sync_tags(ctx.aws.client("ec2"), resource_id, live.get("tags") or {}, news.get("tags"))
        return {**outputs, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        ec2 = ctx.aws.client("ec2")
        delete_with_retry(lambda: ec2.delete_route_table(RouteTableId=resource_id), f"route table {resource_id}")

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        tables = ctx.aws.client("ec2").describe_route_tables(Filters=urn_filter(ctx))["RouteTables"]
        return (tables[0]["RouteTableId"], self._outputs(ctx, tables[0], inputs)) if tables else None


class RouteTableAssociationHandler(Handler):
    """``aws.ec2.RouteTableAssociation``; the id is the association id (``rtbassoc-…``).

    Moving a subnet to another table is an update, as in the Terraform provider: ``ReplaceRouteTableAssociation``,
    which issues a *new* association id. The engine keeps the recorded id across an update, so every call
    resolves the live association: by the recorded id, else by the subnet (or gateway) it associates — a
    subnet has at most one association. A change of subnet or gateway replaces the association; ``name_key``
    is the subnet, so a replacement that keeps the subnet disassociates first.
    """

    type = "aws:ec2/routeTableAssociation:RouteTableAssociation"
    service = "ec2"
    name_key = "subnetId"
    implemented = frozenset({"subnetId", "gatewayId", "routeTableId"})
    computed = ()

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        args: dict[str, Any] = {"RouteTableId": inputs["routeTableId"]}
        if inputs.get("subnetId"):
            args["SubnetId"] = inputs["subnetId"]
        if inputs.get("gatewayId"):
            args["GatewayId"] = inputs["gatewayId"]
        answer = ctx.aws.client("ec2").associate_route_table(**args)
        return answer["AssociationId"], {}

    @staticmethod
    def _find(ctx: StepContext, name: str, value: str, match: Any) -> dict[str, Any] | None:
        tables = ctx.aws.client("ec2").describe_route_tables(Filters=[{"Name": name, "Values": [value]}])["RouteTables"]
        for table in tables:
            for association in table.get("Associations", []):
                state = association.get("AssociationState", {}).get("State", "associated")
                if match(association) and state not in ("disassociated", "disassociating"):
                    return dict(association)
        return None

    def _association(self, ctx: StepContext, association_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """The live association: the recorded id, or (after an in-place move to another table changed the id)
        the one association of the input's subnet or gateway."""
        return self._by_id(ctx, association_id) or self._by_target(ctx, inputs)

    def _by_id(self, ctx: StepContext, association_id: str) -> dict[str, Any] | None:
        return self._find(
            ctx,
            "association.route-table-association-id",
            association_id,
            lambda a: a.get("RouteTableAssociationId") == association_id,
        )

    def _by_target(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any] | None:
        for key, api in (("subnetId", "SubnetId"), ("gatewayId", "GatewayId")):
            value = inputs.get(key)
            if value:
                return self._find(
                    ctx, f"association.{key[:-2]}-id", str(value), lambda a, v=value, k=api: a.get(k) == v
                )
        return None

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        association = self._association(ctx, resource_id, inputs)
        if association is None:
            return None
        live = {
            "routeTableId": association.get("RouteTableId"),
            "subnetId": association.get("SubnetId"),
            "gatewayId": association.get("GatewayId"),
        }
        return only_inputs(live, inputs)

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        association = self._association(ctx, resource_id, olds) or self._association(ctx, resource_id, news)
        if association is None:
            raise HandlerError(f"route table association {resource_id} no longer exists")
        if association.get("RouteTableId") != news.get("routeTableId"):
            # Only routeTableId changes in place (subnet and gateway force a replacement).
            ctx.aws.client("ec2").replace_route_table_association(
                AssociationId=association["RouteTableAssociationId"], RouteTableId=news["routeTableId"]
            )
        return dict(outputs)

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        ec2 = ctx.aws.client("ec2")
        association = self._by_id(ctx, resource_id)
        if association is None:
            # The id changed with an in-place move; the subnet's association is ours only if it is to our table.
            association = self._by_target(ctx, inputs)
            if association is None or association.get("RouteTableId") != inputs.get("routeTableId"):
                return
        current = association["RouteTableAssociationId"]
        ignore_missing(lambda: ec2.disassociate_route_table(AssociationId=current))

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        # Associations carry no tags; the subnet's association to the wanted table is the one.
        if not inputs.get("subnetId"):
            return None
        tables = ctx.aws.client("ec2").describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [inputs["subnetId"]]}]
        )["RouteTables"]
        for table in tables:
            for association in table.get("Associations", []):
                if association.get("SubnetId") == inputs["subnetId"] and association.get("RouteTableId") == inputs.get(
                    "routeTableId"
                ):
                    return association["RouteTableAssociationId"], {}
        return None


# ---- VPC endpoints and flow logs --------------------------------------------------------------------


class VpcEndpointHandler(Handler):
    """``aws.ec2.VpcEndpoint`` (Gateway or Interface); the id is the endpoint id (``vpce-…``)."""

    type = "aws:ec2/vpcEndpoint:VpcEndpoint"
    service = "ec2"
    computed = (
        "arn",
        "cidrBlocks",
        "dnsEntries",
        "networkInterfaceIds",
        "ownerId",
        "prefixListId",
        "state",
        "policy",
    )
    # dnsOptions, subnetConfigurations, serviceRegion and the VPC Lattice targets (resourceConfigurationArn,
    # serviceNetworkArn) are not implemented: refused when set.
    implemented = frozenset(
        {
            "vpcId",
            "serviceName",
            "vpcEndpointType",
            "routeTableIds",
            "subnetIds",
            "securityGroupIds",
            "policy",
            "privateDnsEnabled",
            "ipAddressType",
            "autoAccept",
        }
    )
    # Sets of ids, changed with ModifyVpcEndpoint's Add<Name> and Remove<Name> members.
    _SETS = ("routeTableIds", "subnetIds", "securityGroupIds")
    # Terraform's policy is the API's PolicyDocument; the other names come from the EC2 model (shapes.py).
    _RENAMES: ClassVar[dict[str, str]] = {"policy": "PolicyDocument"}

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.aws.client("ec2")
        if not inputs.get("serviceName"):
            # The provider also accepts resourceConfigurationArn or serviceNetworkArn instead (refused here).
            raise HandlerError("aws.ec2.VpcEndpoint needs serviceName (the service to connect to)")
        kind = inputs.get("vpcEndpointType") or "Gateway"
        sent: dict[str, Any] = {key: inputs.get(key) or None for key in ("vpcId", "serviceName", *self._SETS)}
        sent["vpcEndpointType"] = kind
        if kind == "Interface" and "privateDnsEnabled" in inputs:
            sent["privateDnsEnabled"] = bool(inputs["privateDnsEnabled"])
        sent["policy"] = _policy_text(inputs["policy"]) if inputs.get("policy") else None
        sent["ipAddressType"] = inputs.get("ipAddressType") or None
        args = request(ec2, "CreateVpcEndpoint", sent, self._RENAMES)
        args["TagSpecifications"] = tag_specs("vpc-endpoint", ctx, inputs.get("tags"))
        created = ec2.create_vpc_endpoint(**args)["VpcEndpoint"]
        endpoint_id = created["VpcEndpointId"]
        if inputs.get("autoAccept"):
            self._accept(ec2, created)
        # Interface endpoints are "pending" while AWS provisions their network interfaces.
        # botocore has no waiter for VPC endpoints.
        endpoint = poll(
            lambda: self._describe_in(ec2, endpoint_id, ("available", "pendingacceptance")),
            what=f"VPC endpoint {endpoint_id} to become available",
        )
        return endpoint_id, self._outputs(ctx, endpoint, inputs)

    @staticmethod
    def _accept(ec2: Any, endpoint: dict[str, Any]) -> None:
        """Accept the connection to our own endpoint service (``autoAccept``), as the provider does: only an
        endpoint that waits for acceptance, through the service configuration of its service name."""
        if str(endpoint.get("State", "")).lower() != "pendingacceptance":
            return
        services = ec2.describe_vpc_endpoint_service_configurations(
            Filters=[{"Name": "service-name", "Values": [endpoint["ServiceName"]]}]
        )["ServiceConfigurations"]
        if not services:
            raise HandlerError(f"autoAccept: no endpoint service configuration named {endpoint['ServiceName']}")
        ec2.accept_vpc_endpoint_connections(
            ServiceId=services[0]["ServiceId"], VpcEndpointIds=[endpoint["VpcEndpointId"]]
        )

    @staticmethod
    def _describe(ec2: Any, endpoint_id: str) -> dict[str, Any] | None:
        endpoints = describe_items(ec2.describe_vpc_endpoints, "VpcEndpoints", VpcEndpointIds=[endpoint_id])
        # Deleted endpoints stay visible for a while in state "deleted".
        live = [e for e in endpoints if str(e.get("State", "")).lower() not in ("deleted", "deleting")]
        return dict(live[0]) if live else None

    def _describe_in(self, ec2: Any, endpoint_id: str, states: tuple[str, ...]) -> dict[str, Any] | None:
        """The endpoint when it is in one of ``states`` (lower case), else ``None``."""
        endpoint = self._describe(ec2, endpoint_id) or {}
        return endpoint if str(endpoint.get("State", "")).lower() in states else None

    def _outputs(self, ctx: StepContext, endpoint: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        endpoint_id = endpoint.get("VpcEndpointId", "")
        outputs: dict[str, Any] = {
            "arn": ec2_arn(ctx, "vpc-endpoint", endpoint_id, endpoint.get("OwnerId")),
            "ownerId": endpoint.get("OwnerId"),
            "state": endpoint.get("State"),
            "networkInterfaceIds": list(endpoint.get("NetworkInterfaceIds", [])),
            "dnsEntries": [
                {"dnsName": e.get("DnsName"), "hostedZoneId": e.get("HostedZoneId")}
                for e in endpoint.get("DnsEntries", [])
            ],
            "vpcEndpointType": endpoint.get("VpcEndpointType"),
            "tagsAll": dict(inputs.get("tags") or {}),
        }
        if endpoint.get("PolicyDocument") and not inputs.get("policy"):
            outputs["policy"] = endpoint["PolicyDocument"]
        if endpoint.get("VpcEndpointType") == "Gateway" and endpoint.get("ServiceName"):
            # A gateway endpoint's destinations are the service's AWS-managed prefix list; security groups name
            # it to allow the traffic. The Terraform provider reads it the same way (DescribePrefixLists by name).
            prefix_lists = ctx.aws.client("ec2").describe_prefix_lists(
                Filters=[{"Name": "prefix-list-name", "Values": [endpoint["ServiceName"]]}]
            )["PrefixLists"]
            if prefix_lists:
                outputs["prefixListId"] = prefix_lists[0]["PrefixListId"]
                outputs["cidrBlocks"] = list(prefix_lists[0].get("Cidrs", []))
        return outputs

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        endpoint = self._describe(ctx.aws.client("ec2"), resource_id)
        if endpoint is None:
            return None
        shape = output_shape(ctx.aws.client("ec2"), "DescribeVpcEndpoints", "VpcEndpoints")
        live: dict[str, Any] = from_api(endpoint, dict.fromkeys(("vpcId", "serviceName", "vpcEndpointType")), shape)
        live["privateDnsEnabled"] = bool(endpoint.get("PrivateDnsEnabled", False))
        live["tags"] = ctx.read_tags(endpoint.get("Tags"))
        live["routeTableIds"] = same_set(list(endpoint.get("RouteTableIds", [])), inputs.get("routeTableIds"))
        live["subnetIds"] = same_set(list(endpoint.get("SubnetIds", [])), inputs.get("subnetIds"))
        groups = [g["GroupId"] for g in endpoint.get("Groups", [])]
        live["securityGroupIds"] = same_set(groups, inputs.get("securityGroupIds"))
        if "policy" in inputs:
            policy = endpoint.get("PolicyDocument")
            live["policy"] = inputs["policy"] if same_policy(policy, _policy_text(inputs["policy"])) else policy
        return only_inputs(live, inputs)

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        ec2 = ctx.aws.client("ec2")
        endpoint = self._describe(ec2, resource_id)
        if endpoint is None:
            raise HandlerError(f"VPC endpoint {resource_id} no longer exists")
        changes: dict[str, Any] = {}
        current = {
            "routeTableIds": set(endpoint.get("RouteTableIds", [])),
            "subnetIds": set(endpoint.get("SubnetIds", [])),
            "securityGroupIds": {g["GroupId"] for g in endpoint.get("Groups", [])},
        }
        for key in self._SETS:
            wanted = set(news.get(key) or [])
            added, removed = sorted(wanted - current[key]), sorted(current[key] - wanted)
            # "addsubnetIds" is the member AddSubnetIds: shapes.py matches names regardless of case.
            changes[f"add{key}"] = added or None
            changes[f"remove{key}"] = removed or None
        if news.get("policy"):
            if not same_policy(endpoint.get("PolicyDocument"), _policy_text(news["policy"])):
                changes["policy"] = _policy_text(news["policy"])
        elif olds.get("policy"):
            changes["resetPolicy"] = True
        # privateDnsEnabled changes in place on an interface endpoint only (otherwise the change replaces).
        wanted_dns = news.get("privateDnsEnabled")
        if wanted_dns is not None and bool(wanted_dns) != bool(endpoint.get("PrivateDnsEnabled")):
            changes["privateDnsEnabled"] = bool(wanted_dns)
        # ipAddressType is computed: only a value the program sets is applied.
        wanted_ip = news.get("ipAddressType")
        if wanted_ip and str(wanted_ip).lower() != str(endpoint.get("IpAddressType") or "").lower():
            changes["ipAddressType"] = wanted_ip
        if news.get("autoAccept") and not olds.get("autoAccept"):
            self._accept(ec2, endpoint)
        args = request(ec2, "ModifyVpcEndpoint", changes, self._RENAMES)
        if args:
            ec2.modify_vpc_endpoint(VpcEndpointId=resource_id, **args)
        sync_tags(ec2, resource_id, ctx.read_tags(endpoint.get("Tags")), news.get("tags"))
        return {**outputs, **self._outputs(ctx, self._describe(ec2, resource_id) or endpoint, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        ec2 = ctx.aws.client("ec2")
        if self._describe(ec2, resource_id) is None:
            # Already gone (e.g. an interrupted destroy deleted it): a second DeleteVpcEndpoints on a deleted
            # gateway endpoint fails on its route table instead of answering NotFound.
            return
        answer = ec2.delete_vpc_endpoints(VpcEndpointIds=[resource_id])
        for failure in answer.get("Unsuccessful", []):
            code = failure.get("Error", {}).get("Code", "")
            if not code.endswith("NotFound"):
                raise HandlerError(f"deleting VPC endpoint {resource_id}: {failure.get('Error', {}).get('Message')}")
        # Subnets and security groups cannot go until the endpoint's network interfaces have.
        poll(lambda: self._describe(ec2, resource_id) is None, what=f"VPC endpoint {resource_id} to be deleted")

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        endpoints = ctx.aws.client("ec2").describe_vpc_endpoints(Filters=urn_filter(ctx))["VpcEndpoints"]
        live = [e for e in endpoints if str(e.get("State", "")).lower() not in ("deleted", "deleting")]
        return (live[0]["VpcEndpointId"], self._outputs(ctx, live[0], inputs)) if live else None


def _policy_text(policy: Any) -> str:
    return policy if isinstance(policy, str) else json.dumps(policy)


class FlowLogHandler(Handler):
    """``aws.ec2.FlowLog``; the id is the flow log id (``fl-…``). Only tags can change in place."""

    type = "aws:ec2/flowLog:FlowLog"
    service = "ec2"
    _RESOURCES = (
        ("vpcId", "VPC"),
        ("subnetId", "Subnet"),
        ("eniId", "NetworkInterface"),
        ("transitGatewayId", "TransitGateway"),
        ("transitGatewayAttachmentId", "TransitGatewayAttachment"),
    )
    # regionalNatGatewayId and tagFieldSpecifications are not implemented: refused when set.
    implemented = frozenset(
        {
            *(key for key, _ in _RESOURCES),
            "trafficType",
            "logDestinationType",
            "logDestination",
            "iamRoleArn",
            "deliverCrossAccountRole",
            "maxAggregationInterval",
            "logFormat",
            "destinationOptions",
        }
    )
    computed = ("arn", "logFormat")
    _RENAMES: ClassVar[dict[str, str]] = {"iamRoleArn": "DeliverLogsPermissionArn"}  # Terraform's iam_role_arn

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.aws.client("ec2")
        resource = next(((key, kind) for key, kind in self._RESOURCES if inputs.get(key)), None)
        if resource is None:
            raise HandlerError("a flow log needs one of vpcId, subnetId, eniId, transitGatewayId")
        args: dict[str, Any] = {
            "ResourceIds": [inputs[resource[0]]],
            "ResourceType": resource[1],
            "LogDestinationType": inputs.get("logDestinationType") or "cloud-watch-logs",
            "TagSpecifications": tag_specs("vpc-flow-log", ctx, inputs.get("tags")),
        }
        optional = ("trafficType", "logDestination", "iamRoleArn", "deliverCrossAccountRole", "logFormat",
                    "maxAggregationInterval")  # fmt: skip
        sent = {key: inputs[key] for key in optional if inputs.get(key)}
        if resource[1] in ("TransitGateway", "TransitGatewayAttachment"):
            sent.pop("trafficType", None)  # as the provider: transit gateway flow logs take no traffic type
        if isinstance(sent.get("logDestination"), str):
            sent["logDestination"] = sent["logDestination"].removesuffix(":*")  # the provider trims it too
        args.update(request(ec2, "CreateFlowLogs", sent, self._RENAMES))
        options = inputs.get("destinationOptions") or {}
        if options:
            args["DestinationOptions"] = {
                "FileFormat": options.get("fileFormat", "plain-text"),
                "HiveCompatiblePartitions": bool(options.get("hiveCompatiblePartitions", False)),
                "PerHourPartition": bool(options.get("perHourPartition", False)),
            }
        answer = ec2.create_flow_logs(**args)
        if answer.get("Unsuccessful") or not answer.get("FlowLogIds"):
            failures = "; ".join(f.get("Error", {}).get("Message", "") for f in answer.get("Unsuccessful", []))
            raise HandlerError(f"creating the flow log failed: {failures or 'no flow log id returned'}")
        flow_id = answer["FlowLogIds"][0]
        return flow_id, self._outputs(ctx, flow_id, self._describe(ec2, flow_id) or {}, inputs)

    @staticmethod
    def _describe(ec2: Any, flow_id: str) -> dict[str, Any] | None:
        logs = describe_items(ec2.describe_flow_logs, "FlowLogs", FlowLogIds=[flow_id])
        return logs[0] if logs else None

    def _outputs(self, ctx: StepContext, flow_id: str, flow: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": ec2_arn(ctx, "vpc-flow-log", flow_id),
            "logFormat": flow.get("LogFormat"),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        flow = self._describe(ctx.aws.client("ec2"), resource_id)
        if flow is None:
            return None
        live: dict[str, Any] = {
            "trafficType": flow.get("TrafficType"),
            "logDestinationType": flow.get("LogDestinationType"),
            "iamRoleArn": flow.get("DeliverLogsPermissionArn"),
            "maxAggregationInterval": flow.get("MaxAggregationInterval"),
            "logFormat": flow.get("LogFormat"),
            "tags": ctx.read_tags(flow.get("Tags")),
        }
        for key, _ in self._RESOURCES:
            if key in inputs:
                live[key] = flow.get("ResourceId")
        destination = flow.get("LogDestination")
        wanted = inputs.get("logDestination")
        # A log group may be named with or without the ":*" suffix of its ARN.
        if (
            isinstance(wanted, str)
            and isinstance(destination, str)
            and wanted.removesuffix(":*") == destination.removesuffix(":*")
        ):
            destination = wanted
        live["logDestination"] = destination
        return only_inputs(live, inputs)

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        ec2 = ctx.aws.client("ec2")
        flow = self._describe(ec2, resource_id)
        if flow is None:
            raise HandlerError(f"flow log {resource_id} no longer exists")
        sync_tags(ec2, resource_id, ctx.read_tags(flow.get("Tags")), news.get("tags"))
        return {**outputs, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        ec2 = ctx.aws.client("ec2")
        ignore_missing(lambda: ec2.delete_flow_logs(FlowLogIds=[resource_id]))

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        logs = ctx.aws.client("ec2").describe_flow_logs(Filters=urn_filter(ctx))["FlowLogs"]
        if not logs:
            return None
        return logs[0]["FlowLogId"], self._outputs(ctx, logs[0]["FlowLogId"], logs[0], inputs)


HANDLERS: tuple[type[Handler], ...] = (
    VpcHandler,
    SubnetHandler,
    RouteTableHandler,
    RouteTableAssociationHandler,
    VpcEndpointHandler,
    FlowLogHandler,
)
