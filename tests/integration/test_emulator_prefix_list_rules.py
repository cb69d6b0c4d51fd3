"""moto gap: a security group rule to a prefix list loses its description (filled by the emulator server).

The workload security group's HTTPS-to-S3 rule names S3's prefix list. moto 5.2.5 keeps only the prefix list's
id, so ``DescribeSecurityGroupRules`` answers without the description and every refresh would report the
rule as changed outside mlplatform. ``plain`` is moto's own server (from test_emulator_patches), ``endpoint``
the session's ``mlplatform.emulator.server``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.test_emulator_patches import _client, plain  # noqa: F401 - `plain` is a fixture

pytestmark = pytest.mark.integration


def _prefix_list_rule(url: str) -> dict[str, Any]:
    ec2 = _client(url, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName=f"s3-{time.monotonic_ns()}", Description="d", VpcId=vpc)["GroupId"]
    [s3] = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.us-east-1.s3"]}])[
        "PrefixLists"
    ]
    rule = ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": s3["PrefixListId"], "Description": "HTTPS to S3"}],
            }
        ],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    described = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule])["SecurityGroupRules"][0]
    assert described["PrefixListId"] == s3["PrefixListId"]
    return dict(described)


def test_prefix_list_rule_description_missing_on_plain_moto(plain: str) -> None:  # noqa: F811
    assert "Description" not in _prefix_list_rule(plain)


def test_prefix_list_rule_description_through_the_emulator(endpoint: str) -> None:
    assert _prefix_list_rule(endpoint)["Description"] == "HTTPS to S3"
