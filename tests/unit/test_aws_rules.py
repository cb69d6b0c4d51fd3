"""Values that type-check but that AWS refuses mid-deploy: each must fail at validation instead.

The rules read botocore's API models and partition data (:mod:`mlplatform.spec.awsmodel`); these tests
cross-check that reading against botocore's own model API, pin the rules at their boundaries, and run the
program with the longest names validation accepts to prove every physical name it derives is one AWS takes.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from mlplatform import blueprints
from mlplatform.app.conventions import CONVENTIONS
from mlplatform.environments import EnvironmentFile
from mlplatform.spec import aws_rules, awsmodel, tagging
from mlplatform.spec.aws_rules import schedule_problem, subnet_cidrs
from mlplatform.spec.models import (
    BudgetSpec,
    DevEnvironmentSpec,
    EndpointSpec,
    FeatureGroupSpec,
    ModelSpec,
    MonitoringSpec,
    NetworkSpec,
    PipelinesSpec,
    PlatformSpec,
    QualityMonitoringSpec,
    SettingsSpec,
    TrainingSpec,
)
from tests.unit.platform_plans import evaluate

# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


@cache
def _blueprint_data(level: int) -> dict[str, Any]:
    return blueprints.resolve(f"level{level}").data


def platform(level: int = 2, **identity: Any) -> dict[str, Any]:
    return {
        **copy.deepcopy(_blueprint_data(level)),
        "name": "mlp-test",
        "env": "test",
        "blueprint": f"level{level}",
        "level": level,
        "target": "aws",
        "region": "eu-west-1",
        **({} if identity.get("target") == "local" else {"account_id": "111111111111"}),
        **identity,
    }


def errors_of(model: type[BaseModel], data: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return list(caught.value.errors(include_url=False))


def only_error(model: type[BaseModel], data: Any) -> dict[str, Any]:
    errors = errors_of(model, data)
    assert len(errors) == 1, errors
    return errors[0]


@cache
def _botocore_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def _botocore_shape(api: awsmodel.ApiMember) -> Any:
    """The member's shape found with botocore's own model API (not mlplatform's reading of the JSON)."""
    shape = _botocore_model(api.service).operation_model(api.operation).input_shape
    for member in api.member:
        while shape.type_name == "list":
            shape = shape.member
        shape = shape.members[member]
    return shape


def _types(api: awsmodel.ApiMember) -> set[str]:
    return set(_botocore_shape(api).enum)


# ---------------------------------------------------------------------------------------------------
# Reading botocore's model
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", awsmodel.MEMBERS, ids=[api.key for api in awsmodel.MEMBERS])
def test_constraints_match_botocore_s_own_model_api(api: awsmodel.ApiMember) -> None:
    shape = _botocore_shape(api)
    found = awsmodel.constraint(api)

    assert found.shape == shape.name
    assert list(found.enum) == list(getattr(shape, "enum", []) or [])
    assert (found.min, found.max, found.pattern) == (
        shape.metadata.get("min"),
        shape.metadata.get("max"),
        shape.metadata.get("pattern"),
    )


def test_the_instance_type_apis_each_have_their_own_list() -> None:
    training = awsmodel.constraint(awsmodel.TRAINING_INSTANCE)
    endpoints = awsmodel.constraint(awsmodel.ENDPOINT_INSTANCE)

    assert (training.shape, endpoints.shape) == ("TrainingInstanceType", "ProductionVariantInstanceType")
    assert endpoints.where == "ProductionVariants[].InstanceType"
    assert "ml.g5.xlarge" in training.enum and "ml.g5.xlarge" in endpoints.enum
    assert set(training.enum) != set(endpoints.enum)


def test_constraints_are_cached_on_disk_and_read_back_without_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    awsmodel._constraints.cache_clear()
    try:
        first = awsmodel.constraint(awsmodel.ENDPOINT_INSTANCE)
        cached = tmp_path / "mlplatform" / "aws-constraints.json"
        assert cached.is_file()

        awsmodel._constraints.cache_clear()

        def no_model(path: Path) -> Any:
            raise AssertionError(f"read {path} although the cache is current")

        monkeypatch.setattr(awsmodel, "_load_json", no_model)
        assert awsmodel.constraint(awsmodel.ENDPOINT_INSTANCE) == first
    finally:
        awsmodel._constraints.cache_clear()


@pytest.mark.parametrize("damage", ["garbage", "other-fingerprint", "missing-key", "wrong-types"])
def test_a_stale_or_damaged_cache_is_rebuilt_from_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    awsmodel._constraints.cache_clear()
    try:
        expected = awsmodel.constraint(awsmodel.TRAINING_INSTANCE)
        cached = tmp_path / "mlplatform" / "aws-constraints.json"
        document = json.loads(cached.read_text())
        if damage == "garbage":
            cached.write_text("{not json")
        elif damage == "other-fingerprint":
            document["fingerprint"] = "0" * 64
            document["constraints"][awsmodel.TRAINING_INSTANCE.key]["enum"] = ["ml.stale.xlarge"]
            cached.write_text(json.dumps(document))
        elif damage == "missing-key":
            del document["constraints"]
            cached.write_text(json.dumps(document))
        else:
            document["constraints"][awsmodel.TRAINING_INSTANCE.key]["enum"] = 5
            cached.write_text(json.dumps(document))
        awsmodel._constraints.cache_clear()

        assert awsmodel.constraint(awsmodel.TRAINING_INSTANCE) == expected
        assert json.loads(cached.read_text())["constraints"][awsmodel.TRAINING_INSTANCE.key]["enum"] == list(
            expected.enum
        )
    finally:
        awsmodel._constraints.cache_clear()


def test_an_unwritable_cache_directory_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    awsmodel._constraints.cache_clear()
    try:
        assert "ml.g5.xlarge" in awsmodel.constraint(awsmodel.ENDPOINT_INSTANCE).enum
    finally:
        awsmodel._constraints.cache_clear()


def test_tag_and_duplicate_problems_are_reported_with_every_other_problem() -> None:
    data = {"tags": {"aws:x": "v"}, "training": {"spot": "maybe"}, "cicd": {"stages": ["qa", "qa"], "branch": ""}}

    locs = {error["loc"] for error in errors_of(SettingsSpec, data)}

    assert locs == {("tags", "aws:x"), ("training", "spot"), ("cicd", "stages", 1), ("cicd", "branch")}


def test_the_documented_tag_limit_is_botocore_s() -> None:
    assert awsmodel.constraint(awsmodel.TAGS).max == tagging.AWS_TAGS_PER_RESOURCE
    # The character classes aws_rules._tag_text_ok implements.
    assert awsmodel.constraint(awsmodel.TAG_KEY).pattern == r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"
    assert awsmodel.constraint(awsmodel.TAG_VALUE).pattern == r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"


def test_partitions_hold_real_regions_only() -> None:
    regions = awsmodel.all_regions()

    assert {"us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1", "us-iso-east-1"} <= set(regions)
    assert not [region for region in regions if region.endswith("-global")]
    assert awsmodel.partition_of("cn-north-1") == "aws-cn"
    assert awsmodel.partition_of("aws-global") is None


# ---------------------------------------------------------------------------------------------------
# Instance types, per API
# ---------------------------------------------------------------------------------------------------

SPEC_FIELDS = {
    "training": (TrainingSpec, "allowed_instance_types", awsmodel.TRAINING_INSTANCE, True),
    "pipeline-training": (PipelinesSpec, "training_instance_type", awsmodel.TRAINING_INSTANCE, False),
    "processing": (PipelinesSpec, "processing_instance_type", awsmodel.PROCESSING_INSTANCE, False),
    "endpoint": (EndpointSpec, "instance_type", awsmodel.ENDPOINT_INSTANCE, False),
    "monitoring": (QualityMonitoringSpec, "instance_type", awsmodel.MONITORING_INSTANCE, False),
}


def _data(model: type[BaseModel], field: str, value: str, as_list: bool) -> dict[str, Any]:
    data: dict[str, Any] = {field: [value] if as_list else value}
    if model is EndpointSpec:
        data["name"] = "churn"
    return data


@pytest.mark.parametrize("case", list(SPEC_FIELDS), ids=list(SPEC_FIELDS))
def test_gpu_instance_types_are_accepted_where_the_api_offers_them(case: str) -> None:
    model, field, api, as_list = SPEC_FIELDS[case]
    gpu = sorted(t for t in _types(api) if t.startswith(("ml.g5.", "ml.g4dn.")))
    assert gpu

    for instance_type in gpu:
        model.model_validate(_data(model, field, instance_type, as_list))


@pytest.mark.parametrize("case", list(SPEC_FIELDS), ids=list(SPEC_FIELDS))
def test_an_instance_type_the_api_does_not_offer_is_refused_with_close_matches(case: str) -> None:
    model, field, api, as_list = SPEC_FIELDS[case]

    error = only_error(model, _data(model, field, "ml.g5.xlarj", as_list))

    assert error["loc"] == ((field, 0) if as_list else (field,))
    assert error["type"] == "refused"
    assert f"SageMaker {api.operation} (" in error["msg"] and "does not accept this instance type" in error["msg"]
    allowed = error["ctx"]["allowed"]
    assert f"values in botocore {awsmodel.botocore_version()}'s model" in allowed
    assert allowed.split("closest: ")[1].split(", ")[0] == "ml.g5.xlarge"


def test_a_type_valid_for_one_api_is_refused_by_another() -> None:
    notebook_only = sorted(_types(awsmodel.NOTEBOOK_INSTANCE) - _types(awsmodel.ENDPOINT_INSTANCE))
    studio_only = sorted(
        t for t in _types(awsmodel.STUDIO_APP_INSTANCE) - _types(awsmodel.NOTEBOOK_INSTANCE) if t.startswith("ml.")
    )
    assert notebook_only and studio_only

    assert DevEnvironmentSpec.model_validate({"kind": "notebook", "instance_type": notebook_only[0]})
    assert only_error(EndpointSpec, {"name": "churn", "instance_type": notebook_only[0]})["loc"] == ("instance_type",)
    assert DevEnvironmentSpec.model_validate({"kind": "domain", "instance_type": studio_only[0]})
    error = only_error(DevEnvironmentSpec, {"kind": "notebook", "instance_type": studio_only[0]})
    assert error["loc"] == ("instance_type",)
    assert "CreateNotebookInstance" in error["msg"]


def test_packaged_blueprints_and_their_defaults_use_offered_instance_types() -> None:
    for level in (0, 1, 2):
        PlatformSpec.model_validate(platform(level))


# ---------------------------------------------------------------------------------------------------
# Regions
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "us-gov-west-1", "cn-northwest-1", "eusc-de-east-1"])
def test_regions_of_every_partition_are_accepted(region: str) -> None:
    assert PlatformSpec.model_validate(platform(0, region=region)).region == region
    assert EnvironmentFile.model_validate({"blueprint": "level0", "target": "aws", "region": region}).region == region


@pytest.mark.parametrize(
    ("region", "guess"),
    [("eu-wset-1", "eu-west-1"), ("eu-centrl-1", "eu-central-1"), ("EU-WEST-1", "eu-west-1"), ("aws-global", None)],
)
def test_a_region_that_does_not_exist_is_refused_with_a_guess(region: str, guess: str | None) -> None:
    for model, data in (
        (EnvironmentFile, {"blueprint": "level0", "target": "aws", "region": region}),
        (PlatformSpec, platform(0, region=region)),
    ):
        error = only_error(model, data)
        assert error["loc"] == ("region",)
        assert "not an AWS region" in error["msg"]
        if guess:
            assert error["ctx"]["allowed"].startswith(f"did you mean {guess!r}? ")


# ---------------------------------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------------------------------


def test_tags_at_aws_s_limits_are_accepted() -> None:
    tags = {"k" * 128: "v" * 256, "équipe données": "coût: 12 €".replace("€", "EUR"), "a.b:c/d=e+f-g@h_i": ""}

    assert SettingsSpec.model_validate({"tags": tags}).tags == tags


@pytest.mark.parametrize(
    ("tags", "loc", "reason"),
    [
        ({"k" * 129: "v"}, ("tags", "k" * 129), "it is 129 characters long"),
        ({"k": "v" * 257}, ("tags", "k"), "it is 257 characters long"),
        ({"cost#center": "v"}, ("tags", "cost#center"), "it contains '#'"),
        ({"k": "a\nb"}, ("tags", "k"), "it contains '\\n'"),
        ({"aws:createdBy": "me"}, ("tags", "aws:createdBy"), "reserved for AWS"),
        ({"team": "AWS:ml"}, ("tags", "team"), "reserved for AWS"),
        ({"Name": "x"}, ("tags", "Name"), "mlplatform sets the tag 'Name' itself"),
        ({"mlplatform:owner": "x"}, ("tags", "mlplatform:owner"), "mlplatform sets the tag"),
    ],
)
def test_a_tag_aws_refuses_or_mlplatform_overwrites_is_reported_at_its_key(
    tags: dict[str, str], loc: tuple[str, ...], reason: str
) -> None:
    error = only_error(SettingsSpec, {"tags": tags})

    assert error["loc"] == loc
    assert reason in error["msg"]


def test_tags_are_counted_with_the_ones_mlplatform_adds() -> None:
    room = tagging.AWS_TAGS_PER_RESOURCE - len(tagging.OWN_KEYS)
    SettingsSpec.model_validate({"tags": {f"k{i}": "v" for i in range(room)}})

    error = only_error(SettingsSpec, {"tags": {f"k{i}": "v" for i in range(room + 1)}})

    assert error["loc"] == ("tags",)
    assert error["ctx"]["allowed"] == f"at most {room} tags"


def test_the_own_tag_keys_are_exactly_what_the_program_and_the_engine_write() -> None:
    # Derived from the code, not from a list: every key a resource gets beyond the user's is in OWN_KEYS,
    # and no resource gets more than OWN_KEYS (the engine's URN tag comes on top of the program's).
    user = {f"user{i}": "v" for i in range(3)}
    data = platform(2, target="local", region="us-east-1")
    data["tags"] = user
    data["dev_environment"]["kind"] = "notebook"
    plan = evaluate(PlatformSpec.model_validate(data))
    added = [set(r.inputs["tags"]) - set(user) for r in plan.custom() if r.inputs.get("tags")]

    assert CONVENTIONS.urn_tag == tagging.URN_KEY
    assert set().union(*added) == set(tagging.OWN_KEYS) - {tagging.URN_KEY}
    assert max(len(keys) for keys in added) + 1 == len(tagging.OWN_KEYS)


# ---------------------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "reason"),
    [
        ("10.20.1.0/16", "host bits are set"),
        ("256.1.0.0/16", "not an IPv4 CIDR block"),
        ("127.0.0.0/16", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("224.0.0.0/16", "multicast"),
        ("0.0.0.0/16", "'this network'"),
    ],
)
def test_a_vpc_block_aws_refuses_is_reported_at_cidr_block(cidr: str, reason: str) -> None:
    error = only_error(NetworkSpec, {"cidr_block": cidr})

    assert error["loc"] == ("cidr_block",)
    assert reason in error["msg"]


@settings(max_examples=200)
@given(network=st.integers(0, 2**16 - 1), prefix=st.integers(16, 28), zones=st.integers(1, 6))
def test_property_derived_subnets_fit_the_vpc_or_the_zone_count_is_refused(
    network: int, prefix: int, zones: int
) -> None:
    vpc = ipaddress.IPv4Network((10 << 24 | network << 8, prefix), strict=False)
    data = {"cidr_block": str(vpc), "availability_zones": zones}
    room = 2 ** (min(prefix + 3, 28) - prefix)  # the subnets the network carves, at most /28 each
    if zones > room:
        assert only_error(NetworkSpec, data)["loc"] == ("availability_zones",)
        return
    NetworkSpec.model_validate(data)
    subnets = [ipaddress.IPv4Network(subnet) for subnet in subnet_cidrs(str(vpc), zones)]
    assert len(subnets) == zones
    assert all(subnet.subnet_of(vpc) and subnet.prefixlen <= 28 for subnet in subnets)
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1 :])


# ---------------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------------

GOOD_SCHEDULES = [
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "rate(30 days)",
    "cron(0 3 * * ? *)",
    "cron(15 10 ? * 6L 2030-2040)",
    "cron(0/15 * * * ? *)",
    "cron(0 8 1 * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 9 ? JAN,JUL MON#1 *)",
    "cron(5,35 14 L * ? *)",
    "cron(0 12 15W * ? *)",
    "cron(*/10 9-17 ? * MON-FRI 2025)",
]
BAD_SCHEDULES = {
    "rate(1 days)": "singular unit",
    "rate(2 day)": "singular unit",
    "rate(0 minutes)": "positive whole number",
    "rate(1 week)": "unknown unit",
    "rate(1  day)": "one space",
    "rate(-1 days)": "one space",
    "cron(0 3 * * * *)": "exactly one of day-of-month and day-of-week",
    "cron(0 3 ? * ? *)": "exactly one of day-of-month and day-of-week",
    "cron(0 3 * * ?)": "6 fields",
    "cron(0 3 * * ? * *)": "6 fields",
    "cron(60 3 * * ? *)": "minutes '60'",
    "cron(0 24 * * ? *)": "hours '24'",
    "cron(0 3 32 * ? *)": "day-of-month '32'",
    "cron(0 3 * 13 ? *)": "month '13'",
    "cron(0 3 ? * 8 *)": "day-of-week '8'",
    "cron(0 3 * * ? 1969)": "year '1969'",
    "cron(0 3 ? * FRI-MON *)": "runs backwards",
    "cron(0/0 3 * * ? *)": "step",
    "cron(0 3 ? * MON#6 *)": "day-of-week 'MON#6'",
    "cron(0 3 * FOO ? *)": "month 'FOO'",
    "cron(0 ? * * ? *)": "'?' is only for the day fields",
    "daily": "starts with rate( or cron(",
    "cron(0 3 * * ? *": "starts with rate( or cron(",
}


@pytest.mark.parametrize("schedule", GOOD_SCHEDULES)
def test_eventbridge_schedules_are_accepted(schedule: str) -> None:
    assert schedule_problem(schedule) is None
    assert PipelinesSpec.model_validate({"schedule": schedule}).schedule == schedule


@pytest.mark.parametrize("schedule", list(BAD_SCHEDULES))
def test_schedules_eventbridge_refuses_are_reported_with_the_reason(schedule: str) -> None:
    problem = schedule_problem(schedule)

    assert problem is not None and BAD_SCHEDULES[schedule] in problem
    errors = errors_of(PipelinesSpec, {"schedule": schedule})
    assert {error["loc"][0] for error in errors} == {"schedule"}


@given(amount=st.integers(1, 10_000), unit=st.sampled_from(["minute", "hour", "day"]), plural=st.booleans())
def test_property_a_rate_is_valid_exactly_when_singular_means_one(amount: int, unit: str, plural: bool) -> None:
    problem = schedule_problem(f"rate({amount} {unit}{'s' if plural else ''})")

    assert (problem is None) == (plural == (amount != 1))


@pytest.mark.parametrize(
    ("schedule", "ok"),
    [
        ("cron(0 * ? * * *)", True),
        ("cron(0 5 ? * * *)", True),
        ("cron(0 12/12 ? * * *)", True),
        ("cron(0 * * * ? *)", False),
        ("cron(30 * ? * * *)", False),
        ("cron(0 24 ? * * *)", False),
        ("cron(0 0/25 ? * * *)", False),
        ("rate(1 hour)", False),
    ],
)
def test_monitoring_schedules_are_what_sagemaker_accepts(schedule: str, ok: bool) -> None:
    data = {"schedule": schedule}
    if ok:
        QualityMonitoringSpec.model_validate(data)
    else:
        assert only_error(QualityMonitoringSpec, data)["loc"] == ("schedule",)


# ---------------------------------------------------------------------------------------------------
# Physical names and other values AWS takes as they are
# ---------------------------------------------------------------------------------------------------

LONGEST_PLATFORM = "p" + "x" * 30 + "1"  # 32 characters, the most a platform name may have


def test_an_endpoint_name_that_makes_the_physical_name_too_long_is_refused_at_the_endpoint() -> None:
    data = platform(2, name=LONGEST_PLATFORM)
    data["monitoring"]["data_quality"] = {"enabled": False}
    ok, long = "e" * 30, "e" * 31  # 32 + 1 + 30 = 63, SageMaker's limit
    data["serving"]["endpoints"] = [{"name": ok}, {"name": long}]

    error = only_error(PlatformSpec, data)

    assert error["loc"] == ("serving", "endpoints", 1, "name")
    assert error["input"] == long
    assert "(64 characters), longer than SageMaker CreateEndpoint (EndpointName) allows" in error["msg"]


def test_a_monitored_endpoint_leaves_room_for_the_monitoring_suffix() -> None:
    data = platform(2, name=LONGEST_PLATFORM)
    data["serving"]["data_capture_percent"] = 10
    data["serving"]["endpoints"] = [{"name": "e" * 17, "model": {"image": "serving:1"}}]
    PlatformSpec.model_validate(data)
    data["serving"]["endpoints"] = [{"name": "e" * 18, "model": {"image": "serving:1"}}]

    errors = errors_of(PlatformSpec, data)

    assert {error["loc"] for error in errors} == {("serving", "endpoints", 0, "name")}
    assert {"CreateDataQualityJobDefinition", "CreateMonitoringSchedule"} == {
        api for error in errors for api in ("CreateDataQualityJobDefinition", "CreateMonitoringSchedule")
        if api in error["msg"]
    }  # fmt: skip


@pytest.mark.parametrize("name", ["xn--platform", "sthree-data", "amzn-s3-demo-x"])
def test_a_platform_name_s3_reserves_is_refused(name: str) -> None:
    error = only_error(PlatformSpec, platform(0, name=name))

    assert error["loc"] == ("name",)
    assert "S3 reserves the prefixes" in error["msg"]


@pytest.mark.parametrize("name", ["is_deleted", "write_time", "API_INVOCATION_TIME"])
def test_feature_names_feature_store_reserves_are_refused(name: str) -> None:
    group = {
        "name": "scores",
        "record_identifier": "id",
        "event_time": "t",
        "features": [
            {"name": "id", "type": "String"},
            {"name": "t", "type": "Fractional"},
            {"name": name, "type": "String"},
        ],
    }

    assert only_error(FeatureGroupSpec, group)["loc"] == ("features", 2, "name")


def test_a_budget_has_room_for_the_alarm_topic_among_its_subscribers() -> None:
    most = (awsmodel.constraint(awsmodel.BUDGET_SUBSCRIBERS).max or 0) - 1
    BudgetSpec.model_validate({"monthly_limit_usd": 10.0, "alert_emails": [f"a{i}@x.io" for i in range(most)]})

    error = only_error(BudgetSpec, {"monthly_limit_usd": 10.0, "alert_emails": [f"a{i}@x.io" for i in range(most + 1)]})

    assert error["loc"] == ("alert_emails",)


def test_images_and_model_urls_fit_sagemaker_s_limits() -> None:
    long_image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + "r" * 220 + ":1"
    assert only_error(ModelSpec, {"image": long_image})["loc"] == ("image",)
    assert only_error(ModelSpec, {"image": "repo:1 2"})["loc"] == ("image",)
    assert only_error(ModelSpec, {"image": "serving:1", "model_data_url": "s3://b/" + "k" * 1020})["loc"] == (
        "model_data_url",
    )
    assert ModelSpec.model_validate({"image": "serving:1", "model_data_url": "sample"})


def test_the_permissions_boundary_must_be_in_the_region_s_partition() -> None:
    data = platform(0, region="cn-north-1")
    data["identity"]["permissions_boundary_arn"] = "arn:aws:iam::111111111111:policy/boundary"

    assert only_error(PlatformSpec, data)["loc"] == ("identity", "permissions_boundary_arn")

    data["identity"]["permissions_boundary_arn"] = "arn:aws-cn:iam::111111111111:policy/boundary"
    PlatformSpec.model_validate(data)
    data = platform(0)
    data["identity"]["permissions_boundary_arn"] = "arn:aws:iam::aws:policy/PowerUserAccess"  # AWS managed
    PlatformSpec.model_validate(data)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_infinite_and_nan_numbers_are_refused(value: float) -> None:
    assert only_error(BudgetSpec, {"monthly_limit_usd": value})["type"] == "finite_number"
    assert only_error(MonitoringSpec, {"alarms": {"error_rate_5xx_percent": value}})["type"] == "finite_number"


# Where the program puts each SageMaker/ECR physical name, and the request member AWS checks it against.
NAME_INPUTS = {
    "aws:sagemaker/endpoint:Endpoint": ("name", awsmodel.ENDPOINT_NAME),
    "aws:sagemaker/featureGroup:FeatureGroup": ("featureGroupName", awsmodel.FEATURE_GROUP_NAME),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("modelPackageGroupName", awsmodel.MODEL_PACKAGE_GROUP_NAME),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": ("name", awsmodel.MONITORING_JOB_NAME),
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": ("name", awsmodel.MONITORING_SCHEDULE_NAME),
    "aws:sagemaker/notebookInstance:NotebookInstance": ("name", awsmodel.NOTEBOOK_NAME),
    "aws:sagemaker/domain:Domain": ("domainName", awsmodel.DOMAIN_NAME),
    "aws:sagemaker/pipeline:Pipeline": ("pipelineName", awsmodel.PIPELINE_NAME),
    "aws:ecr/repository:Repository": ("name", awsmodel.REPOSITORY_NAME),
}


@pytest.mark.parametrize("kind", ["domain", "notebook"])
def test_the_longest_names_validation_accepts_are_names_aws_accepts(kind: str) -> None:
    # Drift guard: if a component derived a name differently from mlplatform.spec.names, this would catch it.
    data = platform(2, name=LONGEST_PLATFORM, target="local", region="us-east-1")
    data["dev_environment"]["kind"] = kind
    data["container_registry"]["repositories"] = ["r" * 32, "serving", "training"]
    data["registry"]["model_package_groups"] = ["g" * 30]
    data["serving"]["data_capture_percent"] = 10
    data["serving"]["endpoints"] = [
        {"name": "e" * 17, "model": {"image": "serving:1"}},  # monitored: + "-data-quality"
    ]
    data["feature_store"]["feature_groups"] = [
        {
            "name": "f" * 31,
            "record_identifier": "id",
            "event_time": "t",
            "features": [{"name": "id", "type": "String"}, {"name": "t", "type": "Fractional"}],
        }
    ]
    plan = evaluate(PlatformSpec.model_validate(data))

    checked = 0
    for record in plan.custom():
        if record.type not in NAME_INPUTS:
            continue
        key, api = NAME_INPUTS[record.type]
        name = record.inputs[key]
        assert aws_rules.name_problem(name, api, "-") is None, (record.type, name)
        checked += 1
    assert checked >= 8
