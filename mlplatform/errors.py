"""One error hierarchy for the whole tool.

Every error a user can cause is a subclass of :class:`MlplatformError`. Each class carries a short
``headline`` (what kind of problem this is) and the ``exit_code`` from the contract in the README's "Exit codes" table,
so the CLI can print ``headline: message`` and exit without a traceback. Anything that is not an
``MlplatformError`` is a bug and is reported as an internal error (exit 255) with a traceback.
"""

from __future__ import annotations

# Exit codes (Pulumi's table; README "Exit codes"). Other tools rely on these numbers: never renumber.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INVALID = 2
EXIT_AUTH = 3
EXIT_RESOURCE = 4
EXIT_POLICY = 5
EXIT_NOT_FOUND = 6
EXIT_EXPECT_NO_CHANGES = 7
EXIT_CANCELLED = 8
EXIT_INTERNAL = 255


class MlplatformError(Exception):
    """Base class of every error a user can cause or fix.

    Args:
        message: what went wrong, in full sentences; may span several lines.
        hint: optional next step for the user (a command to run, a file to edit).
    """

    headline = "error"
    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"

    def as_dict(self) -> dict[str, object]:
        """JSON form, for the ``{"error": ...}`` document every ``--json`` command prints on failure."""
        return {
            "type": type(self).__name__,
            "headline": self.headline,
            "message": self.message,
            "hint": self.hint,
            "exit_code": self.exit_code,
        }


class ConfigError(MlplatformError):
    """A configuration file, flag or spec is invalid (exit 2)."""

    headline = "invalid configuration"
    exit_code = EXIT_INVALID


class FileFormatError(ConfigError):
    """A YAML file cannot be read: not UTF-8, malformed, duplicate keys, wrong top-level type."""

    headline = "unreadable file"


class SpecValidationError(ConfigError):
    """The merged spec does not validate; carries every problem found, each with its location."""

    headline = "invalid spec"

    def __init__(self, message: str, problems: list[Problem], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems

    def as_dict(self) -> dict[str, object]:
        """JSON form with every located problem."""
        return {**super().as_dict(), "problems": [problem.as_dict() for problem in self.problems]}


class BlueprintNotFoundError(ConfigError):
    """A blueprint name (from a flag, an env file or ``extends:``) does not exist."""

    headline = "unknown blueprint"


class BlueprintCycleError(ConfigError):
    """Blueprints extend each other in a loop."""

    headline = "blueprint extends cycle"


class InvalidEnvNameError(ConfigError):
    """An environment name is not a lowercase DNS label of at most 40 characters."""

    headline = "invalid environment name"


class UsageError(ConfigError):
    """A command was called with flags that cannot work together, or would overwrite something."""

    headline = "invalid usage"


class EnvNotFoundError(MlplatformError):
    """An environment has no ``stacks/<env>.yaml`` and is not the built-in ``local`` environment."""

    headline = "environment not found"
    exit_code = EXIT_NOT_FOUND


class EmulatorError(MlplatformError):
    """The local AWS emulator cannot be started, stopped or reached (exit 1)."""

    headline = "local AWS emulator"


class CancelledError(MlplatformError):
    """The user declined a confirmation or interrupted the run."""

    headline = "cancelled"
    exit_code = EXIT_CANCELLED


class PlanError(MlplatformError):
    """A preview found what would make the run fail (a bucket that still holds data, say): nothing is changed.

    Args:
        message: how many errors, and that nothing was changed.
        errors: each error's text (the plan carries them as error diagnostics, with the resource).
    """

    headline = "the plan has errors"
    exit_code = EXIT_RESOURCE

    def __init__(self, message: str, errors: list[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.errors = errors


class Problem:
    """One located problem in a configuration file.

    Attributes:
        file: the file the offending value came from (or a description such as ``<built-in local>``).
        line: 1-based line number in that file, when known.
        path: dotted field path, e.g. ``serving.endpoints[0].instance_count``.
        value: the value received, already rendered for display (``None`` when the field is missing).
        problem: what is wrong.
        allowed: what would be accepted.
    """

    __slots__ = ("allowed", "file", "line", "path", "problem", "value")

    def __init__(
        self,
        *,
        file: str | None,
        line: int | None,
        path: str,
        value: str | None,
        problem: str,
        allowed: str | None,
    ) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.value = value
        self.problem = problem
        self.allowed = allowed

    def location(self) -> str:
        """``file:line`` (or just ``file``) for the start of an error line."""
        if self.file is None:
            return "<spec>"
        return f"{self.file}:{self.line}" if self.line else self.file

    def render(self) -> str:
        """Multi-line human form: location and path, then value, problem and what is allowed."""
        lines = [f"{self.location()}: {self.path or '(top level)'}"]
        lines.append(f"  problem: {self.problem}")
        if self.value is not None:
            lines.append(f"  value:   {self.value}")
        if self.allowed:
            lines.append(f"  allowed: {self.allowed}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        """JSON form, for ``--json`` output."""
        return {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "value": self.value,
            "problem": self.problem,
            "allowed": self.allowed,
        }


class StateLockedError(MlplatformError):
    """Another run holds the environment's state lock (or left a lock that cannot be judged stale).

    Args:
        message: who holds the lock: pid, host, user, command and start time.
        hint: how to clear it (``mlplatform unlock --env <env>``).
        holder: the lock file's fields, for ``--json`` output (``None`` when the file is unreadable).
    """

    headline = "environment locked"

    def __init__(self, message: str, *, hint: str | None = None, holder: dict[str, object] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.holder = holder

    def as_dict(self) -> dict[str, object]:
        """JSON form with the lock holder's fields."""
        return {**super().as_dict(), "holder": self.holder}


class StateCorruptError(MlplatformError):
    """A state file (snapshot, journal or secrets key) cannot be read; the message names the file."""

    headline = "corrupt state"
