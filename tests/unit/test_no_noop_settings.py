"""No setting is a no-op: changing any leaf of the spec, within its allowed values, changes the offline plan.

The leaves are found by walking the pydantic models from :class:`PlatformSpec`, so a new setting is covered
the day it is added: it needs a way to draw another allowed value (:data:`VALUES`, or the generic strategies
for booleans, literals and bounded numbers), a context in which it matters (:data:`CONTEXT`), or an entry in
:data:`NO_RESOURCE_EFFECT` / :data:`NO_OTHER_VALUE` / :data:`CHECKED_TOGETHER` saying why not.
``artifact_store.versioning: false`` was once ignored by the component; :func:`test_an_ignored_setting_is_caught`
shows this test catches that.

Each leaf is checked in a small environment (level 0's components plus the leaf's component and what it
needs), so one offline plan takes a fraction of a second; hypothesis draws the new values.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import typing
from collections.abc import Iterator
from functools import cache
from typing import Any

import annotated_types
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from mlplatform.app.offline import plan_spec
from mlplatform.components.storage import ArtifactStore, ArtifactStoreArgs
from mlplatform.render.reference import inner_model
from mlplatform.spec.models import COMPONENTS, PlatformSpec
from mlplatform.spec.rules import COMPONENT_NEEDS, LEVEL_REQUIREMENTS

# About 40 s of offline plans: the edit loop (`scripts/check --fast`) leaves it out; the full run keeps it.
pytestmark = pytest.mark.slow

Leaf = str
"""A dotted path with ``[]`` for the first item of a list (``serving.endpoints[].model.image``)."""

NO_RESOURCE_EFFECT: dict[Leaf, str] = {
    "protect": "a resource option (Pulumi's protect), not an input: it refuses deletes, the resources stay the same",
    "target": "chooses the provider (emulator endpoints or real AWS) and the engine, not the resources; the "
    "offline plan leaves providers out",
    "level": "decides which components the blueprint must enable (validation); the enabled components decide "
    "the resources",
    "monitoring.model_quality.schedule": "model-quality monitoring cannot be enabled yet (no pulumi-aws resource "
    "for its job definition; enabling it is refused), so its schedule configures nothing",
    "monitoring.model_quality.instance_type": "model-quality monitoring cannot be enabled yet (see its schedule)",
}
"""Leaves that change no resource, each with the reason. The test checks that they indeed change nothing."""

NO_OTHER_VALUE: dict[Leaf, str] = {
    **{
        f"{component}.enabled": "required at every level (a level 0 capability): `false` is refused"
        for component in LEVEL_REQUIREMENTS[0]
    },
    "monitoring.model_quality.enabled": "`true` is refused until pulumi-aws has a model-quality job definition",
}
"""Leaves with no other allowed value: the spec refuses every change."""

CHECKED_TOGETHER: dict[Leaf, str] = {
    "cicd.provider": "github-oidc needs `repository`, which codepipeline refuses, so no change of the provider alone "
    "is allowed: test_switching_the_cicd_provider_changes_the_plan changes the two together",
}
"""Leaves whose every other allowed value needs another leaf to change with it, each checked by its own test."""

# A `<repository>:<tag>` image: the offline plan derives the platform repository's URL, so changes in the
# model's container and in the pipeline's definition are seen.
IMAGE = "serving:1.0"
ENDPOINT = {"name": "churn", "model": {"image": IMAGE, "model_data_url": "sample"}}
PIPELINE = {"pipelines": {"enabled": True, "image": IMAGE}}
FEATURE_GROUP = {
    "name": "customers",
    "record_identifier": "customer_id",
    "event_time": "event_time",
    "online": True,
    "features": [
        {"name": "monthly_spend", "type": "Fractional"},
        {"name": "customer_id", "type": "String"},
        {"name": "event_time", "type": "Fractional"},
    ],
}
DATA_QUALITY = {
    "level": 1,
    "serving": {"enabled": True, "endpoints": [{**ENDPOINT, "data_capture_percent": 20}]},
    "monitoring": {"data_quality": {"enabled": True}},
}

CONTEXT: dict[Leaf, dict[str, Any]] = {
    # The first endpoint and feature group of the environment; each leaf below them changes that one.
    "serving": {"serving": {"endpoints": [ENDPOINT]}},
    "serving.deployment": {"serving": {"deployment": {"strategy": "canary", "rollback_alarms": ["5xx"]}}},
    "serving.autoscaling": {"serving": {"autoscaling": {}, "endpoints": [{**ENDPOINT, "instance_count": 2}]}},
    "serving.endpoints[].deployment": {
        "serving": {"endpoints": [{**ENDPOINT, "deployment": {"strategy": "linear", "rollback_alarms": ["5xx"]}}]}
    },
    "serving.endpoints[].autoscaling": {
        "serving": {"endpoints": [{**ENDPOINT, "instance_count": 2, "autoscaling": {"max_capacity": 3}}]}
    },
    "feature_store": {"feature_store": {"feature_groups": [FEATURE_GROUP]}},
    "dev_environment": {"dev_environment": {"kind": "notebook"}},
    "pipelines": PIPELINE,
    # Training's settings reach resources through the pipeline (alone they are the `training` stack output).
    "training": PIPELINE,
    # Identity creates a role per workload the platform runs; level 0's components alone run none.
    "identity": {"serving": {"enabled": True}},
    "cicd.repository": {"cicd": {"provider": "github-oidc", "repository": "acme/base"}},
    "cicd.github_environment": {"cicd": {"provider": "github-oidc", "repository": "acme/models"}},
    "cicd.github_oidc_provider_arn": {"cicd": {"provider": "github-oidc", "repository": "acme/models"}},
    # Log groups and alarms are per endpoint (and the network's flow logs).
    "monitoring.alarms": {"serving": {"enabled": True, "endpoints": [ENDPOINT]}},
    "monitoring.log_retention_days": {"serving": {"enabled": True, "endpoints": [ENDPOINT]}},
    "monitoring.budget": {"monitoring": {"budget": {"monthly_limit_usd": 100}}},
    "monitoring.data_quality": DATA_QUALITY,
    "monitoring.data_quality.enabled": {**DATA_QUALITY, "monitoring": {"data_quality": {"enabled": False}}},
    "serving.endpoints[].data_capture_percent": {"serving": {"endpoints": [{**ENDPOINT, "data_capture_percent": 20}]}},
    "account_id": {"target": "aws", "account_id": "111111111111"},
    "target": {"account_id": "123456789012"},  # target local accepts the emulator's account, so aws is allowed
    "level": {"level": 2},
}
"""Settings that make a leaf matter, by path prefix (longer prefixes merge over shorter ones)."""

EMULATOR_OIDC = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"

VALUES: dict[Leaf, list[Any]] = {
    "tags": [{"team": "fraud"}, {"cost-center": "ml", "owner": "ana"}],
    "name": ["mlp-other", "acme-ml"],
    "env": ["staging", "team-a"],
    "blueprint": ["level9", "gpu"],
    "region": ["eu-west-1", "us-west-2"],
    "account_id": ["222222222222"],
    "network.cidr_block": ["10.30.0.0/16", "172.16.0.0/20"],
    "network.interface_endpoints": [["sagemaker.api"], ["sagemaker.api", "sagemaker.runtime", "sts"]],
    "container_registry.repositories": [["training", "serving", "tools"], ["serving"]],
    "identity.permissions_boundary_arn": ["arn:aws:iam::123456789012:policy/boundary"],
    "dev_environment.instance_type": ["ml.t3.large", "ml.m5.large"],
    "registry.model_package_groups": [["default", "churn"], ["models"]],
    "feature_store.feature_groups[].name": ["orders", "users"],
    "feature_store.feature_groups[].record_identifier": ["monthly_spend"],
    "feature_store.feature_groups[].event_time": ["monthly_spend"],
    "feature_store.feature_groups[].features[].name": ["spend", "balance"],
    "training.allowed_instance_types": [["ml.m5.xlarge"], ["ml.m5.xlarge", "ml.c5.2xlarge"]],
    "pipelines.schedule": ["rate(2 days)", "cron(0 3 * * ? *)", False],
    "pipelines.new_data_prefix": ["landing/", False],
    "pipelines.approval_metric.name": ["f1", "rmse"],
    "pipelines.approval_metric.threshold": [0.9, 0.5],
    "pipelines.processing_instance_type": ["ml.m5.2xlarge", "ml.c5.xlarge"],
    "pipelines.training_instance_type": ["ml.m5.2xlarge"],
    "pipelines.image": ["training:v2", "123456789012.dkr.ecr.us-east-1.amazonaws.com/tools:1"],
    "serving.endpoints[].name": ["fraud", "staging-churn"],
    "serving.endpoints[].model.image": ["serving:2.0", "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"],
    "serving.endpoints[].model.model_data_url": ["s3://models-bucket/churn/model.tar.gz", None],
    "serving.endpoints[].instance_type": ["ml.m5.xlarge", "ml.c5.large"],
    "serving.endpoints[].deployment.rollback_alarms": [["5xx", "latency"], ["model-errors"]],
    "serving.endpoints[].autoscaling.min_capacity": [2],
    "serving.endpoints[].autoscaling.max_capacity": [2, 8],
    "serving.endpoints[].autoscaling.target_invocations_per_instance": [200, 50],
    "serving.autoscaling.min_capacity": [2],
    "serving.autoscaling.max_capacity": [3, 8],
    "serving.autoscaling.target_invocations_per_instance": [200, 50],
    "serving.deployment.rollback_alarms": [["5xx", "latency"], ["model-errors"]],
    "monitoring.log_retention_days": [400, 731],
    "monitoring.alarms.error_rate_5xx_percent": [2.5, 0.5],
    "monitoring.data_quality.schedule": ["cron(0 0 ? * * *)"],
    "monitoring.data_quality.instance_type": ["ml.m5.xlarge", "ml.c5.large"],
    "monitoring.model_quality.schedule": ["cron(0 0 ? * * *)"],
    "monitoring.model_quality.instance_type": ["ml.m5.xlarge"],
    "monitoring.budget.monthly_limit_usd": [250.0, 99.5],
    "monitoring.budget.alert_emails": [["ana@example.com"]],
    "cicd.repository": ["acme/models", "acme/other"],
    "cicd.branch": ["release", "prod"],
    "cicd.stages": [["qa", "staging", "prod"], ["prod"]],
    "cicd.github_environment": ["production"],
    "cicd.github_oidc_provider_arn": [EMULATOR_OIDC],
}
"""Other allowed values of leaves whose type alone does not say which values are allowed."""

BASE: dict[str, Any] = {
    "name": "mlp-t",
    "env": "t",
    "blueprint": "b",
    "level": 0,
    "target": "local",
    "region": "us-east-1",
    **{component: {"enabled": True} for component in LEVEL_REQUIREMENTS[0]},
}
"""The smallest valid environment: level 0's components."""


# ---------------------------------------------------------------------------------------------------
# Walking the spec
# ---------------------------------------------------------------------------------------------------


def _walk(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[Leaf, FieldInfo]]:
    for name, field in model.model_fields.items():
        inner, is_list = inner_model(field.annotation)
        if inner is None:
            yield f"{prefix}{name}", field
        else:
            yield from _walk(inner, f"{prefix}{name}{'[]' if is_list else ''}.")


LEAVES: dict[Leaf, FieldInfo] = dict(_walk(PlatformSpec))
CHECKED = sorted(set(LEAVES) - set(NO_OTHER_VALUE) - set(CHECKED_TOGETHER))


def _steps(leaf: Leaf) -> list[str | int]:
    """``a.b[].c`` -> ``["a", "b", 0, "c"]``."""
    steps: list[str | int] = []
    for part in leaf.split("."):
        steps.append(part.removesuffix("[]"))
        if part.endswith("[]"):
            steps.append(0)
    return steps


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _needs(component: str) -> set[str]:
    found = {component}
    for needed in COMPONENT_NEEDS.get(component, ()):
        found |= _needs(needed)
    return found


def context(leaf: Leaf) -> dict[str, Any]:
    """The environment in which ``leaf`` matters: BASE, the leaf's CONTEXT entries (by prefix), its component,
    and every component those need. A component's ``enabled`` is switched in BASE and what the component needs."""
    data = copy.deepcopy(BASE)
    component = leaf.split(".")[0]
    if leaf == f"{component}.enabled":
        data[component] = {"enabled": True}
    else:
        prefixes = [p for p in CONTEXT if leaf == p or leaf.startswith((f"{p}.", f"{p}["))]
        for prefix in sorted(prefixes, key=len):
            data = _merge(data, CONTEXT[prefix])
        if component in COMPONENTS:
            data[component] = _merge(data.get(component, {}), {"enabled": True})
    wanted = {c for c in COMPONENTS if data.get(c, {}).get("enabled")}
    wanted |= {c for level in range(data["level"] + 1) for c in LEVEL_REQUIREMENTS[level]}
    for each in {needed for c in wanted for needed in _needs(c)}:
        data[each] = _merge(data.get(each, {}), {"enabled": True})
    return data


@cache
def _spec(document: str) -> PlatformSpec:
    return PlatformSpec.model_validate(json.loads(document))


@cache
def _plan(document: str) -> str:
    """The offline plan of an environment, as comparable text: every resource's URN, inputs and dependencies."""
    plan = plan_spec(_spec(document))
    resources = [
        {"urn": r.urn, "inputs": r.inputs, "dependencies": sorted(r.dependencies)}
        for r in sorted(plan.resources, key=lambda r: r.urn)
    ]
    return json.dumps(resources, sort_keys=True, default=str)


def base_spec(leaf: Leaf) -> PlatformSpec:
    """The validated environment a leaf is changed in."""
    return _spec(json.dumps(context(leaf), sort_keys=True))


def with_value(leaf: Leaf, value: Any) -> str | None:
    """The document of ``leaf``'s base spec with ``value`` at the leaf, or ``None`` when the spec refuses it."""
    data = base_spec(leaf).model_dump(mode="json")
    node: Any = data
    steps = _steps(leaf)
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value
    document = json.dumps(data, sort_keys=True)
    try:
        _spec(document)
    except ValidationError:
        return None
    return document


def changes_plan(leaf: Leaf, value: Any) -> bool:
    """Whether setting ``leaf`` to ``value`` changes the offline plan of its base environment."""
    document = with_value(leaf, value)
    assert document is not None
    return _plan(document) != _plan(json.dumps(base_spec(leaf).model_dump(mode="json"), sort_keys=True))


def current(leaf: Leaf) -> Any:
    node: Any = base_spec(leaf).model_dump(mode="json")
    for step in _steps(leaf):
        node = node[step]
    return node


# ---------------------------------------------------------------------------------------------------
# Other allowed values
# ---------------------------------------------------------------------------------------------------


def _bounds(field: FieldInfo) -> tuple[float | None, float | None, bool]:
    """(lowest, highest, exclusive lowest) from a field's constraints."""
    low: float | None = None
    high: float | None = None
    exclusive = False
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            low = float(item.ge)  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Gt):
            low, exclusive = float(item.gt), True  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Le):
            high = float(item.le)  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Lt):
            # Every exclusive upper bound of the spec is an integer (percentages below 100).
            high = float(item.lt) - 1  # type: ignore[arg-type]
    return low, high, exclusive


def strategy(leaf: Leaf, field: FieldInfo) -> st.SearchStrategy[Any] | None:
    """Values of ``leaf`` to try, or ``None`` when neither VALUES nor the field's type says which are allowed."""
    if leaf in VALUES:
        return st.sampled_from(VALUES[leaf])
    annotation = field.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    members = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    kind = members[0] if len(members) == 1 else None
    if kind is bool:
        return st.booleans()
    if kind in (int, float):
        low, high, exclusive = _bounds(field)
        low = (low or 0) + (1 if exclusive and kind is int else 0)
        high = high if high is not None else 10_000
        if kind is int:
            return st.integers(int(low), int(high))
        return st.floats(low, high, exclude_min=exclusive, allow_nan=False).map(lambda x: round(x, 3))
    return None


# ---------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------


def test_every_leaf_is_checked_or_says_why_not() -> None:
    named = (*NO_RESOURCE_EFFECT, *NO_OTHER_VALUE, *CHECKED_TOGETHER, *VALUES, *CONTEXT)
    unknown = [leaf for leaf in named if leaf not in LEAVES]
    unknown = [leaf for leaf in unknown if not any(other.startswith(leaf) for other in LEAVES)]
    assert unknown == [], "these entries name no setting of the spec (renamed?)"
    no_values = [leaf for leaf in CHECKED if strategy(leaf, LEAVES[leaf]) is None]
    assert no_values == [], "add other allowed values of these settings to VALUES"
    assert len(LEAVES) > 100


@pytest.mark.parametrize("leaf", CHECKED)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_changing_a_setting_changes_the_plan(leaf: Leaf, data: st.DataObject) -> None:
    """Property: any other allowed value of any setting changes the plan, unless the setting has no resource
    effect by design (NO_RESOURCE_EFFECT, checked here to really change nothing)."""
    values = strategy(leaf, LEAVES[leaf])
    assert values is not None
    now = current(leaf)
    value = data.draw(values.filter(lambda v: v != now and with_value(leaf, v) is not None), label=leaf)

    if leaf in NO_RESOURCE_EFFECT:
        assert not changes_plan(leaf, value), f"{leaf} changes resources: remove it from NO_RESOURCE_EFFECT"
    else:
        assert changes_plan(leaf, value), f"{leaf}: {now!r} -> {value!r} changes nothing in the plan (a no-op)"


@pytest.mark.parametrize("leaf", sorted(NO_OTHER_VALUE))
def test_a_setting_without_other_values_refuses_every_change(leaf: Leaf) -> None:
    assert LEAVES[leaf].annotation is bool
    assert with_value(leaf, not current(leaf)) is None


def test_an_ignored_setting_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The property can fail: an artifact store that ignores ``versioning`` (as it once did) is a no-op here."""
    real = ArtifactStore.__init__

    def ignoring_versioning(self: ArtifactStore, name: str, args: ArtifactStoreArgs, *rest: Any) -> None:
        real(self, name, dataclasses.replace(args, versioning=True), *rest)

    assert changes_plan("artifact_store.versioning", False)
    monkeypatch.setattr(ArtifactStore, "__init__", ignoring_versioning)
    _plan.cache_clear()
    try:
        assert not changes_plan("artifact_store.versioning", False)
    finally:
        _plan.cache_clear()


def test_switching_the_cicd_provider_changes_the_plan() -> None:
    base = context("cicd.provider")
    assert base["cicd"].get("provider", "codepipeline") == "codepipeline"
    github = _merge(base, {"cicd": {"provider": "github-oidc", "repository": "acme/models"}})
    assert _plan(json.dumps(base, sort_keys=True)) != _plan(json.dumps(github, sort_keys=True))


def test_a_studio_domain_starts_jupyterlab_on_the_instance_type() -> None:
    """Once a no-op found by this test: a Studio domain checked the instance type and then set nothing."""
    base = context("dev_environment.instance_type")
    domain = _merge(base, {"dev_environment": {"kind": "domain"}})
    other = _merge(domain, {"dev_environment": {"instance_type": "ml.t3.large"}})
    assert _plan(json.dumps(domain, sort_keys=True)) != _plan(json.dumps(other, sort_keys=True))
