"""Issue 8, items 3 and 4 with real calls: the workload roles in the emulator, IAM access control on.

``mlplatform up --blueprint level2`` deploys the platform; then

* every role, trust, key and topic policy ``mlplatform export`` shows scanners (ARNs derived offline from
  names, account, region and partition) is the policy the emulator really holds, read back with boto3,
  once the placeholders for ids AWS assigns are replaced by the assigned ids;
* each workload role is assumed and the emulator's IAM access control is switched on (moto's
  ``INITIAL_NO_AUTH_ACTION_COUNT``, through its ``/moto-api/reset-auth``): S3 calls with the role's
  credentials are allowed or denied by its policy, prefix by prefix. A notebook user cannot overwrite a
  model artifact or drop a file under the retraining prefix; serving reads models and writes only its
  capture. (moto evaluates actions and resource ARNs; it ignores the policies' conditions, which
  ``tests/unit/test_job_conditions.py`` and ``test_workload_roles.py`` evaluate on the documents.)
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlplatform.engine.offline import PLACEHOLDER
from tests.integration.cli import Cli

pytestmark = pytest.mark.integration

PLATFORM = "mlp-local"
ACCOUNT = "123456789012"
ENDPOINT_NAME = f"{PLATFORM}-demo"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("roles")
    (root / "work").mkdir()
    cli = Cli(root / "work", root / "state")
    try:
        result = cli.json("up", "--blueprint", "level2", "--yes")
        assert result["failed"] == 0, result["summary"]
        yield cli, result["outputs"]
    finally:
        _access_control(cli, on=False)
        cli.stop_emulator()


def _access_control(cli: Cli, *, on: bool) -> None:
    """Require signed, authorized requests from now on (``on``), or accept every request again."""
    request = urllib.request.Request(
        f"{cli.endpoint()}/moto-api/reset-auth",
        data=b"0" if on else b"inf",
        method="POST",
        headers={"Content-Type": "text/plain"},  # moto reads the raw body, which a form body would not be
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _exported_policies(cli: Cli, tmp_path: Path, outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Terraform address -> the policy document the offline export shows, with the placeholders for ids
    AWS assigns replaced by the ids the emulator assigned."""
    plan = tmp_path / "plan.json"
    cli.run("export", "--blueprint", "level2", "--output", str(plan))
    text = plan.read_text(encoding="utf-8")
    ec2 = cli.client("ec2")
    groups = {g["GroupName"]: g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assigned = {
        f"{PLACEHOLDER}-{PLATFORM}-encryption-key": outputs["kms_key_arn"].rsplit("/", 1)[1],
        f"vpc-{PLACEHOLDER}-{PLATFORM}-network-vpc": outputs["vpc_id"],
        f"sg-{PLACEHOLDER}-{PLATFORM}-network-workload-sg": groups[f"{PLATFORM}-workloads"],
        f"sg-{PLACEHOLDER}-{PLATFORM}-network-endpoints-sg": groups[f"{PLATFORM}-vpc-endpoints"],
        **{
            f"subnet-{PLACEHOLDER}-{PLATFORM}-network-private-{index}": subnet
            for index, subnet in enumerate(outputs["subnet_ids"])
        },
    }
    for placeholder, value in assigned.items():
        text = text.replace(placeholder, value)
    assert PLACEHOLDER not in text, "a placeholder the test does not know"
    documents = {}
    for item in json.loads(text)["planned_values"]["root_module"]["resources"]:
        for attribute in ("policy", "assume_role_policy"):
            value = item["values"].get(attribute)
            if isinstance(value, str) and '"Statement"' in value:
                documents[f"{item['address']}.{attribute}"] = {"values": item["values"], **json.loads(value)}
    return documents


def test_the_export_shows_the_policies_aws_really_has(deployed: tuple[Cli, dict[str, Any]], tmp_path: Path) -> None:
    """Every role, trust, key and topic policy of the export is the one deployed (ids AWS assigns aside)."""
    cli, outputs = deployed
    iam, kms, sns = cli.client("iam"), cli.client("kms"), cli.client("sns")
    checked = 0
    for where, exported in _exported_policies(cli, tmp_path, outputs).items():
        values = exported.pop("values")
        kind = where.split(".")[0]
        if kind == "aws_iam_role_policy":
            real = iam.get_role_policy(RoleName=values["role"], PolicyName=values["name"])["PolicyDocument"]
        elif kind == "aws_iam_role":
            real = iam.get_role(RoleName=values["name"])["Role"]["AssumeRolePolicyDocument"]
        elif kind == "aws_kms_key":
            real = json.loads(kms.get_key_policy(KeyId=outputs["kms_key_arn"], PolicyName="default")["Policy"])
        elif kind == "aws_sns_topic_policy":
            real = json.loads(sns.get_topic_attributes(TopicArn=values["arn"])["Attributes"]["Policy"])
        else:
            continue  # bucket policies: the export does not know which bucket (its id is AWS's)
        assert exported == real, where
        checked += 1
    assert checked >= 20, checked


def _as(cli: Cli, role_arn: str) -> Any:
    """An S3 client with the credentials of ``role_arn`` (assumed while access control is still off)."""
    credentials = cli.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]
    return boto3.client(
        "s3",
        endpoint_url=cli.endpoint(),
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _can(client: Any, action: str, bucket: str, key: str) -> bool:
    try:
        if action == "put":
            client.put_object(Bucket=bucket, Key=key, Body=b"x")
        else:
            client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        assert error.response["Error"]["Code"] in ("AccessDenied", "403"), error.response
        return False
    return True


def test_each_role_reaches_only_its_own_prefixes(deployed: tuple[Cli, dict[str, Any]]) -> None:
    cli, outputs = deployed
    bucket = outputs["artifact_bucket"]
    seeded = ["models/churn/1/model.tar.gz", "incoming/batch.csv", f"capture/{ENDPOINT_NAME}/x.jsonl"]
    admin = cli.client("s3")
    for key in seeded:
        admin.put_object(Bucket=bucket, Key=key, Body=b"seed")
    user, serving, training, monitoring = (
        _as(cli, outputs[f"{workload}_role_arn"]) for workload in ("user", "serving", "training", "monitoring")
    )
    _access_control(cli, on=True)
    try:
        # Access control is really on: the credentials the tests use otherwise are refused now.
        with pytest.raises(ClientError, match="InvalidAccessKeyId"):
            admin.get_object(Bucket=bucket, Key="models/churn/1/model.tar.gz")

        assert not _can(user, "put", bucket, "models/churn/1/model.tar.gz")
        assert not _can(user, "put", bucket, "incoming/poisoned.csv")
        assert not _can(user, "put", bucket, "training/job/output/model.tar.gz")
        assert not _can(user, "get", bucket, f"capture/{ENDPOINT_NAME}/x.jsonl")
        assert _can(user, "put", bucket, "experiments/alice/result.csv")
        assert _can(user, "get", bucket, "incoming/batch.csv")

        assert _can(serving, "get", bucket, "models/churn/1/model.tar.gz")
        assert not _can(serving, "put", bucket, "models/churn/1/model.tar.gz")
        assert not _can(serving, "get", bucket, "incoming/batch.csv")
        assert _can(serving, "put", bucket, f"capture/{ENDPOINT_NAME}/{ENDPOINT_NAME}/primary/y.jsonl")

        assert _can(training, "get", bucket, "incoming/batch.csv")
        assert not _can(training, "put", bucket, "models/churn/1/model.tar.gz")
        assert _can(training, "put", bucket, "training/job/output/model.tar.gz")

        assert _can(monitoring, "get", bucket, f"capture/{ENDPOINT_NAME}/x.jsonl")
        assert not _can(monitoring, "put", bucket, "models/churn/1/model.tar.gz")
        assert _can(monitoring, "put", bucket, f"monitoring/{ENDPOINT_NAME}/report.json")
    finally:
        _access_control(cli, on=False)
    assert admin.get_object(Bucket=bucket, Key="models/churn/1/model.tar.gz")["Body"].read() == b"seed"
