"""An in-memory "cloud" of S3 buckets behind the real embedded engine, for engine and CLI tests.

:class:`FakeCloud` is the one handler the engine gets (``registry`` is patched): it keeps buckets in a dict
and logs every call, so a test can check what the engine asked and that nothing mutating was called.
:func:`program` declares three buckets through the real Pulumi SDK: ``data-raw``, ``data-clean`` (which
depends on ``data-raw``) and ``logs``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.app.conventions import CONVENTIONS
from mlplatform.engine.embedded import engine as engine_module
from mlplatform.engine.embedded.engine import EmbeddedEngine
from mlplatform.engine.embedded.handlers.base import Handler, StepContext
from mlplatform.engine.model import Stack

BUCKET = "aws:s3/bucket:Bucket"
ENV = "dev"
TAGS = {"mlplatform:env": ENV, "managed-by": "mlplatform"}


def urn(name: str) -> str:
    return f"urn:pulumi:{ENV}::mlplatform::{BUCKET}::{name}"


class FakeCloud(Handler):
    """Buckets in a dict; ``calls`` logs (operation, bucket) for every handler call."""

    type = BUCKET
    service = "s3"
    replace_on_change = frozenset({"bucket"})
    name_key = "bucket"

    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def _log(self, operation: str, name: str) -> None:
        with self.lock:
            self.calls.append((operation, name))

    def mutating(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] in ("create", "update", "delete")]

    def create(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._log("create", inputs["bucket"])
        self.buckets[inputs["bucket"]] = {"tags": dict(inputs.get("tags") or {})}
        return inputs["bucket"], {"arn": f"arn:aws:s3:::{inputs['bucket']}"}

    def read(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        self._log("read", resource_id)
        found = self.buckets.get(resource_id)
        return None if found is None else {"tags": dict(found["tags"])}

    def update(
        self, ctx: StepContext, resource_id: str, olds: dict[str, Any], news: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        self._log("update", resource_id)
        self.buckets[resource_id] = {"tags": dict(news.get("tags") or {})}
        return {"arn": f"arn:aws:s3:::{resource_id}"}

    def delete(self, ctx: StepContext, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        self._log("delete", resource_id)
        self.buckets.pop(resource_id, None)

    def find(self, ctx: StepContext, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        self._log("find", inputs["bucket"])
        name = inputs["bucket"]
        return (name, {"arn": f"arn:aws:s3:::{name}"}) if name in self.buckets else None


def provider() -> aws.Provider:
    return aws.Provider(
        "local",
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_metadata_api_check=True,
        endpoints=[aws.ProviderEndpointArgs(s3="http://127.0.0.1:9")],  # never called: the handler is fake
    )


def program() -> None:
    opts = pulumi.ResourceOptions(provider=provider())
    raw = aws.s3.Bucket("data-raw", bucket="data-raw", tags=TAGS, opts=opts)
    aws.s3.Bucket(
        "data-clean", bucket="data-clean", tags=TAGS, opts=opts.merge(pulumi.ResourceOptions(depends_on=[raw]))
    )
    aws.s3.Bucket("logs", bucket="logs", tags=TAGS, opts=opts)


STACK = Stack(env=ENV, blueprint="level0", target="local", program=program)


def fake_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[EmbeddedEngine, FakeCloud]:
    """An embedded engine with state under ``tmp_path`` whose only handler is a fresh :class:`FakeCloud`."""
    cloud = FakeCloud()
    monkeypatch.setattr(engine_module, "registry", lambda: {BUCKET: cloud})
    return EmbeddedEngine(tmp_path / "state", conventions=CONVENTIONS, parallel=4), cloud
