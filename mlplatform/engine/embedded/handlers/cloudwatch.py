"""Pulumi's ``cloudwatch`` module: log groups (CloudWatch Logs), metric alarms and dashboards (CloudWatch),
and EventBridge rules and targets (the ``events`` API).

JSON inputs (dashboard bodies, event patterns) are compared as documents: EventBridge re-serialises a
pattern, so its text never matches the input byte for byte. Keys the inputs leave out are reported by
``read`` only when the live value moved off the API default, so an edit made outside mlplatform is drift
while an untouched default is not.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.base import Handler, HandlerError, StepContext
from mlplatform.engine.embedded.handlers.common import (
    auto_name,
    is_not_found,
    physical_name,
    retag,
    tag_list,
)
from mlplatform.engine.embedded.handlers.shapes import from_api, input_shape, output_shape, request, to_api


def _same_json(a: Any, b: Any) -> bool:
    try:
        left = json.loads(a) if isinstance(a, str) else a
        right = json.loads(b) if isinstance(b, str) else b
    except ValueError:
        return bool(a == b)
    return bool(left == right)


def _report(live: dict[str, Any], inputs: dict[str, Any], key: str, value: Any, default: Any) -> None:
    """Report ``key`` when the inputs set it, or when the live value is no longer the API default."""
    if key in inputs or value != default:
        live[key] = value


def _report_text(live: dict[str, Any], inputs: dict[str, Any], key: str, value: Any) -> None:
    """Like :func:`_report` for optional strings, where unset, ``None`` and ``""`` all mean the same."""
    if value:
        live[key] = value
    elif key in inputs:
        live[key] = inputs[key] if not inputs[key] else ""


# --- CloudWatch Logs ---------------------------------------------------------------------------------

# Terraform's name for the log group's name; the other inputs are CloudWatch Logs' by case (shapes.py also
# makes retentionInDays, a float in Pulumi, the integer the API wants).
_LOG_RENAMES = {"name": "logGroupName"}


class LogGroupHandler(Handler):
    """``aws:cloudwatch/logGroup:LogGroup``; the id is the log group name (as in the Terraform provider)."""

    type = "aws:cloudwatch/logGroup:LogGroup"
    service = "logs"
    name_key = "name"
    computed = ("arn", "name")
    # deletionProtectionEnabled is refused unless false (the API's default).
    implemented = frozenset({"kmsKeyId", "logGroupClass", "name", "namePrefix", "retentionInDays", "skipDestroy"})

    def unsupported_inputs(self, inputs: dict[str, Any]) -> list[str]:
        return _unless_default(inputs, super().unsupported_inputs(inputs), {"deletionProtectionEnabled": False})

    def _outputs(self, ctx: StepContext, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        # The Terraform provider reports the ARN without the trailing ":*" DescribeLogGroups adds.
        arn = f"arn:{ctx.aws.partition}:logs:{ctx.aws.region}:{ctx.aws.account_id}:log-group:{name}"
        return {"name": name, "arn": arn, "tagsAll": dict(inputs.get("tags") or {})}

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        logs = ctx.aws.client("logs")
        name = physical_name(inputs, ctx.name, max_length=512)
        sent = {key: inputs.get(key) or None for key in ("kmsKeyId", "logGroupClass", "tags")}
        logs.create_log_group(**request(logs, "CreateLogGroup", {**sent, "name": name}, _LOG_RENAMES))
        if inputs.get("retentionInDays"):
            self._retention(logs, name, inputs["retentionInDays"])
        return name, self._outputs(ctx, name, inputs)

    @staticmethod
    def _retention(logs: Any, name: str, days: Any) -> None:
        logs.put_retention_policy(
            **request(logs, "PutRetentionPolicy", {"name": name, "retentionInDays": days}, _LOG_RENAMES)
        )

    def _describe(self, ctx: StepContext, name: str) -> dict[str, Any] | None:
        paginator = ctx.aws.client("logs").get_paginator("describe_log_groups")
        for page in paginator.paginate(logGroupNamePrefix=name):
            for group in page.get("logGroups", []):
                if group.get("logGroupName") == name:
                    return dict(group)
        return None

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        group = self._describe(ctx, resource_id)
        if group is None:
            return None
        live: dict[str, Any] = {"name": resource_id} if "name" in inputs else {}
        _report(live, inputs, "retentionInDays", group.get("retentionInDays") or 0, 0)
        _report_text(live, inputs, "kmsKeyId", group.get("kmsKeyId"))
        arn = self._outputs(ctx, resource_id, inputs)["arn"]
        tags = ctx.aws.client("logs").list_tags_for_resource(resourceArn=arn).get("tags") or {}
        _report(live, inputs, "tags", {k: v for k, v in tags.items() if k != ctx.urn_tag}, {})
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        logs = ctx.aws.client("logs")
        old_days, new_days = olds.get("retentionInDays") or 0, news.get("retentionInDays") or 0
        if old_days != new_days:
            if new_days:
                self._retention(logs, resource_id, new_days)
            else:
                logs.delete_retention_policy(logGroupName=resource_id)
        if (olds.get("kmsKeyId") or "") != (news.get("kmsKeyId") or ""):
            if news.get("kmsKeyId"):
                logs.associate_kms_key(logGroupName=resource_id, kmsKeyId=news["kmsKeyId"])
            else:
                logs.disassociate_kms_key(logGroupName=resource_id)
        arn = self._outputs(ctx, resource_id, news)["arn"]
        retag(
            olds.get("tags"),
            news.get("tags"),
            untag=lambda keys: logs.untag_resource(resourceArn=arn, tagKeys=keys),
            tag=lambda tags: logs.tag_resource(resourceArn=arn, tags=tags),
        )
        return self._outputs(ctx, resource_id, news)

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        if inputs.get("skipDestroy"):
            return  # Terraform's skip_destroy: forget the log group, keep it (and its logs) in AWS.
        try:
            ctx.aws.client("logs").delete_log_group(logGroupName=resource_id)
        except Exception as exc:
            if not is_not_found(exc):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        name = inputs.get("name")
        if not name or self._describe(ctx, name) is None:
            return None
        return name, self._outputs(ctx, name, inputs)


# --- CloudWatch metric alarms ------------------------------------------------------------------------

# The alarm's scalar settings and the API's value when one is unset (None: reported only when set). Their
# PutMetricAlarm / DescribeAlarms names and which are integers come from CloudWatch's model (shapes.py).
_ALARM_FIELDS: dict[str, Any] = {
    "alarmDescription": "",
    "comparisonOperator": None,
    "evaluationPeriods": None,
    "datapointsToAlarm": None,
    "metricName": None,
    "namespace": None,
    "period": None,
    "statistic": None,
    "extendedStatistic": None,
    "threshold": None,
    "unit": None,
    "treatMissingData": "missing",
    "evaluateLowSampleCountPercentiles": None,
    "actionsEnabled": True,
}
_ALARM_LISTS = ("alarmActions", "okActions", "insufficientDataActions")
# Terraform's names that are not the API's by case (a plural here, the alarm's name).
_ALARM_RENAMES = {"name": "AlarmName", "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile"}


class MetricAlarmHandler(Handler):
    """``aws:cloudwatch/metricAlarm:MetricAlarm``; the id is the alarm name (as in the Terraform provider)."""

    type = "aws:cloudwatch/metricAlarm:MetricAlarm"
    service = "cloudwatch"
    name_key = "name"
    computed = ("arn", "name")
    # Refused when set: metricQueries, thresholdMetricId, evaluationCriteria, evaluationInterval,
    # evaluationWindow, warmUpConfiguration.
    implemented = frozenset({*_ALARM_FIELDS, *_ALARM_LISTS, "dimensions", "name"})

    def _arn(self, ctx: StepContext, name: str) -> str:
        return f"arn:{ctx.aws.partition}:cloudwatch:{ctx.aws.region}:{ctx.aws.account_id}:alarm:{name}"

    def _put(self, ctx: StepContext, name: str, inputs: dict[str, Any], *, tags: bool) -> None:
        cloudwatch = ctx.aws.client("cloudwatch")
        sent = {key: inputs.get(key) for key in (*_ALARM_FIELDS, *_ALARM_LISTS)}
        args = request(cloudwatch, "PutMetricAlarm", {**sent, "name": name}, _ALARM_RENAMES)
        # Dimensions are a map in Terraform, a list of name/value pairs in the API.
        if inputs.get("dimensions"):
            args["Dimensions"] = [{"Name": k, "Value": v} for k, v in sorted(inputs["dimensions"].items())]
        if tags and inputs.get("tags"):
            args["Tags"] = tag_list(inputs["tags"])
        cloudwatch.put_metric_alarm(**args)

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = inputs.get("name") or auto_name(ctx.name, max_length=255, lowercase=False)
        self._put(ctx, name, inputs, tags=True)
        return name, {"name": name, "arn": self._arn(ctx, name), "tagsAll": dict(inputs.get("tags") or {})}

    def _describe(self, ctx: StepContext, name: str) -> dict[str, Any] | None:
        alarms = ctx.aws.client("cloudwatch").describe_alarms(AlarmNames=[name]).get("MetricAlarms", [])
        return dict(alarms[0]) if alarms else None

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        alarm = self._describe(ctx, resource_id)
        if alarm is None:
            return None
        live: dict[str, Any] = {"name": alarm["AlarmName"]} if "name" in inputs else {}
        shape = output_shape(ctx.aws.client("cloudwatch"), "DescribeAlarms", "MetricAlarms")
        got = from_api(alarm, dict.fromkeys((*_ALARM_FIELDS, *_ALARM_LISTS)), shape, _ALARM_RENAMES)
        for key, default in _ALARM_FIELDS.items():
            _report(live, inputs, key, got[key] if got[key] is not None else default, default)
        for key in _ALARM_LISTS:
            actions = list(got[key] or [])
            wanted = inputs.get(key)
            # Action lists are sets in the Terraform schema: order is not drift.
            _report(live, inputs, key, wanted if sorted(actions) == sorted(wanted or []) else actions, [])
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []}
        _report(live, inputs, "dimensions", dims, {})
        tags = ctx.aws.client("cloudwatch").list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags")
        _report(live, inputs, "tags", ctx.read_tags(tags), {})
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        cloudwatch = ctx.aws.client("cloudwatch")
        settings = [*_ALARM_FIELDS, *_ALARM_LISTS, "dimensions"]
        if any(olds.get(key) != news.get(key) for key in settings):
            self._put(ctx, resource_id, news, tags=False)  # PutMetricAlarm replaces the whole definition
        arn = self._arn(ctx, resource_id)
        retag(
            olds.get("tags"),
            news.get("tags"),
            untag=lambda keys: cloudwatch.untag_resource(ResourceARN=arn, TagKeys=keys),
            tag=lambda tags: cloudwatch.tag_resource(ResourceARN=arn, Tags=tag_list(tags)),
        )
        return {"name": resource_id, "arn": arn, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("cloudwatch").delete_alarms(AlarmNames=[resource_id])
        except Exception as exc:
            if not is_not_found(exc):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        name = inputs.get("name")
        if not name or self._describe(ctx, name) is None:
            return None
        return name, {"name": name, "arn": self._arn(ctx, name), "tagsAll": dict(inputs.get("tags") or {})}


# --- CloudWatch dashboards ---------------------------------------------------------------------------


class DashboardHandler(Handler):
    """``aws:cloudwatch/dashboard:Dashboard``; the id is the dashboard name."""

    type = "aws:cloudwatch/dashboard:Dashboard"
    service = "cloudwatch"
    name_key = "dashboardName"
    computed = ("dashboardArn",)
    implemented = frozenset({"dashboardBody", "dashboardName"})

    def _arn(self, ctx: StepContext, name: str) -> str:
        return f"arn:{ctx.aws.partition}:cloudwatch::{ctx.aws.account_id}:dashboard/{name}"

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = inputs["dashboardName"]
        ctx.aws.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=_text(inputs["dashboardBody"]))
        return name, {"dashboardArn": self._arn(ctx, name)}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            body = ctx.aws.client("cloudwatch").get_dashboard(DashboardName=resource_id)["DashboardBody"]
        except Exception as exc:
            if is_not_found(exc, "ResourceNotFound", "DashboardNotFoundError"):
                return None
            raise
        wanted = inputs.get("dashboardBody")
        return {"dashboardBody": wanted if _same_json(body, wanted) else body}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        # The body is the dashboard's only setting and PutDashboard overwrites it.
        ctx.aws.client("cloudwatch").put_dashboard(
            DashboardName=resource_id, DashboardBody=_text(news["dashboardBody"])
        )
        return {"dashboardArn": self._arn(ctx, resource_id)}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("cloudwatch").delete_dashboards(DashboardNames=[resource_id])
        except Exception as exc:
            if not is_not_found(exc, "ResourceNotFound", "DashboardNotFoundError"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        name = str(inputs["dashboardName"])
        return (name, {"dashboardArn": self._arn(ctx, name)}) if self.read(ctx, name, inputs) is not None else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _unless_default(inputs: dict[str, Any], refused: list[str], defaults: dict[str, Any]) -> list[str]:
    """``refused`` without the inputs that only restate the API's default (nothing is ignored by not sending them)."""
    return [key for key in refused if key not in defaults or inputs.get(key) != defaults[key]]


# --- EventBridge -------------------------------------------------------------------------------------


def _bus(inputs: dict[str, Any]) -> str:
    return str(inputs.get("eventBusName") or "default")


class EventRuleHandler(Handler):
    """``aws:cloudwatch/eventRule:EventRule``; the id is the rule name, ``bus/name`` on a non-default bus."""

    type = "aws:cloudwatch/eventRule:EventRule"
    service = "events"
    name_key = "name"
    computed = ("arn", "name")
    implemented = frozenset(
        {
            "description",
            "eventBusName",
            "eventPattern",
            "forceDestroy",
            "isEnabled",
            "name",
            "namePrefix",
            "roleArn",
            "scheduleExpression",
            "state",
        }
    )

    def _put(self, ctx: StepContext, name: str, inputs: dict[str, Any]) -> str:
        events = ctx.aws.client("events")
        # PutRule's names come from EventBridge's model (shapes.py); an empty description is sent (it clears one).
        sent = {
            "name": name,
            "eventBusName": _bus(inputs),
            "state": _state(inputs),
            "eventPattern": _text(inputs["eventPattern"]) if inputs.get("eventPattern") else None,
            "scheduleExpression": inputs.get("scheduleExpression") or None,
            "description": inputs.get("description"),
            "roleArn": inputs.get("roleArn") or None,
        }
        return str(events.put_rule(**request(events, "PutRule", sent))["RuleArn"])

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = physical_name(inputs, ctx.name, max_length=64)
        arn = self._put(ctx, name, inputs)
        if inputs.get("tags"):
            ctx.aws.client("events").tag_resource(ResourceARN=arn, Tags=tag_list(inputs["tags"]))
        bus = _bus(inputs)
        resource_id = name if bus == "default" else f"{bus}/{name}"
        return resource_id, {"name": name, "arn": arn, "tagsAll": dict(inputs.get("tags") or {})}

    def _describe(self, ctx: StepContext, name: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return dict(ctx.aws.client("events").describe_rule(Name=name, EventBusName=_bus(inputs)))
        except Exception as exc:
            if is_not_found(exc, "ResourceNotFoundException"):
                return None
            raise

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        rule = self._describe(ctx, resource_id.rsplit("/", 1)[-1], inputs)
        if rule is None:
            return None
        live: dict[str, Any] = {"name": rule["Name"]} if "name" in inputs else {}
        if "eventBusName" in inputs:
            live["eventBusName"] = inputs["eventBusName"]  # the rule was found on that bus
        pattern = rule.get("EventPattern")
        wanted = inputs.get("eventPattern")
        if pattern or wanted:
            live["eventPattern"] = wanted if _same_json(pattern, wanted) else pattern
        texts = ("scheduleExpression", "description", "roleArn")
        got = from_api(rule, dict.fromkeys(texts), output_shape(ctx.aws.client("events"), "DescribeRule"))
        for key in texts:
            _report_text(live, inputs, key, got[key])
        state = rule.get("State") or "ENABLED"
        if "isEnabled" in inputs and "state" not in inputs:
            live["isEnabled"] = state != "DISABLED"
        else:
            _report(live, inputs, "state", state, "ENABLED")
        tags = ctx.aws.client("events").list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags")
        _report(live, inputs, "tags", ctx.read_tags(tags), {})
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        events = ctx.aws.client("events")
        name = resource_id.rsplit("/", 1)[-1]
        settings = ("eventPattern", "scheduleExpression", "description", "roleArn", "state", "isEnabled")
        arn = outputs.get("arn")
        if any(olds.get(key) != news.get(key) for key in settings) or not arn:
            arn = self._put(ctx, name, news)  # PutRule is an upsert of the whole rule definition
        retag(
            olds.get("tags"),
            news.get("tags"),
            untag=lambda keys: events.untag_resource(ResourceARN=arn, TagKeys=keys),
            tag=lambda tags: events.tag_resource(ResourceARN=arn, Tags=tag_list(tags)),
        )
        return {"name": name, "arn": arn, "tagsAll": dict(news.get("tags") or {})}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        try:
            ctx.aws.client("events").delete_rule(
                Name=resource_id.rsplit("/", 1)[-1], EventBusName=_bus(inputs), Force=bool(inputs.get("forceDestroy"))
            )
        except Exception as exc:
            if not is_not_found(exc, "ResourceNotFoundException"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        name = inputs.get("name")
        rule = self._describe(ctx, name, inputs) if name else None
        if rule is None:
            return None
        bus = _bus(inputs)
        resource_id = rule["Name"] if bus == "default" else f"{bus}/{rule['Name']}"
        return resource_id, {"name": rule["Name"], "arn": rule["Arn"], "tagsAll": dict(inputs.get("tags") or {})}


def _state(inputs: dict[str, Any]) -> str:
    if inputs.get("state"):
        return str(inputs["state"])
    if "isEnabled" in inputs:
        return "ENABLED" if inputs["isEnabled"] else "DISABLED"
    return "ENABLED"


class EventTargetHandler(Handler):
    """``aws:cloudwatch/eventTarget:EventTarget``; the id is ``rule-targetId`` (``bus-rule-targetId`` on a
    non-default bus), as in the Terraform provider. That id cannot be parsed back (``-`` is legal in both
    parts), so every call takes the rule and target id from the inputs."""

    type = "aws:cloudwatch/eventTarget:EventTarget"
    service = "events"
    computed = ("targetId",)
    # Sent through PutTargets' model (shapes.py); the pipeline block is a Terraform rename, below.
    _SENT = ("arn", "roleArn", "input", "inputPath", "sagemakerPipelineTarget")
    _RENAMES: ClassVar[dict[str, str]] = {
        "sagemakerPipelineTarget": "SageMakerPipelineParameters",
        "sagemakerPipelineTarget.pipelineParameterLists": "PipelineParameterList",
    }
    # Refused when set: appsyncTarget, batchTarget, deadLetterConfig, ecsTarget, httpTarget, inputTransformer,
    # kinesisTarget, redshiftTarget, retryPolicy, runCommandTargets, sqsTarget.
    implemented = frozenset(
        {
            "arn",
            "eventBusName",
            "forceDestroy",
            "input",
            "inputPath",
            "roleArn",
            "rule",
            "sagemakerPipelineTarget",
            "targetId",
        }
    )

    def _target(self, events: Any, target_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        sent = {key: inputs.get(key) or None for key in self._SENT}
        if inputs.get("sagemakerPipelineTarget") is not None:  # an empty block still sends its empty list
            pipeline = inputs["sagemakerPipelineTarget"]
            sent["sagemakerPipelineTarget"] = {"pipelineParameterLists": pipeline.get("pipelineParameterLists") or []}
        shape = input_shape(events, "PutTargets", "Targets")
        target: dict[str, Any] = {"Id": target_id, **to_api(shape, sent, self._RENAMES, where="PutTargets")}
        return target

    def _put(self, ctx: StepContext, target_id: str, inputs: dict[str, Any]) -> None:
        events = ctx.aws.client("events")
        result = events.put_targets(
            Rule=inputs["rule"], EventBusName=_bus(inputs), Targets=[self._target(events, target_id, inputs)]
        )
        if result.get("FailedEntryCount"):
            failed = result.get("FailedEntries") or [{}]
            raise HandlerError(f"PutTargets failed for {target_id!r}: {failed[0].get('ErrorMessage', failed[0])}")

    @staticmethod
    def _id(target_id: str, inputs: dict[str, Any]) -> str:
        bus = _bus(inputs)
        return f"{inputs['rule']}-{target_id}" if bus == "default" else f"{bus}-{inputs['rule']}-{target_id}"

    def _target_id(self, resource_id: str, inputs: dict[str, Any]) -> str:
        """The target id: from the inputs, else the id minus the (known) rule and bus prefix (auto-named)."""
        if inputs.get("targetId"):
            return str(inputs["targetId"])
        return resource_id[len(self._id("", inputs)) :]

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        target_id = inputs.get("targetId") or auto_name(ctx.name, max_length=64, lowercase=False)
        self._put(ctx, target_id, inputs)
        return self._id(target_id, inputs), {"targetId": target_id}

    def _find_target(self, ctx: StepContext, target_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        paginator = ctx.aws.client("events").get_paginator("list_targets_by_rule")
        try:
            for page in paginator.paginate(Rule=inputs["rule"], EventBusName=_bus(inputs)):
                for target in page.get("Targets", []):
                    if target.get("Id") == target_id:
                        return dict(target)
        except Exception as exc:
            if is_not_found(exc, "ResourceNotFoundException"):
                return None
            raise
        return None

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        target_id = self._target_id(resource_id, inputs)
        target = self._find_target(ctx, target_id, inputs)
        if target is None:
            return None
        live: dict[str, Any] = {}
        shape = output_shape(ctx.aws.client("events"), "ListTargetsByRule", "Targets")
        got = from_api(target, dict.fromkeys(("arn", "roleArn", "input", "inputPath")), shape)
        for key, value in got.items():
            _report_text(live, inputs, key, value)
        if "input" in live and inputs.get("input") and _same_json(live["input"], inputs["input"]):
            live["input"] = inputs["input"]  # a JSON input compares as a document
        params = (target.get("SageMakerPipelineParameters") or {}).get("PipelineParameterList")
        wanted = inputs.get("sagemakerPipelineTarget")
        if params is not None or wanted is not None:
            live_params = [{"name": p["Name"], "value": p["Value"]} for p in params or []]
            wanted_params = (wanted or {}).get("pipelineParameterLists") or []
            same = sorted(live_params, key=str) == sorted(
                ({"name": p.get("name"), "value": p.get("value")} for p in wanted_params), key=str
            )
            live["sagemakerPipelineTarget"] = wanted if same else {"pipelineParameterLists": live_params}
        return live

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        # PutTargets with an existing Id replaces that target's whole definition.
        target_id = self._target_id(resource_id, olds)
        self._put(ctx, target_id, news)
        return {"targetId": target_id}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        target_id = self._target_id(resource_id, inputs)
        try:
            ctx.aws.client("events").remove_targets(
                Rule=inputs["rule"], EventBusName=_bus(inputs), Ids=[target_id], Force=bool(inputs.get("forceDestroy"))
            )
        except Exception as exc:
            if not is_not_found(exc, "ResourceNotFoundException"):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        if not inputs.get("targetId"):
            return None  # an auto-named target cannot be told apart from the rule's other targets
        target_id = str(inputs["targetId"])
        resource_id = self._id(target_id, inputs)
        return (resource_id, {"targetId": target_id}) if self.read(ctx, resource_id, inputs) is not None else None


HANDLERS: tuple[type[Handler], ...] = (
    LogGroupHandler,
    MetricAlarmHandler,
    DashboardHandler,
    EventRuleHandler,
    EventTargetHandler,
)
