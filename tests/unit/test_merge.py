"""deep_merge: the one rule set for blueprint <- extends <- environment overrides.

Example tests pin each rule (mappings merge deeply, lists replace, null removes a key, inputs are never
mutated); hypothesis properties check the rules hold for arbitrary YAML-like data.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlplatform.spec.merge import deep_merge

# ---------------------------------------------------------------------------------------------------
# Strategies: YAML-like data (what a blueprint or an env file's overrides parse into)
# ---------------------------------------------------------------------------------------------------

KEYS = st.text(alphabet="abcde", min_size=1, max_size=2)


def yaml_values(*, nulls: bool) -> st.SearchStrategy[Any]:
    """Scalars, lists and string-keyed mappings, nested a few levels deep."""
    scalars = st.booleans() | st.integers(-3, 3) | st.text(alphabet="xyz", max_size=2)
    if nulls:
        scalars = scalars | st.none()
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4),
        max_leaves=12,
    )


MAPPINGS = st.dictionaries(KEYS, yaml_values(nulls=True), max_size=5)
NULL_FREE_MAPPINGS = st.dictionaries(KEYS, yaml_values(nulls=False), max_size=5)


def _shape_consistent(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """Mappings where a key decides the kind of its value: ``m``/``n`` hold mappings, ``x``/``y`` leaves.

    Any two such documents agree on which paths are mappings, as a blueprint and its overrides do when
    nobody replaces a whole section by a scalar.
    """
    leaf = st.booleans() | st.integers(-3, 3) | st.text(alphabet="xyz", max_size=2) | st.lists(st.integers(0, 3))
    optional: dict[str, st.SearchStrategy[Any]] = {"x": leaf, "y": leaf}
    if depth > 0:
        optional |= {"m": _shape_consistent(depth - 1), "n": _shape_consistent(depth - 1)}
    return st.fixed_dictionaries({}, optional=optional)


SHAPE_CONSISTENT = _shape_consistent(3)


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON types (``True`` is not ``1`` here, unlike with ``==``)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def walk(mapping: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, value) reachable through mappings only (list items are values, as the rules say)."""
    for key, value in mapping.items():
        yield (*prefix, key), value
        if isinstance(value, dict):
            yield from walk(value, (*prefix, key))


_MISSING = object()


def get(mapping: Any, path: tuple[str, ...]) -> Any:
    node = mapping
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def containers(value: Any) -> list[Any]:
    """Every dict and list object inside ``value`` (to check that the result shares none with the inputs)."""
    found = []
    if isinstance(value, (dict, list)):
        found.append(value)
        for item in value.values() if isinstance(value, dict) else value:
            found.extend(containers(item))
    return found


# ---------------------------------------------------------------------------------------------------
# Examples: one per rule
# ---------------------------------------------------------------------------------------------------


def test_mappings_merge_key_by_key_at_every_depth() -> None:
    base = {"serving": {"enabled": True, "autoscaling": {"min_capacity": 1, "max_capacity": 4}}, "tags": {"a": "1"}}
    override = {"serving": {"autoscaling": {"max_capacity": 8}, "data_capture_percent": 20}}

    assert deep_merge(base, override) == {
        "serving": {"enabled": True, "autoscaling": {"min_capacity": 1, "max_capacity": 8}, "data_capture_percent": 20},
        "tags": {"a": "1"},
    }


def test_lists_replace_instead_of_merging_item_by_item() -> None:
    base = {"network": {"interface_endpoints": ["sagemaker.api", "sagemaker.runtime", "sts"]}}
    override = {"network": {"interface_endpoints": ["logs"]}}

    assert deep_merge(base, override) == {"network": {"interface_endpoints": ["logs"]}}


def test_a_list_of_mappings_is_replaced_whole_not_merged_by_index() -> None:
    base = {"endpoints": [{"name": "a", "instance_count": 3}, {"name": "b"}]}
    override = {"endpoints": [{"name": "c"}]}

    assert deep_merge(base, override) == {"endpoints": [{"name": "c"}]}


def test_an_empty_list_replaces_a_list() -> None:
    assert deep_merge({"stages": ["staging", "prod"]}, {"stages": []}) == {"stages": []}


def test_null_removes_a_key_so_the_default_applies_again() -> None:
    base = {"monitoring": {"budget": {"monthly_limit_usd": 1000}, "dashboard": True}, "protect": True}

    assert deep_merge(base, {"monitoring": {"budget": None}}) == {
        "monitoring": {"dashboard": True},
        "protect": True,
    }
    assert deep_merge(base, {"protect": None}) == {
        "monitoring": {"budget": {"monthly_limit_usd": 1000}, "dashboard": True}
    }


def test_null_for_a_key_the_base_does_not_have_leaves_no_key() -> None:
    assert deep_merge({"a": 1}, {"b": None}) == {"a": 1}
    assert deep_merge({"a": {"b": 1}}, {"a": {"c": None}}) == {"a": {"b": 1}}


def test_nulls_inside_a_mapping_that_lands_on_an_empty_slot_are_dropped() -> None:
    # A null still means "no such key" when its parent mapping is new, at any depth.
    merged = deep_merge({}, {"serving": {"autoscaling": None, "deployment": {"strategy": "canary", "wait": None}}})

    assert merged == {"serving": {"deployment": {"strategy": "canary"}}}


def test_nulls_inside_a_mapping_that_replaces_a_scalar_are_dropped() -> None:
    assert deep_merge({"a": 5}, {"a": {"b": None, "c": 1}}) == {"a": {"c": 1}}


def test_a_scalar_replaces_a_mapping_and_a_mapping_replaces_a_scalar_or_list() -> None:
    assert deep_merge({"a": {"b": 1}}, {"a": 2}) == {"a": 2}
    assert deep_merge({"a": 2}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert deep_merge({"a": [1, 2]}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert deep_merge({"a": {"b": 1}}, {"a": [1]}) == {"a": [1]}


def test_an_empty_mapping_override_keeps_the_base_mapping() -> None:
    assert deep_merge({"a": {"b": 1}}, {"a": {}}) == {"a": {"b": 1}}


def test_falsy_values_are_values_not_removals() -> None:
    merged = deep_merge({"a": True, "b": 5, "c": "x", "d": [1]}, {"a": False, "b": 0, "c": "", "d": []})

    assert same(merged, {"a": False, "b": 0, "c": "", "d": []})


def test_keys_keep_base_order_and_new_keys_follow() -> None:
    assert list(deep_merge({"b": 1, "a": 2}, {"c": 3, "a": 4})) == ["b", "a", "c"]


def test_inputs_are_not_mutated() -> None:
    base = {"serving": {"autoscaling": {"min_capacity": 1}, "endpoints": [{"name": "a"}]}, "tags": {"x": "1"}}
    override = {"serving": {"autoscaling": {"max_capacity": 2}, "endpoints": None}, "tags": None, "new": {"k": None}}
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)

    deep_merge(base, override)

    assert base == base_before
    assert override == override_before


def test_the_result_shares_no_mutable_object_with_the_inputs() -> None:
    base = {"a": {"list": [1, 2], "nested": {"k": 1}}, "untouched": {"deep": [{"x": 1}]}}
    override = {"a": {"nested": {"j": 2}}, "b": {"list": [{"y": 1}]}}
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)

    merged = deep_merge(base, override)
    merged["a"]["list"].append(3)
    merged["a"]["nested"]["k"] = 99
    merged["untouched"]["deep"][0]["x"] = 99
    merged["b"]["list"][0]["y"] = 99

    assert base == base_before
    assert override == override_before


def test_accepts_any_mapping_and_returns_plain_dicts() -> None:
    merged = deep_merge(MappingProxyType({"a": MappingProxyType({"b": 1})}), MappingProxyType({"a": {"c": 2}}))

    assert merged == {"a": {"b": 1, "c": 2}}
    assert type(merged) is dict
    assert type(merged["a"]) is dict


def test_merge_is_not_associative_when_a_middle_layer_replaces_a_mapping_by_a_scalar() -> None:
    # Documents a real limit (so nobody relies on it): (a <- b) <- c loses a's keys under "k", because b
    # replaced the mapping by a scalar; a <- (b <- c) merges c's mapping into a's. Merging layers one by
    # one, root first — as blueprints.resolve and environments.resolve do — is the defined order.
    a, b, c = {"k": {"x": 1}}, {"k": 5}, {"k": {"y": 2}}

    assert deep_merge(deep_merge(a, b), c) == {"k": {"y": 2}}
    assert deep_merge(a, deep_merge(b, c)) == {"k": {"x": 1, "y": 2}}


# ---------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------


@pytest.mark.slow  # a property over generated mappings: the full run, not the edit loop
@given(NULL_FREE_MAPPINGS)
def test_property_empty_override_is_the_identity(x: dict[str, Any]) -> None:
    assert same(deep_merge(x, {}), x)


@pytest.mark.slow  # a property over generated mappings: the full run, not the edit loop
@given(NULL_FREE_MAPPINGS)
def test_property_empty_base_is_the_identity(x: dict[str, Any]) -> None:
    assert same(deep_merge({}, x), x)


@pytest.mark.slow  # a property over generated mappings: the full run, not the edit loop
@given(NULL_FREE_MAPPINGS)
def test_property_merge_is_idempotent(x: dict[str, Any]) -> None:
    assert same(deep_merge(x, x), x)


@pytest.mark.slow  # a property over generated mappings: the full run, not the edit loop
@given(MAPPINGS, MAPPINGS)
def test_property_override_leaves_win(base: dict[str, Any], override: dict[str, Any]) -> None:
    merged = deep_merge(base, override)

    for path, value in walk(override):
        if value is None or isinstance(value, dict):
            continue
        assert same(get(merged, path), value), path


@pytest.mark.slow  # a property over generated mappings: the full run, not the edit loop
@given(MAPPINGS, MAPPINGS)
def test_property_override_mappings_stay_mappings(base: dict[str, Any], override: dict[str, Any]) -> None:
    merged = deep_merge(base, override)

    for path, value in walk(override):
        if isinstance(value, dict):
            assert isinstance(get(merged, path), dict), path


@pytest.mark.slow  # a property over generated mappings: the full run, not the edit loop
@given(MAPPINGS, MAPPINGS)
def test_property_null_in_the_override_removes_the_key(base: dict[str, Any], override: dict[str, Any]) -> None:
    merged = deep_merge(base, override)

    for path, value in walk(override):
        if value is None:
            assert get(merged, path) is _MISSING, path


@pytest.mark.slow  # a property over generated mappings: the full run, not the edit loop
@given(MAPPINGS, MAPPINGS)
def test_property_base_values_the_override_does_not_touch_survive(
    base: dict[str, Any], override: dict[str, Any]
) -> None:
    merged = deep_merge(base, override)

    def check(base_node: dict[str, Any], override_node: dict[str, Any], path: tuple[str, ...]) -> None:
        for key, value in base_node.items():
            if key not in override_node:
                assert same(get(merged, (*path, key)), value), (*path, key)
            elif isinstance(value, dict) and isinstance(override_node[key], dict):
                check(value, override_node[key], (*path, key))

    check(base, override, ())
    assert set(merged) <= set(base) | set(override)


@pytest.mark.slow  # a property over generated mappings: the full run, not the edit loop
@given(MAPPINGS, MAPPINGS)
def test_property_inputs_unchanged_and_never_aliased(base: dict[str, Any], override: dict[str, Any]) -> None:
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)

    merged = deep_merge(base, override)

    assert same(base, base_before)
    assert same(override, override_before)
    input_ids = {id(obj) for obj in containers(base) + containers(override)}
    assert not input_ids & {id(obj) for obj in containers(merged)}


@settings(max_examples=200)
@pytest.mark.slow  # a property over generated mappings: the full run, not the edit loop
@given(SHAPE_CONSISTENT, SHAPE_CONSISTENT, SHAPE_CONSISTENT)
def test_property_associative_when_layers_agree_on_which_keys_are_mappings(
    a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]
) -> None:
    # Associativity does NOT hold in general (see the counterexample test above); it does when no layer
    # replaces a mapping by a scalar or the reverse.
    assert same(deep_merge(deep_merge(a, b), c), deep_merge(a, deep_merge(b, c)))
