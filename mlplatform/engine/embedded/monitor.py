"""The resource monitor: the protocol adapter between the Pulumi SDK and the embedded engine.

The SDK talks to "the engine" through a resource-monitor object (gRPC in a real deployment). The SDK's
``MockMonitor`` already speaks that protocol in-process; this subclass uses it only as an adapter and
hands every registration, as plain data, to a :class:`Registrar` (the deployment), which decides what
to do and returns the resource's id and outputs.

Two details the stock mock gets wrong and a real engine gets right:

* URNs. The real engine qualifies a child's type with its parent's *whole* qualified type chain
  (``Outer$Inner$aws:s3/bucket:Bucket``) and leaves the root stack's type out; ``MockMonitor.make_urn``
  keeps only the last segment and includes the stack. URNs are state keys and show in every plan, so
  they must match what ``pulumi up`` would produce for the same program.
* Features the mock path silently skips — transforms, resource hooks, ``Resource.get`` reads — are
  rejected with a clear error instead of being ignored (docs/architecture.md).

Pulumi SDK surface used here, none of it in ``pulumi.runtime.__all__`` except ``rpc``, because no public API
speaks the monitor protocol in-process: ``MockMonitor`` (the adapter base class; every method the SDK
calls that used its mocks is overridden), ``rpc.serialize_properties``/``deserialize_properties`` (the wire
form of inputs and outputs, as the SDK's own provider framework uses them) and the generated
``resource_pb2`` messages (the protocol itself). tests/unit/test_sdk_assumptions.py holds the SDK to each.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from google.protobuf import empty_pb2  # type: ignore[import-untyped]
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2

from mlplatform.engine.values import normalize
from mlplatform.errors import MlplatformError

STACK_TYPE = "pulumi:pulumi:Stack"
T = TypeVar("T")


class UnsupportedFeatureError(MlplatformError):
    """The program uses a Pulumi feature the embedded engine does not run."""

    headline = "unsupported by the embedded engine"


@dataclass(frozen=True)
class Registration:
    """One ``RegisterResource`` call, as plain data (inputs use Pulumi's camelCase property names)."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    inputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()
    delete_before_replace: bool | None = None
    aliases: tuple[str, ...] = ()
    import_id: str | None = None
    deleted_with: str | None = None

    @property
    def all_dependencies(self) -> set[str]:
        """Everything this resource waits for: explicit and property dependencies, parent and provider."""
        return dependencies_of(self)


def provider_urn(reference: str) -> str:
    """``urn::id`` provider reference -> the provider's URN."""
    return reference.rsplit("::", 1)[0]


class Dependent(Protocol):
    """A registration or a recorded resource: what its dependencies are made of."""

    @property
    def dependencies(self) -> Sequence[str]: ...
    @property
    def property_dependencies(self) -> Mapping[str, Sequence[str]]: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def provider(self) -> str | None: ...


def dependencies_of(resource: Dependent) -> set[str]:
    """Everything ``resource`` depends on: explicit and property dependencies, parent and provider."""
    deps = set(resource.dependencies)
    for urns in resource.property_dependencies.values():
        deps.update(urns)
    if resource.parent:
        deps.add(resource.parent)
    if resource.provider:
        deps.add(provider_urn(resource.provider))
    return deps


class Registrar(Protocol):
    """What the monitor needs from the deployment."""

    def register(self, registration: Registration) -> tuple[str, dict[str, Any]]:
        """Decide and (for ``up``) carry out this resource's step; return its id and outputs."""

    def register_outputs(self, urn: str, outputs: dict[str, Any]) -> None:
        """Record a component's (or the stack's) outputs."""

    def invoke(self, token: str, args: dict[str, Any], provider: str | None) -> dict[str, Any]:
        """Answer a data-source call (``aws.get_caller_identity()``...)."""


@dataclass
class _UrnBook:
    """Qualified types by URN, to build children's URNs the way the real engine does."""

    qualified: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # every alias URN computed, by URN
    lock: threading.Lock = field(default_factory=threading.Lock)


def _run_here(awaitable: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on this executor thread's own event loop (see ``_ensure_loop``).

    The SDK calls the monitor from its executor threads, where no loop is running, so the loop can simply
    run it (the SDK's private ``_sync_await`` also pumps a loop that is already running, never the case here).
    """
    return asyncio.get_event_loop().run_until_complete(awaitable)


class EngineMonitor(MockMonitor):
    """Adapts the SDK's monitor protocol to a :class:`Registrar`."""

    def __init__(self, registrar: Registrar, project: str, stack: str) -> None:
        super().__init__(None)  # type: ignore[arg-type]  # no Mocks: every method that used them is overridden
        self.registrar = registrar
        self.project = project
        self.stack = stack
        self.stack_urn: str | None = None
        self._urns = _UrnBook()
        self._thread_loops: list[asyncio.AbstractEventLoop] = []
        self._loops_lock = threading.Lock()

    # ---- URNs -------------------------------------------------------------------------------------

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        qualified = type_
        if parent and parent != self.stack_urn:
            with self._urns.lock:
                parent_type = self._urns.qualified.get(parent) or parent.split("::")[2]
            qualified = f"{parent_type}${type_}"
        urn = f"urn:pulumi:{self.stack}::{self.project}::{qualified}::{name}"
        with self._urns.lock:
            self._urns.qualified[urn] = qualified
        return urn

    def _qualify(self, parent: str, type_: str) -> str:
        """A type qualified by its parent's type chain (none under the root stack or without a parent)."""
        if not parent or parent == self.stack_urn:
            return type_
        with self._urns.lock:
            parent_type = self._urns.qualified.get(parent) or parent.split("::")[2]
        return type_ if parent_type == STACK_TYPE else f"{parent_type}${type_}"

    def _alias_urns(self, request: Any, parent: str, urn: str) -> tuple[str, ...]:
        urns = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            name = spec.name or request.name
            type_ = spec.type or request.type
            alias_parent = "" if spec.noParent else (spec.parentUrn or parent)
            stack = spec.stack or self.stack
            project = spec.project or self.project
            urns.append(f"urn:pulumi:{stack}::{project}::{self._qualify(alias_parent, type_)}::{name}")
        # The SDK sends alias specs and leaves the children of an aliased parent to the engine (it no longer
        # computes inherited aliases itself when the monitor takes specs). Like Pulumi's step generator
        # (generateAliases / inheritedChildAlias), multiply every alias the parent has out over this resource,
        # its own aliases included; otherwise renaming a component recreates every child. Where Pulumi keys
        # this on the one alias that matched state, the monitor cannot see state, so it uses all of them
        # (a candidate only ever matches by exact URN, so the extra ones are inert).
        with self._urns.lock:
            parent_aliases = self._urns.aliases.get(parent, ()) if parent else ()
        if parent_aliases:
            parent_name = parent.split("::", 3)[3]
            own = [(request.type, request.name)] + [
                (alias.split("::", 3)[2].rsplit("$", 1)[-1], alias.split("::", 3)[3])
                for alias in urns
                if alias.count("::") >= 3
            ]
            for parent_alias in parent_aliases:
                if parent_alias.count("::") < 3:
                    continue  # not a URN: can match nothing, so has nothing to pass on
                stack_part, project, qualified, alias_parent_name = parent_alias.split("::", 3)
                prefix = f"{stack_part}::{project}::" + ("" if qualified == STACK_TYPE else f"{qualified}$")
                for child_type, child_name in own:
                    # A child named "<parent name>-x" follows the parent's rename: "<old parent name>-x".
                    if child_name.startswith(parent_name):
                        urns.append(f"{prefix}{child_type}::{alias_parent_name}{child_name[len(parent_name) :]}")
                    # The unchanged name under the old parent too (a name that only happens to share the prefix).
                    urns.append(f"{prefix}{child_type}::{child_name}")
        unique = tuple(dict.fromkeys(alias for alias in urns if alias != urn))
        with self._urns.lock:
            self._urns.aliases[urn] = unique
        return unique

    # ---- event loops in SDK executor threads --------------------------------------------------------

    def _ensure_loop(self) -> None:
        """Deserialising needs an event loop on this executor thread; remember it so it can be closed."""
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            with self._loops_lock:
                self._thread_loops.append(loop)

    def close(self) -> None:
        """Close the event loops this monitor created in executor threads."""
        with self._loops_lock:
            loops, self._thread_loops = self._thread_loops, []
        for loop in loops:
            if not loop.is_closed():
                loop.close()

    # ---- the protocol ------------------------------------------------------------------------------

    def RegisterResource(self, request: Any) -> Any:
        if request.type == STACK_TYPE and not request.parent:
            urn = f"urn:pulumi:{self.stack}::{self.project}::{STACK_TYPE}::{request.name}"
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        if len(request.transforms):
            raise UnsupportedFeatureError(
                f"resource {request.name!r} ({request.type}) has transforms; the embedded engine does not run "
                "them. Remove the transforms option or deploy with the Pulumi engine."
            )
        if request.HasField("hooks") and any(
            len(getattr(request.hooks, kind))
            for kind in (
                "before_create",
                "after_create",
                "before_update",
                "after_update",
                "before_delete",
                "after_delete",
            )
        ):
            raise UnsupportedFeatureError(
                f"resource {request.name!r} ({request.type}) has resource hooks; the embedded engine does not run "
                "them. Remove the hooks option or deploy with the Pulumi engine."
            )
        self._ensure_loop()
        parent = request.parent or ""
        urn = self.make_urn(parent, request.type, request.name)
        # Values enter the engine here, so this is where they become plain data: protobuf Structs carry every
        # number as a double (a program's 2 arrives as 2.0) and unknowns as SDK ``Unknown`` objects.
        inputs = normalize(rpc.deserialize_properties(request.object, keep_unknowns=True))
        registration = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=parent or None,
            custom=bool(request.custom),
            provider=request.provider or None,
            dependencies=tuple(request.dependencies),
            property_dependencies={key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()},
            inputs=dict(inputs),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            ignore_changes=tuple(request.ignoreChanges),
            replace_on_changes=tuple(request.replaceOnChanges),
            delete_before_replace=bool(request.deleteBeforeReplace) if request.deleteBeforeReplaceDefined else None,
            aliases=self._alias_urns(request, parent, urn),
            import_id=request.importId or None,
            deleted_with=request.deletedWith or None,
        )
        resource_id, outputs = self.registrar.register(registration)
        payload = _run_here(rpc.serialize_properties(outputs, {}, keep_output_values=False))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=payload)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self._ensure_loop()
        outputs = normalize(rpc.deserialize_properties(request.outputs, keep_unknowns=True))
        self.registrar.register_outputs(request.urn, dict(outputs))
        return empty_pb2.Empty()

    def ReadResource(self, request: Any) -> Any:
        raise UnsupportedFeatureError(
            f"{request.type}.get({request.name!r}, ...) reads an existing resource; the embedded engine does not "
            "support Resource.get. Pass the values in through the spec, or deploy with the Pulumi engine."
        )

    def Invoke(self, request: Any) -> Any:
        if request.tok == "pulumi:pulumi:getResource":
            raise UnsupportedFeatureError("resource lookups by URN are not supported by the embedded engine")
        self._ensure_loop()
        args = normalize(rpc.deserialize_properties(request.args, keep_unknowns=True))
        result = self.registrar.invoke(request.tok, dict(args), request.provider or None)
        payload = _run_here(rpc.serialize_properties(result, {}))
        return resource_pb2.ResourceInvokeResponse(failures=None, **{"return": payload})

    def RegisterStackTransform(self, request: Any) -> Any:
        raise UnsupportedFeatureError(
            "the program registers a stack transform (pulumi.runtime.register_resource_transform); the embedded "
            "engine does not run transforms. Deploy with the Pulumi engine, or set the values directly."
        )

    def RegisterStackInvokeTransform(self, request: Any) -> Any:
        raise UnsupportedFeatureError("the embedded engine does not run invoke transforms")

    def RegisterResourceHook(self, request: Any) -> Any:
        raise UnsupportedFeatureError("the embedded engine does not run resource hooks")

    def RegisterErrorHook(self, request: Any) -> Any:
        raise UnsupportedFeatureError("the embedded engine does not run error hooks")
