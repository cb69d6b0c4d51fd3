"""Standalone security group rules (pulumi-aws v7 module ``vpc``): one ingress or egress rule per resource.

The id is the rule id AWS assigns (``sgr-…``), as in the Terraform provider. Every attribute but the
group can change in place with ``ModifySecurityGroupRules``, which keeps the rule id.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext
from mlplatform.engine.embedded.handlers.common import URN_TAG, is_not_found, tag_dict, tag_list
from mlplatform.engine.embedded.handlers.ec2 import sync_tags, urn_filter

_PROTOCOLS = {"all": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_SOURCES = (
    ("cidrIpv4", "CidrIpv4"),
    ("cidrIpv6", "CidrIpv6"),
    ("prefixListId", "PrefixListId"),
    ("referencedSecurityGroupId", "ReferencedGroupId"),
)


def _protocol(value: Any) -> str:
    text = str(value).lower()
    return _PROTOCOLS.get(text, text)


def _rule_request(inputs: dict[str, Any]) -> dict[str, Any]:
    """The rule in ``ModifySecurityGroupRules``' ``SecurityGroupRuleRequest`` shape."""
    rule: dict[str, Any] = {"IpProtocol": _protocol(inputs["ipProtocol"])}
    if rule["IpProtocol"] != "-1":
        for key, arg in (("fromPort", "FromPort"), ("toPort", "ToPort")):
            if inputs.get(key) is not None:
                rule[arg] = int(inputs[key])
    for key, arg in _SOURCES:
        if inputs.get(key):
            rule[arg] = inputs[key]
    if inputs.get("description"):
        rule["Description"] = inputs["description"]
    return rule


def _permission(inputs: dict[str, Any]) -> dict[str, Any]:
    """The same rule as one ``IpPermission`` (what Authorize* takes)."""
    rule = _rule_request(inputs)
    perm: dict[str, Any] = {key: rule[key] for key in ("IpProtocol", "FromPort", "ToPort") if key in rule}
    extra = {"Description": rule["Description"]} if "Description" in rule else {}
    if "CidrIpv4" in rule:
        perm["IpRanges"] = [{"CidrIp": rule["CidrIpv4"], **extra}]
    elif "CidrIpv6" in rule:
        perm["Ipv6Ranges"] = [{"CidrIpv6": rule["CidrIpv6"], **extra}]
    elif "PrefixListId" in rule:
        perm["PrefixListIds"] = [{"PrefixListId": rule["PrefixListId"], **extra}]
    elif "ReferencedGroupId" in rule:
        perm["UserIdGroupPairs"] = [{"GroupId": rule["ReferencedGroupId"], **extra}]
    else:
        raise HandlerError("a security group rule needs cidrIpv4, cidrIpv6, prefixListId or referencedSecurityGroupId")
    return perm


class _SecurityGroupRuleHandler(Handler):
    service = "ec2"
    replace_on_change = frozenset({"securityGroupId", "region"})
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
        tags = tag_list({**(inputs.get("tags") or {}), URN_TAG: ctx.urn})
        answer = authorize(
            GroupId=inputs["securityGroupId"],
            IpPermissions=[_permission(inputs)],
            TagSpecifications=[{"ResourceType": "security-group-rule", "Tags": tags}],
        )
        rules = answer.get("SecurityGroupRules") or []
        if not rules:
            raise HandlerError("AWS authorised the rule but returned no rule id")
        rule_id = rules[0]["SecurityGroupRuleId"]
        return rule_id, self._outputs(ctx, rule_id, inputs)

    def _describe(self, ctx: StepContext, rule_id: str) -> dict[str, Any] | None:
        try:
            rules = ctx.aws.client("ec2").describe_security_group_rules(SecurityGroupRuleIds=[rule_id])
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        found = [r for r in rules.get("SecurityGroupRules", []) if bool(r.get("IsEgress")) == self.egress]
        return dict(found[0]) if found else None

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
            "tags": tag_dict(rule.get("Tags")),
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
                SecurityGroupRules=[{"SecurityGroupRuleId": resource_id, "SecurityGroupRule": _rule_request(news)}],
            )
        sync_tags(ec2, resource_id, tag_dict(rule.get("Tags")), news.get("tags"))
        return {**outputs, **self._outputs(ctx, resource_id, news)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        revoke = getattr(ctx.aws.client("ec2"), f"revoke_security_group_{self._direction}")
        try:
            revoke(GroupId=inputs["securityGroupId"], SecurityGroupRuleIds=[resource_id])
        except Exception as exc:
            if not is_not_found(exc):  # the rule or its whole group already gone
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        rules = ctx.aws.client("ec2").describe_security_group_rules(Filters=urn_filter(ctx))["SecurityGroupRules"]
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


HANDLERS: tuple[type[Handler], ...] = (SecurityGroupIngressRuleHandler, SecurityGroupEgressRuleHandler)
