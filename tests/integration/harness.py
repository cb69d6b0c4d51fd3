"""A small harness for engine and handler tests: a real moto server and the embedded engine in-process.

``deploy(program, previous)`` runs a Pulumi program through the embedded engine against the server and
returns the deployment (records, changes, steps, API call counts); tests then check the emulator
independently with boto3.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mlplatform.engine.conventions import Conventions
from mlplatform.engine.embedded.deployment import Deployment, Record
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.monitor import EngineMonitor
from mlplatform.engine.embedded.runner import run_program

CONVENTIONS = Conventions(urn_tag="harness:urn")
"""No application's conventions, only a URN tag of the harness's own: the engine writes the key it is given."""

SERVICES = (
    "s3",
    "kms",
    "sts",
    "iam",
    "ecr",
    "ec2",
    "logs",
    "cloudwatch",
    "events",
    "sns",
    "sagemaker",
    "glue",
    "codebuild",
    "codepipeline",
    "applicationautoscaling",
    "budgets",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server(*, patched: bool = True) -> Iterator[str]:
    """Start the emulator's server (moto plus mlplatform's patches) on a free loopback port; yield its endpoint.

    With ``patched=False`` it is moto's own server, without mlplatform's patches: the baseline that shows a gap.
    Either way it is a separate process, so no patch applied in the test process can leak into it.
    """
    port = free_port()
    server = ["mlplatform.emulator.server", "--host"] if patched else ["moto.server", "-H"]
    process = subprocess.Popen(
        [sys.executable, "-m", *server, "127.0.0.1", "--port" if patched else "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def provider(endpoint: str, name: str = "local") -> Any:
    """An explicit aws.Provider pointed at ``endpoint`` (what the local target uses)."""
    import pulumi_aws as aws

    return aws.Provider(
        name,
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_metadata_api_check=True,
        s3_use_path_style=True,
        endpoints=[aws.ProviderEndpointArgs(**{service: endpoint for service in SERVICES})],
    )


def deploy(
    program: Callable[[], None],
    previous: dict[str, Record] | None = None,
    *,
    preview: bool = False,
    refresh: bool = False,
) -> Deployment:
    """Run ``program`` once through the embedded engine; replaced resources and orphans are deleted like ``up``
    does."""
    deployment = Deployment(
        previous=dict(previous or {}),
        handlers=registry(),
        preview=preview,
        refresh=refresh,
        conventions=CONVENTIONS,
    )
    run_program(program, EngineMonitor(deployment, "mlplatform", "test"), preview=preview, parallel=10)
    if not deployment.broken:
        deployment.delete_replaced()
        deployment.delete(deployment.orphans(), parallel=10)
    return deployment


def destroy(previous: dict[str, Record]) -> Deployment:
    deployment = Deployment(previous=dict(previous), handlers=registry(), preview=False, conventions=CONVENTIONS)
    deployment.delete(list(previous.values()), parallel=10)
    return deployment


def client(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
