"""Security groups and their rules (pulumi-aws v7): ``aws.ec2.SecurityGroup``, ``aws.ec2.DefaultSecurityGroup``
and the standalone ``aws.vpc.SecurityGroupIngressRule`` / ``SecurityGroupEgressRule``.

A group's inline rules are compared as sets of single permissions ("atoms": protocol, ports, one source,
description), the way AWS stores them, so the same rules written differently are not drift, and an update
revokes and authorises exactly the difference on the *live* group. A standalone rule's id is the rule id
AWS assigns (``sgr-…``), as in the Terraform provider; every attribute but the group changes in place with
``ModifySecurityGroupRules``, which keeps the rule id.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers import ec2_common
from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext
from mlplatform.engine.embedded.handlers.common import (
    ignore_missing,
    only_inputs,
    physical_name,
)
from mlplatform.engine.embedded.handlers.ec2_common import describe_items, sync_tags
from mlplatform.engine.embedded.handlers.shapes import input_shape, to_api

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
    groups = describe_items(ec2.describe_security_groups, "SecurityGroups", GroupIds=[group_id])
    return groups[0] if groups else None


class SecurityGroupHandler(Handler):
    """``aws.ec2.SecurityGroup``; the id is the group id (``sg-…``).

    Like the Terraform provider, create revokes the allow-all egress rule AWS adds to every new VPC
    group, so a group grants nothing it was not asked to. Inline ``ingress``/``egress`` are managed only
    when the program sets them; otherwise rules belong to ``aws.vpc.SecurityGroup*Rule`` resources and
    are not drift here.
    """

    type = "aws:ec2/securityGroup:SecurityGroup"
    service = "ec2"
    name_key = "name"
    implemented = frozenset({"name", "namePrefix", "description", "vpcId", "ingress", "egress", "revokeRulesOnDelete"})
    computed = ("arn", "ownerId", "name")

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.aws.client("ec2")
        # The provider's create.Name: the name, else namePrefix + a unique suffix; pulumi-aws auto-names the rest.
        name = physical_name(inputs, ctx.name, key="name", prefix_key="namePrefix", max_length=255)
        args: dict[str, Any] = {
            "GroupName": name,
            "Description": inputs.get("description") or "Managed by Pulumi",
            "TagSpecifications": ec2_common.tag_specs("security-group", ctx, inputs.get("tags")),
        }
        if inputs.get("vpcId"):
            args["VpcId"] = inputs["vpcId"]
        group_id = ec2.create_security_group(**args)["GroupId"]
        group = describe_group(ec2, group_id) or {"GroupId": group_id}
        if inputs.get("vpcId") or group.get("VpcId"):  # a group in the default VPC has the allow-all egress too
            converge_rules(ec2, group, "egress", rule_atoms(inputs.get("egress"), group_id))
        if "ingress" in inputs:
            converge_rules(ec2, group, "ingress", rule_atoms(inputs.get("ingress"), group_id))
        return group_id, self._outputs(ctx, group, name, inputs)

    def _outputs(self, ctx: StepContext, group: dict[str, Any], name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": group.get("SecurityGroupArn") or ec2_common.ec2_arn(ctx, "security-group", group["GroupId"]),
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
            "tags": ctx.read_tags(group.get("Tags")),
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
        sync_tags(ec2, resource_id, ctx.read_tags(group.get("Tags")), news.get("tags"))
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
        ec2_common.delete_with_retry(
            lambda: ec2.delete_security_group(GroupId=resource_id), f"security group {resource_id}"
        )

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        groups = ctx.aws.client("ec2").describe_security_groups(Filters=ec2_common.urn_filter(ctx))["SecurityGroups"]
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
    # revokeRulesOnDelete is accepted and, as in the provider ("Not used"), does nothing: delete only forgets.
    implemented = frozenset({"vpcId", "ingress", "egress", "revokeRulesOnDelete"})
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
        sync_tags(ec2, group["GroupId"], ctx.read_tags(group.get("Tags")), inputs.get("tags"))

    def _outputs(self, ctx: StepContext, group: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": group.get("SecurityGroupArn") or ec2_common.ec2_arn(ctx, "security-group", group["GroupId"]),
            "ownerId": group.get("OwnerId") or ctx.aws.account_id,
            "name": group.get("GroupName", "default"),
            "description": group.get("Description"),
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        group = describe_group(ctx.aws.client("ec2"), resource_id)
        if group is None:
            return None
        live: dict[str, Any] = {"vpcId": group.get("VpcId"), "tags": ctx.read_tags(group.get("Tags"))}
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


# ---- standalone rules ----------------------------------------------------------------------------------

# A standalone rule's source, in the order the Terraform provider checks them, and its kind of atom.
_SOURCE_KINDS = (
    ("cidrIpv4", "cidr"),
    ("cidrIpv6", "cidr6"),
    ("prefixListId", "prefix"),
    ("referencedSecurityGroupId", "group"),
)


_RULE_RENAMES = {"referencedSecurityGroupId": "ReferencedGroupId"}  # Terraform's referenced_security_group_id


def _rule_request(ec2: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """The rule in ``ModifySecurityGroupRules``' ``SecurityGroupRuleRequest`` shape (names, integers: the model's)."""
    protocol = _protocol(inputs["ipProtocol"])
    # "All traffic" has no ports; whatever the program wrote for them is not sent.
    ports = ("fromPort", "toPort") if protocol != "-1" else ()
    rule = {key: inputs[key] for key in ports if inputs.get(key) is not None}
    rule.update({key: inputs[key] for key in (*(key for key, _ in _SOURCE_KINDS), "description") if inputs.get(key)})
    shape = input_shape(ec2, "ModifySecurityGroupRules", "SecurityGroupRules", "SecurityGroupRule")
    converted: dict[str, Any] = to_api(shape, {"ipProtocol": protocol, **rule}, _RULE_RENAMES)
    return converted


def _permission(inputs: dict[str, Any]) -> dict[str, Any]:
    """The rule as one ``IpPermission`` (what Authorize* takes)."""
    protocol = _protocol(inputs["ipProtocol"])
    low, high = _ports(protocol, inputs.get("fromPort"), inputs.get("toPort"))
    source = next(((kind, str(inputs[key])) for key, kind in _SOURCE_KINDS if inputs.get(key)), None)
    if source is None:
        raise HandlerError("a security group rule needs cidrIpv4, cidrIpv6, prefixListId or referencedSecurityGroupId")
    return atom_permission((protocol, low, high, *source, str(inputs.get("description") or "")))


class _SecurityGroupRuleHandler(Handler):
    service = "ec2"
    implemented = frozenset(
        {
            "securityGroupId",
            "ipProtocol",
            "fromPort",
            "toPort",
            "description",
            *(key for key, _ in _SOURCE_KINDS),
        }
    )
    computed = ("arn", "securityGroupRuleId")
    egress: ClassVar[bool]

    @property
    def _direction(self) -> str:
        return "egress" if self.egress else "ingress"

    def _outputs(self, ctx: StepContext, rule_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        arn = f"arn:{ctx.aws.partition}:ec2:{ctx.aws.region}:{ctx.aws.account_id}:security-group-rule/{rule_id}"
        return {"arn": arn, "securityGroupRuleId": rule_id, "tagsAll": dict(inputs.get("tags") or {})}

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        authorize = getattr(ctx.aws.client("ec2"), f"authorize_security_group_{self._direction}")
        answer = authorize(
            GroupId=inputs["securityGroupId"],
            IpPermissions=[_permission(inputs)],
            TagSpecifications=ec2_common.tag_specs("security-group-rule", ctx, inputs.get("tags")),
        )
        rules = answer.get("SecurityGroupRules") or []
        if not rules:
            raise HandlerError("AWS authorised the rule but returned no rule id")
        rule_id = rules[0]["SecurityGroupRuleId"]
        return rule_id, self._outputs(ctx, rule_id, inputs)

    def _describe(self, ctx: StepContext, rule_id: str) -> dict[str, Any] | None:
        describe = ctx.aws.client("ec2").describe_security_group_rules
        rules = describe_items(describe, "SecurityGroupRules", SecurityGroupRuleIds=[rule_id])
        found = [rule for rule in rules if bool(rule.get("IsEgress")) == self.egress]
        return found[0] if found else None

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        rule = self._describe(ctx, resource_id)
        if rule is None:
            return None
        protocol = _protocol(rule.get("IpProtocol", "-1"))
        live: dict[str, Any] = {
            "securityGroupId": rule.get("GroupId"),
            # Report the recorded spelling ("6" or "tcp", "all" or "-1") when it means the same protocol.
            "ipProtocol": inputs.get("ipProtocol") if _protocol(inputs.get("ipProtocol", "")) == protocol else protocol,
            "fromPort": rule.get("FromPort"),
            "toPort": rule.get("ToPort"),
            "cidrIpv4": rule.get("CidrIpv4"),
            "cidrIpv6": rule.get("CidrIpv6"),
            "prefixListId": rule.get("PrefixListId"),
            "referencedSecurityGroupId": (rule.get("ReferencedGroupInfo") or {}).get("GroupId"),
            "description": rule.get("Description"),
            "tags": ctx.read_tags(rule.get("Tags")),
        }
        if protocol == "-1":
            # "All traffic" has no ports; whatever the program wrote for them is not drift.
            live.pop("fromPort")
            live.pop("toPort")
        # Keys the program sets, plus any source it does not set but AWS has (a changed source is drift).
        return {key: value for key, value in live.items() if key in inputs or (value is not None and key != "tags")}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        ec2 = ctx.aws.client("ec2")
        rule = self._describe(ctx, resource_id)
        if rule is None:
            raise HandlerError(f"security group rule {resource_id} no longer exists")
        live = self.read(ctx, resource_id, news) or {}
        if any(live.get(key) != news.get(key) for key in live if key != "tags"):
            ec2.modify_security_group_rules(
                GroupId=news["securityGroupId"],
                SecurityGroupRules=[
                    {"SecurityGroupRuleId": resource_id, "SecurityGroupRule": _rule_request(ec2, news)}
                ],
            )
        sync_tags(ec2, resource_id, ctx.read_tags(rule.get("Tags")), news.get("tags"))
        return {**outputs, **self._outputs(ctx, resource_id, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        revoke = getattr(ctx.aws.client("ec2"), f"revoke_security_group_{self._direction}")
        # The rule or its whole group may already be gone.
        ignore_missing(lambda: revoke(GroupId=inputs["securityGroupId"], SecurityGroupRuleIds=[resource_id]))

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        describe = ctx.aws.client("ec2").describe_security_group_rules
        rules = describe(Filters=ec2_common.urn_filter(ctx))["SecurityGroupRules"]
        rules = [r for r in rules if bool(r.get("IsEgress")) == self.egress]
        if not rules:
            return None
        return rules[0]["SecurityGroupRuleId"], self._outputs(ctx, rules[0]["SecurityGroupRuleId"], inputs)


class SecurityGroupIngressRuleHandler(_SecurityGroupRuleHandler):
    type = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    egress = False


class SecurityGroupEgressRuleHandler(_SecurityGroupRuleHandler):
    type = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
    egress = True


HANDLERS: tuple[type[Handler], ...] = (
    SecurityGroupHandler,
    DefaultSecurityGroupHandler,
    SecurityGroupIngressRuleHandler,
    SecurityGroupEgressRuleHandler,
)
