"""What the user typed -> URNs: the one name-resolution rule of every command that names resources.

``state show``, ``state rm`` and ``destroy --target`` (and any later ``--target``) accept, for each resource:

* its full URN (what ``state list`` prints);
* its logical name, the URN's last segment and the name plans show (``artifact-store-artifacts-bucket``);
* ``<type>::<name>`` (``aws:s3/bucket:Bucket::artifact-store-artifacts-bucket``), to tell apart two
  resources of different types that share a logical name.

A name that matches nothing is an error with "did you mean" suggestions; one that matches several is an
error listing their URNs. Both exit 2 (invalid flags), like Terraform's "Invalid target address".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from mlplatform.errors import ConfigError


class UnknownResourceError(ConfigError):
    """A resource name or URN matches no resource."""

    headline = "unknown resource"


class AmbiguousResourceError(ConfigError):
    """A resource name matches several resources."""

    headline = "ambiguous resource name"


def logical_name(urn: str) -> str:
    """The resource's logical name: the last segment of its URN."""
    return urn.rsplit("::", 1)[-1]


def matches(query: str, urns: Iterable[str]) -> list[str]:
    """The URNs ``query`` names (a URN, ``<type>::<name>`` or a logical name), in their order."""
    candidates = list(urns)
    if query in candidates:
        return [query]
    if "::" in query:
        return [urn for urn in candidates if urn.endswith(("::" + query, "$" + query))]
    return [urn for urn in candidates if logical_name(urn) == query]


def resolve_urns(queries: Iterable[str], urns: Iterable[str], *, where: str, hint: str | None = None) -> list[str]:
    """Resolve each query to exactly one URN.

    Args:
        queries: what the user typed, one resource each.
        urns: the resources they may name (the environment's state, or the program's resources).
        where: what ``urns`` are, for the message (``"the state of environment 'dev'"``).
        hint: where to look the names up (``"mlplatform state list --env dev lists them"``).

    Returns:
        the URNs, in the order of ``queries``, each once.

    Raises:
        UnknownResourceError: a query matches nothing (every such query is named, with suggestions).
        AmbiguousResourceError: a query matches several resources (their URNs are listed).
    """
    candidates = list(urns)
    resolved: list[str] = []
    unknown: list[str] = []
    ambiguous: list[str] = []
    for query in queries:
        found = matches(query, candidates)
        if not found:
            unknown.append(f"{query!r}{_suggestions(query, candidates)}")
        elif len(found) > 1:
            ambiguous.append(f"{query!r} matches {len(found)} resources:\n" + "\n".join(f"  {urn}" for urn in found))
        elif found[0] not in resolved:
            resolved.append(found[0])
    if ambiguous:
        raise AmbiguousResourceError(
            "\n".join(ambiguous),
            hint="Name one of them by its full URN, or by <type>::<name>.",
        )
    if unknown:
        noun = "no resource" if len(unknown) == 1 else "no resources"
        raise UnknownResourceError(f"{noun} {', '.join(unknown)} in {where}.", hint=hint)
    return resolved


def _suggestions(query: str, urns: list[str]) -> str:
    """`` (did you mean 'a' or 'b'?)`` from close and containing logical names, or ``""``."""
    names = list(dict.fromkeys(logical_name(urn) for urn in urns))
    wanted = logical_name(query)
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
    containing = [name for name in names if wanted and wanted in name and name not in close]
    picks = (close + containing)[:4]
    if not picks:
        return ""
    return " (did you mean " + " or ".join(repr(name) for name in picks) + "?)"
