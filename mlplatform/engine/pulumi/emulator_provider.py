"""The emulator provider: a Pulumi resource provider plugin named ``aws`` that serves the embedded engine's handlers.

The pulumi-aws plugin cannot be obtained on the machines this project is tested on, so to run the real Pulumi
engine end to end (its state, diff calls, events, refresh, pending operations) this plugin stands in for it —
**only against the local emulator**. ``CheckConfig`` and ``Configure`` refuse any provider configuration whose
endpoints are not all on the loopback interface (127.0.0.1, localhost, ::1), the default provider's empty
configuration included, and every AWS client it makes must have such an endpoint. Real AWS is deployed with the
real pulumi-aws plugin.

It answers the engine (``pulumi.provider.experimental``'s protocol) with the embedded engine's own code, so the
two engines can be held to the same plan by a differential test:

* ``CheckConfig``/``Configure``: the configuration is what mlplatform's program gives ``aws.Provider`` for target
  ``local`` (region, keys, ``endpoints``, the ``skip*`` flags, ``s3UsePathStyle``); :class:`AwsContext` reads
  it as the embedded engine reads a provider's inputs.
* ``Check`` returns the inputs unchanged: no defaults invented (the embedded engine invents none either).
* ``Diff`` is the embedded engine's rule over the *old inputs*: :func:`compare` with the type's rules from the
  provider's table (``handlers/rules.py``) and :func:`deletes_first`. The engine sends the old inputs beside the old
  outputs, but the SDK's framework passes on only the outputs, so :class:`EmulatorServicer` hands them over
  (``Update`` and ``Delete`` need them too: handlers take the old inputs). The engine applies ``ignore_changes``
  to the new inputs before ``Check``; ``Diff`` applies them again, a no-op then. The ``replace_on_changes`` and
  ``delete_before_replace`` resource options never reach a provider: the engine applies them to its answer, as
  the embedded engine does.
* ``Create``/``Update`` in a preview answer :func:`predicted_outputs` (computed outputs unknown); otherwise
  they, ``Read`` (refresh; a resource that is gone answers an empty id) and ``Delete`` call the handler in a
  worker thread, with a :class:`StepContext` carrying the application's URN tag.
* ``Invoke`` answers the data sources the embedded engine answers (:func:`answer_invoke`).

Inside, values are the embedded engine's plain data (camelCase keys, secrets as signature mappings,
:data:`UNKNOWN`): :func:`to_plain` and :func:`from_plain` convert ``PropertyValue``; outputs that echo a secret
input stay secret (:func:`conceal`). The plugin reports pulumi-aws's version (:func:`plugin_version`), the one
the program's resources ask the engine for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import ipaddress
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import grpc  # type: ignore[import-untyped]
from pulumi.provider.experimental.property_value import Computed, PropertyValue, PropertyValueType
from pulumi.provider.experimental.provider import (
    CheckFailure,
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    InvokeRequest,
    InvokeResponse,
    PropertyDiff,
    PropertyDiffKind,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from mlplatform.engine.conventions import Conventions
from mlplatform.engine.embedded.deployment.apply import MissingHandlerError, deletes_first, guard
from mlplatform.engine.embedded.deployment.diff import (
    answer_invoke,
    compare,
    diff_keys,
    other_region,
    predicted_outputs,
    unsupported_reason,
)
from mlplatform.engine.embedded.deployment.ignore_changes import keep_old_at
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.handlers.base import AwsContext, CallCounter, Handler, HandlerError, StepContext
from mlplatform.engine.embedded.handlers.rules import keep_computed
from mlplatform.engine.targets import logical_name
from mlplatform.engine.values import (
    UNKNOWN,
    conceal,
    contains_unknown,
    is_secret,
    normalize,
    reveal,
    secret,
    secret_texts,
)
from mlplatform.errors import ConfigError, MlplatformError

T = TypeVar("T")

PLUGIN_NAME = "aws"
"""The plugin it stands in for: the engine runs ``pulumi-resource-aws`` for every ``aws:*`` resource."""

LOOPBACK = "127.0.0.1, localhost or ::1"

_MAX_MESSAGE = 400 * 1024 * 1024
"""The largest gRPC message accepted (the SDK's own provider server allows the same): pipeline definitions and
policies are large strings."""


class EmulatorOnlyError(ConfigError):
    """The stand-in was configured for something other than the local emulator (it never talks to real AWS)."""

    headline = "the emulator provider serves only the local emulator"


# ---- configuration --------------------------------------------------------------------------------------------


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host is the loopback interface (``localhost``, 127.0.0.0/8, ``::1``)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(config: Mapping[str, Any]) -> str | None:
    """Why the stand-in must not serve this provider configuration, or ``None`` when every endpoint is local.

    Args:
        config: the provider's configuration as plain data (``endpoints`` as the SDK sends it: a JSON string).
    """
    if contains_unknown(config.get("endpoints")):
        return "endpoints: the value is not known yet; the emulator provider must see every endpoint to check it"
    endpoints = AwsContext(reveal(dict(config)), CallCounter()).endpoints
    if not endpoints:
        return (
            "endpoints: none set, so every AWS call would go to real AWS; allowed: an endpoint on "
            f"{LOOPBACK} for every service (what mlplatform's program sets for target local)"
        )
    outside = [f"{service}={url}" for service, url in sorted(endpoints.items()) if not is_loopback(url)]
    if outside:
        return f"endpoints: {', '.join(outside)} not on the loopback interface; allowed: URLs on {LOOPBACK}"
    return None


def _refused(reason: str) -> EmulatorOnlyError:
    return EmulatorOnlyError(
        f"the provider configuration is refused: {reason}.",
        hint="The emulator provider stands in for pulumi-aws only against the local emulator; deploy to real AWS "
        "with the real pulumi-aws plugin.",
    )


class EmulatorAwsContext(AwsContext):
    """:class:`AwsContext` that makes a client only for a service whose endpoint is on the loopback interface.

    ``configure`` already refuses a configuration with any other endpoint; this covers a service the
    configuration does not list, which boto3 would send to its public AWS endpoint.
    """

    def client(self, service: str) -> Any:
        """The service's client, or :class:`EmulatorOnlyError` when its endpoint is not local."""
        endpoint = self.endpoint_for(service)
        if endpoint is None or not is_loopback(endpoint):
            raise _refused(f"endpoints: no endpoint on {LOOPBACK} for the AWS service {service!r}")
        return super().client(service)


# ---- values ---------------------------------------------------------------------------------------------------


def to_plain(value: PropertyValue) -> Any:
    """A ``PropertyValue`` as the embedded engine's plain data: secrets wrapped (:func:`secret`), unknowns as
    :data:`UNKNOWN`, integral numbers as ints (the wire has only doubles)."""
    if value.is_secret:
        return secret(to_plain(value.with_secret(False)))
    inner = value.value
    kind = value.type
    if kind is PropertyValueType.COMPUTED:
        return UNKNOWN
    if kind is PropertyValueType.NUMBER:
        return normalize(inner)
    if kind is PropertyValueType.ARRAY:
        assert isinstance(inner, tuple)  # PropertyValue keeps a sequence as a tuple
        return [to_plain(item) for item in inner]
    if kind is PropertyValueType.MAP:
        assert isinstance(inner, Mapping)
        return {key: to_plain(item) for key, item in inner.items()}
    if kind in (PropertyValueType.NULL, PropertyValueType.BOOL, PropertyValueType.STRING):
        return inner
    # Assets, archives and resource references: no handler takes one, and Configure asks for no references.
    raise MlplatformError(f"the emulator provider does not take {kind.value} values (got {value})")


def from_plain(value: Any) -> PropertyValue:
    """Plain data back to a ``PropertyValue`` (the inverse of :func:`to_plain`)."""
    if is_secret(value):
        return from_plain(value["value"]).with_secret(True)
    if value is None:
        return PropertyValue.null()
    if isinstance(value, (bool, str)):
        # The unknown marker is also the wire's: an unknown travels as this very string.
        return PropertyValue(value)
    if isinstance(value, (int, float)):
        return PropertyValue(float(value))
    if isinstance(value, Mapping):
        return PropertyValue({str(key): from_plain(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return PropertyValue([from_plain(item) for item in value])
    if isinstance(value, Computed):
        return PropertyValue(UNKNOWN)
    raise TypeError(f"cannot send a {type(value).__name__} value to the Pulumi engine: {value!r}")


def plain_map(values: Mapping[str, PropertyValue]) -> dict[str, Any]:
    """A property map as plain data."""
    return {key: to_plain(value) for key, value in values.items()}


def property_map(values: Mapping[str, Any]) -> dict[str, PropertyValue]:
    """Plain data as a property map."""
    return {key: from_plain(value) for key, value in values.items()}


def resource_type(urn: str) -> str:
    """The resource's type token (``aws:s3/bucket:Bucket``), without the parents' types a URN qualifies it with."""
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) > 3 else ""


# The old inputs of the request being answered (see EmulatorServicer); None when the engine sent none.
_OLD_INPUTS: contextvars.ContextVar[dict[str, PropertyValue] | None] = contextvars.ContextVar(
    "mlplatform_old_inputs", default=None
)


def _old_inputs(old_outputs: Mapping[str, PropertyValue]) -> dict[str, Any]:
    """The old inputs the engine sent, as plain data; an engine too old to send them gets the old outputs."""
    sent = _OLD_INPUTS.get()
    return plain_map(sent if sent is not None else old_outputs)


# ---- the provider ---------------------------------------------------------------------------------------------


class EmulatorProvider(Provider):
    """The ``aws`` provider the Pulumi engine talks to, answering with the embedded engine's handlers.

    One plugin process serves one provider resource (the engine starts one per provider), so it is configured
    once.

    Args:
        conventions: the application's conventions (the handlers record a resource's URN under its ``urn_tag``).
        handlers: resource type -> handler; the embedded engine's registry when not given.
    """

    def __init__(self, conventions: Conventions, handlers: Mapping[str, Handler] | None = None) -> None:
        self.conventions = conventions
        self.handlers = dict(handlers) if handlers is not None else registry()
        self.counter = CallCounter()
        self.aws: AwsContext | None = None

    # ---- configuration -----------------------------------------------------------------------------------------

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        """The configuration unchanged, or a failure on ``endpoints`` when it is not the local emulator's."""
        reason = refusal(plain_map(request.new_inputs))
        if reason is not None:
            error = _refused(reason)
            failure = CheckFailure("endpoints", f"{error.headline}: {error}")
            return CheckResponse(inputs=request.new_inputs, failures=[failure])
        return CheckResponse(inputs=request.new_inputs)

    async def diff_config(self, request: DiffRequest) -> DiffResponse:
        """Like the embedded engine, a changed configuration is an update of the provider, never a replacement."""
        olds = _old_inputs(request.old_state)
        news = plain_map(request.new_inputs)
        changed = diff_keys(olds, news)
        return DiffResponse(changes=bool(changed), diffs=changed, detailed_diff=_detailed(olds, news, changed, []))

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        """Take the configuration, or refuse it (:class:`EmulatorOnlyError`) when it is not the local emulator's."""
        config = plain_map(request.args)
        reason = refusal(config)
        if reason is not None:
            raise _refused(reason)
        self.aws = EmulatorAwsContext(reveal(config), self.counter)
        # Secrets are accepted so they can stay secret on the way out; resource references and output values are
        # not (the engine sends ids and plain values instead, as the embedded engine's handlers expect).
        return ConfigureResponse(
            accept_secrets=True, supports_preview=True, accept_resources=False, accept_outputs=False
        )

    # ---- resources ---------------------------------------------------------------------------------------------

    async def check(self, request: CheckRequest) -> CheckResponse:
        """The inputs unchanged (no defaults invented); a type without a handler, and an input its handler does not
        implement, are refused here, before any step (as the embedded engine refuses them)."""
        handler = self._handler(request.urn)
        news = reveal(plain_map(request.new_inputs))
        failures = [CheckFailure(path, unsupported_reason(handler, path)) for path in handler.unsupported_inputs(news)]
        elsewhere = other_region(handler, news, self._configured().region)
        if elsewhere:
            failures.append(CheckFailure("region", elsewhere))
        return CheckResponse(inputs=request.new_inputs, failures=failures or None)

    async def diff(self, request: DiffRequest) -> DiffResponse:
        """The embedded engine's diff: changed keys, replace reasons, delete-before-replace, per-key detail."""
        handler = self._handler(request.urn)
        olds = _old_inputs(request.old_state)
        news = plain_map(request.new_inputs)
        for path in request.ignore_changes:
            news = keep_old_at(news, olds, path)
        news = keep_computed(handler.rules, olds, news)
        aws = self._configured()
        changed, reasons = compare(handler, olds, news, region=aws.region, account=lambda: aws.account_id)
        return DiffResponse(
            changes=bool(changed),
            replaces=reasons,
            diffs=changed,
            delete_before_replace=bool(reasons) and deletes_first(handler, reveal(olds), reveal(news)),
            detailed_diff=_detailed(olds, news, changed, reasons),
        )

    async def create(self, request: CreateRequest) -> CreateResponse:
        """Create the resource, or in a preview answer its predicted outputs (computed ones unknown)."""
        handler = self._handler(request.urn)
        news = plain_map(request.properties)
        if request.preview:
            return CreateResponse(resource_id="", properties=property_map(predicted_outputs(handler, news)))
        ctx = self._step(request.urn)
        resource_id, outputs = await self._call(lambda: handler.create(ctx, reveal(news)))
        return CreateResponse(resource_id=resource_id, properties=property_map(_outputs(outputs, news)))

    async def read(self, request: ReadRequest) -> ReadResponse:
        """The live resource (refresh): recorded inputs and outputs with what changed outside read over them; an
        empty id when it no longer exists."""
        handler = self._handler(request.urn)
        inputs = plain_map(request.inputs)
        outputs = plain_map(request.properties)
        ctx = self._step(request.urn)
        live = await self._call(lambda: handler.read(ctx, request.resource_id, reveal(inputs)))
        if live is None:
            return ReadResponse(resource_id="")
        drifted = {key: value for key, value in live.items() if reveal(inputs.get(key)) != value}
        # Live values come back in plaintext: what matches a recorded secret is wrapped again.
        texts = secret_texts(inputs) | secret_texts(outputs)
        return ReadResponse(
            resource_id=request.resource_id,
            properties=property_map(conceal({**outputs, **drifted}, texts)),
            inputs=property_map(conceal({**inputs, **drifted}, texts)),
        )

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        """Update the resource in place, or in a preview answer the recorded outputs under the new inputs."""
        handler = self._handler(request.urn)
        olds = _old_inputs(request.olds)
        old_outputs = plain_map(request.olds)
        news = plain_map(request.news)
        if request.preview:
            return UpdateResponse(properties=property_map(predicted_outputs(handler, news, old_outputs)))
        ctx = self._step(request.urn)
        outputs = await self._call(
            lambda: handler.update(ctx, request.resource_id, reveal(olds), reveal(news), reveal(old_outputs))
        )
        return UpdateResponse(properties=property_map(_outputs(outputs, news)))

    async def delete(self, request: DeleteRequest) -> None:
        """Delete the resource."""
        handler = self._handler(request.urn)
        inputs = _old_inputs(request.properties)
        outputs = plain_map(request.properties)
        ctx = self._step(request.urn)
        await self._call(lambda: handler.delete(ctx, request.resource_id, reveal(inputs), reveal(outputs)))

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        """Answer a data source the embedded engine answers (caller identity, region, partition)."""
        aws = self._configured()
        answer = await self._call(lambda: answer_invoke(request.tok, aws))
        return InvokeResponse(return_value=property_map(answer))

    # ---- helpers -----------------------------------------------------------------------------------------------

    def _configured(self) -> AwsContext:
        if self.aws is None:
            raise _refused("the provider was not configured (no Configure call reached it)")
        return self.aws

    def _handler(self, urn: str) -> Handler:
        type_ = resource_type(urn)
        handler = self.handlers.get(type_)
        if handler is None:
            raise MissingHandlerError(
                f"the emulator provider has no handler for {type_} (resource {logical_name(urn)!r}); it serves only "
                "the types the embedded engine deploys to the local emulator."
            )
        return handler

    def _step(self, urn: str) -> StepContext:
        return StepContext(self._configured(), urn, logical_name(urn), self.conventions.urn_tag)

    async def _call(self, call: Callable[[], T]) -> T:
        """One handler call in a worker thread (the engine runs steps in parallel; handlers are thread-safe).

        A failure is reported as the embedded engine reports it, ``<error type>: <message>`` without a traceback:
        a refused API call is the resource's error, not the plugin's.
        """
        try:
            return await asyncio.to_thread(guard, call)
        except MlplatformError:
            raise
        except Exception as exc:
            raise HandlerError(f"{type(exc).__name__}: {exc}") from exc


def _outputs(outputs: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """A step's outputs as the embedded engine records them: the handler's outputs under the inputs, and every
    string that holds a secret input wrapped as a secret."""
    merged: dict[str, Any] = conceal({**outputs, **news}, secret_texts(news))
    return merged


def _detailed(
    olds: Mapping[str, Any], news: Mapping[str, Any], changed: Sequence[str], reasons: Sequence[str]
) -> dict[str, PropertyDiff]:
    """One entry per changed top-level key: added, deleted or updated, and whether it forces the replacement."""
    kinds = {
        "add": (PropertyDiffKind.ADD, PropertyDiffKind.ADD_REPLACE),
        "delete": (PropertyDiffKind.DELETE, PropertyDiffKind.DELETE_REPLACE),
        "update": (PropertyDiffKind.UPDATE, PropertyDiffKind.UPDATE_REPLACE),
    }
    detailed = {}
    for key in changed:
        # None counts as absent, as in diff_keys.
        kind = "add" if olds.get(key) is None else "delete" if news.get(key) is None else "update"
        detailed[key] = PropertyDiff(kinds[kind][key in reasons], input_diff=True)
    return detailed


# ---- the plugin process ---------------------------------------------------------------------------------------


class EmulatorServicer(ProviderServicer):
    """The SDK's provider server with two additions the emulator provider needs.

    * The old inputs of ``Diff``, ``DiffConfig``, ``Update`` and ``Delete`` reach the provider: the engine sends
      them (``old_inputs``) but the SDK's request objects carry only the old outputs, which hold computed values
      too and would make every diff show them as removed. They travel in a context variable, set for the one
      request (grpc runs each request in its own task, so concurrent requests do not see each other's).
    * An :class:`MlplatformError` (a refused configuration, a failed API call) reaches the engine as its headline
      and message only; the SDK would append the provider's Python traceback to every error.
    """

    async def CheckConfig(self, request: Any, context: Any) -> Any:
        return await _answer(context, None, super().CheckConfig(request, context))

    async def DiffConfig(self, request: Any, context: Any) -> Any:
        # Not the SDK's DiffConfig: it sends ``changes`` as a bool into the enum field (True is DIFF_NONE, so a
        # changed configuration would read as unchanged) and cannot marshal a detailed diff.
        return await _answer(context, _sent_old_inputs(request), self._diff_config(request))

    async def _diff_config(self, request: Any) -> Any:
        answer = await self._provider.diff_config(
            DiffRequest(
                request.urn,
                request.id,
                PropertyValue.unmarshal_map(request.olds),
                PropertyValue.unmarshal_map(request.news),
                list(request.ignoreChanges),
            )
        )
        kinds = {
            PropertyDiffKind.ADD: provider_pb2.PropertyDiff.ADD,
            PropertyDiffKind.ADD_REPLACE: provider_pb2.PropertyDiff.ADD_REPLACE,
            PropertyDiffKind.DELETE: provider_pb2.PropertyDiff.DELETE,
            PropertyDiffKind.DELETE_REPLACE: provider_pb2.PropertyDiff.DELETE_REPLACE,
            PropertyDiffKind.UPDATE: provider_pb2.PropertyDiff.UPDATE,
            PropertyDiffKind.UPDATE_REPLACE: provider_pb2.PropertyDiff.UPDATE_REPLACE,
        }
        changes = provider_pb2.DiffResponse.DIFF_SOME if answer.changes else provider_pb2.DiffResponse.DIFF_NONE
        return provider_pb2.DiffResponse(
            changes=changes,
            replaces=answer.replaces,
            diffs=answer.diffs,
            deleteBeforeReplace=answer.delete_before_replace,
            detailedDiff={
                key: provider_pb2.PropertyDiff(kind=kinds[diff.kind], inputDiff=diff.input_diff)
                for key, diff in answer.detailed_diff.items()
            },
            hasDetailedDiff=True,
        )

    async def Configure(self, request: Any, context: Any) -> Any:
        return await _answer(context, None, super().Configure(request, context))

    async def Check(self, request: Any, context: Any) -> Any:
        return await _answer(context, None, super().Check(request, context))

    async def Diff(self, request: Any, context: Any) -> Any:
        return await _answer(context, _sent_old_inputs(request), super().Diff(request, context))

    async def Create(self, request: Any, context: Any) -> Any:
        return await _answer(context, None, super().Create(request, context))

    async def Read(self, request: Any, context: Any) -> Any:
        return await _answer(context, None, super().Read(request, context))

    async def Update(self, request: Any, context: Any) -> Any:
        return await _answer(context, _sent_old_inputs(request), super().Update(request, context))

    async def Delete(self, request: Any, context: Any) -> Any:
        return await _answer(context, _sent_old_inputs(request), super().Delete(request, context))

    async def Invoke(self, request: Any, context: Any) -> Any:
        return await _answer(context, None, super().Invoke(request, context))


def _sent_old_inputs(request: Any) -> dict[str, PropertyValue] | None:
    if not request.HasField("old_inputs"):
        return None
    sent: dict[str, PropertyValue] = PropertyValue.unmarshal_map(request.old_inputs)
    return sent


async def _answer(context: Any, old_inputs: dict[str, PropertyValue] | None, call: Awaitable[T]) -> T:
    token = _OLD_INPUTS.set(old_inputs)
    try:
        return await call
    except Exception as exc:
        # The SDK re-raises the provider's error as a new Exception carrying the traceback; the original is its
        # context.
        error = exc if isinstance(exc, MlplatformError) else exc.__context__
        if isinstance(error, MlplatformError) and context is not None:
            await context.abort(grpc.StatusCode.UNKNOWN, f"{error.headline}: {error}")
        raise
    finally:
        _OLD_INPUTS.reset(token)


def plugin_version() -> str:
    """The version the plugin reports: pulumi-aws's, from its SDK's ``pulumi-plugin.json``.

    The program's ``aws:*`` resources ask the engine for plugin ``aws`` at this version (the SDK's package
    version, which that file names too); an ambient plugin (one on ``PATH``) is used whatever it reports, an
    installed one is selected by it.
    """
    spec = find_spec("pulumi_aws")  # finds the package without importing it
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise MlplatformError("pulumi_aws is not installed, so the emulator provider cannot tell which version it is")
    document = json.loads((Path(locations[0]) / "pulumi-plugin.json").read_text(encoding="utf-8"))
    return str(document["version"])


def serve(provider: Provider, version: str, args: Sequence[str]) -> None:
    """Run the plugin's gRPC server until the engine stops it (what the plugin executable does).

    The engine starts the plugin with its own address as the first argument and reads the port the server
    listens on (127.0.0.1 only) from the first line of standard output. The engine stops its plugins when it
    ends; when it dies instead (``kill -9``), the plugin, which the CLI starts in a process group of its own,
    would live on: it stops once its parent is gone.
    """
    parser = argparse.ArgumentParser(prog=f"pulumi-resource-{PLUGIN_NAME}", description=__doc__.split("\n")[0])
    parser.add_argument("engine", help="the Pulumi engine's address")
    known, _ = parser.parse_known_args(list(args))

    async def run() -> None:
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", _MAX_MESSAGE)])
        servicer = EmulatorServicer(list(args), version, provider, engine_address=known.engine)
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        watchdog = asyncio.create_task(_stop_when_orphaned(server, os.getppid()))
        await server.wait_for_termination()
        watchdog.cancel()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


async def _stop_when_orphaned(server: grpc.aio.Server, parent: int) -> None:
    """Stop ``server`` once the process that started it is gone (its parent pid changes on re-parenting)."""
    while os.getppid() == parent:
        await asyncio.sleep(_ORPHAN_POLL_SECONDS)
    await server.stop(grace=None)


_ORPHAN_POLL_SECONDS = 1.0
