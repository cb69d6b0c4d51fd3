"""The handler contract: thin boto3 CRUD for one Pulumi resource type.

A handler knows one AWS resource type the way a Terraform provider's resource does: how to create,
read, update and delete it, which input changes force a replacement, and how to find a resource that
an interrupted run created but never recorded. Handlers receive inputs with secrets revealed and
property names in Pulumi's camelCase (exactly what ``RegisterResource`` carried), and return outputs
in the same shape. They must be thread-safe: apply runs steps in parallel.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlplatform.engine.embedded.handlers.common import tag_dict
from mlplatform.engine.embedded.handlers.rules import NO_RULES, ReplaceRules, rules_for
from mlplatform.errors import MlplatformError

READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Head", "Lookup", "Search", "Query", "BatchGet", "Select")


class HandlerError(MlplatformError):
    """A cloud API call for one resource failed (reported per resource; the run exits 4)."""

    headline = "resource error"
    exit_code = 4


class EndpointUnreachableError(MlplatformError):
    """The provider's endpoint does not answer (emulator not running, network down)."""

    headline = "cannot reach the AWS endpoint"
    exit_code = 1


@dataclass
class CallCounter:
    """Counts API calls through botocore's event hooks (``before-call``), split by whether they mutate."""

    total: int = 0
    mutating: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, model: Any = None, **_: Any) -> None:
        name = getattr(model, "name", "?")
        service = getattr(getattr(model, "metadata", None), "get", lambda *_: None)("endpointPrefix") or ""
        with self.lock:
            self.total += 1
            if not name.startswith(READ_ONLY_PREFIXES):
                self.mutating += 1
            key = f"{service}:{name}"
            self.by_operation[key] = self.by_operation.get(key, 0) + 1


class AwsContext:
    """boto3 clients configured from an explicit ``aws.Provider``'s inputs, as the real provider would be.

    Clients are created once per service and shared between threads (boto3 clients are thread-safe;
    sessions are not, so client creation is serialised).
    """

    def __init__(
        self, provider_inputs: dict[str, Any], counter: CallCounter, endpoint_override: str | None = None
    ) -> None:
        self.region: str = provider_inputs.get("region") or "us-east-1"
        self.endpoints = _endpoints(provider_inputs.get("endpoints"))
        if endpoint_override:
            # The emulator may have moved to another port since the state was written (destroy, refresh).
            self.endpoints = dict.fromkeys(self.endpoints, endpoint_override)
        self.access_key = provider_inputs.get("accessKey")
        self.secret_key = provider_inputs.get("secretKey")
        self.path_style = _truthy(provider_inputs.get("s3UsePathStyle"))
        self.counter = counter
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._session: Any = None
        self._account_id: str | None = None

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` (the provider's endpoint override applies)."""
        with self._lock:
            existing = self._clients.get(service)
            if existing is not None:
                return existing
            import boto3
            from botocore.config import Config

            if self._session is None:
                self._session = boto3.session.Session(
                    aws_access_key_id=self.access_key,
                    aws_secret_access_key=self.secret_key,
                    region_name=self.region,
                )
            config = Config(
                retries={"mode": "standard", "max_attempts": 6},  # throttling and 5xx back off and retry
                connect_timeout=5,
                read_timeout=60,
                s3={"addressing_style": "path"} if self.path_style else None,
                max_pool_connections=50,
            )
            client = self._session.client(service, endpoint_url=self.endpoint_for(service), config=config)
            client.meta.events.register("before-call.*.*", self.counter)
            self._clients[service] = client
            return client

    def endpoint_for(self, service: str) -> str | None:
        """The provider's endpoint override for the boto3 service ``service`` (under any key pulumi-aws accepts
        for it), or ``None``: the service's public AWS endpoint."""
        keys = (service, *_ENDPOINT_ALIASES.get(service, ()))
        return next((self.endpoints[key] for key in keys if key in self.endpoints), None)

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = str(self.client("sts").get_caller_identity()["Account"])
        return self._account_id

    @property
    def partition(self) -> str:
        return "aws-cn" if self.region.startswith("cn-") else "aws"

    def endpoint_of(self, service: str) -> str | None:
        return self.endpoints.get(service)


# boto3 service name -> the provider's ``endpoints`` keys that configure it (pulumi-aws accepts several).
_ENDPOINT_ALIASES: dict[str, tuple[str, ...]] = {
    "sagemaker-runtime": ("sagemakerruntime",),
    "logs": ("cloudwatchlogs",),
    "events": ("eventbridge", "cloudwatchevents"),
    "application-autoscaling": ("appautoscaling", "applicationautoscaling"),
}


def _endpoints(raw: Any) -> dict[str, str]:
    """The provider's ``endpoints`` input (a JSON string on the wire) -> {service: url}."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    merged: dict[str, str] = {}
    for item in raw or []:
        if isinstance(item, dict):
            merged.update({key: value for key, value in item.items() if isinstance(value, str) and value})
    return merged


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


@dataclass(frozen=True)
class StepContext:
    """What a handler call gets besides the inputs: the AWS clients and the resource's identity.

    Attributes:
        aws: the clients of the resource's provider.
        urn: the resource's URN.
        name: its logical name.
        urn_tag: the tag key (from the application's
            :attr:`~mlplatform.engine.conventions.Conventions.urn_tag`) under which a handler records ``urn``
            on a resource AWS names itself, in the create call, so an interrupted run's resource can be found
            and adopted; reads leave it out (it is never an input).
    """

    aws: AwsContext
    urn: str
    name: str
    urn_tag: str

    def read_tags(
        self, items: list[dict[str, str]] | None, *, key: str = "Key", value: str = "Value"
    ) -> dict[str, str]:
        """An API's tag list as the ``tags`` input reads: a mapping, without :attr:`urn_tag`."""
        return tag_dict(items, key=key, value=value, hide=self.urn_tag)


class Handler:
    """Base class of every resource handler. Subclasses set the class attributes and override the CRUD."""

    type: ClassVar[str]
    service: ClassVar[str]
    name_key: ClassVar[str | None] = None
    """Input key holding a fixed physical name: a replacement must delete before it creates."""
    computed: ClassVar[tuple[str, ...]] = ("arn",)
    """Outputs only known after create (shown as computed in previews)."""
    implemented: ClassVar[frozenset[str] | None] = None
    """The top-level inputs this handler carries to AWS. A program that sets any other input of the type is
    refused before anything is planned (:meth:`unsupported_inputs`): an input is never silently ignored.
    ``None`` declares nothing (only for test doubles: a test requires every real handler to declare it)."""

    def unsupported_inputs(self, inputs: dict[str, Any]) -> list[str]:
        """The inputs set in ``inputs`` that this handler does not implement, as property paths
        (``lifecycleRules[0].transitions``); empty when it deploys everything the program asks for.

        The default checks top-level keys against :attr:`implemented`; handlers that implement a block only in
        part extend it with the nested paths they ignore.
        """
        if self.implemented is None:
            return []
        allowed = self.implemented | _ALWAYS_ACCEPTED
        return sorted(key for key, value in inputs.items() if key not in allowed and is_set(value))

    @property
    def replace_on_change(self) -> frozenset[str]:
        """Every top-level input key some rule of :attr:`rules` may replace the resource for.

        It comes from the provider's rule table (:mod:`.rules`), never from a handler; only a test double of a
        type outside the table declares its own (as a class attribute: every change of those keys replaces).
        """
        return self.rules.replace_keys

    @property
    def rules(self) -> ReplaceRules:
        """The provider's replace rules for this type (:mod:`.rules`)."""
        type_ = getattr(self, "type", "")  # a test double may declare no type
        found = rules_for(type_)
        if found is NO_RULES:
            declared: object = getattr(type(self), "replace_on_change", frozenset())
            if not isinstance(declared, frozenset):
                declared = frozenset()  # the property itself: nothing declared
            return ReplaceRules(
                type=type_, resource="", source="declared by the handler", replace=frozenset(declared),
                regional=False,
            )  # fmt: skip
        return found

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """The live resource in input shape (the keys it manages), or ``None`` when it no longer exists."""
        raise NotImplementedError

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        raise NotImplementedError

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        raise NotImplementedError

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """Find a resource an interrupted run created but did not record (by physical name or tags)."""
        return None

    def check_delete(
        self,
        ctx: StepContext,
        resource_id: str,
        inputs: dict[str, Any],
        going_first: Sequence[tuple[str, dict[str, Any]]],
    ) -> str | None:
        """Why deleting this resource would fail, found by reading only; ``None`` when nothing stands in the way.

        Previews call it for every planned delete, so ``up`` and ``destroy`` refuse *before* changing anything
        instead of failing halfway (a bucket that still holds data, after its neighbours are gone).

        Args:
            going_first: ``(type, inputs)`` of the other resources the same run deletes, which do not count
                against this one (the objects mlplatform itself put in a bucket go before the bucket).
        """
        return None

    def physical_name(self, inputs: dict[str, Any]) -> str | None:
        return str(inputs[self.name_key]) if self.name_key and inputs.get(self.name_key) else None


_ALWAYS_ACCEPTED = frozenset({"region", "tags"})
"""Inputs the engine handles for every type: ``region`` selects the provider's region (a different one is
refused by the engine), ``tags`` are every taggable handler's business."""


def is_set(value: Any) -> bool:
    """Whether an input value asks for something: ``None`` and empty lists and maps ask for nothing."""
    return value is not None and value != [] and value != {}


HandlerFactory = Callable[[], Handler]
