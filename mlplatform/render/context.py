"""The line that tells the user which project, state folder and blueprint a command works on.

A command run from the wrong folder, or a blueprint that came from the last deploy rather than the file,
should never be a surprise: engine commands print this line before their plan.
"""

from __future__ import annotations

from pathlib import Path

BLUEPRINT_SOURCES = {
    "--blueprint": "from --blueprint",
    "last deploy": "remembered from the last deploy",
    "default": "the default",
}


def shown_path(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when inside it (``.mlplatform``), else absolute."""
    try:
        return str(path.relative_to(base)) or "."
    except ValueError:
        return str(path)


def workspace_line(*, project: Path, state_dir: Path, env: str, blueprint: str, blueprint_source: str) -> str:
    """``project /p · state .mlplatform · environment local · blueprint level2 (from --blueprint)``."""
    source = BLUEPRINT_SOURCES.get(blueprint_source, f"from {blueprint_source}")
    return (
        f"project {project} · state {shown_path(state_dir, project)} · environment {env} · "
        f"blueprint {blueprint} ({source})"
    )
