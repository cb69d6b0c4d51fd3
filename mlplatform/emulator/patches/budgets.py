"""Fixes for moto's AWS Budgets gaps.

A test named with no file is in tests/integration/test_emulator_patches.py.

- ``add_subscribers_update_and_tags``: no ``DescribeSubscribersForNotification``, ``UpdateBudget`` or tag
  operations (HTTP 500), and ``CreateBudget`` drops ``ResourceTags``. test_budgets_on_plain_moto
"""

from __future__ import annotations

import inspect
from typing import Any

from mlplatform.emulator.patches.support import add_operations, first_time, run_after


def _budget_from_arn(backend: Any, arn: str) -> Any:
    """The moto ``Budget`` an ARN ``arn:<partition>:budgets::<account>:budget/<name>`` names, or AWS's NotFound."""
    from moto.budgets.exceptions import NotFoundException

    parts = arn.split(":", 5)
    kind, _, name = parts[5].partition("/") if len(parts) == 6 else ("", "", "")
    budget = backend.budgets.get(parts[4], {}).get(name) if kind == "budget" and "/" not in name else None
    if budget is None:
        raise NotFoundException(f"Unable to find resource {arn}: the budget doesn't exist.")
    return budget


def add_subscribers_update_and_tags() -> None:
    """Budgets ``DescribeSubscribersForNotification``, ``UpdateBudget``, tags (moto 5.2.5: HTTP 500 or ignored).

    moto 5.2.5 stores each notification's subscribers but has no ``DescribeSubscribersForNotification``, so a
    budget's notifications cannot be read back whole (every refresh errs); no ``UpdateBudget``, so a new
    limit or filter could only be applied by deleting the budget (and its spend history on AWS); and no
    ``ListTagsForResource``/``TagResource``/``UntagResource``, while ``CreateBudget`` drops ``ResourceTags``.
    All answer HTTP 500 (``NotImplementedError``). Tags are kept on moto's ``Budget`` object, so they go
    with it when the budget is deleted. The budget ARN is AWS's ``arn:aws:budgets::<account>:budget/<name>``.
    """
    from moto.budgets.exceptions import NotFoundException
    from moto.budgets.models import Budget, BudgetsBackend
    from moto.budgets.responses import BudgetsResponse
    from moto.core.responses import ActionResult, EmptyResult
    from moto.core.utils import unix_time

    def notification_key(notification: dict[str, Any]) -> tuple[str, str, float, str]:
        # AWS identifies a notification by these four; ThresholdType defaults to PERCENTAGE.
        return (
            str(notification.get("NotificationType")),
            str(notification.get("ComparisonOperator")),
            float(notification.get("Threshold") or 0),
            str(notification.get("ThresholdType") or "PERCENTAGE"),
        )

    def describe_subscribers_for_notification(
        self: Any, account_id: str, budget_name: str, notification: dict[str, Any]
    ) -> list[dict[str, Any]]:
        budget = self.budgets[account_id].get(budget_name)
        if budget is None:
            raise NotFoundException(f"Unable to get budget: {budget_name} - the budget doesn't exist.")
        wanted = notification_key(notification)
        for item in budget.notifications:
            if notification_key(item.details) == wanted:
                return list(item.subscribers or [])
        raise NotFoundException(f"Unable to get notification for budget {budget_name}: the notification doesn't exist.")

    def update_budget(self: Any, account_id: str, new_budget: dict[str, Any]) -> None:
        name = new_budget.get("BudgetName")
        current = self.budgets[account_id].get(name)
        if current is None:
            raise NotFoundException(f"Unable to update budget: {name} - the budget doesn't exist.")
        replacement = Budget(dict(new_budget), [])  # validates the limit as CreateBudget does
        if "TimePeriod" not in new_budget:  # a period not given is kept, not reset to this month
            replacement.budget["TimePeriod"] = current.budget["TimePeriod"]
        replacement.budget["LastUpdatedTime"] = unix_time()
        current.budget = replacement.budget

    def list_tags_for_resource(self: Any, arn: str) -> list[dict[str, str]]:
        return list(getattr(_budget_from_arn(self, arn), "resource_tags", []))

    def tag_resource(self: Any, arn: str, tags: list[dict[str, str]]) -> None:
        budget = _budget_from_arn(self, arn)
        keys = {tag["Key"] for tag in tags}
        kept = [tag for tag in getattr(budget, "resource_tags", []) if tag["Key"] not in keys]
        budget.resource_tags = kept + [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]

    def untag_resource(self: Any, arn: str, keys: list[str]) -> None:
        budget = _budget_from_arn(self, arn)
        budget.resource_tags = [tag for tag in getattr(budget, "resource_tags", []) if tag["Key"] not in set(keys)]

    def handle_describe_subscribers(self: Any) -> ActionResult:
        subscribers = self.backend.describe_subscribers_for_notification(
            self._get_param("AccountId"), self._get_param("BudgetName"), self._get_param("Notification")
        )
        # NextToken is the index of the next subscriber (a notification has at most 11 on AWS).
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or 100)
        result: dict[str, Any] = {"Subscribers": subscribers[start : start + size]}
        if start + size < len(subscribers):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    def handle_update_budget(self: Any) -> EmptyResult:
        self.backend.update_budget(self._get_param("AccountId"), self._get_param("NewBudget"))
        return EmptyResult()

    def handle_list_tags(self: Any) -> ActionResult:
        return ActionResult({"ResourceTags": self.backend.list_tags_for_resource(self._get_param("ResourceARN"))})

    def handle_tag(self: Any) -> EmptyResult:
        self.backend.tag_resource(self._get_param("ResourceARN"), self._get_param("ResourceTags") or [])
        return EmptyResult()

    def handle_untag(self: Any) -> EmptyResult:
        self.backend.untag_resource(self._get_param("ResourceARN"), self._get_param("ResourceTagKeys") or [])
        return EmptyResult()

    add_operations(
        BudgetsBackend,
        BudgetsResponse,
        describe_subscribers_for_notification=(describe_subscribers_for_notification, handle_describe_subscribers),
        update_budget=(update_budget, handle_update_budget),
        list_tags_for_resource=(list_tags_for_resource, handle_list_tags),
        tag_resource=(tag_resource, handle_tag),
        untag_resource=(untag_resource, handle_untag),
    )

    # CreateBudget's ResourceTags: only while moto's own create handler ignores them.
    if "ResourceTags" in inspect.getsource(BudgetsResponse.create_budget) or not first_time(
        BudgetsResponse, "_mlplatform_resource_tags"
    ):
        return

    def keep_resource_tags(self: Any) -> None:
        tags = self._get_param("ResourceTags")
        if tags:
            budget = self.backend.budgets[self._get_param("AccountId")][self._get_param("Budget")["BudgetName"]]
            budget.resource_tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]

    run_after(BudgetsResponse, "create_budget", keep_resource_tags)
