"""The provider's replace rules, as data: which input changes pulumi-aws replaces a resource for.

pulumi-aws bridges terraform-provider-aws, and a bridged resource is replaced exactly when Terraform's plan
says ``RequiresReplace``: an attribute marked ``ForceNew`` (SDKv2) or ``RequiresReplace`` (plugin framework)
changed, at the top level or inside a block, or a ``CustomizeDiff``/``ModifyPlan`` rule asked for it (only
when a volume shrinks, unless the tenancy goes from dedicated to default...). Terraform's diff also knows
which attributes are sets (order does not matter) and which are optional and computed (the provider keeps
its value when the program drops it). The local emulator is only worth having if it plans the same
replacements, so these rules are read from the provider's sources, one entry per handled type, with the
file and commit they were read from, in ``replace_rules.json`` next to this module. The handlers and both
engines' diffs (the embedded engine's and the emulator provider's ``Diff``) read them from here: there is
no second, hand-written copy to drift.

An entry holds:

* ``replace``: top-level keys whose change always replaces;
* ``nested``: dotted paths below a top-level key (``deploymentConfig.autoRollbackConfiguration``) whose
  change replaces; list blocks are walked element by element;
* ``when``: conditional rules (:class:`Condition`);
* ``sets``: keys or dotted paths whose values are sets: reordering them is no change;
* ``computed``: optional+computed keys: dropping one from the program is no change (the provider keeps
  the value it has);
* ``regional``: whether the type has Terraform v6's ``region`` (optional, computed, defaults to the
  provider's region, forces a replacement); global services (IAM, Budgets) have none;
* ``auto_name``: the key pulumi-aws fills with an auto-name when the program leaves it out (and the prefix
  key, if the type has one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from mlplatform.engine.values import contains_unknown, reveal

TABLE = "replace_rules.json"


@dataclass(frozen=True)
class Condition:
    """A replacement that depends on the values, not just on a change.

    Attributes:
        key: the key the rule watches: top-level, or a dotted path to a block inside one (an ``unset`` rule on
            ``deploymentConfig.autoRollbackConfiguration``: SDKv2 applies a ForceNew block's rule only when the
            block is added or removed, its members keep their own rules).
        rule: ``decrease`` (replaces when the new number is smaller), ``except`` (replaces on any change but
            the listed ``transitions``), ``kind`` (replaces when *which* of ``keys`` is set changes: a rule's
            source going from a CIDR to a security group), ``unset`` (replaces when the value goes from set
            to unset, or the other way) or ``if`` (replaces when the key changes and another key, ``other``,
            has — or, with ``negate``, has not — the value ``value``, before (``side`` ``old``) or after the
            change).
        transitions: ``(old, new)`` pairs that update in place, for ``except``; ``None`` is unset and
            ``"$account"`` the provider's account id.
        keys: the keys of a ``kind`` rule.
        default: what an unset value means (a VPC's tenancy is ``default``).
        why: the provider's code the rule comes from.
    """

    key: str
    rule: str
    transitions: tuple[tuple[Any, Any], ...] = ()
    keys: tuple[str, ...] = ()
    default: Any = None
    other: str = ""
    value: Any = None
    negate: bool = False
    side: str = "new"
    why: str = ""


KINDS = ("decrease", "except", "kind", "unset", "if")
ACCOUNT = "$account"


@dataclass(frozen=True)
class ReplaceRules:
    """One resource type's rules (see the module docstring); ``source`` names the provider file and commit."""

    type: str
    resource: str
    source: str
    replace: frozenset[str] = frozenset()
    nested: tuple[tuple[str, ...], ...] = ()
    when: tuple[Condition, ...] = ()
    sets: tuple[tuple[str, ...], ...] = ()
    computed: frozenset[str] = frozenset()
    regional: bool = True
    auto_name: tuple[str, str | None] | None = None

    @property
    def replace_keys(self) -> frozenset[str]:
        """Every top-level key some rule may replace for (``region`` included for a regional type)."""
        keys = set(self.replace) | {path[0] for path in self.nested} | {c.key.split(".")[0] for c in self.when}
        keys |= {key for c in self.when for key in c.keys}
        return frozenset(keys | ({"region"} if self.regional else set()))


NO_RULES = ReplaceRules(type="", resource="", source="")
"""Rules of a type the table does not know (test doubles, plan-only types): nothing replaces."""


@cache
def table() -> dict[str, ReplaceRules]:
    """Every handled type's rules, by Pulumi type token (read once from ``replace_rules.json``)."""
    raw = json.loads(resources.files(__package__).joinpath(TABLE).read_text(encoding="utf-8"))
    version = raw["provider"]["version"]
    return {type_: _parse(type_, entry, version) for type_, entry in raw["types"].items()}


def rules_for(type_: str) -> ReplaceRules:
    """The rules of ``type_`` (:data:`NO_RULES` for a type the table does not know)."""
    return table().get(type_, NO_RULES)


def _parse(type_: str, entry: dict[str, Any], version: str) -> ReplaceRules:
    source = entry["source"]
    conditions = []
    for item in entry.get("when") or []:
        if item["rule"] not in KINDS:
            raise ValueError(f"{TABLE}: {type_}: unknown rule {item['rule']!r}; known: {', '.join(KINDS)}")
        conditions.append(
            Condition(
                key=item["key"],
                rule=item["rule"],
                transitions=tuple((pair[0], pair[1]) for pair in item.get("transitions") or ()),
                keys=tuple(item.get("keys") or ()),
                default=item.get("default"),
                other=item.get("other", ""),
                value=item.get("value"),
                negate=bool(item.get("negate", False)),
                side=item.get("side", "new"),
                why=item.get("why", ""),
            )
        )
    auto = entry.get("auto_name")
    return ReplaceRules(
        type=type_,
        resource=entry["resource"],
        source=f"terraform-provider-aws {version}: {source['file']} ({_copy(source)})",
        replace=frozenset(entry.get("replace") or ()),
        nested=tuple(tuple(path.split(".")) for path in entry.get("nested") or ()),
        when=tuple(conditions),
        sets=tuple(tuple(path.split(".")) for path in entry.get("sets") or ()),
        computed=frozenset(entry.get("computed") or ()),
        regional=bool(entry.get("regional", True)),
        auto_name=(auto["key"], auto.get("prefix")) if auto else None,
    )


def _copy(source: dict[str, Any]) -> str:
    """Which stored copy of the provider file an entry was read from: its commit, else its index id."""
    if source.get("commit"):
        return f"commit {source['commit'][:12]}"
    return f"stored copy {source.get('index_id') or source.get('file_id')}"


# ---------------------------------------------------------------------------------------------------- diff


def _absent(value: Any) -> bool:
    # Terraform's diff does not tell an unset list or map from an empty one.
    return value is None or value == [] or value == {}


def _canonical(value: Any, set_paths: Iterable[tuple[str, ...]]) -> Any:
    """``value`` with the lists at ``set_paths`` (relative to it) sorted, so set order does not count."""
    paths = list(set_paths)
    if not paths:
        return value
    if () in paths and isinstance(value, list):
        rest = [path for path in paths if path]
        items = [_canonical(item, rest) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))
    if isinstance(value, list):
        return [_canonical(item, paths) for item in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            below = [path[1:] for path in paths if path and path[0] == key]
            out[key] = _canonical(item, below) if below else item
        return out
    return value


def _at(value: Any, path: tuple[str, ...]) -> Any:
    """The value(s) at ``path`` below ``value``: lists are walked element-wise (a list of the values)."""
    if not path:
        return value
    if isinstance(value, list):
        return [_at(item, path) for item in value]
    if isinstance(value, dict):
        return _at(value.get(path[0]), path[1:])
    return None


class Comparison:
    """How one registration's inputs compare with the recorded ones, by the type's rules.

    Args:
        rules: the type's rules.
        olds: the recorded inputs (secrets may be wrapped; they compare by value).
        news: the program's inputs.
        region: the provider's region: an absent ``region`` means that one.
        requested: the resource's ``replace_on_changes`` option (``*``: any change replaces).
        account: the provider's account id, asked for only by a rule that needs it.
    """

    def __init__(
        self,
        rules: ReplaceRules,
        olds: dict[str, Any],
        news: dict[str, Any],
        *,
        region: str | None,
        requested: Collection[str] = (),
        account: Callable[[], str] | None = None,
    ) -> None:
        self.rules = rules
        self.olds = olds
        self.news = news
        self.region = region
        self.requested = frozenset(requested)
        self.account = account

    def _value(self, inputs: dict[str, Any], key: str) -> Any:
        value = reveal(inputs.get(key))
        if key == "region" and self.rules.regional and value is None:
            return self.region
        sets = [path[1:] for path in self.rules.sets if path[0] == key]
        return None if _absent(value) else _canonical(value, sets)

    def changed(self) -> list[str]:
        """Top-level keys whose values differ (an unknown new value always differs)."""
        keys = []
        for key in sorted(set(self.olds) | set(self.news)):
            new = self.news.get(key)
            if contains_unknown(new):
                keys.append(key)
            elif key in self.rules.computed and reveal(new) is None:
                # Dropped from the program: the provider keeps the value it has. An explicit empty list is a value
                # (a default security group's `ingress=[]` removes every rule).
                continue
            elif self._value(self.olds, key) != self._value(self.news, key):
                keys.append(key)
        return keys

    def reasons(self, changed: Iterable[str]) -> list[str]:
        """The keys among ``changed`` that force a replacement."""
        changed = list(changed)
        return [key for key in changed if self._forces(key, changed)]

    def _forces(self, key: str, changed: list[str]) -> bool:
        rules = self.rules
        if "*" in self.requested or key in self.requested or key in rules.replace:
            return True
        if key == "region" and rules.regional:
            return True
        old, new = self._value(self.olds, key), self._value(self.news, key)
        unknown = contains_unknown(self.news.get(key))
        for path in rules.nested:
            if path[0] == key:
                if unknown and contains_unknown(_at(self.news.get(key), path[1:])):
                    return True
                sets = [p[len(path) :] for p in rules.sets if p[: len(path)] == path]
                if _canonical(_at(old, path[1:]), sets) != _canonical(_at(new, path[1:]), sets):
                    return True
        for condition in rules.when:
            path = tuple(condition.key.split("."))
            if path[0] != key and key not in condition.keys:
                continue
            if len(path) > 1:  # a rule on a block inside the key (``unset``: the block added or removed)
                below_old, below_new = _at(old, path[1:]), _at(new, path[1:])
                if self._condition(condition, below_old, below_new, contains_unknown(below_new)):
                    return True
            elif self._condition(condition, old, new, unknown):
                return True
        return False

    def _condition(self, condition: Condition, old: Any, new: Any, unknown: bool) -> bool:
        if condition.rule == "kind":
            before = {k for k in condition.keys if not _absent(reveal(self.olds.get(k)))}
            after = {k for k in condition.keys if not _absent(reveal(self.news.get(k)))}
            return before != after
        if condition.rule == "if":
            inputs = self.olds if condition.side == "old" else self.news
            found = reveal(inputs.get(condition.other)) == condition.value
            return bool(found != condition.negate)
        if unknown:
            return condition.rule == "except"  # a value not known yet may be any change
        if condition.default is not None:
            old = condition.default if old is None else old
            new = condition.default if new is None else new
            if old == new:
                return False
        if condition.rule == "decrease":
            try:
                return new is not None and old is not None and float(new) < float(old)
            except (TypeError, ValueError):
                return False
        if condition.rule == "except":
            return not any(self._matches(pair, (old, new)) for pair in condition.transitions)
        return _absent(old) != _absent(new)  # unset

    def _matches(self, pair: tuple[Any, Any], values: tuple[Any, Any]) -> bool:
        if ACCOUNT in pair:
            if self.account is None:
                return False  # no account to compare with: the safe answer is a replacement
            account = self.account()
            pair = tuple(account if item == ACCOUNT else item for item in pair)  # type: ignore[assignment]
        return tuple(pair) == values


def keep_computed(rules: ReplaceRules, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """``news`` with the recorded value of each optional+computed key the program dropped.

    Terraform keeps such a value in state (the cloud still has it), so an update must not reset it and the
    next diff must not see it go: the handler gets, and state records, the value that is really there.
    """
    kept = {key: olds[key] for key in rules.computed if key in olds and news.get(key) is None}
    return {**news, **kept} if kept else news
