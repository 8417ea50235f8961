"""One way to GET JSON from a carbon-data API: timeouts, retries with backoff, clear errors.

Every live provider sends its requests through ``JsonHttp`` so that they all fail the same way:

::

    httpx.TimeoutException, httpx.TransportError, HTTP 429, HTTP 5xx
        -> retried with exponential backoff and jitter (``Retry-After`` honoured),
           then ProviderTemporaryError naming the last failure
    HTTP 401 / 403      -> ProviderAuthError (a ProviderPermanentError) naming the credential
    other HTTP 4xx      -> ProviderPermanentError with the status and the start of the body
    body is not JSON    -> ProviderPermanentError saying what was expected

The client (and so the transport) is injected, as is ``sleep``: tests pass an
``httpx.MockTransport`` and a sleep that records instead of waiting. This module reads neither
the environment nor the wall clock except through the ``Clock`` it is given.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from carbon_kube.domain.clock import Clock
from carbon_kube.domain.errors import ProviderPermanentError, ProviderTemporaryError

log = logging.getLogger(__name__)

Sleep = Callable[[timedelta], None]
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_BODY_PREVIEW_CHARS = 200


class ProviderAuthError(ProviderPermanentError):
    """HTTP 401/403: the credentials were refused (a token-based client may log in again)."""

    def __init__(self, provider: str, message: str, status_code: int) -> None:
        super().__init__(provider, message)
        self.status_code = status_code


def sleep_for(duration: timedelta) -> None:
    """The real sleep, for production; tests inject their own."""
    time.sleep(max(duration.total_seconds(), 0.0))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a temporary failure.

    The n-th retry waits ``base_delay * 2**(n-1)`` plus up to ``jitter`` of that (so that many
    clients do not retry in lockstep), capped at ``max_delay``. A server's ``Retry-After`` replaces
    the computed delay but is capped at ``max_delay`` too: a scheduler must not hang for an hour
    because one API asked it to.
    """

    attempts: int = 4
    base_delay: timedelta = timedelta(seconds=0.5)
    max_delay: timedelta = timedelta(seconds=30)
    jitter: float = 0.25
    timeout: timedelta = timedelta(seconds=10)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if self.base_delay < timedelta(0) or self.max_delay < timedelta(0):
            raise ValueError("RetryPolicy delays must be >= 0")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("RetryPolicy.jitter must be within [0, 1]")

    def backoff(self, retry: int, rng: random.Random) -> timedelta:
        """The wait before retry number ``retry`` (1-based), jitter included."""
        delay: timedelta = self.base_delay * (2 ** (retry - 1))
        delay += delay * (self.jitter * rng.random())
        return min(delay, self.max_delay)


class JsonHttp:
    """GET JSON for one provider with the retry policy; errors carry the provider's name.

    ``credential_hint`` finishes the sentence "set ..." in 401/403 errors, e.g.
    ``"ELECTRICITYMAPS_API_TOKEN to a valid Electricity Maps token"``. ``error_detail`` reads
    an API's own reason out of a refused request's body (ENTSO-E's XML acknowledgement), where
    the start of the body would not reach it.
    """

    def __init__(
        self,
        client: httpx.Client,
        provider: str,
        *,
        clock: Clock,
        credential_hint: str | None = None,
        policy: RetryPolicy | None = None,
        sleep: Sleep = sleep_for,
        rng: random.Random | None = None,
        error_detail: Callable[[bytes], str | None] | None = None,
    ) -> None:
        self._client = client
        self._error_detail = error_detail
        self._provider = provider
        self._clock = clock
        self._hint = credential_hint
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        # Jitter only spreads retries out; it has no security role.
        self._rng = rng or random.Random()  # noqa: S311

    @property
    def policy(self) -> RetryPolicy:
        return self._policy

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> Any:
        """The decoded JSON body of a successful GET of ``url``."""
        response = self.get_response(url, params=params, headers=headers, auth=auth)
        return self.decode(response)

    def get_response(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        accept: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """A 2xx response, after retrying temporary failures; raises the provider errors.

        ``accept`` lets a caller read a refusal itself when it is an answer (ENTSO-E's older
        servers say "No matching data" with HTTP 400).
        """
        what = _describe(url)
        last_problem = "no attempt made"
        for attempt in range(1, self._policy.attempts + 1):
            retry_after: timedelta | None = None
            try:
                response = self._client.get(
                    url,
                    params=dict(params or {}),
                    headers=dict(headers or {}),
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                    timeout=self._policy.timeout.total_seconds(),
                )
            except httpx.TimeoutException:
                last_problem = f"timed out after {self._policy.timeout.total_seconds():g} s"
            except httpx.TransportError as error:
                last_problem = f"network error: {error}"
            else:
                if response.is_success or (accept is not None and accept(response)):
                    return response
                if response.status_code in (401, 403):
                    raise ProviderAuthError(
                        self._provider, self._refused(response, what), response.status_code
                    )
                if response.status_code not in _RETRYABLE_STATUS:
                    detail = self._error_detail(response.content) if self._error_detail else None
                    raise ProviderPermanentError(
                        self._provider,
                        f"{what} answered HTTP {response.status_code}: "
                        f"{detail or _preview(response)}",
                    )
                last_problem = f"HTTP {response.status_code}"
                retry_after = _retry_after(response, self._clock.now())
            if attempt == self._policy.attempts:
                break
            delay = self._policy.backoff(attempt, self._rng)
            if retry_after is not None:
                delay = min(retry_after, self._policy.max_delay)
            log.warning(
                "%s: %s: %s; retry %d of %d in %.1f s",
                self._provider,
                what,
                last_problem,
                attempt,
                self._policy.attempts - 1,
                delay.total_seconds(),
                extra={
                    "provider": self._provider,
                    "request": what,
                    "problem": last_problem,
                    "attempt": attempt,
                    "delay_s": delay.total_seconds(),
                },
            )
            self._sleep(delay)
        raise ProviderTemporaryError(
            self._provider,
            f"{what} failed {self._policy.attempts} time(s), last: {last_problem}; "
            "the service may be down or rate-limiting, try again later",
        )

    def decode(self, response: httpx.Response) -> Any:
        """The JSON body, or a permanent error quoting what came back instead."""
        try:
            return response.json()
        except ValueError:
            raise ProviderPermanentError(
                self._provider,
                f"{_describe(str(response.request.url))} returned a body that is not JSON "
                f"(expected a JSON object): {_preview(response)}",
            ) from None

    def _refused(self, response: httpx.Response, what: str) -> str:
        fix = f"; set {self._hint}" if self._hint else ""
        return f"{what} refused the credentials (HTTP {response.status_code}){fix}"


def _describe(url: str) -> str:
    parsed = httpx.URL(url)
    return f"GET {parsed.host}{parsed.path}"


def _preview(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    if not text:
        return "(empty body)"
    if len(text) > _BODY_PREVIEW_CHARS:
        return repr(text[:_BODY_PREVIEW_CHARS] + "...")
    return repr(text)


def _retry_after(response: httpx.Response, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; ``None`` when absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))
