"""Fixes for moto's EC2 gaps (security group rule descriptions).

A test named with no file is in tests/integration/test_emulator_patches.py.

- ``describe_group_rule_descriptions``: a rule that references a security group loses its description.
  test_group_rule_description_missing_on_plain_moto
- ``describe_prefix_list_rule_descriptions``: a rule to a prefix list loses its description (wraps the
  previous patch, so it is applied after it).
  tests/integration/test_emulator_prefix_list_rules.py::test_prefix_list_rule_description_missing_on_plain_moto
"""

from __future__ import annotations

import inspect
from typing import Any

from mlplatform.emulator.patches.support import first_time


def describe_group_rule_descriptions() -> None:
    """EC2 ``DescribeSecurityGroupRules`` drops the description of a rule that references a security group.

    moto 5.2.5's ``SecurityGroupRule.description`` reads the description only from the rule's IP range; a rule
    whose source is another security group keeps its description in ``source_group``, so the API answers
    without ``Description`` and every refresh reports the description as changed outside mlplatform.
    """
    from moto.ec2.models.security_groups import SecurityGroupRule as SecurityRule

    if not first_time(SecurityRule, "_mlplatform_group_descriptions"):
        return

    def description(self: Any) -> str | None:
        return self.ip_range.get("Description") or (self.source_group or {}).get("Description")

    SecurityRule.description = property(description)  # type: ignore[assignment,method-assign]


def describe_prefix_list_rule_descriptions() -> None:
    """EC2 ``DescribeSecurityGroupRules`` drops the description of a rule whose destination is a prefix list.

    moto 5.2.5's ``SecurityGroupRule`` keeps only the id of a ``PrefixListIds`` entry and reads descriptions from
    the IP range (or, patched above, the referenced group), so a rule to S3's prefix list (the workload group's
    HTTPS-to-S3 rule) answers without ``Description`` and every refresh reports it as changed.
    """
    from moto.ec2.models.security_groups import SecurityGroupRule as SecurityRule

    if not first_time(SecurityRule, "_mlplatform_prefix_descriptions"):
        return
    original_init = SecurityRule.__init__
    signature = inspect.signature(original_init)
    described = SecurityRule.description

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        prefix_list = signature.bind(self, *args, **kwargs).arguments.get("prefix_list_id") or {}
        self._mlplatform_prefix_description = prefix_list.get("Description")

    def description(self: Any) -> str | None:
        return described.fget(self) or getattr(self, "_mlplatform_prefix_description", None)  # type: ignore[attr-defined]

    SecurityRule.__init__ = __init__  # type: ignore[method-assign]
    SecurityRule.description = property(description)  # type: ignore[assignment,method-assign]
