"""Fixes for moto's S3 gaps.

A test named with no file is in tests/integration/test_emulator_patches.py.

- ``return_eventbridge_notification``: ``GetBucketNotificationConfiguration`` omits a stored
  ``EventBridgeConfiguration``. test_s3_eventbridge_notification_on_plain_moto
- ``fix_logging_permission_check``: ``PutBucketLogging`` answers HTTP 500 when the log bucket's policy has a
  ``"Principal": "*"`` statement. test_s3_logging_to_a_hardened_bucket_on_plain_moto
- ``evaluate_bucket_policy_conditions``: a conditional ``Deny`` (the TLS-only statement) denies every object
  request. test_s3_conditional_bucket_policy_on_plain_moto (the conditions are evaluated by
  :mod:`mlplatform.emulator.iam_conditions`, tested in tests/unit/test_emulator_iam_conditions.py)
"""

from __future__ import annotations

import inspect
from typing import Any

from mlplatform.emulator.iam_conditions import condition_holds
from mlplatform.emulator.patches.support import first_time


def return_eventbridge_notification() -> None:
    """S3 ``GetBucketNotificationConfiguration`` omits ``EventBridgeConfiguration`` (moto 5.2.5).

    moto's ``PutBucketNotificationConfiguration`` stores ``EventBridgeConfiguration`` (and sends events to
    EventBridge), but ``S3Response.get_bucket_notification`` builds its answer from the topic, queue and
    Lambda configurations only: a bucket with EventBridge notifications on reads back as having them off,
    so every refresh reports drift. The patch adds the (empty) element to the answer when it is stored.
    """
    from moto.core.responses import ActionResult
    from moto.s3.responses import S3Response

    if "event_bridge" in inspect.getsource(S3Response.get_bucket_notification) or not first_time(
        S3Response, "_mlplatform_eventbridge"
    ):
        return
    original = S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or getattr(config, "event_bridge", None) is None:
            return original(self)
        serialized = self.serialized

        def with_eventbridge(action_result: ActionResult) -> Any:
            result = action_result.result
            if isinstance(result, dict) and "EventBridgeConfiguration" not in result:
                action_result = ActionResult({**result, "EventBridgeConfiguration": {}})
            return serialized(action_result)

        self.serialized = with_eventbridge
        try:
            return original(self)
        finally:
            del self.serialized

    S3Response.get_bucket_notification = get_bucket_notification  # type: ignore[method-assign]


def fix_logging_permission_check() -> None:
    """S3 ``PutBucketLogging`` answers HTTP 500 when the target bucket's policy has a ``"Principal": "*"`` statement.

    moto 5.2.5's ``FakeBucket._log_permissions_enabled_policy`` (which checks that the log bucket lets
    ``logging.s3.amazonaws.com`` write) calls ``stmt.get("Principal", {}).get("Service")``: a statement whose
    principal is the string ``"*"`` (the usual ``DenyInsecureTransport`` statement every hardened log bucket
    has) raises ``AttributeError``. It also compares ``Resource`` as a single string, so a grant listing its
    resources is missed. The replacement reads principals, actions and resources as IAM does (a string or
    a list each). Applied only while moto's check fails on such a policy.
    """
    import json
    from types import SimpleNamespace

    from moto.s3.models import FakeBucket
    from moto.s3.utils import LOGGING_SERVICE_PRINCIPAL

    original = FakeBucket._log_permissions_enabled_policy
    probe = SimpleNamespace(
        name="probe", partition="aws",
        policy=json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*"}]}).encode(),
    )  # fmt: skip
    try:
        original(probe, None)  # type: ignore[arg-type]
        return  # moto handles string principals itself
    except AttributeError:
        pass

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value] if value is not None else []

    def log_permissions_enabled_policy(target_bucket: Any, target_prefix: str | None) -> bool:
        if not target_bucket.policy:
            return False
        base = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}"
        accepted = {f"{base}/{target_prefix or ''}*", f"{base}/*", base}
        for stmt in json.loads(target_bucket.policy.decode())["Statement"]:
            principal = stmt.get("Principal")
            services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
            if LOGGING_SERVICE_PRINCIPAL not in services or stmt.get("Effect") != "Allow":
                continue
            if not {"s3:PutObject", "s3:*", "*"} & set(as_list(stmt.get("Action"))):
                continue
            if accepted & set(as_list(stmt.get("Resource"))):
                return True
        return False

    FakeBucket._log_permissions_enabled_policy = staticmethod(log_permissions_enabled_policy)  # type: ignore[method-assign]


# What the emulator knows of a request when it evaluates a bucket policy's conditions. It stands in for AWS's
# HTTPS endpoint (clients reach it over plain HTTP only because it is on loopback), so requests count as TLS.
_S3_REQUEST_CONTEXT = {"aws:securetransport": "true"}


def evaluate_bucket_policy_conditions() -> None:
    """S3 object requests answer 403 when the bucket policy has a conditional ``Deny`` (moto 5.2.5).

    moto checks every object request (Get/Head/Put/DeleteObject) against the bucket policy with its IAM
    statement evaluator, which understands only ``StringEquals`` conditions and treats any other operator as
    holding. The standard TLS-only statement (``Deny s3:* to "*" when Bool aws:SecureTransport = false``)
    therefore denies *every* object request, so an object in a hardened bucket can be written before the
    policy exists but never read, refreshed or deleted again. The replacement evaluates each statement's
    conditions properly (:func:`condition_holds`) against what the emulator knows of a request (it counts
    as TLS); a statement whose conditions do not hold does not apply, as in IAM. The rest (actions,
    resources, the principal ``"*"`` check) stays moto's.
    """
    import json

    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    if not first_time(FakeBucket, "_mlplatform_policy_conditions"):
        return
    tls_only = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::probe/*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip
    if IAMPolicyStatement(tls_only).is_action_permitted("s3:GetObject", "arn:aws:s3:::probe/k") is not (
        PermissionResult.DENIED
    ):
        return  # moto evaluates Bool conditions itself

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode()).get("Statement") or []
        result = PermissionResult.NEUTRAL
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Condition") and not condition_holds(statement["Condition"], _S3_REQUEST_CONTEXT):
                continue
            unconditional = {key: value for key, value in statement.items() if key != "Condition"}
            permission = IAMPolicyStatement(unconditional).is_action_permitted(action, resource)
            if permission == PermissionResult.DENIED:
                return permission
            if permission == PermissionResult.PERMITTED:
                result = permission
        return result

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
