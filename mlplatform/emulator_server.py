"""The local AWS emulator's server process: moto's HTTP server plus mlplatform's fixes for moto's gaps.

Run as ``python -m mlplatform.emulator_server --host 127.0.0.1 --port 4566 [--detach]``;
:mod:`mlplatform.emulator` starts it this way. The server runs in its own process, so a fix for a moto gap
only takes effect if it is applied *inside* that process, before moto starts serving: :func:`main`
calls :func:`apply_patches` and then hands over to ``moto.server.main``.

Each patch fills one gap of the pinned moto release (pyproject pins ``moto[server]==5.2.5``), says which,
and only *adds* what moto lacks: when a newer moto implements the operation itself, moto's version wins
and the patch is a no-op. Each patch has an integration test that shows the gap on plain moto and the
fix through this server (tests/integration/test_emulator.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

# The moto release these patches were written against (what the tests show the gaps on).
PATCHED_MOTO_VERSION = "5.2.5"


def apply_patches() -> None:
    """Apply every patch to moto's backends and responses in this process. Safe to call twice."""
    _add_sagemaker_delete_model_package_group()


def _add_sagemaker_delete_model_package_group() -> None:
    """SageMaker ``DeleteModelPackageGroup`` (moto 5.2.5 answers HTTP 500).

    Root cause: moto 5.2.5 implements Create/Describe/ListModelPackageGroups but neither
    ``SageMakerModelBackend.delete_model_package_group`` nor the ``SageMakerResponse`` handler, so
    ``BaseResponse.call_action`` raises ``NotImplementedError("The delete_model_package_group action has not
    been implemented")`` and the Flask app turns it into a 500 HTML page. Every ``destroy`` of a blueprint
    with a model registry hits it.
    """
    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker.exceptions import ConflictException
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def delete_model_package_group(self: Any, model_package_group_name: str) -> None:
        # The API accepts a name or an ARN (``arn:aws:sagemaker:…:model-package-group/<name>``).
        name = model_package_group_name.rsplit("/", 1)[-1]
        # An unknown group gets the same ValidationException ("… does not exist.") as Describe, which is
        # what AWS answers and what providers match on to treat the group as already gone.
        self.describe_model_package_group(name)
        # AWS refuses to delete a group that still holds model versions (ConflictException is the one error
        # the API documents); deleting silently would hide versions an engine forgot about.
        versions = [p for p in self.model_packages.values() if p.model_package_group_name == name]
        if versions:
            raise ConflictException(
                f"Model package group {name} cannot be deleted: it contains {len(versions)} model package(s)."
            )
        del self.model_package_groups[name]

    def handle_delete_model_package_group(self: Any) -> ActionResult:
        self.sagemaker_backend.delete_model_package_group(self._get_param("ModelPackageGroupName"))
        return EmptyResult()

    _add_missing(SageMakerModelBackend, delete_model_package_group=delete_model_package_group)
    _add_missing(SageMakerResponse, delete_model_package_group=handle_delete_model_package_group)


def _add_missing(cls: type, **methods: Callable[..., Any]) -> None:
    """Add methods a moto class lacks; a moto release that implements one itself keeps its own."""
    for name, method in methods.items():
        if not hasattr(cls, name):
            setattr(cls, name, method)


def _detach() -> None:
    """Become a daemon: the launching process prints the server's pid on stdout and exits at once.

    The server is then nobody's child: it survives the command that started it (``mlplatform emulator
    start`` returns immediately), is not a zombie in a long-running caller when it exits, and, in its own
    session, does not get the terminal's Ctrl-C meant for ``mlplatform up``. This runs before moto is
    imported, while the process is still single-threaded, so ``fork`` is safe.
    """
    pid = os.fork()
    if pid > 0:
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
        os._exit(0)
    os.setsid()
    # stdout is the launcher's pipe: point it at stderr (the log file) so the reader sees end-of-file.
    os.dup2(2, 1)


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, detach if asked, patch moto and run its server until SIGTERM.

    Args:
        argv: command-line arguments without the program name; ``sys.argv[1:]`` when ``None``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m mlplatform.emulator_server", description="moto's server with mlplatform's patches."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="port to bind")
    parser.add_argument("--detach", action="store_true", help="run in the background; print the server's pid")
    args = parser.parse_args(argv)
    if args.detach:
        _detach()
    # moto builds some URLs it returns (SQS queue URLs, for example) from MOTO_PORT; a value inherited from
    # the caller's environment would point them at the wrong port.
    os.environ["MOTO_PORT"] = str(args.port)
    apply_patches()
    from moto.server import main as moto_main

    moto_main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
