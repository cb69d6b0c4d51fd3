"""EngineMonitor: URNs as the real Pulumi engine builds them, aliases, and refused SDK features.

Programs run in-process through ``run_program`` with a previewing ``Deployment``: a preview calls no
handler method, so no emulator is needed (the provider's endpoint is a closed port on purpose).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.embedded.deployment import Deployment, Record
from mlplatform.engine.embedded.handlers.base import Handler
from mlplatform.engine.embedded.monitor import EngineMonitor, Registration, UnsupportedFeatureError
from mlplatform.engine.model import Action

STACK, PROJECT = "test", "mlplatform"
PREFIX = f"urn:pulumi:{STACK}::{PROJECT}::"
BUCKET = "aws:s3/bucket:Bucket"
THING = "aws:test/thing:Thing"  # any "aws:" token takes the explicit aws provider
PROVIDER_URN = f"{PREFIX}pulumi:providers:aws::local"


class NoCalls(Handler):
    """A handler a preview must never call."""

    service = "s3"

    def create(self, *_: Any) -> Any:
        raise AssertionError("a preview called create")

    def read(self, *_: Any) -> Any:
        raise AssertionError("a preview called read")

    def update(self, *_: Any) -> Any:
        raise AssertionError("a preview called update")

    def delete(self, *_: Any) -> Any:
        raise AssertionError("a preview called delete")


def handlers() -> dict[str, Handler]:
    return {BUCKET: NoCalls(), THING: NoCalls()}


def provider() -> aws.Provider:
    return aws.Provider(
        "local",
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_metadata_api_check=True,
        endpoints=[aws.ProviderEndpointArgs(s3="http://127.0.0.1:9")],
    )


def pulumi_urn(parent: str | None, type_: str, name: str) -> str:
    """Pulumi's rule: a child's type is its parent's whole qualified type, then ``$`` and its own type."""
    if parent is None:
        return f"{PREFIX}{type_}::{name}"
    return f"{parent[: parent.rfind('::')]}${type_}::{name}"


def preview(program: Callable[[], object], previous: dict[str, Record] | None = None) -> Deployment:
    deployment = Deployment(previous=dict(previous or {}), handlers=handlers(), preview=True)
    error = run_guarded(program, deployment)
    if error is not None:
        raise error
    return deployment


def _discard(program: Callable[[], object]) -> None:
    program()  # programs here are lambdas returning the resource they declare


def run_guarded(program: Callable[[], object], deployment: Deployment, timeout: float = 60) -> BaseException | None:
    """Run the program; fail the test (instead of hanging it) if it does not finish in time."""
    from mlplatform.engine.embedded.runner import run_program

    errors: list[BaseException] = []

    def target() -> None:
        try:
            run_program(lambda: _discard(program), EngineMonitor(deployment, PROJECT, STACK), preview=True, parallel=4)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the program run hung"
    return errors[0] if errors else None


class Outer(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("my:mod:Outer", name, {}, opts)
        self.inner = Inner(f"{name}-inner", pulumi.ResourceOptions(parent=self))
        self.register_outputs({"inner": self.inner.urn})


class Inner(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("my:mod:Inner", name, {}, opts)
        p = provider()
        self.bucket = aws.s3.Bucket(
            f"{name}-bkt", bucket="data-1", opts=pulumi.ResourceOptions(parent=self, provider=p)
        )
        # A custom resource parented by a custom resource: its type is qualified the same way.
        self.thing = pulumi.CustomResource(
            THING, "thing", {"size": 1}, opts=pulumi.ResourceOptions(parent=self.bucket, provider=p)
        )
        self.register_outputs({"bucket": self.bucket.urn})


def test_nested_urns_follow_pulumis_rule() -> None:
    def program() -> None:
        outer = Outer("outer")
        pulumi.export("outer", outer.urn)
        pulumi.export("inner", outer.inner.urn)
        pulumi.export("bucket", outer.inner.bucket.urn)
        pulumi.export("thing", outer.inner.thing.urn)
        # The SDK's own create_urn, applied to the parent URN the monitor returned.
        pulumi.export("sdk_bucket", pulumi.resource.create_urn("outer-inner-bkt", BUCKET, parent=outer.inner))

    deployment = preview(program)

    outer = pulumi_urn(None, "my:mod:Outer", "outer")
    inner = pulumi_urn(outer, "my:mod:Inner", "outer-inner")
    bucket = pulumi_urn(inner, BUCKET, "outer-inner-bkt")
    thing = pulumi_urn(bucket, THING, "thing")
    assert outer == f"{PREFIX}my:mod:Outer::outer"  # the root stack's type is left out
    assert bucket == f"{PREFIX}my:mod:Outer$my:mod:Inner$aws:s3/bucket:Bucket::outer-inner-bkt"
    order = [change.urn for change in deployment.plan()]
    assert sorted(order) == sorted([outer, PROVIDER_URN, inner, bucket, thing])
    # Registration is concurrent, so only the dependency order is fixed: a parent before its children.
    assert order.index(outer) < order.index(inner) < order.index(bucket) < order.index(thing)
    assert order.index(PROVIDER_URN) < order.index(bucket)
    assert all(change.action is Action.CREATE for change in deployment.plan())
    exported = deployment.stack_outputs
    assert (exported["outer"], exported["inner"], exported["bucket"], exported["thing"]) == (
        outer,
        inner,
        bucket,
        thing,
    )
    assert exported["sdk_bucket"] == bucket
    assert deployment.component_outputs[inner] == {"bucket": bucket}


def test_make_urn_without_a_registered_parent_uses_the_parent_urns_qualified_type() -> None:
    monitor = EngineMonitor(Deployment(previous={}, handlers={}, preview=True), PROJECT, STACK)
    monitor.stack_urn = f"{PREFIX}pulumi:pulumi:Stack::{PROJECT}-{STACK}"
    assert monitor.make_urn(monitor.stack_urn, BUCKET, "b") == f"{PREFIX}{BUCKET}::b"
    assert monitor.make_urn("", BUCKET, "b") == f"{PREFIX}{BUCKET}::b"
    parent = f"{PREFIX}a:b:C$d:e:F::p"  # e.g. a parent known only from state
    assert monitor.make_urn(parent, BUCKET, "b") == f"{PREFIX}a:b:C$d:e:F${BUCKET}::b"


def _record(urn: str, type_: str, *, custom: bool = True, parent: str | None = None) -> Record:
    if not custom:
        return Record(urn=urn, type=type_, custom=False, parent=parent)
    return Record(
        urn=urn,
        type=type_,
        id="data-1",
        inputs={"bucket": "data-1"},
        outputs={"bucket": "data-1", "arn": "arn:aws:s3:::data-1"},
        parent=parent,
        provider=f"{PROVIDER_URN}::prov-id",
    )


def test_alias_by_old_name_matches_the_recorded_resource() -> None:
    old = f"{PREFIX}{BUCKET}::old-name"
    previous = {old: _record(old, BUCKET)}

    def program() -> None:
        aws.s3.Bucket(
            "new-name",
            bucket="data-1",
            opts=pulumi.ResourceOptions(provider=provider(), aliases=[pulumi.Alias(name="old-name")]),
        )

    deployment = preview(program, previous)
    change = next(c for c in deployment.plan() if c.type == BUCKET)
    assert change.urn == f"{PREFIX}{BUCKET}::new-name"
    assert change.action is Action.SAME
    assert deployment.renamed == {old: change.urn}
    assert deployment.orphans() == []


def test_alias_from_the_root_stack_matches_a_resource_moved_into_a_component() -> None:
    old = f"{PREFIX}{BUCKET}::data"
    previous = {old: _record(old, BUCKET)}

    class Box(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("my:mod:Box", name, {}, None)
            aws.s3.Bucket(
                "data",
                bucket="data-1",
                opts=pulumi.ResourceOptions(
                    parent=self, provider=provider(), aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]
                ),
            )
            self.register_outputs({})

    deployment = preview(lambda: Box("box"), previous)
    change = next(c for c in deployment.plan() if c.type == BUCKET)
    assert change.urn == f"{PREFIX}my:mod:Box${BUCKET}::data"
    assert change.action is Action.SAME
    assert deployment.renamed == {old: change.urn}


def test_children_inherit_the_alias_of_a_renamed_component() -> None:
    old_box = f"{PREFIX}my:mod:Box::oldbox"
    old_child = f"{PREFIX}my:mod:Box${BUCKET}::oldbox-data"
    previous = {
        old_box: _record(old_box, "my:mod:Box", custom=False),
        old_child: _record(old_child, BUCKET, parent=old_box),
    }

    class Box(pulumi.ComponentResource):
        def __init__(self, name: str, opts: pulumi.ResourceOptions) -> None:
            super().__init__("my:mod:Box", name, {}, opts)
            aws.s3.Bucket(
                f"{name}-data", bucket="data-1", opts=pulumi.ResourceOptions(parent=self, provider=provider())
            )
            self.register_outputs({})

    # Pulumi's own test (tests/integration/aliases/python/rename_component): the alias on the component
    # alone renames the component and its children, the "<parent name>-" prefix of child names included.
    deployment = preview(lambda: Box("newbox", pulumi.ResourceOptions(aliases=[pulumi.Alias(name="oldbox")])), previous)
    child = next(c for c in deployment.plan() if c.type == BUCKET)
    assert child.urn == f"{PREFIX}my:mod:Box${BUCKET}::newbox-data"
    assert child.action is Action.SAME
    assert deployment.orphans() == []


# ------------------------------------------------------------------------------------- refused features


def _transform(args: Any) -> None:
    return None


REFUSED: dict[str, tuple[Callable[[], object], str]] = {
    "transforms": (
        lambda: aws.s3.Bucket(
            "b", bucket="b", opts=pulumi.ResourceOptions(provider=provider(), transforms=[_transform])
        ),
        "has transforms",
    ),
    "Resource.get": (
        lambda: aws.s3.Bucket.get("b", "existing-bucket", opts=pulumi.ResourceOptions(provider=provider())),
        "does not support Resource.get",
    ),
    "stack transform": (
        lambda: pulumi.runtime.register_resource_transform(_transform),
        "stack transform",
    ),
    "hooks": (
        lambda: aws.s3.Bucket(
            "b",
            bucket="b",
            opts=pulumi.ResourceOptions(
                provider=provider(),
                hooks=pulumi.ResourceHookBinding(before_create=[pulumi.ResourceHook("h", lambda args: None)]),
            ),
        ),
        "resource hooks",
    ),
}


@pytest.mark.parametrize("feature", list(REFUSED))
def test_unsupported_features_fail_with_a_clear_error(feature: str) -> None:
    program, expected = REFUSED[feature]
    deployment = Deployment(previous={}, handlers=handlers(), preview=True)

    error = run_guarded(program, deployment)

    assert isinstance(error, UnsupportedFeatureError), f"{feature}: got {error!r}"
    assert expected in error.message
    assert not [c for c in deployment.plan() if c.type == BUCKET]  # nothing was planned for the resource


def test_legacy_transformations_run_in_the_sdk_and_are_honoured() -> None:
    # Old-style `transformations` run client-side in the SDK: they are applied, not silently dropped.
    def tag(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
        return pulumi.ResourceTransformationResult({**args.props, "tags": {"added": "yes"}}, args.opts)

    deployment = preview(
        lambda: aws.s3.Bucket("b", bucket="b", opts=pulumi.ResourceOptions(provider=provider(), transformations=[tag]))
    )
    change = next(c for c in deployment.plan() if c.type == BUCKET)
    assert change.after == {"bucket": "b", "tags": {"added": "yes"}}


def test_registration_carries_parent_provider_and_options() -> None:
    seen: list[Registration] = []

    class Spy(Deployment):
        def register(self, registration: Registration) -> tuple[str, dict[str, Any]]:
            seen.append(registration)
            return super().register(registration)

    def program() -> None:
        p = provider()
        first = aws.s3.Bucket("first", bucket="first", opts=pulumi.ResourceOptions(provider=p))
        aws.s3.Bucket(
            "second",
            bucket=first.bucket,
            opts=pulumi.ResourceOptions(
                provider=p, protect=True, retain_on_delete=True, ignore_changes=["tags"], depends_on=[first]
            ),
        )

    deployment = Spy(previous={}, handlers=handlers(), preview=True)
    assert run_guarded(program, deployment) is None
    second = next(r for r in seen if r.name == "second")
    first_urn = f"{PREFIX}{BUCKET}::first"
    assert second.parent is not None and second.parent.endswith("pulumi:pulumi:Stack::mlplatform-test")
    assert second.provider is not None and second.provider.startswith(PROVIDER_URN + "::")
    assert second.protect and second.retain_on_delete
    assert second.ignore_changes == ("tags",)
    assert first_urn in second.dependencies
    assert second.property_dependencies.get("bucket") == (first_urn,)
    assert first_urn in second.all_dependencies and PROVIDER_URN in second.all_dependencies
