"""What the Pulumi engine does about the operations a killed run left pending, before the next ``up``.

Pulumi records an operation as pending before it calls the provider. After a kill (``kill -9``, a crash, a
lost machine) it knows neither whether a create made its resource nor what an update or delete left. Left
alone, the next ``pulumi up`` drops the pending creates with a warning and creates each resource again: one
with a fixed name then fails (it exists), one without (a VPC, a KMS key) is silently made twice. Pulumi's
remedy is ``pulumi refresh`` after a person has checked each create (``--import-pending-creates <urn> <id>``
or ``--clear-pending-creates``). :func:`recover` does that check with a :data:`FindCreated` lookup, or
refuses, naming each operation, when there is none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from mlplatform.engine.model import Diagnostic
from mlplatform.engine.targets import logical_name
from mlplatform.engine.values import SIG_KEY, conceal, is_secret, secret, secret_texts
from mlplatform.errors import EXIT_RESOURCE, MlplatformError

PROVIDER_PREFIX = "pulumi:providers:"

Guard = Callable[[], AbstractContextManager[None]]
"""Maps the Automation API's exceptions to mlplatform's errors (the engine's ``_errors`` for the stack)."""


class PulumiPendingOperationsError(MlplatformError):
    """A killed run left operations whose outcome Pulumi does not know (exit 4, the resource-error code)."""

    headline = "interrupted run"
    exit_code = EXIT_RESOURCE


class CannotTell(Exception):
    """A lookup cannot say whether an interrupted create made its resource (no way to find it safely)."""


@dataclass(frozen=True)
class InterruptedCreate:
    """A create a killed run began and never recorded: what :data:`FindCreated` gets to look for it.

    Attributes:
        urn, type: the resource's.
        inputs: the inputs the create was sent (secrets as :func:`~mlplatform.engine.values.secret`).
        provider_inputs: the inputs of the provider resource the create went through (same form).
    """

    urn: str
    type: str
    inputs: dict[str, Any]
    provider_inputs: dict[str, Any]


FindCreated = Callable[[InterruptedCreate], tuple[str, dict[str, Any]] | None]
"""Looks for what an interrupted create made: ``(id, outputs)``, ``None`` when it made nothing, or raises
:class:`CannotTell`. Without one, an ``up`` after a killed run is refused until someone has checked by hand."""


def recover(
    pulumi_stack: Any, env: str, find_created: FindCreated | None, *, parallel: int, guard: Guard
) -> list[Diagnostic]:
    """Settle what a killed run left unfinished, before an ``up`` plans anything; what was done, as warnings.

    Each interrupted create is looked for with ``find_created`` (by the name or the URN tag it was sent with):

    * a create that made its resource: the resource goes into the state with the id found (as
      ``--import-pending-creates`` does), and the refresh below reads it live;
    * a create that made nothing: its pending entry is dropped, and this ``up`` creates it;
    * updates, deletes and reads: a refresh of those resources reads what they left, which clears them.

    Raises:
        PulumiPendingOperationsError: creates are pending and there is no ``find_created``, or it cannot
            tell for some of them, or looking failed, or the provider could not read an adopted resource.
            Nothing was changed in the cloud; the state only lost entries that are known to be settled.
    """
    with guard():
        exported = pulumi_stack.export_stack()
    deployment = exported.deployment or {}
    pending = list(deployment.get("pending_operations") or [])
    if not pending:
        return []
    creates = [op for op in pending if op.get("type") == "creating"]
    found = _look_for(find_created, env, deployment, pending, creates)
    adopted = {urn: hit for urn, hit in found.items() if hit is not None}

    resources = list(deployment.get("resources") or [])
    for op in creates:
        if op_urn(op) in adopted:
            resources.append(_adopted_record(op, *adopted[op_urn(op)]))  # after what it needs: they completed
    deployment["resources"] = resources
    deployment["pending_operations"] = [op for op in pending if op.get("type") != "creating"]
    known = {str(item.get("urn")) for item in resources}
    targets = sorted(set(adopted) | {op_urn(op) for op in pending if op_urn(op) in known})
    with guard():
        # `stack import` drops every pending entry; the refresh reads what the interrupted updates and deletes
        # left, and the adopted resources' live state.
        pulumi_stack.import_stack(exported)
        if targets:
            pulumi_stack.refresh(target=targets, parallel=parallel, show_secrets=False)
        after = pulumi_stack.export_stack().deployment or {}
    lost = sorted(set(adopted) - {str(item.get("urn")) for item in after.get("resources") or []})
    if lost:
        raise PulumiPendingOperationsError(
            f"the interrupted run's {', '.join(logical_name(urn) for urn in lost)} was found, but the provider "
            "could not read it by the id found: it is not in the state, and nothing was changed in the cloud.",
            hint="Check it in the cloud before the next `up`, which would create it again: `pulumi import` it into "
            "the stack, or delete it.",
        )
    return [_recovery_note(pending, found)]


def _look_for(
    find_created: FindCreated | None,
    env: str,
    deployment: dict[str, Any],
    pending: list[dict[str, Any]],
    creates: list[dict[str, Any]],
) -> dict[str, tuple[str, dict[str, Any]] | None]:
    """Per interrupted create, what ``find_created`` found (``None``: nothing was made).

    Raises:
        PulumiPendingOperationsError: no way to look, an answer it cannot give, or a lookup that failed.
    """
    if creates and find_created is None:
        raise pending_error(env, pending, "the engine has no way to look for them here")
    providers = {
        f"{item.get('urn')}::{item.get('id')}": item
        for item in deployment.get("resources") or []
        if str(item.get("type", "")).startswith(PROVIDER_PREFIX)
    }
    found: dict[str, tuple[str, dict[str, Any]] | None] = {}
    unknown: list[str] = []
    for op in creates:
        resource, urn = op.get("resource") or {}, op_urn(op)
        provider = providers.get(str(resource.get("provider", ""))) or {}
        created = InterruptedCreate(
            urn,
            str(resource.get("type", "")),
            _from_checkpoint(resource.get("inputs") or {}),
            _from_checkpoint(provider.get("inputs") or {}),
        )
        assert find_created is not None
        try:
            found[urn] = find_created(created)
        except CannotTell as exc:
            unknown.append(f"{logical_name(urn)}: {exc}")
        except Exception as exc:  # noqa: BLE001 - an API error while looking: report it, change nothing
            why = f"looking for {logical_name(urn)!r} failed ({type(exc).__name__}: {exc})"
            raise pending_error(env, pending, why) from None
    if unknown:
        raise pending_error(env, pending, f"it cannot tell for all of them ({'; '.join(unknown)})")
    return found


def pending_error(env: str, pending: list[dict[str, Any]], why: str) -> PulumiPendingOperationsError:
    lines = "\n".join(f"  {op.get('type', '')!s:<9} {logical_name(op_urn(op))}  ({op_urn(op)})" for op in pending)
    return PulumiPendingOperationsError(
        f"an earlier run of environment {env!r} was killed during {len(pending)} operations, and Pulumi does not "
        f"know whether they happened; {why}:\n{lines}\nNothing was changed by this run.",
        hint="Check each in the cloud: delete what an interrupted create made (or import it with `pulumi "
        f"refresh --import-pending-creates <urn> <id>`), then `pulumi refresh --clear-pending-creates -s {env}` "
        "(in the folder of the stack's Pulumi.yaml) clears them and reads the rest; `mlplatform up` converges.",
    )


def op_urn(op: dict[str, Any]) -> str:
    """The URN of a pending operation of an exported checkpoint."""
    return str((op.get("resource") or {}).get("urn", ""))


def _adopted_record(op: dict[str, Any], resource_id: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint record of a resource an interrupted create made, from its pending entry and the lookup."""
    record = dict(op.get("resource") or {})
    inputs = _from_checkpoint(record.get("inputs") or {})
    # Keys the lookup does not report are taken as the create asked (as the embedded engine adopts); the refresh
    # that follows reads over them what the provider can see. Outputs echoing a secret input stay secret.
    merged = {**inputs, **conceal(outputs, secret_texts(inputs))}
    return record | {"id": resource_id, "outputs": _to_checkpoint(merged)}


def _recovery_note(pending: list[dict[str, Any]], found: dict[str, tuple[str, dict[str, Any]] | None]) -> Diagnostic:
    """One warning saying what :meth:`recover` did with each operation a killed run left."""
    lines = []
    for op in pending:
        name, kind = logical_name(op_urn(op)), str(op.get("type", ""))
        hit = found.get(op_urn(op))
        if kind != "creating":
            done = {"updating": "updated", "deleting": "deleted", "reading": "read", "importing": "imported"}
            lines.append(f"{name!r} was being {done.get(kind, kind)}: read live again")
        elif hit is not None:
            lines.append(f"adopted {name!r} ({hit[0]}): the interrupted run had created it")
        else:
            lines.append(f"{name!r} was not created by the interrupted run: this run creates it")
    count = len(pending)
    head = f"an earlier run was killed during {count} operation{'s' if count != 1 else ''}:"
    return Diagnostic("warning", "\n  ".join([head, *lines]))


def _from_checkpoint(value: Any) -> Any:
    """A value of an exported checkpoint (``stack export --show-secrets``: a secret is ``{sig, plaintext: <JSON>}``)
    as the engine's plain data (secrets as :func:`~mlplatform.engine.values.secret`)."""
    if isinstance(value, dict):
        if SIG_KEY in value and "plaintext" in value:
            return secret(_from_checkpoint(json.loads(value["plaintext"])))
        return {key: _from_checkpoint(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_checkpoint(item) for item in value]
    return value


def _to_checkpoint(value: Any) -> Any:
    """The inverse of :func:`_from_checkpoint`: ``stack import`` encrypts each ``plaintext`` secret again."""
    if is_secret(value):
        return {SIG_KEY: value[SIG_KEY], "plaintext": json.dumps(_to_checkpoint(value.get("value")))}
    if isinstance(value, dict):
        return {key: _to_checkpoint(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_checkpoint(item) for item in value]
    return value
