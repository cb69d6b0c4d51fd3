"""Deprecated command-line alias: ``python -m mlplatform.emulator_server`` runs :mod:`mlplatform.emulator.server`.

The server moved into the :mod:`mlplatform.emulator` package; ``mlplatform emulator start`` is the supported way
to run it. This alias keeps scripts that start the server by its old module name working, with a notice on
stderr. It is a command line only: nothing is importable from here.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from mlplatform.emulator.server import main

    sys.stderr.write(
        "note: `python -m mlplatform.emulator_server` is deprecated; use `python -m mlplatform.emulator.server` "
        "or `mlplatform emulator start`.\n"
    )
    main()
