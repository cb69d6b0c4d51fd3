"""Pulumi inputs <-> AWS API values, converted by the shapes of botocore's service model.

pulumi-aws names the fields of a nested block after the API's members: in camelCase where the API
(SageMaker, EC2) is PascalCase, or with a capital moved here and there (CodeBuild's ``cloudwatchLogs`` is
the API's ``cloudWatchLogs``, SageMaker's ``volumeSizeInGb`` is ``VolumeSizeInGB``). Instead of tables of
names, the conversion walks the operation's shape in the model botocore ships, which the boto3 client
has already loaded (no second model load): a structure's member is the one whose name matches
case-insensitively, a map's keys are the user's and are kept, a list steps into its member, and a number
sent to an integer member becomes an int (Pulumi carries numbers as floats) and one sent to a double member a
float. The Terraform bridge turns a
block of at most one item into an object; where the API has a list there, the object is sent as a
one-item list and read back from one.

Where pulumi-aws's name is not the API's by case alone (a Terraform rename: SageMaker's ``kmsKeyArn`` is
``KmsKeyId``), the handler passes ``renames``: a pulumi name (a dotted path from the top for nested ones)
and the API member it stands for. A rename applies in the operations whose shape has that member; in the
others the name derives by case (``securityGroups`` is ``SecurityGroupIds`` in CreateNotebookInstance but
``SecurityGroups`` in DescribeNotebookInstance).

:func:`from_api` reads a response back in the shape of the inputs, keeping only the keys the program set,
so values AWS adds (defaults, resolved URIs) never read as drift; it also works without a shape, on
values the handler has already brought into input shape (CodePipeline).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from mlplatform.engine.embedded.handlers.base import HandlerError

Renames = Mapping[str, str]

_NUMBERS = ("integer", "long")
_FRACTIONS = ("double", "float")
_index: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def input_shape(client: Any, operation: str, *members: str) -> Any:
    """The request shape of ``operation`` (``"CreateModel"``) from ``client``'s already loaded model, followed
    along ``members`` (lists on the way are stepped into)."""
    return _follow(client.meta.service_model.operation_model(operation).input_shape, members)


def output_shape(client: Any, operation: str, *members: str) -> Any:
    """The response shape of ``operation``, followed along ``members`` like :func:`input_shape`."""
    return _follow(client.meta.service_model.operation_model(operation).output_shape, members)


def request(client: Any, operation: str, inputs: Mapping[str, Any], renames: Renames | None = None) -> dict[str, Any]:
    """``inputs`` (pulumi names and values) as ``operation``'s request parameters.

    Top-level inputs that are ``None``, ``[]`` or ``{}`` are left out (the API's default applies).

    Raises:
        HandlerError: an input has no member in the operation's request (a handler sends what it should not).
    """
    kept = {key: value for key, value in inputs.items() if value is not None and value != [] and value != {}}
    converted: dict[str, Any] = to_api(input_shape(client, operation), kept, renames, where=operation)
    return converted


def to_api(shape: Any, value: Any, renames: Renames | None = None, *, where: str = "", path: str = "") -> Any:
    """A pulumi value as the API value of ``shape`` (member names, one-item lists, numbers), ``None`` dropped."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            member = _member(shape, key, (renames or {}).get(path + key))
            if member is None:
                raise HandlerError(f"{where or shape.name} has no member for the input {path + key!r}")
            out[member] = to_api(shape.members[member], item, renames, where=where, path=f"{path}{key}.")
        return out
    if kind == "list":
        items = [value] if isinstance(value, Mapping) else value
        if isinstance(items, list):
            return [to_api(shape.member, item, renames, where=where, path=path) for item in items]
    if kind == "map" and isinstance(value, Mapping):
        return {key: to_api(shape.value, item, renames, where=where, path=path) for key, item in value.items()}
    if kind in _NUMBERS and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind in _FRACTIONS and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def from_api(
    live: Any,
    wanted: Any,
    shape: Any = None,
    renames: Renames | None = None,
    *,
    unordered: bool = False,
    path: str = "",
) -> Any:
    """``live`` (an API value of ``shape``) in the shape of ``wanted`` (the inputs): only the keys the inputs have.

    AWS omits false and empty values, so a missing value reads as the input's own when that is empty too. A
    map is read whole (a key added outside mlplatform is drift). Items beyond the wanted ones are read in the
    shape of the last wanted item, so an added item is drift. Without ``shape`` the keys are the same on both
    sides.

    Args:
        unordered: lists of scalars compare as sets (SageMaker does not keep the order of subnets or groups).
    """
    if live is None:
        return wanted if _empty(wanted) else None
    kind = shape.type_name if shape is not None else None
    if kind == "map":
        return live
    if isinstance(wanted, Mapping) and isinstance(live, list) and kind == "list":
        return (
            from_api(live[0], wanted, shape.member, renames, unordered=unordered, path=path) if len(live) == 1 else live
        )
    if isinstance(wanted, Mapping) and isinstance(live, Mapping):
        out: dict[str, Any] = {}
        for key, want in wanted.items():
            member = _member(shape, key, (renames or {}).get(path + key)) if kind == "structure" else key
            got = live.get(member) if member is not None else None
            sub = shape.members[member] if kind == "structure" and member is not None else None
            out[key] = from_api(got, want, sub, renames, unordered=unordered, path=f"{path}{key}.")
        return out
    if isinstance(wanted, list) and isinstance(live, list):
        if unordered and all(not isinstance(item, dict | list) for item in wanted + live):
            return wanted if sorted(map(str, wanted)) == sorted(map(str, live)) else live
        template = wanted[-1] if wanted else {}
        member = shape.member if kind == "list" else None
        return [
            from_api(item, wanted[i] if i < len(wanted) else template, member, renames, unordered=unordered, path=path)
            for i, item in enumerate(live)
        ]
    return live


def _empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {} or value == 0


def _follow(shape: Any, members: tuple[str, ...]) -> Any:
    for member in members:
        shape = _items(shape).members[member]
    return _items(shape) if members else shape


def _items(shape: Any) -> Any:
    while shape.type_name == "list":
        shape = shape.member
    return shape


def _member(shape: Any, key: str, renamed: str | None) -> str | None:
    """The member of structure ``shape`` that the pulumi name ``key`` stands for, or ``None``."""
    members = shape.members
    if renamed is not None and renamed in members:
        return renamed
    index = _index.get(shape)
    if index is None:
        # Built once per shape: no two members of any model mlplatform uses differ only by case.
        index = _index[shape] = {name.lower(): name for name in members}
    return index.get(key.lower())
