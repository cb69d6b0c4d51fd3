"""``mlplatform export --format terraform-plan``: the offline plan as Terraform plan JSON for scanners.

Structure (what Checkov and Trivy read), names (Terraform types and attributes, not Pulumi's), the
references that connect a bucket to its separate configuration resources, the refusal to export what
it cannot map or an empty plan, and the CLI contract. Checkov itself runs in CI through
``scripts/checkov`` (its own virtualenv; .ci/run calls it after the tests), not from here.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlplatform.app.offline import plan_offline
from mlplatform.engine.offline import OfflinePlan, PlannedResource
from mlplatform.engine.values import UNKNOWN, secret
from mlplatform.render.terraform import (
    TERRAFORM_TYPES,
    ExportError,
    UnsupportedExportTypeError,
    snake,
    terraform_plan,
)
from tests.unit.conftest import Run

REPO_ROOT = Path(__file__).resolve().parents[2]
BUCKET_CONFIG_TYPES = {
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_logging",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_notification",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_ownership_controls",
}


@pytest.fixture(scope="module")
def level2() -> dict[str, Any]:
    return terraform_plan(plan_offline("local", "level2"))


def by_address(doc: dict[str, Any], section: str = "planned") -> dict[str, dict[str, Any]]:
    if section == "planned":
        items = doc["planned_values"]["root_module"]["resources"]
    elif section == "changes":
        items = doc["resource_changes"]
    else:
        items = doc["configuration"]["root_module"]["resources"]
    return {item["address"]: item for item in items}


def of_type(doc: dict[str, Any], tf_type: str, section: str = "planned") -> list[dict[str, Any]]:
    return [item for item in by_address(doc, section).values() if item["type"] == tf_type]


# ---- structure -------------------------------------------------------------------------------------


def test_document_has_terraform_plan_structure(level2: dict[str, Any]) -> None:
    assert level2["format_version"] == "1.2"
    assert re.fullmatch(r"\d+\.\d+\.\d+", level2["terraform_version"])
    planned = level2["planned_values"]["root_module"]["resources"]
    assert len(planned) > 50
    for resource in planned:
        assert set(resource) >= {"address", "mode", "type", "name", "provider_name", "values"}
        assert resource["mode"] == "managed"
        assert resource["address"] == f"{resource['type']}.{resource['name']}"
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", resource["name"])
        assert resource["provider_name"] == "registry.terraform.io/hashicorp/aws"
        assert isinstance(resource["values"], dict)
    assert len(by_address(level2)) == len(planned), "addresses are unique"
    changes = by_address(level2, "changes")
    assert set(changes) == set(by_address(level2))
    for address, change in changes.items():
        assert change["change"]["actions"] == ["create"]
        assert change["change"]["before"] is None
        assert change["change"]["after"] == by_address(level2)[address]["values"]
    configured = by_address(level2, "configuration")
    assert set(configured) == set(by_address(level2))
    assert all(item["provider_config_key"] == "aws" for item in configured.values())
    assert level2["configuration"]["provider_config"]["aws"]["expressions"]["region"]["constant_value"] == "us-east-1"


def test_every_component_resource_type_has_a_terraform_type() -> None:
    """Every pulumi-aws class the components instantiate is in the table (a miss would fail an export)."""
    used = set()
    for path in (REPO_ROOT / "mlplatform" / "components").glob("*.py"):
        used |= set(re.findall(r"aws\.([a-z0-9_]+)\.([A-Z][A-Za-z0-9]+)\(", path.read_text(encoding="utf-8")))
    assert used, "the scan found the components' resources"
    for module, name in sorted(used):
        cls = getattr(importlib.import_module(f"pulumi_aws.{module}"), name)
        tokens = set(re.findall(r"'(aws:[a-zA-Z0-9]+/[A-Za-z0-9]+:[A-Za-z0-9]+)'", inspect.getsource(cls)))
        assert tokens, f"no type token found for aws.{module}.{name}"
        for token in tokens:
            assert token in TERRAFORM_TYPES, f"aws.{module}.{name} ({token}) has no Terraform type"


def test_terraform_types_are_valid_names() -> None:
    for token, tf_type in TERRAFORM_TYPES.items():
        assert token.startswith("aws:")
        assert re.fullmatch(r"aws_[a-z0-9_]+", tf_type), tf_type


# ---- values ----------------------------------------------------------------------------------------


def test_values_use_terraform_names_and_shapes(level2: dict[str, Any]) -> None:
    [repo, *_] = of_type(level2, "aws_ecr_repository")
    values = repo["values"]
    assert values["image_tag_mutability"] == "IMMUTABLE"
    assert values["image_scanning_configuration"] == [{"scan_on_push": True}], "a single block is a 1-item list"
    assert values["encryption_configuration"][0]["encryption_type"] == "KMS", "Pulumi's plural is undone"
    assert "encryptionConfigurations" not in values and "encryption_configurations" not in values
    assert values["tags"]["mlplatform:component"] == "container_registry", "map keys are data, not renamed"

    for sse in of_type(level2, "aws_s3_bucket_server_side_encryption_configuration"):
        rule = sse["values"]["rule"]
        assert rule[0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] in ("aws:kms", "AES256")
    for lifecycle in of_type(level2, "aws_s3_bucket_lifecycle_configuration"):
        assert lifecycle["values"]["rule"][0]["status"] == "Enabled"
        assert isinstance(lifecycle["values"]["rule"][0]["noncurrent_version_expiration"], list)

    [config] = of_type(level2, "aws_sagemaker_endpoint_configuration")
    capture = config["values"]["data_capture_config"][0]
    assert [option["capture_mode"] for option in capture["capture_options"]] == ["Input", "Output"]
    assert config["values"]["production_variants"][0]["initial_instance_count"] == 1
    for group in of_type(level2, "aws_cloudwatch_log_group"):
        assert group["values"]["retention_in_days"] == 365 and isinstance(group["values"]["retention_in_days"], int)
    [pipeline] = of_type(level2, "aws_codepipeline")
    assert [stage["name"] for stage in pipeline["values"]["stage"]][:2] == ["Source", "Build"]
    assert pipeline["values"]["stage"][1]["action"][0]["configuration"]["ProjectName"].endswith("-build")


def test_unknown_values_are_left_out_and_marked(level2: dict[str, Any]) -> None:
    changes = by_address(level2, "changes")
    for sse in of_type(level2, "aws_s3_bucket_server_side_encryption_configuration"):
        assert "bucket" not in sse["values"]
        unknown = changes[sse["address"]]["change"]["after_unknown"]
        assert unknown["bucket"] is True
    [endpoint] = of_type(level2, "aws_vpc_endpoint", "planned")[:1]
    assert UNKNOWN not in json.dumps(level2)
    assert "<computed>" not in json.dumps(level2)
    assert endpoint["values"]["vpc_endpoint_type"] in ("Gateway", "Interface")


def test_snake_case() -> None:
    assert snake("kmsKeyId") == "kms_key_id"
    assert snake("s3Uri") == "s3_uri"
    assert snake("enableDnsHostnames") == "enable_dns_hostnames"
    assert snake("bucket") == "bucket"


# ---- references ------------------------------------------------------------------------------------


def test_references_connect_bucket_configuration_to_its_bucket(level2: dict[str, Any]) -> None:
    planned = by_address(level2)
    buckets = {item["address"] for item in of_type(level2, "aws_s3_bucket")}
    connected: dict[str, set[str]] = {bucket: set() for bucket in buckets}
    for item in level2["configuration"]["root_module"]["resources"]:
        if item["type"] not in BUCKET_CONFIG_TYPES:
            continue
        references = item["expressions"]["bucket"]["references"]
        assert references[1] in buckets and references[0] == f"{references[1]}.id"
        assert references[1] in planned
        connected[references[1]].add(item["type"])
    for bucket, types in connected.items():
        assert types >= BUCKET_CONFIG_TYPES - {"aws_s3_bucket_logging"}, bucket
    assert any("aws_s3_bucket_logging" in types for types in connected.values())


def test_nested_references_point_at_the_kms_key(level2: dict[str, Any]) -> None:
    configured = by_address(level2, "configuration")
    [key] = [address for address in configured if address.startswith("aws_kms_key.")]
    sse = configured["aws_s3_bucket_server_side_encryption_configuration.artifact-store-artifacts-encryption"]
    leaf = sse["expressions"]["rule"][0]["apply_server_side_encryption_by_default"][0]["kms_master_key_id"]
    assert leaf["references"] == [f"{key}.arn", key]
    [config] = of_type(level2, "aws_sagemaker_endpoint_configuration", "configuration")
    capture = config["expressions"]["data_capture_config"][0]
    assert capture["kms_key_id"]["references"][1] == key, "a block's KMS attribute refers to the key, not the bucket"
    assert all(not ref.startswith("aws_s3_bucket") for ref in capture["kms_key_id"]["references"])


# ---- synthetic plans: errors, secrets, names ---------------------------------------------------------


def resource(name: str, type_: str = "aws:s3/bucket:Bucket", **inputs: Any) -> PlannedResource:
    return PlannedResource(
        urn=f"urn:pulumi:t::mlplatform::{type_}::{name}", type=type_, name=name, component=None, inputs=inputs
    )


def plan_of(*resources: PlannedResource) -> OfflinePlan:
    return OfflinePlan("t", "level0", "local", "us-east-1", list(resources))


def test_unknown_type_is_an_error() -> None:
    with pytest.raises(UnsupportedExportTypeError, match=r"aws:foo/bar:Bar \(thing\)"):
        terraform_plan(plan_of(resource("b"), resource("thing", "aws:foo/bar:Bar")))


def test_zero_resources_is_an_error() -> None:
    with pytest.raises(ExportError, match="no resources"):
        terraform_plan(plan_of())


def test_secrets_are_never_written_and_are_marked_sensitive() -> None:
    doc = terraform_plan(plan_of(resource("b", bucket="x", tags={"token": secret("hunter2")})))
    assert "hunter2" not in json.dumps(doc)
    change = doc["resource_changes"][0]["change"]
    assert change["after_sensitive"] == {"tags": {"token": True}}


def test_unknown_list_items_become_null_and_are_marked() -> None:
    doc = terraform_plan(
        plan_of(resource("e", "aws:ec2/vpcEndpoint:VpcEndpoint", subnetIds=["subnet-1", UNKNOWN], vpcId=UNKNOWN))
    )
    assert doc["planned_values"]["root_module"]["resources"][0]["values"] == {"subnet_ids": ["subnet-1", None]}
    assert doc["resource_changes"][0]["change"]["after_unknown"] == {
        "subnet_ids": [False, True],
        "vpc_id": True,
        "id": True,
    }


def test_names_are_sanitised_and_unique_per_type() -> None:
    doc = terraform_plan(plan_of(resource("a.b"), resource("a_b"), resource("9lives")))
    addresses = sorted(item["address"] for item in doc["planned_values"]["root_module"]["resources"])
    assert addresses == ["aws_s3_bucket._9lives", "aws_s3_bucket.a_b", "aws_s3_bucket.a_b_2"]


# ---- CLI ---------------------------------------------------------------------------------------------


@pytest.fixture
def no_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Export must never start or contact the emulator."""
    from mlplatform import emulator

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("export touched the emulator")

    for name in ("ensure_running", "status", "check_reachable"):
        monkeypatch.setattr(emulator, name, refuse)


def test_cli_writes_plan_json_to_stdout(run: Run, no_emulator: None) -> None:
    result = run("export", "--blueprint", "level0")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["format_version"] == "1.2"
    assert any(item["type"] == "aws_kms_key" for item in doc["planned_values"]["root_module"]["resources"])


def test_cli_writes_to_output_file(run: Run, tmp_path: Path, no_emulator: None) -> None:
    target = tmp_path / "plan.json"
    result = run("export", "--env", "local", "--blueprint", "level1", "--format", "terraform-plan", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text(encoding="utf-8"))["planned_values"]["root_module"]["resources"]


def test_cli_exports_a_target_aws_environment_without_credentials(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_emulator: None
) -> None:
    (tmp_path / "stacks").mkdir()
    shutil.copy(REPO_ROOT / "stacks" / "prod.yaml", tmp_path / "stacks" / "prod.yaml")
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    result = run("export", "--env", "prod")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["configuration"]["provider_config"]["aws"]["expressions"]["region"]["constant_value"] == "eu-west-1"
    assert any(item["type"] == "aws_codepipeline" for item in doc["planned_values"]["root_module"]["resources"])


def test_cli_rejects_unknown_format(run: Run) -> None:
    result = run("export", "--format", "cloudformation")
    assert result.exit_code == 2
    assert "unknown export format" in result.stderr


def test_cli_unknown_environment_exits_6(run: Run) -> None:
    result = run("export", "--env", "nowhere")
    assert result.exit_code == 6


def test_cli_unsupported_type_exits_1(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlplatform.render import terraform

    monkeypatch.delitem(terraform.TERRAFORM_TYPES, "aws:kms/key:Key")
    result = run("export", "--blueprint", "level0")
    assert result.exit_code == 1
    assert "aws:kms/key:Key" in result.stderr


# ---- the skip list (scripts/checkov runs Checkov itself, in CI from .ci/run) ----------------------------


def test_every_skip_has_a_reason_and_is_documented() -> None:
    """docs/security-skips.txt (what scripts/checkov reads) and docs/security.md (why) agree."""
    documented = (REPO_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    lines = (REPO_ROOT / "docs" / "security-skips.txt").read_text(encoding="utf-8").splitlines()
    skips = [line.split(maxsplit=2) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert skips
    for check_id, scope, *reason in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", check_id), check_id
        assert scope == "*" or re.fullmatch(r"aws_[a-z0-9_]+\.[A-Za-z_][A-Za-z0-9_-]*", scope), scope
        assert reason and len(reason[0]) > 20, f"{check_id} needs a reason"
        assert f"`{check_id}`" in documented, f"{check_id} is not explained in docs/security.md"
        assert scope == "*" or f"`{scope}`" in documented
