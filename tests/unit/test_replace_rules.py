"""The provider's replace rules (handlers/replace_rules.json) and the diff that applies them.

Two halves: the comparison semantics on small synthetic rules (sets, optional+computed keys, nested and
conditional rules, region), and the table against every handler: each rule makes a change that must replace
and a change that must not, through the same ``compare`` both engines use.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from importlib import resources
from typing import Any

import pytest

from mlplatform.engine.embedded.deployment.diff import compare
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.handlers.base import Handler
from mlplatform.engine.embedded.handlers.rules import (
    Comparison,
    Condition,
    ReplaceRules,
    keep_computed,
    table,
)
from mlplatform.engine.values import UNKNOWN, plain, reveal, secret
from tests.unit.platform_plans import plan_for

REGION = "us-east-1"


def _rules(**fields: Any) -> ReplaceRules:
    return ReplaceRules(type="t", resource="r", source="s", **fields)


def _decide(rules: ReplaceRules, olds: dict[str, Any], news: dict[str, Any]) -> tuple[list[str], list[str]]:
    news = keep_computed(rules, olds, news)
    comparison = Comparison(rules, olds, news, region=REGION)
    changed = comparison.changed()
    return changed, comparison.reasons(changed)


# ------------------------------------------------------------------------------------------- semantics


def test_a_set_compares_without_order_at_the_top_and_nested() -> None:
    rules = _rules(sets=(("subnetIds",), ("vpcConfig", "securityGroupIds")))
    olds = {"subnetIds": ["a", "b"], "vpcConfig": {"securityGroupIds": ["x", "y"]}, "list": [1, 2]}
    news = {"subnetIds": ["b", "a"], "vpcConfig": {"securityGroupIds": ["y", "x"]}, "list": [2, 1]}
    assert _decide(rules, olds, news) == (["list"], [])  # a list that is not a set keeps its order


def test_a_set_of_blocks_compares_without_order() -> None:
    rules = _rules(sets=(("ingress",), ("ingress", "cidrBlocks")))
    olds = {"ingress": [{"port": 1, "cidrBlocks": ["a", "b"]}, {"port": 2, "cidrBlocks": []}]}
    news = {"ingress": [{"port": 2, "cidrBlocks": []}, {"port": 1, "cidrBlocks": ["b", "a"]}]}
    assert _decide(rules, olds, news) == ([], [])


def test_dropping_an_optional_computed_key_is_no_change_and_keeps_its_value() -> None:
    rules = _rules(replace=frozenset({"availabilityZone"}), computed=frozenset({"availabilityZone"}))
    olds = {"cidrBlock": "10.0.0.0/24", "availabilityZone": "us-east-1a"}
    assert _decide(rules, olds, {"cidrBlock": "10.0.0.0/24"}) == ([], [])
    assert keep_computed(rules, olds, {"cidrBlock": "x"}) == {"cidrBlock": "x", "availabilityZone": "us-east-1a"}
    # Setting it to another value is still a change, and this one replaces.
    assert _decide(rules, olds, {**olds, "availabilityZone": "us-east-1b"}) == (
        ["availabilityZone"],
        ["availabilityZone"],
    )


def test_an_explicit_empty_list_of_a_computed_key_is_a_value_not_a_drop() -> None:
    rules = _rules(computed=frozenset({"ingress"}))
    assert _decide(rules, {"ingress": [{"port": 22}]}, {"ingress": []}) == (["ingress"], [])
    assert _decide(rules, {"ingress": [{"port": 22}]}, {}) == ([], [])


def test_dropping_a_key_that_is_not_computed_is_a_change() -> None:
    assert _decide(_rules(), {"description": "a"}, {}) == (["description"], [])


def test_an_empty_list_or_map_is_the_same_as_unset() -> None:
    assert _decide(_rules(), {"tags": {}, "ids": []}, {}) == ([], [])


def test_region_equal_to_the_providers_is_no_change_and_another_region_replaces() -> None:
    rules = _rules()
    assert _decide(rules, {}, {"region": REGION}) == ([], [])
    assert _decide(rules, {"region": REGION}, {}) == ([], [])
    assert _decide(rules, {}, {"region": "eu-west-1"}) == (["region"], ["region"])
    assert _decide(_rules(regional=False), {}, {"region": "eu-west-1"}) == (["region"], [])


def test_a_nested_key_replaces_only_when_it_changes() -> None:
    rules = _rules(nested=(("deploymentConfig", "autoRollbackConfiguration"),))
    olds = {"deploymentConfig": {"autoRollbackConfiguration": {"alarms": ["a"]}, "blueGreen": {"wait": 1}}}
    in_place = {"deploymentConfig": {"autoRollbackConfiguration": {"alarms": ["a"]}, "blueGreen": {"wait": 2}}}
    replacing = {"deploymentConfig": {"autoRollbackConfiguration": {"alarms": ["b"]}, "blueGreen": {"wait": 1}}}
    assert _decide(rules, olds, in_place) == (["deploymentConfig"], [])
    assert _decide(rules, olds, replacing) == (["deploymentConfig"], ["deploymentConfig"])
    # Adding the block where it was not is a change of the nested key too.
    assert _decide(rules, {}, replacing) == (["deploymentConfig"], ["deploymentConfig"])


def test_a_nested_key_in_a_list_of_blocks_is_compared_element_wise() -> None:
    rules = _rules(nested=(("productionVariants", "modelName"),))
    olds = {"productionVariants": [{"modelName": "m", "initialInstanceCount": 1}]}
    assert _decide(rules, olds, {"productionVariants": [{"modelName": "m", "initialInstanceCount": 2}]})[1] == []
    assert _decide(rules, olds, {"productionVariants": [{"modelName": "n", "initialInstanceCount": 1}]})[1] == [
        "productionVariants"
    ]


def test_decrease_replaces_only_when_the_number_shrinks() -> None:
    rules = _rules(when=(Condition("volumeSize", "decrease"),))
    assert _decide(rules, {"volumeSize": 10}, {"volumeSize": 20}) == (["volumeSize"], [])
    assert _decide(rules, {"volumeSize": 20}, {"volumeSize": 10}) == (["volumeSize"], ["volumeSize"])


def test_except_lets_the_listed_transitions_update_in_place() -> None:
    rules = _rules(when=(Condition("instanceTenancy", "except", transitions=(("dedicated", "default"),)),))
    assert _decide(rules, {"instanceTenancy": "dedicated"}, {"instanceTenancy": "default"})[1] == []
    assert _decide(rules, {"instanceTenancy": "default"}, {"instanceTenancy": "dedicated"})[1] == ["instanceTenancy"]


def test_kind_replaces_when_the_kind_of_source_changes() -> None:
    keys = ("cidrIpv4", "referencedSecurityGroupId")
    rules = _rules(when=(Condition("cidrIpv4", "kind", keys=keys),))
    # Another CIDR: the same kind of source, updated in place.
    assert _decide(rules, {"cidrIpv4": "10.0.0.0/8"}, {"cidrIpv4": "10.1.0.0/16"})[1] == []
    changed, reasons = _decide(rules, {"cidrIpv4": "10.0.0.0/8"}, {"referencedSecurityGroupId": "sg-1"})
    assert changed == reasons == ["cidrIpv4", "referencedSecurityGroupId"]


def test_unset_replaces_when_a_value_comes_or_goes() -> None:
    rules = _rules(when=(Condition("kmsKeyId", "unset"),))
    assert _decide(rules, {"kmsKeyId": "a"}, {"kmsKeyId": "b"})[1] == []
    assert _decide(rules, {"kmsKeyId": "a"}, {})[1] == ["kmsKeyId"]
    assert _decide(rules, {}, {"kmsKeyId": "a"})[1] == ["kmsKeyId"]


def test_secrets_compare_by_value_and_unknown_always_differs() -> None:
    rules = _rules(replace=frozenset({"name"}))
    assert _decide(rules, {"policy": secret("p")}, {"policy": "p"}) == ([], [])
    assert _decide(rules, {"name": "a"}, {"name": UNKNOWN}) == (["name"], ["name"])


def test_the_replace_on_changes_option_replaces_for_any_key_it_names() -> None:
    comparison = Comparison(_rules(), {"a": 1, "b": 1}, {"a": 2, "b": 2}, region=REGION, requested=("b",))
    assert comparison.reasons(comparison.changed()) == ["b"]
    star = Comparison(_rules(), {"a": 1}, {"a": 2}, region=REGION, requested=("*",))
    assert star.reasons(star.changed()) == ["a"]


# --------------------------------------------------------------------------------------------- the table


def _raw() -> dict[str, Any]:
    text = resources.files("mlplatform.engine.embedded.handlers").joinpath("replace_rules.json").read_text()
    return dict(json.loads(text))


HANDLERS = registry()


def test_every_handled_type_has_rules_with_provenance_and_every_rule_a_handler() -> None:
    raw = _raw()
    assert raw["provider"]["version"] and raw["provider"]["bridged_by"]
    assert set(table()) == set(HANDLERS)
    for type_, entry in raw["types"].items():
        assert entry["source"]["file"].startswith("internal/service/"), type_
        # The stored copy read: a commit, or the code index's id where it names none.
        assert len(entry["source"]["commit"] or "") == 40 or entry["source"]["index_id"].isdigit(), type_
        assert entry["resource"].startswith("aws_"), type_


def test_no_handler_declares_its_own_replace_keys() -> None:
    # The table is the one source: a hand-written set in a handler would silently win over it.
    for handler in HANDLERS.values():
        assert "replace_on_change" not in type(handler).__dict__, type(handler).__name__
        assert handler.replace_on_change == handler.rules.replace_keys


def _nest(path: tuple[str, ...], value: Any) -> Any:
    return value if not path else {path[0]: _nest(path[1:], value)}


CASES = [
    (type_, rule)
    for type_, rules in sorted(table().items())
    for rule in [*(("replace", key) for key in sorted(rules.replace)), *(("nested", p) for p in rules.nested)]
]


@pytest.mark.parametrize(("type_", "rule"), CASES, ids=[f"{t.split(':')[1]}-{r[1]}" for t, r in CASES])
def test_each_replace_rule_replaces_through_the_handlers_diff(type_: str, rule: tuple[str, Any]) -> None:
    handler: Handler = HANDLERS[type_]
    kind, where = rule
    path = (where,) if kind == "replace" else where
    olds = {path[0]: _nest(path[1:], "old-value")}
    news = {path[0]: _nest(path[1:], "new-value")}
    assert compare(handler, olds, news, region=REGION) == ([path[0]], [path[0]])


def _in_place_keys(handler: Handler) -> list[str]:
    rules = handler.rules
    implemented = handler.implemented or frozenset()
    return sorted(
        implemented - rules.replace_keys - {"tags", "region"} - {path[0] for path in rules.sets} - rules.computed
    )


IN_PLACE = [(type_, key) for type_, handler in sorted(HANDLERS.items()) for key in _in_place_keys(handler)]


@pytest.mark.parametrize(("type_", "key"), IN_PLACE, ids=[f"{t.split(':')[1]}-{k}" for t, k in IN_PLACE])
def test_a_key_no_rule_names_updates_in_place(type_: str, key: str) -> None:
    assert compare(HANDLERS[type_], {key: "old-value"}, {key: "new-value"}, region=REGION) == ([key], [])


WHEN = [(type_, c) for type_, rules in sorted(table().items()) for c in rules.when]
ACCOUNT_ID = "123456789012"


def _at_key(key: str, value: Any) -> dict[str, Any]:
    """``{"a": {"b": value}}`` for ``a.b``; ``{}`` when value is None."""
    if value is None:
        return {}
    path = tuple(key.split("."))
    return {path[0]: _nest(path[1:], value)}


def _cases(condition: Condition) -> tuple[tuple[dict[str, Any], dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]:
    """(olds, news) that must replace, and (olds, news) that must not, for one conditional rule."""
    key = condition.key
    if condition.rule == "decrease":
        return ({key: 20}, {key: 10}), ({key: 10}, {key: 20})
    if condition.rule == "except":
        old, new = (ACCOUNT_ID if item == "$account" else item for item in condition.transitions[0])
        return (_at_key(key, new), _at_key(key, old)), (_at_key(key, old), _at_key(key, new))
    if condition.rule == "kind":
        first, second = condition.keys[:2]
        return ({first: "a"}, {second: "b"}), ({first: "a"}, {first: "b"})
    if condition.rule == "if":
        matching = condition.value if not condition.negate else f"not-{condition.value}"
        other = condition.value if condition.negate else f"not-{condition.value}"

        def pair(value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
            return {key: "a", condition.other: value}, {key: "b", condition.other: value}

        return pair(matching), pair(other)
    # unset: a block appearing replaces; a change inside an existing one does not
    return (_at_key(key, None), _at_key(key, "a")), (_at_key(key, "a"), _at_key(key, "b"))


@pytest.mark.parametrize(("type_", "condition"), WHEN, ids=[f"{t.split(':')[1]}-{c.key}" for t, c in WHEN])
def test_each_conditional_rule_replaces_one_way_and_not_the_other(type_: str, condition: Condition) -> None:
    handler = HANDLERS[type_]
    replacing, in_place = _cases(condition)
    top = condition.key.split(".")[0]
    assert top in compare(handler, *replacing, region=REGION, account=lambda: ACCOUNT_ID)[1], condition
    reasons = compare(handler, *in_place, region=REGION, account=lambda: ACCOUNT_ID)[1]
    assert not set(reasons) & ({top, *condition.keys} - handler.rules.replace), (condition, reasons)


def test_every_regional_type_replaces_for_another_region_and_not_for_its_own() -> None:
    for type_, handler in HANDLERS.items():
        if not handler.rules.regional:  # IAM and Budgets have no region input
            assert compare(handler, {}, {"region": "eu-west-1"}, region=REGION)[1] == [], type_
            continue
        assert compare(handler, {}, {"region": REGION}, region=REGION) == ([], []), type_
        assert compare(handler, {}, {"region": "eu-west-1"}, region=REGION) == (["region"], ["region"]), type_


# ------------------------------------------------------------------------------ inputs and pulumi-aws names


def _pulumi_args(type_: str) -> set[str]:
    """The camelCased arguments of the pulumi-aws resource class behind ``type_`` (what a program can set)."""
    module, name = type_.split(":")[1].split("/")[0], type_.rsplit(":", 1)[1]
    params = inspect.signature(getattr(importlib.import_module(f"pulumi_aws.{module}"), name)._internal_init)
    return {
        re.sub(r"_(\w)", lambda m: m.group(1).upper(), arg)
        for arg in params.parameters
        if arg not in ("self", "__self__", "resource_name", "opts")
    }


@pytest.mark.parametrize("type_", sorted(HANDLERS))
def test_every_handler_declares_the_inputs_it_implements_by_their_pulumi_aws_names(type_: str) -> None:
    implemented = HANDLERS[type_].implemented
    assert implemented is not None, f"{type_}: declare `implemented` (every other input is then refused)"
    assert implemented <= _pulumi_args(type_), implemented - _pulumi_args(type_)


@pytest.mark.parametrize("type_", sorted(HANDLERS))
def test_the_table_names_only_pulumi_aws_arguments(type_: str) -> None:
    rules = table()[type_]
    keys = {
        *rules.replace,
        *rules.computed,
        *(path[0] for path in (*rules.nested, *rules.sets)),
        *(c.key.split(".")[0] for c in rules.when),
        *(key for c in rules.when for key in (*c.keys, *([c.other] if c.other else []))),
    }
    assert keys <= _pulumi_args(type_), keys - _pulumi_args(type_)
    if rules.auto_name:
        assert {key for key in rules.auto_name if key} <= _pulumi_args(type_)


@pytest.mark.parametrize("blueprint", ["level0", "level1", "level2"])
@pytest.mark.parametrize("env", ["local", "dev", "prod"])
def test_every_input_the_packaged_blueprints_set_is_implemented(blueprint: str, env: str) -> None:
    plan = plan_for(blueprint, env)
    refused = {
        f"{plan.name(record)}: {path}"
        for record in plan.custom()
        for path in HANDLERS[record.type].unsupported_inputs(reveal(plain(record.inputs)))
    }
    assert not refused


def test_an_unimplemented_input_is_refused_before_anything_is_planned() -> None:
    handler = HANDLERS["aws:sns/topic:Topic"]
    assert "tracingConfig" not in (handler.implemented or ())
    assert handler.unsupported_inputs({"name": "t", "tracingConfig": "Active"}) == ["tracingConfig"]
    # An input set to nothing asks for nothing.
    assert handler.unsupported_inputs({"name": "t", "tracingConfig": None, "tags": {}}) == []
