"""The emulator provider (engine/pulumi/emulator_provider.py), spoken to as the Pulumi engine speaks to it.

Requests are the engine's protobuf messages, sent through the plugin's servicer (or, for the plugin process, over
gRPC on 127.0.0.1), so the SDK's marshalling and the servicer's additions are exercised too. The diff is held to
the embedded engine's: the same (old inputs, new inputs) go through a real ``Deployment`` whose handler is the
real handler class with its AWS calls replaced by a log, so both sides use each handler's own replace keys and
physical name, and the embedded side's call order shows whether it deletes before it creates.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from mlplatform.app import emulator_provider as plugin
from mlplatform.engine.conventions import Conventions
from mlplatform.engine.embedded.deployment import Deployment, Record
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.embedded.monitor import Registration
from mlplatform.engine.model import Action
from mlplatform.engine.pulumi.emulator_provider import (
    EmulatorAwsContext,
    EmulatorOnlyError,
    EmulatorProvider,
    EmulatorServicer,
    from_plain,
    plain_map,
    plugin_version,
    property_map,
    to_plain,
)
from mlplatform.engine.values import UNKNOWN, secret
from mlplatform.errors import ConfigError

PREFIX = "urn:pulumi:test::mlplatform::"
PROVIDER_URN = f"{PREFIX}pulumi:providers:aws::local"
BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
URN_TAG = "test:urn"
LOCAL = "http://127.0.0.1:4566"


def config(**endpoints: str) -> dict[str, Any]:
    """A provider configuration as the SDK sends aws.Provider's inputs (nested values as JSON strings)."""
    return {
        "region": "us-east-1",
        "accessKey": "mlplatform-local",
        "secretKey": secret("mlplatform-local"),
        "skipCredentialsValidation": "true",
        "skipRequestingAccountId": "true",
        "skipMetadataApiCheck": "true",
        "skipRegionValidation": "true",
        "s3UsePathStyle": "true",
        "endpoints": json.dumps([endpoints or {"s3": LOCAL, "kms": LOCAL, "sts": LOCAL}]),
    }


def struct(values: dict[str, Any]) -> Any:
    return PropertyValue.marshal_map(property_map(values))


def unstruct(values: Any) -> dict[str, Any]:
    return plain_map(PropertyValue.unmarshal_map(values))


def run(call: Coroutine[Any, Any, Any]) -> Any:
    """Run one servicer call on a loop of its own (``asyncio.run`` would leave the main thread without a current
    loop, which later tests of the SDK's synchronous helpers rely on)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(call)
    finally:
        loop.close()


def urn(type_: str, name: str = "r") -> str:
    return f"{PREFIX}mlplatform:storage:ArtifactStore${type_}::{name}"


def servicer(handlers: dict[str, Handler] | None = None, configured: dict[str, Any] | None = None) -> EmulatorServicer:
    """The plugin's servicer around a provider, configured like the engine does first (unless ``configured={}``)."""
    provider = EmulatorProvider(Conventions(urn_tag=URN_TAG), handlers)
    served = EmulatorServicer([], "7.51.1", provider, engine_address="")
    settings = config() if configured is None else configured
    if settings:
        run(served.Configure(provider_pb2.ConfigureRequest(args=struct(settings)), None))
    return served


class AbortRecorder:
    """What grpc gives a servicer method: ``abort`` ends the call with a status and message."""

    def __init__(self) -> None:
        self.aborted: tuple[Any, str] | None = None

    async def abort(self, code: Any, details: str) -> None:
        self.aborted = (code, details)
        raise RuntimeError("aborted")


# ------------------------------------------------------------------------------------- the diff, both engines


def recording(type_: str, log: list[str]) -> Handler:
    """The real handler of ``type_`` (its replace keys, physical name) with its AWS calls replaced by a log."""

    class Recording(type(registry()[type_])):  # type: ignore[misc]
        def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            log.append("create")
            return "new-id", {}

        def update(self, ctx: StepContext, resource_id: str, olds: Any, news: Any, outputs: Any) -> dict[str, Any]:
            log.append("update")
            return {}

        def delete(self, ctx: StepContext, resource_id: str, inputs: Any, outputs: Any) -> None:
            log.append("delete")

    return Recording()


def embedded(
    type_: str, olds: dict[str, Any], news: dict[str, Any], ignore: tuple[str, ...]
) -> tuple[Action, list[str]]:
    """The embedded engine's action for this change during ``up``, and the handler calls it made."""
    log: list[str] = []
    provider_ref = f"{PROVIDER_URN}::prov-id"
    previous = {
        PROVIDER_URN: Record(
            urn=PROVIDER_URN, type="pulumi:providers:aws", id="prov-id", inputs=config(), outputs=config()
        ),
        urn(type_): Record(
            urn=urn(type_),
            type=type_,
            id="old-id",
            inputs=olds,
            outputs={**olds, "arn": "arn:aws:s3:::old"},
            provider=provider_ref,
        ),
    }
    deployment = Deployment(previous=previous, handlers={type_: recording(type_, log)}, preview=False)
    common: dict[str, Any] = {"parent": None, "custom": True, "dependencies": (), "property_dependencies": {}}
    deployment.register(
        Registration(PROVIDER_URN, "pulumi:providers:aws", "local", provider=None, inputs=config(), **common)
    )
    deployment.register(
        Registration(urn(type_), type_, "r", provider=provider_ref, inputs=news, ignore_changes=ignore, **common)
    )
    deployment.delete_replaced()  # what up does once the program has finished
    return deployment.changes[urn(type_)].action, log


def pulumi_diff(type_: str, olds: dict[str, Any], news: dict[str, Any], ignore: tuple[str, ...]) -> Any:
    """The provider's answer to the engine's Diff: old outputs hold a computed ``arn`` the inputs do not."""
    request = provider_pb2.DiffRequest(
        id="old-id",
        urn=urn(type_),
        olds=struct({**olds, "arn": "arn:aws:s3:::old"}),
        news=struct(news),
        old_inputs=struct(olds),
        ignoreChanges=list(ignore),
    )
    return run(servicer({type_: registry()[type_]}).Diff(request, None))


def action_of(diff: Any) -> Action:
    if diff.changes == provider_pb2.DiffResponse.DIFF_NONE:
        return Action.SAME
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    return Action.REPLACE if diff.replaces else Action.UPDATE


TAGS = {"team": "a", "mlplatform:env": "local"}
DIFF_CASES = [
    # (id, type, old inputs, new inputs, ignore_changes, expected action, expected replace order)
    ("bucket-unchanged", BUCKET, {"bucket": "b1", "tags": TAGS}, {"bucket": "b1", "tags": TAGS}, (), Action.SAME, None),
    ("bucket-tag", BUCKET, {"bucket": "b1", "tags": TAGS}, {"bucket": "b1", "tags": {**TAGS, "team": "b"}}, (),
     Action.UPDATE, None),
    ("bucket-tag-added", BUCKET, {"bucket": "b1"}, {"bucket": "b1", "tags": TAGS}, (), Action.UPDATE, None),
    ("bucket-tag-ignored", BUCKET, {"bucket": "b1", "tags": TAGS}, {"bucket": "b1", "tags": {"team": "b"}}, ("tags",),
     Action.SAME, None),
    ("bucket-rename", BUCKET, {"bucket": "b1", "tags": TAGS}, {"bucket": "b2", "tags": TAGS}, (), Action.REPLACE,
     ["create", "delete"]),
    ("bucket-same-name-replace", BUCKET, {"bucket": "b1", "objectLockEnabled": False},
     {"bucket": "b1", "objectLockEnabled": True}, (), Action.REPLACE, ["delete", "create"]),
    ("bucket-secret-same", BUCKET, {"bucket": "b1", "tags": {"k": secret("v")}}, {"bucket": "b1", "tags": {"k": "v"}},
     (), Action.SAME, None),
    ("bucket-secret-changed", BUCKET, {"bucket": "b1", "tags": {"k": secret("v")}},
     {"bucket": "b1", "tags": {"k": secret("w")}}, (), Action.UPDATE, None),
    ("key-number-as-double", KEY, {"deletionWindowInDays": 7}, {"deletionWindowInDays": 7.0}, (), Action.SAME, None),
    ("key-description", KEY, {"description": "a", "enableKeyRotation": True}, {"description": "b",
     "enableKeyRotation": True}, (), Action.UPDATE, None),
    ("key-usage", KEY, {"keyUsage": "ENCRYPT_DECRYPT"}, {"keyUsage": "SIGN_VERIFY"}, (), Action.REPLACE,
     ["create", "delete"]),
    ("alias-target", ALIAS, {"name": "alias/a", "targetKeyId": "k1"}, {"name": "alias/a", "targetKeyId": "k2"}, (),
     Action.UPDATE, None),
    ("alias-rename", ALIAS, {"name": "alias/a", "targetKeyId": "k1"}, {"name": "alias/b", "targetKeyId": "k1"}, (),
     Action.REPLACE, ["create", "delete"]),
    ("versioning-bucket", VERSIONING, {"bucket": "b1", "versioningConfiguration": {"status": "Enabled"}},
     {"bucket": "b2", "versioningConfiguration": {"status": "Enabled"}}, (), Action.REPLACE, ["create", "delete"]),
    ("versioning-status", VERSIONING, {"bucket": "b1", "versioningConfiguration": {"status": "Enabled"}},
     {"bucket": "b1", "versioningConfiguration": {"status": "Suspended"}}, (), Action.UPDATE, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("type_", "olds", "news", "ignore", "expected", "order"),
    [case[1:] for case in DIFF_CASES],
    ids=[case[0] for case in DIFF_CASES],
)
def test_the_provider_diff_decides_what_the_embedded_engine_decides(
    type_: str,
    olds: dict[str, Any],
    news: dict[str, Any],
    ignore: tuple[str, ...],
    expected: Action,
    order: list[str] | None,
) -> None:
    action, calls = embedded(type_, olds, news, ignore)
    diff = pulumi_diff(type_, olds, news, ignore)

    assert action is expected
    assert action_of(diff) is expected
    if expected is Action.REPLACE:
        assert calls == order
        # The embedded engine deletes first exactly when the provider tells the Pulumi engine to.
        assert diff.deleteBeforeReplace == (calls == ["delete", "create"])
    else:
        assert not diff.replaces and not diff.deleteBeforeReplace


def test_the_provider_diff_names_keys_reasons_and_kinds() -> None:
    diff = pulumi_diff(BUCKET, {"bucket": "b1", "forceDestroy": True}, {"bucket": "b2", "tags": TAGS}, ())
    assert list(diff.diffs) == ["bucket", "forceDestroy", "tags"]
    assert list(diff.replaces) == ["bucket"]
    kinds = {key: (value.kind, value.inputDiff) for key, value in diff.detailedDiff.items()}
    assert kinds == {
        "bucket": (provider_pb2.PropertyDiff.UPDATE_REPLACE, True),
        "forceDestroy": (provider_pb2.PropertyDiff.DELETE, True),
        "tags": (provider_pb2.PropertyDiff.ADD, True),
    }


def test_without_old_inputs_the_old_outputs_stand_in() -> None:
    """An engine that sends no old inputs: the outputs are diffed, so their computed ``arn`` reads as removed."""
    request = provider_pb2.DiffRequest(
        id="old-id", urn=urn(BUCKET), olds=struct({"bucket": "b1", "arn": "arn"}), news=struct({"bucket": "b1"})
    )
    diff = run(servicer().Diff(request, None))
    assert list(diff.diffs) == ["arn"]


def test_a_provider_configuration_change_is_an_update_never_a_replacement() -> None:
    olds, news = config(), config(s3="http://127.0.0.1:5000")
    request = provider_pb2.DiffRequest(urn=PROVIDER_URN, olds=struct(olds), news=struct(news), old_inputs=struct(olds))
    diff = run(servicer().DiffConfig(request, None))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.diffs) == ["endpoints"] and not diff.replaces


# ------------------------------------------------------------------------------------------------ configure


@pytest.mark.parametrize(
    "outside",
    [
        "https://s3.us-east-1.amazonaws.com",
        "http://127.0.0.1.nip.io:4566",
        "http://localhost@s3.amazonaws.com",
        "http://10.0.0.5:4566",
        "not a url",
    ],
)
def test_configure_refuses_an_endpoint_off_the_loopback_interface(outside: str) -> None:
    settings = config(s3=LOCAL, kms=outside)
    provider = EmulatorProvider(Conventions())
    request = provider_pb2.ConfigureRequest(args=struct(settings))
    context = AbortRecorder()

    with pytest.raises(RuntimeError, match="aborted"):
        run(EmulatorServicer([], "7.51.1", provider, engine_address="").Configure(request, context))

    assert context.aborted is not None
    message = context.aborted[1]
    assert message.startswith(f"{EmulatorOnlyError.headline}: ")
    assert f"kms={outside}" in message and "s3=" not in message
    assert "127.0.0.1, localhost or ::1" in message and "real pulumi-aws plugin" in message
    assert "Traceback" not in message and 'File "' not in message
    assert provider.aws is None
    check = run(provider.check_config(_check_request(settings)))
    error = _refusal(provider, settings)
    assert [(f.property, f.reason) for f in check.failures] == [("endpoints", f"{error.headline}: {error}")]


def _check_request(settings: dict[str, Any]) -> Any:
    from pulumi.provider.experimental.provider import CheckRequest

    return CheckRequest(PROVIDER_URN, {}, property_map(settings), b"")


def _refusal(provider: EmulatorProvider, settings: dict[str, Any]) -> EmulatorOnlyError:
    from pulumi.provider.experimental.provider import ConfigureRequest

    with pytest.raises(EmulatorOnlyError) as refused:
        run(provider.configure(ConfigureRequest({}, property_map(settings), True, True)))
    return refused.value


@pytest.mark.parametrize("settings", [{}, {"region": "us-east-1"}, {**config(), "endpoints": "[]"}])
def test_configure_refuses_a_configuration_without_endpoints(settings: dict[str, Any]) -> None:
    """The default provider (no configuration) is refused too: its calls would all go to real AWS."""
    provider = EmulatorProvider(Conventions())
    error = _refusal(provider, settings)
    assert "endpoints: none set" in error.message
    assert isinstance(error, ConfigError) and error.exit_code == 2
    assert run(provider.check_config(_check_request(settings))).failures


@pytest.mark.parametrize("local", ["http://127.0.0.1:4566", "http://localhost:4566", "http://[::1]:4566"])
def test_configure_accepts_loopback_endpoints(local: str) -> None:
    provider = EmulatorProvider(Conventions())
    served = EmulatorServicer([], "7.51.1", provider, engine_address="")
    answer = run(served.Configure(provider_pb2.ConfigureRequest(args=struct(config(s3=local, sts=local))), None))
    assert answer.acceptSecrets and answer.supportsPreview
    assert not answer.acceptResources and not answer.acceptOutputs
    assert provider.aws is not None and provider.aws.endpoint_for("s3") == local
    assert provider.aws.region == "us-east-1" and provider.aws.path_style
    assert not run(provider.check_config(_check_request(config(s3=local)))).failures


def test_a_service_without_a_local_endpoint_gets_no_client() -> None:
    """boto3 would send a service the configuration does not list to its public AWS endpoint."""
    aws = EmulatorAwsContext({"region": "us-east-1", "endpoints": json.dumps([{"s3": LOCAL}])}, None)  # type: ignore[arg-type]
    with pytest.raises(EmulatorOnlyError, match="'sagemaker'"):
        aws.client("sagemaker")


def test_resources_before_configure_are_refused() -> None:
    provider = EmulatorProvider(Conventions(), {BUCKET: registry()[BUCKET]})
    request = provider_pb2.CreateRequest(urn=urn(BUCKET), properties=struct({"bucket": "b1"}))
    context = AbortRecorder()
    with pytest.raises(RuntimeError, match="aborted"):
        run(EmulatorServicer([], "7.51.1", provider, engine_address="").Create(request, context))
    assert context.aborted is not None and "not configured" in context.aborted[1]


# ---------------------------------------------------------------------------------------------------- values


def test_values_round_trip_through_the_wire_with_secrets_kept() -> None:
    value = {
        "password": secret("s3cr3t"),
        "nested": {"list": [1, secret({"k": "v"}), None], "flag": True, "ratio": 0.25},
        "count": 2,
        "unknown": UNKNOWN,
        "empty": {},
    }
    wire = struct(value)
    assert unstruct(wire) == value
    assert wire.fields["password"].struct_value.fields["value"].string_value == "s3cr3t"
    assert PropertyValue.unmarshal_map(wire)["password"].is_secret
    assert not PropertyValue.unmarshal_map(wire)["count"].is_secret
    assert isinstance(unstruct(wire)["count"], int)
    assert to_plain(from_plain(secret(secret("x")))) == secret("x")


def test_values_the_provider_does_not_take_are_refused() -> None:
    import pulumi

    with pytest.raises(Exception, match="Asset"):
        to_plain(PropertyValue(pulumi.StringAsset("x")))
    with pytest.raises(TypeError):
        from_plain(object())


class EchoHandler(Handler):
    """Answers like a real handler, in plaintext; records what it was given."""

    type = BUCKET
    service = "s3"
    computed = ("arn",)

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.calls.append(("create", ctx.urn, ctx.name, ctx.urn_tag, inputs))
        return "id-1", {"arn": "arn:aws:s3:::b1", "echo": f"x-{inputs['password']}-y"}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        self.calls.append(("read", resource_id, inputs))
        if resource_id == "gone":
            return None
        return {"tags": {"team": "changed"}, "password": inputs["password"]}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        self.calls.append(("update", resource_id, olds, news, outputs))
        return {"arn": "arn:aws:s3:::b1"}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        self.calls.append(("delete", resource_id, inputs, outputs))


def test_create_calls_the_handler_with_revealed_inputs_and_keeps_secret_outputs_secret() -> None:
    handler = EchoHandler()
    request = provider_pb2.CreateRequest(urn=urn(BUCKET), properties=struct({"password": secret("pw"), "n": 3.0}))
    answer = run(servicer({BUCKET: handler}).Create(request, None))

    assert answer.id == "id-1"
    assert handler.calls == [("create", urn(BUCKET), "r", URN_TAG, {"password": "pw", "n": 3})]
    outputs = PropertyValue.unmarshal_map(answer.properties)
    assert outputs["password"].is_secret and outputs["echo"].is_secret and not outputs["arn"].is_secret
    assert unstruct(answer.properties) == {
        "password": secret("pw"),
        "echo": secret("x-pw-y"),
        "arn": "arn:aws:s3:::b1",
        "n": 3,
    }


def test_a_preview_create_answers_unknown_computed_outputs_without_calling_the_handler() -> None:
    handler = registry()[BUCKET]
    request = provider_pb2.CreateRequest(urn=urn(BUCKET), properties=struct({"bucket": "b1"}), preview=True)
    answer = run(servicer({BUCKET: handler}).Create(request, None))
    assert answer.id == ""
    outputs = unstruct(answer.properties)
    assert outputs["arn"] == UNKNOWN and outputs["bucketDomainName"] == UNKNOWN
    assert outputs["bucket"] == "b1"  # set by the program: known in the preview
    # The unknown marker is the wire's own: the engine reads it as "known after apply".
    assert answer.properties.fields["arn"].string_value == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def test_update_gives_the_handler_the_old_inputs_and_a_preview_keeps_the_old_outputs() -> None:
    handler = EchoHandler()
    served = servicer({BUCKET: handler})
    olds, old_outputs = {"tags": {"team": "a"}}, {"tags": {"team": "a"}, "arn": "arn:aws:s3:::b1", "extra": "x"}

    def request(preview: bool) -> Any:
        return provider_pb2.UpdateRequest(
            id="id-1",
            urn=urn(BUCKET),
            olds=struct(old_outputs),
            old_inputs=struct(olds),
            news=struct({"tags": {"team": "b"}}),
            preview=preview,
        )

    preview = run(served.Update(request(True), None))
    assert handler.calls == []
    assert unstruct(preview.properties) == {"tags": {"team": "b"}, "arn": "arn:aws:s3:::b1", "extra": "x"}

    answer = run(served.Update(request(False), None))
    assert handler.calls == [("update", "id-1", olds, {"tags": {"team": "b"}}, old_outputs)]
    assert unstruct(answer.properties) == {"tags": {"team": "b"}, "arn": "arn:aws:s3:::b1"}


def test_delete_gives_the_handler_the_old_inputs() -> None:
    handler = EchoHandler()
    request = provider_pb2.DeleteRequest(
        id="id-1", urn=urn(BUCKET), properties=struct({"a": 1, "arn": "x"}), old_inputs=struct({"a": 1})
    )
    run(servicer({BUCKET: handler}).Delete(request, None))
    assert handler.calls == [("delete", "id-1", {"a": 1}, {"a": 1, "arn": "x"})]


def test_read_overlays_drift_keeps_secrets_and_answers_an_empty_id_for_a_gone_resource() -> None:
    handler = EchoHandler()
    served = servicer({BUCKET: handler})
    inputs = {"tags": {"team": "a"}, "password": secret("pw")}

    def request(resource_id: str) -> Any:
        return provider_pb2.ReadRequest(
            id=resource_id, urn=urn(BUCKET), properties=struct({**inputs, "arn": "a"}), inputs=struct(inputs)
        )

    answer = run(served.Read(request("id-1"), None))
    assert answer.id == "id-1"
    assert unstruct(answer.inputs) == {"tags": {"team": "changed"}, "password": secret("pw")}
    assert unstruct(answer.properties) == {"tags": {"team": "changed"}, "password": secret("pw"), "arn": "a"}
    assert handler.calls[0] == ("read", "id-1", {"tags": {"team": "a"}, "password": "pw"})

    gone = run(served.Read(request("gone"), None))
    assert gone.id == "" and not gone.properties.fields


def test_a_failed_api_call_reaches_the_engine_as_its_message_without_a_traceback() -> None:
    class Failing(EchoHandler):
        def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            raise RuntimeError("BucketAlreadyExists: b1")

    context = AbortRecorder()
    request = provider_pb2.CreateRequest(urn=urn(BUCKET), properties=struct({"password": "p"}))
    with pytest.raises(RuntimeError, match="aborted"):
        run(servicer({BUCKET: Failing()}).Create(request, context))
    assert context.aborted is not None
    assert context.aborted[1] == "resource error: RuntimeError: BucketAlreadyExists: b1"


def test_a_type_without_a_handler_is_refused_at_check() -> None:
    context = AbortRecorder()
    request = provider_pb2.CheckRequest(urn=urn("aws:ec2/instance:Instance"), news=struct({}))
    with pytest.raises(RuntimeError, match="aborted"):
        run(servicer({}).Check(request, context))
    assert context.aborted is not None and "no handler for aws:ec2/instance:Instance" in context.aborted[1]
    accepted = run(servicer({BUCKET: EchoHandler()}).Check(
        provider_pb2.CheckRequest(urn=urn(BUCKET), news=struct({"bucket": "b", "x": secret("s")})), None
    ))  # fmt: skip
    assert unstruct(accepted.inputs) == {"bucket": "b", "x": secret("s")}  # unchanged: no defaults invented


def test_invoke_answers_what_the_embedded_engine_answers() -> None:
    served = servicer({}, config(s3=LOCAL) | {"region": "eu-west-1"})
    answer = run(served.Invoke(provider_pb2.InvokeRequest(tok="aws:index/getRegion:getRegion"), None))
    assert unstruct(getattr(answer, "return"))["name"] == "eu-west-1"
    partition = run(served.Invoke(provider_pb2.InvokeRequest(tok="aws:index/getPartition:getPartition"), None))
    assert unstruct(getattr(partition, "return"))["partition"] == "aws"
    context = AbortRecorder()
    with pytest.raises(RuntimeError, match="aborted"):
        run(served.Invoke(provider_pb2.InvokeRequest(tok="aws:ec2/getAmi:getAmi"), context))
    assert context.aborted is not None and "aws:ec2/getAmi:getAmi" in context.aborted[1]


# ---------------------------------------------------------------------------------------------- the plugin


def test_the_reported_version_is_the_one_pulumi_aws_asks_for() -> None:
    import pulumi_aws

    assert plugin_version() == pulumi_aws._utilities.get_version()


def test_write_plugin_writes_an_executable_shim_that_runs_this_python(tmp_path: Path) -> None:
    shim = plugin.write_plugin(tmp_path / "bin")
    assert shim == (tmp_path / "bin" / "pulumi-resource-aws").resolve()
    assert os.access(shim, os.X_OK)
    text = shim.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert f"{sys.executable} -m mlplatform.app.emulator_provider" in text and '"$@"' in text


def test_write_plugin_refuses_the_pulumi_home_and_the_virtualenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for place in (tmp_path / ".pulumi" / "plugins", Path(sys.executable).parent):
        with pytest.raises(ConfigError, match="refusing to write the emulator provider plugin"):
            plugin.write_plugin(place)
    assert not (tmp_path / ".pulumi").exists()
    assert not (Path(sys.executable).parent / "pulumi-resource-aws").exists()


def test_the_plugin_process_serves_the_engine_on_loopback(tmp_path: Path) -> None:
    """The shim starts the plugin as the engine does; it answers over gRPC and refuses a real-AWS configuration."""
    shim = plugin.write_plugin(tmp_path)
    process = subprocess.Popen(
        [str(shim), "127.0.0.1:1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=30).version == plugin_version()
            with pytest.raises(grpc.RpcError) as refused:
                stub.Configure(
                    provider_pb2.ConfigureRequest(args=struct(config(s3="https://s3.amazonaws.com"))), timeout=30
                )
            details = refused.value.details()
            assert details.startswith(EmulatorOnlyError.headline) and "s3=https://s3.amazonaws.com" in details
            assert "Traceback" not in details
            answer = stub.Configure(provider_pb2.ConfigureRequest(args=struct(config())), timeout=30)
            assert answer.acceptSecrets
    finally:
        process.terminate()
        process.communicate(timeout=10)
