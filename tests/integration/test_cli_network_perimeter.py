"""The network perimeter and the visible overrides, through the real CLI and emulator, checked with boto3.

One level1 environment with two security overrides (key rotation off, artifact versioning off):

* ``preview`` and ``up`` name both overrides as warnings (text, and the plan document's diagnostics);
* the overrides are applied, not just accepted: the key does not rotate, the artifact bucket's
  versioning is suspended (the access-log bucket's is not);
* every VPC endpoint carries its policy: S3's gateway admits the platform's bucket (for the account's
  identities) and ECR's layer bucket, the interface endpoints only the account;
* the workload security group allows HTTPS to S3's prefix list, the one AWS assigns to the gateway
  endpoint's service;
* a second preview finds nothing to change (the rule's description and the policies read back equal).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.cli import Cli

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
PLATFORM = "mlp-local"
ENV_FILE = """\
target: local
region: us-east-1
overrides:
  encryption:
    key_rotation: false
  artifact_store:
    versioning: false
"""


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("perimeter")
    (root / "work" / "stacks").mkdir(parents=True)
    (root / "work" / "stacks" / "local.yaml").write_text(ENV_FILE, encoding="utf-8")
    runner = Cli(root / "work", root / "state")
    try:
        yield runner
    finally:
        runner.stop_emulator()


@pytest.fixture(scope="module")
def deployed(cli: Cli) -> dict[str, Any]:
    preview = cli.json("preview", "--blueprint", "level1")
    text = cli.run("preview", "--blueprint", "level1").stdout
    result = cli.run("up", "--blueprint", "level1", "--yes", "--json")
    return {"preview": preview, "preview_text": text, "up": json.loads(result.stdout), "up_stderr": result.stderr}


def test_preview_and_up_name_each_override(deployed: dict[str, Any]) -> None:
    warnings = [d["message"] for d in deployed["preview"]["diagnostics"] if d["severity"] == "warning"]
    named = [w for w in warnings if w.startswith("security override: ")]
    assert [w.split(":")[1].strip() for w in named] == ["encryption.key_rotation", "artifact_store.versioning"]
    assert "(stacks/local.yaml:5)" in named[0] and "(stacks/local.yaml:7)" in named[1]
    for text in (deployed["preview_text"], deployed["up_stderr"]):  # up --json shows the plan on stderr
        assert "warning: security override: encryption.key_rotation: false (stacks/local.yaml:5)" in text
        assert "warning: security override: artifact_store.versioning: false (stacks/local.yaml:7)" in text
    assert deployed["up"]["failed"] == 0


def test_the_overrides_are_applied(cli: Cli, deployed: dict[str, Any]) -> None:
    outputs = deployed["up"]["outputs"]
    assert cli.client("kms").get_key_rotation_status(KeyId=outputs["kms_key_arn"])["KeyRotationEnabled"] is False
    s3 = cli.client("s3")
    assert s3.get_bucket_versioning(Bucket=outputs["artifact_bucket"])["Status"] == "Suspended"
    assert s3.get_bucket_versioning(Bucket=f"{PLATFORM}-access-logs-{ACCOUNT}")["Status"] == "Enabled"


def _endpoints(cli: Cli) -> dict[str, dict[str, Any]]:
    found = cli.client("ec2").describe_vpc_endpoints(Filters=[{"Name": "tag:mlplatform:env", "Values": ["local"]}])
    live = [e for e in found["VpcEndpoints"] if e["State"].lower() != "deleted"]
    return {e["ServiceName"].removeprefix("com.amazonaws.us-east-1."): e for e in live}


def test_the_s3_gateway_endpoint_admits_the_platforms_bucket_and_ecrs_layers(
    cli: Cli, deployed: dict[str, Any]
) -> None:
    bucket = deployed["up"]["outputs"]["artifact_bucket"]
    gateway = _endpoints(cli)["s3"]
    statements = {s["Sid"]: s for s in json.loads(gateway["PolicyDocument"])["Statement"]}
    assert set(statements) == {"PlatformBuckets", "EcrImageLayers"}
    assert sorted(statements["PlatformBuckets"]["Resource"]) == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    assert statements["PlatformBuckets"]["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}
    assert statements["EcrImageLayers"]["Resource"] == ["arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"]


def test_the_interface_endpoints_admit_only_the_account(cli: Cli, deployed: dict[str, Any]) -> None:
    interfaces = {name: e for name, e in _endpoints(cli).items() if e["VpcEndpointType"] == "Interface"}
    assert {"sagemaker.api", "sagemaker.runtime"} <= set(interfaces)
    for name, endpoint in interfaces.items():
        [statement] = json.loads(endpoint["PolicyDocument"])["Statement"]
        condition = {"StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:ResourceAccount": ACCOUNT}}
        assert statement["Condition"] == condition, name


def test_workloads_may_reach_s3_through_its_prefix_list(cli: Cli, deployed: dict[str, Any]) -> None:
    ec2 = cli.client("ec2")
    [group] = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{PLATFORM}-workloads"]}])[
        "SecurityGroups"
    ]
    [s3] = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.us-east-1.s3"]}])[
        "PrefixLists"
    ]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group["GroupId"]]}])
    to_s3 = [r for r in rules["SecurityGroupRules"] if r["IsEgress"] and r.get("PrefixListId")]
    assert [(r["PrefixListId"], r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in to_s3] == [
        (s3["PrefixListId"], "tcp", 443, 443)
    ]
    assert to_s3[0]["Description"] == "HTTPS to S3 through the gateway endpoint"


def test_a_second_preview_changes_nothing(cli: Cli, deployed: dict[str, Any]) -> None:
    cli.run("preview", "--refresh", "--expect-no-changes")
