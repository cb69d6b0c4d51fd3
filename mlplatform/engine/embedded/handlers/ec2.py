"""EC2 networking: VPCs, subnets, route tables, security groups, VPC endpoints and flow logs (pulumi-aws v7).

EC2 resources have no user-chosen physical name (security groups aside), so every create tags the
resource with ``URN_TAG`` in the ``TagSpecifications`` of the create call itself — there is no window
in which an interrupted run leaves an untagged resource behind — and ``find`` looks for that tag.

Updates converge on the *live* resource (read, then change what differs) rather than diffing old
against new inputs: rules and tags are sets that AWS may have changed in ways the old inputs do not
record, and a retried update after a partial failure must still finish the job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext
from mlplatform.engine.embedded.handlers.common import (
    URN_TAG,
    auto_name,
    error_code,
    is_not_found,
    same_policy,
    tag_dict,
    tag_list,
)

DELETE_TIMEOUT = 600.0
"""Seconds to keep retrying a delete that AWS refuses with ``DependencyViolation`` (an interface
endpoint's network interfaces outlive the endpoint by minutes; Terraform retries the same way)."""


# ---- shared helpers ----------------------------------------------------------------------------------


def tag_specs(resource_type: str, ctx: StepContext, tags: dict[str, str] | None) -> list[dict[str, Any]]:
    """``TagSpecifications`` for a create call: the user's tags plus the URN tag ``find`` looks for."""
    return [{"ResourceType": resource_type, "Tags": tag_list({**(tags or {}), URN_TAG: ctx.urn})}]


def sync_tags(ec2: Any, resource_id: str, live: dict[str, str], wanted: dict[str, str] | None) -> None:
    """Make the resource's tags (the URN tag aside) equal ``wanted``."""
    wanted = wanted or {}
    stale = [{"Key": key} for key in live if key not in wanted]
    if stale:
        ec2.delete_tags(Resources=[resource_id], Tags=stale)
    changed = {key: value for key, value in wanted.items() if live.get(key) != value}
    if changed:
        ec2.create_tags(Resources=[resource_id], Tags=tag_list(changed))


def urn_filter(ctx: StepContext) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{URN_TAG}", "Values": [ctx.urn]}]


def ignore_missing(call: Callable[[], Any]) -> None:
    """Run a delete; a resource that is already gone counts as deleted."""
    try:
        call()
    except Exception as exc:
        if not is_not_found(exc):
            raise


def delete_with_retry(call: Callable[[], Any], timeout: float = DELETE_TIMEOUT) -> None:
    """Run a delete, retrying while AWS answers ``DependencyViolation`` (dependents still being torn down)."""
    deadline = time.monotonic() + timeout
    delay = 2.0
    while True:
        try:
            call()
            return
        except Exception as exc:
            if is_not_found(exc):
                return
            if error_code(exc) != "DependencyViolation" or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 1.5, 15.0)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 600.0) -> None:
    """Poll ``check`` until it is true; checks first, so a resource that is ready at once costs no sleep."""
    deadline = time.monotonic() + timeout
    delay = 2.0
    while not check():
        if time.monotonic() > deadline:
            raise HandlerError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 15.0)


def same_set(live: list[str], wanted: Any) -> Any:
    """Set-valued inputs (ids): report the recorded list when the members agree, so order is not drift."""
    if isinstance(wanted, list) and sorted(map(str, wanted)) == sorted(live):
        return wanted
    return sorted(live)


def ec2_arn(ctx: StepContext, kind: str, resource_id: str, owner: str | None = None) -> str:
    account = owner or ctx.aws.account_id
    return f"arn:{ctx.aws.partition}:ec2:{ctx.aws.region}:{account}:{kind}/{resource_id}"


def only_inputs(live: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """Keep the keys the inputs set: an attribute the program leaves to AWS's default is not drift."""
    return {key: value for key, value in live.items() if key in inputs}


# ---- VPC ---------------------------------------------------------------------------------------------


class VpcHandler(Handler):
    """``aws.ec2.Vpc``; the id is the VPC id (``vpc-…``), as in the Terraform provider."""

    type = "aws:ec2/vpc:Vpc"
    service = "ec2"
    replace_on_change = frozenset({"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength", "region"})
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
        wait_for(lambda: self._state(ec2, vpc_id) == "available", f"VPC {vpc_id} to become available")
        # AWS defaults: DNS support on, DNS hostnames off; only a different wish costs a call.
        if inputs.get("enableDnsSupport") is False:
            ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": False})
        if inputs.get("enableDnsHostnames"):
            ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
        return vpc_id, self._outputs(ctx, vpc_id, vpc.get("OwnerId"), inputs)

    @staticmethod
    def _state(ec2: Any, vpc_id: str) -> str:
        return str(ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0].get("State", ""))

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
        try:
            vpcs = ec2.describe_vpcs(VpcIds=[resource_id])["Vpcs"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        if not vpcs:
            return None
        vpc = vpcs[0]
        live: dict[str, Any] = {
            "cidrBlock": vpc.get("CidrBlock"),
            "instanceTenancy": vpc.get("InstanceTenancy"),
            "tags": tag_dict(vpc.get("Tags")),
        }
        for key, attribute in (("enableDnsHostnames", "enableDnsHostnames"), ("enableDnsSupport", "enableDnsSupport")):
            if key in inputs:
                answer = ec2.describe_vpc_attribute(VpcId=resource_id, Attribute=attribute)
                live[key] = bool(answer[attribute[0].upper() + attribute[1:]]["Value"])
        return only_inputs(live, inputs)

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        ec2 = ctx.aws.client("ec2")
        live = self.read(ctx, resource_id, {**news, "tags": None}) or {}
        for key, arg in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
            if key in news and bool(news[key]) != live.get(key):
                ec2.modify_vpc_attribute(VpcId=resource_id, **{arg: {"Value": bool(news[key])}})
        if news.get("instanceTenancy") and news["instanceTenancy"] != live.get("instanceTenancy"):
            ec2.modify_vpc_tenancy(VpcId=resource_id, InstanceTenancy=news["instanceTenancy"])
        sync_tags(ec2, resource_id, live.get("tags") or {}, news.get("tags"))
        return {**outputs, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        ec2 = ctx.aws.client("ec2")
        delete_with_retry(lambda: ec2.delete_vpc(VpcId=resource_id))

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
    replace_on_change = frozenset(
        {"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "outpostArn", "ipv6Native", "region"}
    )
    computed = ("arn", "availabilityZone", "availabilityZoneId", "ownerId")

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.aws.client("ec2")
        args: dict[str, Any] = {
            "VpcId": inputs["vpcId"],
            "TagSpecifications": tag_specs("subnet", ctx, inputs.get("tags")),
        }
        for key, arg in (("cidrBlock", "CidrBlock"), ("availabilityZone", "AvailabilityZone")):
            if inputs.get(key):
                args[arg] = inputs[key]
        if inputs.get("availabilityZoneId"):
            args["AvailabilityZoneId"] = inputs["availabilityZoneId"]
        subnet = ec2.create_subnet(**args)["Subnet"]
        subnet_id = subnet["SubnetId"]
        wait_for(
            lambda: self._describe(ec2, subnet_id).get("State") == "available",
            f"subnet {subnet_id} to become available",
        )
        if inputs.get("mapPublicIpOnLaunch"):
            ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
        return subnet_id, self._outputs(ctx, subnet, inputs)

    @staticmethod
    def _describe(ec2: Any, subnet_id: str) -> dict[str, Any]:
        subnets = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
        return dict(subnets[0]) if subnets else {}

    def _outputs(self, ctx: StepContext, subnet: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": subnet.get("SubnetArn") or ec2_arn(ctx, "subnet", subnet["SubnetId"], subnet.get("OwnerId")),
            "availabilityZone": subnet.get("AvailabilityZone"),
            "availabilityZoneId": subnet.get("AvailabilityZoneId"),
            "ownerId": subnet.get("OwnerId"),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            subnet = self._describe(ctx.aws.client("ec2"), resource_id)
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        if not subnet:
            return None
        live = {
            "vpcId": subnet.get("VpcId"),
            "cidrBlock": subnet.get("CidrBlock"),
            "availabilityZone": subnet.get("AvailabilityZone"),
            "availabilityZoneId": subnet.get("AvailabilityZoneId"),
            "mapPublicIpOnLaunch": bool(subnet.get("MapPublicIpOnLaunch", False)),
            "tags": tag_dict(subnet.get("Tags")),
        }
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
        delete_with_retry(lambda: ec2.delete_subnet(SubnetId=resource_id))

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        subnets = ctx.aws.client("ec2").describe_subnets(Filters=urn_filter(ctx))["Subnets"]
        return (subnets[0]["SubnetId"], self._outputs(ctx, subnets[0], inputs)) if subnets else None


class RouteTableHandler(Handler):
    """``aws.ec2.RouteTable`` without inline routes; the id is the route table id."""

    type = "aws:ec2/routeTable:RouteTable"
    service = "ec2"
    replace_on_change = frozenset({"vpcId", "region"})
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
        try:
            tables = ctx.aws.client("ec2").describe_route_tables(RouteTableIds=[resource_id])["RouteTables"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        if not tables:
            return None
        return only_inputs({"vpcId": tables[0].get("VpcId"), "tags": tag_dict(tables[0].get("Tags"))}, inputs)

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
        delete_with_retry(lambda: ec2.delete_route_table(RouteTableId=resource_id))

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        tables = ctx.aws.client("ec2").describe_route_tables(Filters=urn_filter(ctx))["RouteTables"]
        return (tables[0]["RouteTableId"], self._outputs(ctx, tables[0], inputs)) if tables else None


class RouteTableAssociationHandler(Handler):
    """``aws.ec2.RouteTableAssociation``; the id is the association id (``rtbassoc-…``).

    Moving a subnet to another table (``ReplaceRouteTableAssociation``) issues a *new* association id,
    and a handler update cannot change a resource's id, so any change replaces the association. A
    subnet has at most one association, so the replacement must disassociate first: ``name_key`` is
    the subnet, which makes the engine delete before it creates.
    """

    type = "aws:ec2/routeTableAssociation:RouteTableAssociation"
    service = "ec2"
    replace_on_change = frozenset({"subnetId", "gatewayId", "routeTableId", "region"})
    name_key = "subnetId"
    computed = ()

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        args: dict[str, Any] = {"RouteTableId": inputs["routeTableId"]}
        if inputs.get("subnetId"):
            args["SubnetId"] = inputs["subnetId"]
        if inputs.get("gatewayId"):
            args["GatewayId"] = inputs["gatewayId"]
        answer = ctx.aws.client("ec2").associate_route_table(**args)
        return answer["AssociationId"], {}

    def _association(self, ctx: StepContext, association_id: str) -> dict[str, Any] | None:
        tables = ctx.aws.client("ec2").describe_route_tables(
            Filters=[{"Name": "association.route-table-association-id", "Values": [association_id]}]
        )["RouteTables"]
        for table in tables:
            for association in table.get("Associations", []):
                state = association.get("AssociationState", {}).get("State", "associated")
                if association.get("RouteTableAssociationId") == association_id and state != "disassociated":
                    return dict(association)
        return None

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        association = self._association(ctx, resource_id)
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
        return dict(outputs)  # every input forces a replacement

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        ec2 = ctx.aws.client("ec2")
        ignore_missing(lambda: ec2.disassociate_route_table(AssociationId=resource_id))

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


# ---- security groups ----------------------------------------------------------------------------------

_PROTOCOLS = {"all": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}

Atom = tuple[str, int | None, int | None, str, str, str]
"""One permission the way AWS stores it: (protocol, from, to, source kind, source, description)."""


def _protocol(value: Any) -> str:
    text = str(value).lower()
    return _PROTOCOLS.get(text, text)


def _ports(protocol: str, low: Any, high: Any) -> tuple[int | None, int | None]:
    # "All traffic" has no ports (Terraform writes 0/0, AWS answers none or -1/-1).
    if protocol == "-1":
        return None, None
    return (int(low) if low is not None else None), (int(high) if high is not None else None)


def rule_atoms(rules: list[dict[str, Any]] | None, group_id: str) -> set[Atom]:
    """Inline rules in input shape -> the set of permissions they grant."""
    atoms: set[Atom] = set()
    for rule in rules or []:
        protocol = _protocol(rule.get("protocol", "-1"))
        low, high = _ports(protocol, rule.get("fromPort"), rule.get("toPort"))
        description = str(rule.get("description") or "")
        sources = [("cidr", cidr) for cidr in rule.get("cidrBlocks") or []]
        sources += [("cidr6", cidr) for cidr in rule.get("ipv6CidrBlocks") or []]
        sources += [("prefix", item) for item in rule.get("prefixListIds") or []]
        sources += [("group", item) for item in rule.get("securityGroups") or []]
        if rule.get("self"):
            sources.append(("group", group_id))
        atoms.update((protocol, low, high, kind, str(value), description) for kind, value in sources)
    return atoms


def permission_atoms(permissions: list[dict[str, Any]]) -> set[Atom]:
    """``IpPermissions`` as DescribeSecurityGroups answers -> the set of permissions they grant."""
    atoms: set[Atom] = set()
    for perm in permissions:
        protocol = _protocol(perm.get("IpProtocol", "-1"))
        low, high = _ports(protocol, perm.get("FromPort"), perm.get("ToPort"))
        for item in perm.get("IpRanges", []):
            atoms.add((protocol, low, high, "cidr", item["CidrIp"], item.get("Description", "")))
        for item in perm.get("Ipv6Ranges", []):
            atoms.add((protocol, low, high, "cidr6", item["CidrIpv6"], item.get("Description", "")))
        for item in perm.get("PrefixListIds", []):
            atoms.add((protocol, low, high, "prefix", item["PrefixListId"], item.get("Description", "")))
        for item in perm.get("UserIdGroupPairs", []):
            atoms.add((protocol, low, high, "group", item["GroupId"], item.get("Description", "")))
    return atoms


def atom_permission(atom: Atom) -> dict[str, Any]:
    protocol, low, high, kind, value, description = atom
    perm: dict[str, Any] = {"IpProtocol": protocol}
    if low is not None:
        perm["FromPort"] = low
    if high is not None:
        perm["ToPort"] = high
    extra = {"Description": description} if description else {}
    if kind == "cidr":
        perm["IpRanges"] = [{"CidrIp": value, **extra}]
    elif kind == "cidr6":
        perm["Ipv6Ranges"] = [{"CidrIpv6": value, **extra}]
    elif kind == "prefix":
        perm["PrefixListIds"] = [{"PrefixListId": value, **extra}]
    else:
        perm["UserIdGroupPairs"] = [{"GroupId": value, **extra}]
    return perm


def atom_rule(atom: Atom, group_id: str) -> dict[str, Any]:
    """One permission in input shape (how drift is shown when live rules differ from the inputs)."""
    protocol, low, high, kind, value, description = atom
    rule: dict[str, Any] = {"protocol": protocol, "fromPort": low or 0, "toPort": high or 0}
    if kind == "group" and value == group_id:
        rule["self"] = True
    else:
        key = {"cidr": "cidrBlocks", "cidr6": "ipv6CidrBlocks", "prefix": "prefixListIds", "group": "securityGroups"}
        rule[key[kind]] = [value]
    if description:
        rule["description"] = description
    return rule


def live_rules(live: set[Atom], wanted: Any, group_id: str) -> Any:
    """Report the recorded rules when they grant exactly what AWS has, else the live rules."""
    if live == rule_atoms(wanted, group_id):
        return wanted
    return [atom_rule(atom, group_id) for atom in sorted(live, key=lambda a: tuple(str(x) for x in a))]


def converge_rules(ec2: Any, group: dict[str, Any], direction: str, wanted: set[Atom]) -> None:
    """Revoke what the group grants beyond ``wanted`` and authorise what it lacks."""
    group_id = group["GroupId"]
    field = "IpPermissions" if direction == "ingress" else "IpPermissionsEgress"
    current = permission_atoms(group.get(field, []))
    revoke = getattr(ec2, f"revoke_security_group_{direction}")
    authorize = getattr(ec2, f"authorize_security_group_{direction}")
    stale = [atom_permission(atom) for atom in sorted(current - wanted, key=str)]
    if stale:
        revoke(GroupId=group_id, IpPermissions=stale)
    missing = [atom_permission(atom) for atom in sorted(wanted - current, key=str)]
    if missing:
        authorize(GroupId=group_id, IpPermissions=missing)


def describe_group(ec2: Any, group_id: str) -> dict[str, Any] | None:
    try:
        groups = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise
    return dict(groups[0]) if groups else None


class SecurityGroupHandler(Handler):
    """``aws.ec2.SecurityGroup``; the id is the group id (``sg-…``).

    Like the Terraform provider, create revokes the allow-all egress rule AWS adds to every new VPC
    group, so a group grants nothing it was not asked to. Inline ``ingress``/``egress`` are managed only
    when the program sets them; otherwise rules belong to ``aws.vpc.SecurityGroup*Rule`` resources and
    are not drift here.
    """

    type = "aws:ec2/securityGroup:SecurityGroup"
    service = "ec2"
    replace_on_change = frozenset({"name", "namePrefix", "description", "vpcId", "region"})
    name_key = "name"
    computed = ("arn", "ownerId", "name")

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.aws.client("ec2")
        name = inputs.get("name") or auto_name(inputs.get("namePrefix") or ctx.name, max_length=255, lowercase=False)
        args: dict[str, Any] = {
            "GroupName": name,
            "Description": inputs.get("description") or "Managed by Pulumi",
            "TagSpecifications": tag_specs("security-group", ctx, inputs.get("tags")),
        }
        if inputs.get("vpcId"):
            args["VpcId"] = inputs["vpcId"]
        group_id = ec2.create_security_group(**args)["GroupId"]
        group = describe_group(ec2, group_id) or {"GroupId": group_id}
        if inputs.get("vpcId"):
            converge_rules(ec2, group, "egress", rule_atoms(inputs.get("egress"), group_id))
        if "ingress" in inputs:
            converge_rules(ec2, group, "ingress", rule_atoms(inputs.get("ingress"), group_id))
        return group_id, self._outputs(ctx, group, name, inputs)

    def _outputs(self, ctx: StepContext, group: dict[str, Any], name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": group.get("SecurityGroupArn") or ec2_arn(ctx, "security-group", group["GroupId"]),
            "ownerId": group.get("OwnerId") or ctx.aws.account_id,
            "name": name,
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        group = describe_group(ctx.aws.client("ec2"), resource_id)
        if group is None:
            return None
        live: dict[str, Any] = {
            "name": group.get("GroupName"),
            "description": group.get("Description"),
            "vpcId": group.get("VpcId"),
            "tags": tag_dict(group.get("Tags")),
        }
        if "ingress" in inputs:
            live["ingress"] = live_rules(
                permission_atoms(group.get("IpPermissions", [])), inputs["ingress"], resource_id
            )
        if "egress" in inputs:
            live["egress"] = live_rules(
                permission_atoms(group.get("IpPermissionsEgress", [])), inputs["egress"], resource_id
            )
        return only_inputs(live, inputs)

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        ec2 = ctx.aws.client("ec2")
        group = describe_group(ec2, resource_id)
        if group is None:
            raise HandlerError(f"security group {resource_id} no longer exists")
        for direction in ("ingress", "egress"):
            if direction in news:
                converge_rules(ec2, group, direction, rule_atoms(news.get(direction), resource_id))
        sync_tags(ec2, resource_id, tag_dict(group.get("Tags")), news.get("tags"))
        return {**outputs, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        ec2 = ctx.aws.client("ec2")
        if inputs.get("revokeRulesOnDelete"):
            # Break reference cycles between groups (Terraform's revoke_rules_on_delete).
            group = describe_group(ec2, resource_id)
            if group is None:
                return
            converge_rules(ec2, group, "ingress", set())
            converge_rules(ec2, group, "egress", set())
        delete_with_retry(lambda: ec2.delete_security_group(GroupId=resource_id))

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        groups = ctx.aws.client("ec2").describe_security_groups(Filters=urn_filter(ctx))["SecurityGroups"]
        if not groups:
            return None
        return groups[0]["GroupId"], self._outputs(ctx, groups[0], groups[0]["GroupName"], inputs)


class DefaultSecurityGroupHandler(Handler):
    """``aws.ec2.DefaultSecurityGroup``: adopts the VPC's default group and owns all of its rules.

    The id is the group id. Create revokes every rule the program does not list (no ``ingress`` and no
    ``egress`` -> a group that allows nothing); a rule added outside mlplatform is drift. Delete only
    forgets the group: AWS cannot delete a VPC's default group (Terraform does the same).
    """

    type = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
    service = "ec2"
    replace_on_change = frozenset({"vpcId", "region"})
    computed = ("arn", "ownerId", "name", "description")

    def _default_group(self, ctx: StepContext, vpc_id: str | None) -> dict[str, Any]:
        filters = [{"Name": "group-name", "Values": ["default"]}]
        if vpc_id:
            filters.append({"Name": "vpc-id", "Values": [vpc_id]})
        groups = ctx.aws.client("ec2").describe_security_groups(Filters=filters)["SecurityGroups"]
        if not groups:
            raise HandlerError(f"no default security group found for VPC {vpc_id}")
        return dict(groups[0])

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        group = self._default_group(ctx, inputs.get("vpcId"))
        self._converge(ctx, group, inputs)
        return group["GroupId"], self._outputs(ctx, group, inputs)

    def _converge(self, ctx: StepContext, group: dict[str, Any], inputs: dict[str, Any]) -> None:
        ec2 = ctx.aws.client("ec2")
        converge_rules(ec2, group, "ingress", rule_atoms(inputs.get("ingress"), group["GroupId"]))
        if group.get("VpcId"):
            converge_rules(ec2, group, "egress", rule_atoms(inputs.get("egress"), group["GroupId"]))
        sync_tags(ec2, group["GroupId"], tag_dict(group.get("Tags")), inputs.get("tags"))

    def _outputs(self, ctx: StepContext, group: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": group.get("SecurityGroupArn") or ec2_arn(ctx, "security-group", group["GroupId"]),
            "ownerId": group.get("OwnerId") or ctx.aws.account_id,
            "name": group.get("GroupName", "default"),
            "description": group.get("Description"),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        group = describe_group(ctx.aws.client("ec2"), resource_id)
        if group is None:
            return None
        live: dict[str, Any] = {"vpcId": group.get("VpcId"), "tags": tag_dict(group.get("Tags"))}
        live = only_inputs(live, inputs)
        # The rules are always managed: an absent list means "no rules", so any live rule is drift.
        for direction, field in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
            atoms = permission_atoms(group.get(field, []))
            if atoms != rule_atoms(inputs.get(direction), resource_id):
                live[direction] = live_rules(atoms, inputs.get(direction), resource_id)
            elif direction in inputs:
                live[direction] = inputs[direction]
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        group = describe_group(ctx.aws.client("ec2"), resource_id)
        if group is None:
            raise HandlerError(f"default security group {resource_id} no longer exists")
        self._converge(ctx, group, news)
        return {**outputs, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        return None  # the default group lives as long as its VPC; mlplatform only stops managing it

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        group = self._default_group(ctx, inputs.get("vpcId"))
        return group["GroupId"], self._outputs(ctx, group, inputs)


# ---- VPC endpoints and flow logs --------------------------------------------------------------------


class VpcEndpointHandler(Handler):
    """``aws.ec2.VpcEndpoint`` (Gateway or Interface); the id is the endpoint id (``vpce-…``)."""

    type = "aws:ec2/vpcEndpoint:VpcEndpoint"
    service = "ec2"
    replace_on_change = frozenset(
        {
            "vpcId",
            "serviceName",
            "vpcEndpointType",
            "autoAccept",
            "serviceRegion",
            "resourceConfigurationArn",
            "serviceNetworkArn",
            "region",
        }
    )
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
    _SETS = (("routeTableIds", "RouteTableIds"), ("subnetIds", "SubnetIds"), ("securityGroupIds", "SecurityGroupIds"))

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.aws.client("ec2")
        kind = inputs.get("vpcEndpointType") or "Gateway"
        args: dict[str, Any] = {
            "VpcId": inputs["vpcId"],
            "ServiceName": inputs["serviceName"],
            "VpcEndpointType": kind,
            "TagSpecifications": tag_specs("vpc-endpoint", ctx, inputs.get("tags")),
        }
        for key, arg in self._SETS:
            if inputs.get(key):
                args[arg] = list(inputs[key])
        if kind == "Interface" and "privateDnsEnabled" in inputs:
            args["PrivateDnsEnabled"] = bool(inputs["privateDnsEnabled"])
        if inputs.get("policy"):
            args["PolicyDocument"] = _policy_text(inputs["policy"])
        if inputs.get("ipAddressType"):
            args["IpAddressType"] = inputs["ipAddressType"]
        endpoint_id = ec2.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"]
        # Interface endpoints are "pending" while AWS provisions their network interfaces.
        wait_for(
            lambda: (
                (self._describe(ec2, endpoint_id) or {}).get("State", "").lower() in ("available", "pendingacceptance")
            ),
            f"VPC endpoint {endpoint_id} to become available",
        )
        return endpoint_id, self._outputs(ctx, self._describe(ec2, endpoint_id) or {}, inputs)

    @staticmethod
    def _describe(ec2: Any, endpoint_id: str) -> dict[str, Any] | None:
        try:
            endpoints = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        # Deleted endpoints stay visible for a while in state "deleted".
        live = [e for e in endpoints if str(e.get("State", "")).lower() not in ("deleted", "deleting")]
        return dict(live[0]) if live else None

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
        live: dict[str, Any] = {
            "vpcId": endpoint.get("VpcId"),
            "serviceName": endpoint.get("ServiceName"),
            "vpcEndpointType": endpoint.get("VpcEndpointType"),
            "privateDnsEnabled": bool(endpoint.get("PrivateDnsEnabled", False)),
            "tags": tag_dict(endpoint.get("Tags")),
        }
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
        args: dict[str, Any] = {}
        current = {
            "routeTableIds": set(endpoint.get("RouteTableIds", [])),
            "subnetIds": set(endpoint.get("SubnetIds", [])),
            "securityGroupIds": {g["GroupId"] for g in endpoint.get("Groups", [])},
        }
        for key, arg in self._SETS:
            wanted = set(news.get(key) or [])
            added, removed = sorted(wanted - current[key]), sorted(current[key] - wanted)
            if added:
                args[f"Add{arg}"] = added
            if removed:
                args[f"Remove{arg}"] = removed
        if news.get("policy"):
            if not same_policy(endpoint.get("PolicyDocument"), _policy_text(news["policy"])):
                args["PolicyDocument"] = _policy_text(news["policy"])
        elif olds.get("policy"):
            args["ResetPolicy"] = True
        if "privateDnsEnabled" in news and bool(news["privateDnsEnabled"]) != bool(endpoint.get("PrivateDnsEnabled")):
            args["PrivateDnsEnabled"] = bool(news["privateDnsEnabled"])
        if args:
            ec2.modify_vpc_endpoint(VpcEndpointId=resource_id, **args)
        sync_tags(ec2, resource_id, tag_dict(endpoint.get("Tags")), news.get("tags"))
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
        wait_for(lambda: self._describe(ec2, resource_id) is None, f"VPC endpoint {resource_id} to be deleted")

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
    replace_on_change = frozenset(
        {
            "vpcId",
            "subnetId",
            "eniId",
            "transitGatewayId",
            "transitGatewayAttachmentId",
            "trafficType",
            "logDestinationType",
            "logDestination",
            "logGroupName",
            "iamRoleArn",
            "deliverCrossAccountRole",
            "maxAggregationInterval",
            "logFormat",
            "destinationOptions",
            "region",
        }
    )
    computed = ("arn", "logFormat")

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
        if inputs.get("trafficType"):
            args["TrafficType"] = inputs["trafficType"]
        optional = (
            ("logDestination", "LogDestination"),
            ("iamRoleArn", "DeliverLogsPermissionArn"),
            ("deliverCrossAccountRole", "DeliverCrossAccountRole"),
            ("logFormat", "LogFormat"),
        )
        for key, arg in optional:
            if inputs.get(key):
                args[arg] = inputs[key]
        if inputs.get("maxAggregationInterval"):
            args["MaxAggregationInterval"] = int(inputs["maxAggregationInterval"])
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
        try:
            logs = ec2.describe_flow_logs(FlowLogIds=[flow_id])["FlowLogs"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return dict(logs[0]) if logs else None

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
            "tags": tag_dict(flow.get("Tags")),
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
        sync_tags(ec2, resource_id, tag_dict(flow.get("Tags")), news.get("tags"))
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
    SecurityGroupHandler,
    DefaultSecurityGroupHandler,
    VpcEndpointHandler,
    FlowLogHandler,
)
