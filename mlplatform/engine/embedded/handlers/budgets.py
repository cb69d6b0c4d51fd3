"""AWS Budgets: cost budgets with cost filters, tags and e-mail/SNS notifications (pulumi-aws v7
``aws.budgets.Budget``).

Like the Terraform provider, the budget is created first and each notification is added with
``CreateNotification``; a notification is identified by its type, operator, threshold and threshold
type, so changing any of those (or its subscribers) deletes it and creates the new one. The budget itself
(type, time unit, limit, cost filters) changes in place with ``UpdateBudget``, which replaces the whole
definition, so every update sends all of it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.handlers.common import is_not_found, physical_name, retag, tag_list
from mlplatform.engine.embedded.handlers.shapes import input_shape, to_api

NotificationKey = tuple[str, str, float, str]


def _split_id(resource_id: str) -> tuple[str, str]:
    account, _, name = resource_id.partition(":")
    return account, name


def _notification(budgets: Any, item: dict[str, Any]) -> dict[str, Any]:
    """A notification block as the API's ``Notification`` (names from the Budgets model, shapes.py); its
    subscribers are not part of it (the API takes them beside it)."""
    fields = {key: item[key] for key in ("notificationType", "comparisonOperator", "threshold")}
    fields["thresholdType"] = item.get("thresholdType") or "PERCENTAGE"
    notification: dict[str, Any] = to_api(input_shape(budgets, "CreateNotification", "Notification"), fields)
    return notification


def _key(notification: dict[str, Any]) -> NotificationKey:
    """A notification's identity. The threshold is a float here so that a live 80.0 is an input's 80."""
    return (
        str(notification["NotificationType"]),
        str(notification["ComparisonOperator"]),
        float(notification["Threshold"]),
        str(notification.get("ThresholdType") or "PERCENTAGE"),
    )


def _subscribers(item: dict[str, Any]) -> list[dict[str, str]]:
    emails = [{"SubscriptionType": "EMAIL", "Address": a} for a in item.get("subscriberEmailAddresses") or []]
    topics = [{"SubscriptionType": "SNS", "Address": a} for a in item.get("subscriberSnsTopicArns") or []]
    return emails + topics


def _subscriber_set(subscribers: list[dict[str, str]]) -> frozenset[tuple[str, str]]:
    return frozenset((s["SubscriptionType"], s["Address"]) for s in subscribers)


def _wanted(budgets: Any, inputs: dict[str, Any]) -> dict[NotificationKey, frozenset[tuple[str, str]]]:
    notifications = inputs.get("notifications") or []
    return {_key(_notification(budgets, n)): _subscriber_set(_subscribers(n)) for n in notifications}


def _cost_filters(inputs: dict[str, Any]) -> dict[str, list[str]]:
    """``costFilters`` (a list of ``{name, values}``, a set in the Terraform provider) -> the API's map."""
    return {
        str(item["name"]): [str(value) for value in item.get("values") or []]
        for item in inputs.get("costFilters") or []
    }


def _same_filters(live: dict[str, Any] | None, wanted: dict[str, list[str]]) -> bool:
    """Filters compare as sets: neither the names' nor the values' order carries meaning."""
    normal = {name: sorted(values or []) for name, values in (live or {}).items()}
    return normal == {name: sorted(values) for name, values in wanted.items()}


def _same_amount(a: Any, b: Any) -> bool:
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (InvalidOperation, ValueError):
        return bool(a == b)


class BudgetHandler(Handler):
    """``aws.budgets.Budget``; the id is ``<accountId>:<name>``, as in the Terraform provider."""

    type = "aws:budgets/budget:Budget"
    service = "budgets"
    name_key = "name"
    computed = ("arn", "name", "accountId")
    # Not implemented (refused when set): costTypes, plannedLimits, autoAdjustData, filterExpression, metrics,
    # billingViewArn, timePeriodStart, timePeriodEnd.
    implemented = frozenset(
        {
            "accountId",
            "budgetType",
            "costFilters",
            "limitAmount",
            "limitUnit",
            "name",
            "namePrefix",
            "notifications",
            "timeUnit",
        }
    )

    def _outputs(self, ctx: StepContext, account: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": f"arn:{ctx.aws.partition}:budgets::{account}:budget/{name}",
            "name": name,
            "accountId": account,
            "tagsAll": dict(inputs.get("tags") or {}),
        }

    @staticmethod
    def _budget(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        budget: dict[str, Any] = {
            "BudgetName": name,
            "BudgetType": inputs["budgetType"],
            "TimeUnit": inputs["timeUnit"],
        }
        if inputs.get("limitAmount") is not None:
            budget["BudgetLimit"] = {"Amount": str(inputs["limitAmount"]), "Unit": inputs.get("limitUnit") or "USD"}
        if inputs.get("costFilters"):
            budget["CostFilters"] = _cost_filters(inputs)
        return budget

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        budgets = ctx.aws.client("budgets")
        account = str(inputs.get("accountId") or ctx.aws.account_id)
        # Terraform's create.Name: the name, else namePrefix + a unique suffix; else Pulumi's auto-name.
        name = physical_name(inputs, ctx.name, key="name", prefix_key="namePrefix", max_length=100)
        args: dict[str, Any] = {"AccountId": account, "Budget": self._budget(name, inputs)}
        if inputs.get("tags"):
            args["ResourceTags"] = tag_list(inputs["tags"])
        budgets.create_budget(**args)
        for item in inputs.get("notifications") or []:
            budgets.create_notification(
                AccountId=account,
                BudgetName=name,
                Notification=_notification(budgets, item),
                Subscribers=_subscribers(item),
            )
        return f"{account}:{name}", self._outputs(ctx, account, name, inputs)

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        budgets = ctx.aws.client("budgets")
        account, name = _split_id(resource_id)
        try:
            budget = budgets.describe_budget(AccountId=account, BudgetName=name)["Budget"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        limit = budget.get("BudgetLimit") or {}
        live: dict[str, Any] = {
            "budgetType": budget.get("BudgetType"),
            "timeUnit": budget.get("TimeUnit"),
            # AWS answers "100.0" for "100": report the recorded spelling when the amounts agree.
            "limitAmount": inputs.get("limitAmount")
            if _same_amount(limit.get("Amount"), inputs.get("limitAmount"))
            else limit.get("Amount"),
            "limitUnit": limit.get("Unit"),
        }
        if "costFilters" in inputs:
            filters = budget.get("CostFilters") or {}
            live["costFilters"] = (
                inputs["costFilters"]
                if _same_filters(filters, _cost_filters(inputs))
                else [{"name": name, "values": list(values)} for name, values in sorted(filters.items())]
            )
        live = {key: value for key, value in live.items() if key in inputs}
        if "notifications" in inputs:
            current = self._live_notifications(ctx, account, name, with_subscribers=True)
            if current == _wanted(budgets, inputs):
                live["notifications"] = inputs["notifications"]
            else:
                live["notifications"] = [_shown(key, subscribers) for key, subscribers in sorted(current.items())]
        if "tags" in inputs:
            arn = self._outputs(ctx, account, name, inputs)["arn"]
            live["tags"] = ctx.read_tags(budgets.list_tags_for_resource(ResourceARN=arn).get("ResourceTags"))
        return live

    def _live_notifications(
        self, ctx: StepContext, account: str, name: str, *, with_subscribers: bool
    ) -> dict[NotificationKey, frozenset[tuple[str, str]]]:
        budgets = ctx.aws.client("budgets")
        found: dict[NotificationKey, frozenset[tuple[str, str]]] = {}
        for page in budgets.get_paginator("describe_notifications_for_budget").paginate(
            AccountId=account, BudgetName=name
        ):
            for notification in page.get("Notifications", []):
                subscribers: frozenset[tuple[str, str]] = frozenset()
                if with_subscribers:
                    answer = budgets.describe_subscribers_for_notification(
                        AccountId=account, BudgetName=name, Notification=notification
                    )
                    subscribers = _subscriber_set(answer.get("Subscribers", []))
                found[_key(notification)] = subscribers
        return found

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        budgets = ctx.aws.client("budgets")
        account, name = _split_id(resource_id)
        budget = budgets.describe_budget(AccountId=account, BudgetName=name)["Budget"]
        limit = budget.get("BudgetLimit") or {}
        if (
            budget.get("BudgetType") != news["budgetType"]
            or budget.get("TimeUnit") != news["timeUnit"]
            or not _same_amount(limit.get("Amount"), news.get("limitAmount"))
            or (news.get("limitUnit") and limit.get("Unit") != news["limitUnit"])
            or not _same_filters(budget.get("CostFilters"), _cost_filters(news))
        ):
            # UpdateBudget replaces the whole definition: an empty filter map removes filters the program dropped.
            budgets.update_budget(AccountId=account, NewBudget={"CostFilters": {}, **self._budget(name, news)})
        self._converge_notifications(ctx, account, name, olds, news)
        self._converge_tags(ctx, account, name, olds, news)
        return {**outputs, **self._outputs(ctx, account, name, news)}

    def _converge_notifications(
        self, ctx: StepContext, account: str, name: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> None:
        """Delete notifications that are gone or whose subscribers changed, create the missing ones.

        The live notification set is read; subscribers are compared with the recorded inputs, which
        saves a DescribeSubscribersForNotification call per notification.
        """
        budgets = ctx.aws.client("budgets")
        live = set(self._live_notifications(ctx, account, name, with_subscribers=False))
        recorded, wanted = _wanted(budgets, olds), _wanted(budgets, news)
        by_key = {_key(_notification(budgets, n)): n for n in news.get("notifications") or []}
        for key in sorted(live):
            if key not in wanted or recorded.get(key) != wanted[key]:
                fields = ("NotificationType", "ComparisonOperator", "Threshold", "ThresholdType")
                notification = dict(zip(fields, key, strict=True))
                try:
                    budgets.delete_notification(AccountId=account, BudgetName=name, Notification=notification)
                except Exception as exc:
                    if not is_not_found(exc):
                        raise
                live.discard(key)
        for key in sorted(wanted):
            if key not in live:
                item = by_key[key]
                budgets.create_notification(
                    AccountId=account,
                    BudgetName=name,
                    Notification=_notification(budgets, item),
                    Subscribers=_subscribers(item),
                )

    def _converge_tags(
        self, ctx: StepContext, account: str, name: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> None:
        if not olds.get("tags") and not news.get("tags"):
            return  # tags never managed: no tagging call (budgets created without tags have none)
        budgets = ctx.aws.client("budgets")
        arn = self._outputs(ctx, account, name, news)["arn"]
        current = ctx.read_tags(budgets.list_tags_for_resource(ResourceARN=arn).get("ResourceTags"))
        retag(
            current,
            news.get("tags"),
            untag=lambda keys: budgets.untag_resource(ResourceARN=arn, ResourceTagKeys=keys),
            tag=lambda tags: budgets.tag_resource(ResourceARN=arn, ResourceTags=tag_list(tags)),
        )

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        account, name = _split_id(resource_id)
        try:
            ctx.aws.client("budgets").delete_budget(AccountId=account, BudgetName=name)
        except Exception as exc:
            if not is_not_found(exc):
                raise

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        if not inputs.get("name"):
            return None
        account = str(inputs.get("accountId") or ctx.aws.account_id)
        try:
            ctx.aws.client("budgets").describe_budget(AccountId=account, BudgetName=inputs["name"])
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return f"{account}:{inputs['name']}", self._outputs(ctx, account, inputs["name"], inputs)


def _shown(key: NotificationKey, subscribers: frozenset[tuple[str, str]]) -> dict[str, Any]:
    """A live notification in input shape (how drift is shown)."""
    notification_type, operator, threshold, threshold_type = key
    return {
        "notificationType": notification_type,
        "comparisonOperator": operator,
        "threshold": threshold,
        "thresholdType": threshold_type,
        "subscriberEmailAddresses": sorted(a for kind, a in subscribers if kind == "EMAIL"),
        "subscriberSnsTopicArns": sorted(a for kind, a in subscribers if kind == "SNS"),
    }


HANDLERS: tuple[type[Handler], ...] = (BudgetHandler,)
