"""Options shared by several commands, so their names and help texts stay identical."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

ENV_HELP = "Environment: stacks/<env>.yaml, or the built-in `local` (embedded emulator) when there is no file."
BLUEPRINT_HELP = "Blueprint to use instead of the one the environment names (level0, level1, level2 or your own)."

# typer inspects these annotations at runtime, so Optional[...] is used instead of `X | None` (Python 3.10).
EnvOpt = Annotated[str, typer.Option("--env", "-e", help=ENV_HELP)]
BlueprintOpt = Annotated[Optional[str], typer.Option("--blueprint", "-b", help=BLUEPRINT_HELP)]  # noqa: UP045
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of text.")]
StateDirOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--state-dir",
        file_okay=False,
        help="Directory for mlplatform's local files (default: $MLPLATFORM_STATE_DIR, else ./.mlplatform).",
    ),
]

EngineOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--engine",
        help="embedded (in-process, the default for target local) or pulumi (Automation API and the Pulumi CLI; "
        "always for target aws, and for local with the provider pointed at the emulator). An environment keeps "
        "the engine it was deployed with.",
    ),
]

AllowUnprotectedProdOpt = Annotated[
    bool,
    typer.Option(
        "--allow-unprotected-prod",
        help="Accept a production environment (name prod, production, prod-*, *-prod, or tag environment: prod) "
        "with protect: false and allow_destroy_data: true on target aws, which is refused otherwise "
        "(docs/security.md). It is still named as a security override.",
    ),
]

JSON_ERROR_FIELDS = "mlplatform.json_error_fields"
"""``ctx.meta`` key: top-level fields a command adds to its ``--json`` error document (``validate``)."""
