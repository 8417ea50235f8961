"""The project's error tree.

::

    CarbonKubeError
     +-- InputError            a user's file, option or annotation is wrong (exit code 2)
     +-- ProviderError         a carbon-data source failed
          +-- ProviderTemporaryError   worth retrying or falling back (timeouts, 429, 5xx)
          +-- ProviderPermanentError   retrying will not help (401, malformed data, no data)

Every message says what happened and how to fix it. ``InputError`` carries the location so that
the CLI can print one line such as ``jobs.csv:12: field 'cpus': expected a positive number, got
'-2'`` and exit with code 2 instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path


class CarbonKubeError(Exception):
    """Base of every error this package raises on purpose."""


class InputError(CarbonKubeError):
    """Bad user input: a file, a row, a field, an option or an annotation."""

    def __init__(
        self,
        message: str,
        *,
        source: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = str(source) if source is not None else None
        self.line = line
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        """One line: ``file:line: field 'x': message`` with whatever parts are known."""
        where = ""
        if self.source is not None:
            where = self.source if self.line is None else f"{self.source}:{self.line}"
            where += ": "
        what = f"field '{self.field}': " if self.field is not None else ""
        return f"{where}{what}{self.message}"


class ProviderError(CarbonKubeError):
    """A carbon-intensity source failed; ``provider`` names it for logs and metrics."""

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        self.message = message
        super().__init__(f"{provider}: {message}")


class ProviderTemporaryError(ProviderError):
    """Timeouts, rate limits and server errors: retry with backoff, then fall back."""


class ProviderPermanentError(ProviderError):
    """Bad credentials, malformed or empty answers: retrying the same request will not help."""
