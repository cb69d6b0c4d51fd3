"""What mlplatform assumes about the Pulumi SDK beyond its public API, each assumption held to the installed SDK.

The embedded engine speaks the resource-monitor protocol in-process, and nothing public does that, so a
few non-exported pieces remain (runner.py, monitor.py, values.py, render/terraform.py document each). An
SDK upgrade that moves one fails here, by name, instead of somewhere deep in a preview.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import pulumi
import pulumi.runtime
import pulumi_aws as aws
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockEngine, MockMonitor
from pulumi.runtime.proto import engine_pb2, resource_pb2

from mlplatform.engine.embedded import runner
from mlplatform.engine.embedded.monitor import EngineMonitor, _run_here
from mlplatform.engine.values import SECRET_SIG, SIG_KEY, UNKNOWN, normalize, plain, secret
from mlplatform.render.terraform import _properties


def test_the_runner_uses_only_public_names_of_pulumi_runtime() -> None:
    public = set(pulumi.runtime.__all__)
    assert {"Settings", "configure", "get_root_resource", "run_in_stack", "rpc"} <= public
    # What the runner passes to Settings(...).
    parameters = inspect.signature(pulumi.runtime.Settings).parameters
    assert {"project", "stack", "monitor", "engine", "dry_run", "parallel", "organization"} <= set(parameters)


def test_mock_monitor_still_has_every_method_the_engine_monitor_overrides() -> None:
    """An override of a method the SDK renamed would silently stop being called (e.g. transforms unrejected)."""
    overridden = {
        name
        for name, member in vars(EngineMonitor).items()
        if callable(member) and (name[0].isupper() or name == "make_urn")
    }
    assert overridden >= {"RegisterResource", "RegisterResourceOutputs", "ReadResource", "Invoke", "make_urn"}
    missing = sorted(name for name in overridden if not hasattr(MockMonitor, name))
    assert missing == []
    assert list(inspect.signature(MockMonitor.__init__).parameters) == ["self", "mocks"]


def test_mock_monitor_answers_feature_probes_without_mocks() -> None:
    """The methods not overridden (SupportsFeature...) must not need the Mocks the engine does not pass."""
    monitor = MockMonitor(None)  # type: ignore[arg-type]
    answer = monitor.SupportsFeature(resource_pb2.SupportsFeatureRequest(id="secrets"))
    assert answer.hasSupport is True


def test_mock_engine_routes_sdk_log_messages_to_a_logger(caplog: pytest.LogCaptureFixture) -> None:
    engine = MockEngine(logging.getLogger("mlplatform.program"))
    with caplog.at_level(logging.WARNING, logger="mlplatform.program"):
        engine.Log(engine_pb2.LogRequest(severity=engine_pb2.WARNING, message="careful"))
    assert [(r.name, r.levelname, r.message) for r in caplog.records] == [("mlplatform.program", "WARNING", "careful")]


def test_a_program_log_reaches_the_logger_through_a_real_run(caplog: pytest.LogCaptureFixture) -> None:
    registrations: list[str] = []

    class Registrar:
        def register(self, registration: Any) -> tuple[str, dict[str, Any]]:
            registrations.append(registration.type)
            return "id", {}

        def register_outputs(self, urn: str, outputs: dict[str, Any]) -> None:
            return None

        def invoke(self, token: str, args: dict[str, Any], provider: str | None) -> dict[str, Any]:
            return {}

    roots: list[object] = []

    def program() -> None:
        roots.append(pulumi.runtime.get_root_resource())
        pulumi.log.warn("from the program")
        pulumi.ComponentResource("test:index:Thing", "thing")

    with caplog.at_level(logging.WARNING, logger="mlplatform.program"):
        runner.run_program(program, EngineMonitor(Registrar(), "p", "s"), preview=True, parallel=2)
    assert any(r.name == "mlplatform.program" and r.message == "from the program" for r in caplog.records)
    assert roots and roots[0] is not None  # the runner waits for the root stack through get_root_resource
    assert registrations == ["test:index:Thing"]


def test_rpc_round_trips_values_and_the_secret_envelope_values_py_uses() -> None:
    """values.py spells the SDK's secret signature itself (SIG_KEY, SECRET_SIG): it must be the wire's."""
    assert (rpc._special_sig_key, rpc._special_secret_sig) == (SIG_KEY, SECRET_SIG)
    inputs = {"name": "b", "count": 2, "nested": {"list": [1, "x"]}, "token": secret("s")}
    wire = _run_here(rpc.serialize_properties(inputs, {}, keep_output_values=False))
    assert normalize(rpc.deserialize_properties(wire, keep_unknowns=True)) == inputs
    assert "keep_output_values" in inspect.signature(rpc.serialize_properties).parameters
    assert "keep_unknowns" in inspect.signature(rpc.deserialize_properties).parameters


def test_an_unknown_on_the_wire_deserialises_to_the_type_values_match_by_name() -> None:
    wire = _run_here(rpc.serialize_properties({"arn": "x"}, {}))
    wire["arn"] = rpc.UNKNOWN
    value = rpc.deserialize_properties(wire, keep_unknowns=True)["arn"]
    assert type(value).__name__ == "Unknown" and type(value) is pulumi.output.Unknown
    assert normalize({"arn": value}) == {"arn": UNKNOWN} and plain(value) == UNKNOWN


def test_the_protocol_messages_have_the_fields_the_monitor_reads_and_writes() -> None:
    request = set(resource_pb2.RegisterResourceRequest.DESCRIPTOR.fields_by_name)
    assert {
        "type",
        "name",
        "parent",
        "custom",
        "object",
        "provider",
        "dependencies",
        "propertyDependencies",
        "protect",
        "retainOnDelete",
        "ignoreChanges",
        "replaceOnChanges",
        "deleteBeforeReplace",
        "deleteBeforeReplaceDefined",
        "importId",
        "deletedWith",
        "transforms",
        "hooks",
    } <= request
    assert {"urn", "id", "object"} <= set(resource_pb2.RegisterResourceResponse.DESCRIPTOR.fields_by_name)
    assert {"failures", "return"} <= set(resource_pb2.ResourceInvokeResponse.DESCRIPTOR.fields_by_name)


def test_the_sdk_refuses_features_with_the_texts_the_runner_matches() -> None:
    from pulumi.runtime import resource, stack

    source = inspect.getsource(resource) + inspect.getsource(stack)
    for needle in runner._SDK_FEATURE_MESSAGES:
        assert needle in source, needle


def test_pulumi_getter_still_records_the_property_name_the_export_reads() -> None:
    @pulumi.input_type
    class ThingArgs:
        @property
        @pulumi.getter(name="camelName")
        def camel_name(self) -> str:
            return ""

    assert _properties(ThingArgs) == {"camelName": "str"}
    assert "serverSideEncryptionConfiguration" in _properties(aws.s3.BucketArgs)
