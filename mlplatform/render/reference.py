"""The settings reference (docs/settings.md), generated from the spec models' field descriptions.

The models are the single source of truth for what a setting means and defaults to; the committed
document is checked against this output by the tests, so docs cannot drift from code. Regenerate with
``python -m mlplatform.render.reference > docs/settings.md``.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mlplatform.spec import aws_rules, tagging, yamlfile
from mlplatform.spec.models import COMPONENTS, RESERVED_FEATURE_NAMES, SettingsSpec


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


def _cell(text: str | None) -> str:
    return _first_paragraph(text).replace("|", "\\|")


def inner_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model inside ``annotation`` (``Model``, ``Model | None``, ``list[Model]``) and whether it is a list."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return inner_model(members[0]) if len(members) == 1 else (None, False)
    if origin is list:
        inner, _ = inner_model(typing.get_args(annotation)[0])
        return inner, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _type_name(annotation: Any) -> str:
    """A reader's name for a type: ``integer``, ``list of string``, ``one of `a`, `b` ``, ``boolean or null``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in args if arg is not type(None)]
        text = " or ".join(_type_name(member) for member in members)
        return f"{text} or null" if len(members) < len(args) else text
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{json.dumps(arg)}`" for arg in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{json.dumps(value)}`"


def _rows(model: type[BaseModel], prefix: str, out: list[str], nested: list[tuple[str, type[BaseModel]]]) -> None:
    for name, field in model.model_fields.items():
        inner, is_list = inner_model(field.annotation)
        path = f"{prefix}{name}{'[]' if is_list else ''}"
        kind = f"list of {inner.__name__}" if inner and is_list else _type_name(field.annotation)
        out.append(f"| `{path}` | {kind} | {_default(field)} | {_cell(field.description)} |")
        if inner is not None:
            nested.append((path, inner))


def settings_reference_markdown() -> str:
    """The whole settings reference as Markdown."""
    lines = [
        "# Settings reference",
        "",
        "Generated from the spec models (`python -m mlplatform.render.reference > docs/settings.md`); do not edit",
        "by hand. These keys are what a blueprint or an environment's `overrides:` may set. Merge rules:",
        "mappings merge deeply, lists replace, `null` removes a key (its default applies again).",
        "",
        "## Platform-wide",
        "",
        "| setting | type | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for name in ("tags", "protect", "allow_destroy_data"):
        field = SettingsSpec.model_fields[name]
        lines.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {_cell(field.description)} |")
    for component in COMPONENTS:
        field = SettingsSpec.model_fields[component]
        model, _ = inner_model(field.annotation)
        assert model is not None
        lines += ["", f"## `{component}`", "", _first_paragraph(model.__doc__), ""]
        lines += ["| setting | type | default | meaning |", "| --- | --- | --- | --- |"]
        queue: list[tuple[str, type[BaseModel]]] = []
        _rows(model, f"{component}.", lines, queue)
        while queue:
            path, inner = queue.pop(0)
            _rows(inner, f"{path}.", lines, queue)
    lines += ["", *_rules_section()]
    return "\n".join(lines) + "\n"


def _rules_section() -> list[str]:
    """What validation checks beyond each setting's type, so nothing AWS would refuse reaches a deploy."""
    own = ", ".join(f"`{key}`" for key in tagging.OWN_KEYS)
    low, high = aws_rules.VPC_PREFIX
    return [
        "## Rules beyond types",
        "",
        "`mlplatform validate` (and every command that reads an environment) refuses values that have the right "
        "type but that AWS would refuse in the middle of a deploy. Where botocore's API models state the rule, it "
        "is read from the installed botocore, offline; each problem names the file, line, field, value and what is "
        "allowed.",
        "",
        "- **Instance types** are checked per API against botocore's SageMaker model: `training.allowed_instance_types`"
        " and `pipelines.training_instance_type` against CreateTrainingJob, `pipelines.processing_instance_type` "
        "against CreateProcessingJob, `serving.endpoints[].instance_type` against CreateEndpointConfig, "
        "`monitoring.*.instance_type` against CreateDataQualityJobDefinition, `dev_environment.instance_type` against "
        "CreateNotebookInstance (kind `notebook`) or Studio's CreateDomain app settings (kind `domain`). A refusal "
        "lists the closest accepted types.",
        "- **Regions** must be regions of one of botocore's partitions (aws, aws-cn, aws-us-gov, the ISO "
        "partitions, ...), with a did-you-mean; a permissions boundary ARN must be in the region's partition.",
        f"- **Tags**: keys 1-128 and values 0-256 {aws_rules.TAG_CHARACTERS}; no `aws:` prefix (any case) on keys or "
        f"values; none of the keys mlplatform writes itself ({own}, or any `{tagging.RESERVED_PREFIX}` key); at most "
        f"{tagging.AWS_TAGS_PER_RESOURCE - len(tagging.OWN_KEYS)} tags, so that with mlplatform's own a resource "
        f"stays within AWS's {tagging.AWS_TAGS_PER_RESOURCE}.",
        f"- **Networks**: `network.cidr_block` is an IPv4 network address (no host bits) from /{low} to /{high}, "
        "outside the loopback, link-local, multicast and reserved ranges; it must hold one private subnet (at most "
        f"/{high}) per availability zone.",
        "- **Schedules**: `pipelines.schedule` is EventBridge's `rate(<n> <unit>)` (singular unit exactly when n is "
        "1) or a 6-field `cron(...)` with valid values per field and `?` in exactly one of day-of-month and "
        "day-of-week; monitoring schedules are the hourly and daily crons SageMaker accepts.",
        "- **Duplicates**: every list whose items become resources or settings (endpoints, feature groups, features, "
        "model package groups, repositories, stages, allowed instance types, interface endpoints, rollback alarms, "
        "alert e-mails) reports a repeated item at the repetition.",
        "- **Physical names** derived from the platform name and your names are checked against the API's length "
        "and pattern: `<platform>-<endpoint>` (and `<platform>-<endpoint>-data-quality` for monitored endpoints), "
        "`<platform>-<feature group>`, `<platform>-<group>`, `<platform>/<repository>`, the notebook, domain and "
        "pipeline names; the platform name may not start with a prefix S3 reserves for bucket names "
        f"({', '.join(aws_rules.S3_BUCKET_PREFIXES)}).",
        f"- **Other values AWS takes as they are**: feature names other than {', '.join(RESERVED_FEATURE_NAMES)}; "
        "at most as many features per group as CreateFeatureGroup takes; images and model URLs within "
        "CreateModel's limits; budget e-mail subscribers within AWS Budgets' limit (one subscriber is the alarm "
        "topic); numbers finite (no `.inf` or `.nan`).",
        f"- **The YAML itself**: at most {yamlfile.MAX_FILE_BYTES // 1024} KiB per file, {yamlfile.MAX_DEPTH} levels "
        f"of nesting, {yamlfile.MAX_VALUES} values once aliases are expanded (alias bombs are refused while the file "
        f"is read), {yamlfile.MAX_SCALAR_CHARS} characters per value; no tags other than the plain-data ones "
        "(`!!python/...`, `!!binary`, custom tags are refused); keys are strings (quote `1:`, `yes:`, `~:`); no "
        "duplicate keys; UTF-8 only.",
    ]


if __name__ == "__main__":
    print(settings_reference_markdown(), end="")
