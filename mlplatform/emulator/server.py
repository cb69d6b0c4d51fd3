"""The local AWS emulator's server process: parse the command line, detach, patch moto, run moto's server.

Run as ``python -m mlplatform.emulator.server --host 127.0.0.1 --port 4566 [--detach]``; :mod:`mlplatform.emulator`
starts it this way. The server runs in its own process, so a fix for a moto gap only takes effect if it is
applied *inside* that process, before moto starts serving: :func:`main` calls
:func:`mlplatform.emulator.patches.apply_patches` and then hands over to ``moto.server.main``. The patches
themselves live in :mod:`mlplatform.emulator.patches`, one module per AWS service.
"""

from __future__ import annotations

import argparse
import os
import sys

from mlplatform.emulator.patches import apply_patches


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
        prog="python -m mlplatform.emulator.server", description="moto's server with mlplatform's patches."
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
