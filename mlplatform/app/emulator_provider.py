"""The emulator provider's plugin executable: ``python -m mlplatform.app.emulator_provider <engine address>``.

The Pulumi engine runs a resource plugin named ``aws`` as an executable ``pulumi-resource-aws``.
:func:`write_plugin` writes such an executable — a two-line shim that runs this module with the Python that
wrote it — into a directory the caller chooses: a test's temporary directory, put first on ``PATH`` (an
*ambient* plugin, which the engine prefers to any installed one) or passed to
``pulumi plugin install resource aws <version> --file <shim>`` with an isolated ``PULUMI_HOME``.

Why no console script named ``pulumi-resource-aws`` is installed with the package: the Pulumi CLI takes any
``pulumi-resource-aws`` on ``PATH`` as the ``aws`` plugin, ahead of the real pulumi-aws in the plugin cache. With
the virtualenv's ``bin`` on ``PATH`` every Pulumi deployment a user runs — to real AWS too — would be handed
to the stand-in (which would refuse it, since it serves only the emulator, but the real deploy would be
broken). So the shim exists only where a caller puts it, never in ``~/.pulumi`` or the virtualenv.

This module lives in ``app/`` because it wires mlplatform's conventions (the URN tag the handlers write)
into the engine's provider, which knows no application.
"""

from __future__ import annotations

import shlex
import stat
import sys
from pathlib import Path

from mlplatform.app.conventions import CONVENTIONS
from mlplatform.errors import ConfigError

PLUGIN_EXECUTABLE = "pulumi-resource-aws"


def write_plugin(directory: Path) -> Path:
    """Write the ``pulumi-resource-aws`` shim into ``directory`` (created if needed); return its path.

    Raises:
        ConfigError: ``directory`` is the Pulumi home's plugin area (``~/.pulumi``) or the folder of the running
            Python's executables: there the shim would stand in for pulumi-aws in every Pulumi run.
    """
    target = directory.expanduser().resolve()
    forbidden = {
        Path.home().joinpath(".pulumi").resolve(): "the user's Pulumi home (~/.pulumi)",
        Path(sys.executable).parent.resolve(): "the folder of this Python's executables (a virtualenv's bin)",
    }
    for place, what in forbidden.items():
        if target == place or place in target.parents:
            raise ConfigError(
                f"refusing to write the emulator provider plugin into {directory}: it is {what}, where every Pulumi "
                "run would take it for pulumi-aws.",
                hint="Pass a temporary directory (put it first on PATH) or an isolated PULUMI_HOME's folder.",
            )
    target.mkdir(parents=True, exist_ok=True)
    shim = target / PLUGIN_EXECUTABLE
    command = shlex.join([sys.executable, "-m", __name__])
    shim.write_text(f'#!/bin/sh\nexec {command} "$@"\n', encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return shim


def main() -> None:
    """Serve the emulator provider to the engine that started this process."""
    # Imported here: writing the shim must not load the handlers and the gRPC server.
    from mlplatform.engine.pulumi.emulator_provider import EmulatorProvider, plugin_version, serve

    serve(EmulatorProvider(CONVENTIONS), plugin_version(), sys.argv[1:])


if __name__ == "__main__":
    main()
