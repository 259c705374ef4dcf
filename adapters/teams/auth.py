"""Bot Framework authentication from `[teams]` without waiting for Microsoft on the event loop.

The SDK fetches the bot's own token (MSAL) and the Bot Framework's signing keys with
synchronous `requests` calls and no timeout, from inside code that runs on the loop: one
slow login.microsoftonline.com held up Slack, the scheduler and /healthz. So:
- `OffLoopCredentials` gets the token in a worker thread (`ready()`, with a timeout), keeps
  it, and hands msrest only the kept token; a failed fetch is retried after a back-off.
- `SigningKeys` replaces the SDK's key cache: the OpenID metadata and key set are fetched
  with aiohttp and a timeout, kept for a day, and a failed fetch backs off, so forged
  tokens cannot make policybot fetch again and again. A token whose key is unknown, or
  that cannot be checked now, is refused (PermissionError), never a crash.

Connector clients reused across turns are in adapters/teams/clients.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import aiohttp
import requests
from botframework.connector.auth import (
    ServiceClientCredentialsFactory,
)
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from jwt.algorithms import RSAAlgorithm
from msrest.authentication import Authentication

log = logging.getLogger("policybot.teams")
FETCH_TIMEOUT = 10.0  # seconds for one fetch of the bot's token or of the signing keys
# seconds a token is used before MSAL is asked again, in the background
# (MSAL never hands out one with under 5 minutes left)
TOKEN_REUSE = 240.0
TOKEN_USABLE = 270.0  # seconds a token is used at most, while MSAL is being asked again
TOKEN_WAIT = 1.0  # seconds a send waits for a token being fetched before it is put off (and retried shortly)
KEYS_REUSE = 24 * 3600.0  # seconds signing keys are kept (as the SDK does)
UNKNOWN_KEY_REFETCH = 3600.0  # a key id not in the set fetches the set again at most this often (as the SDK does)
BACKOFF_FIRST, BACKOFF_MAX = 5.0, 300.0  # seconds before trying a failed fetch again, doubling up to the maximum


_now = time.monotonic  # the clock of kept tokens, keys and back-offs (tests move it)


class TokenUnavailable(ConnectionError):
    """The bot's token from Microsoft Entra could not be had (yet): the send is retried after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Backoff:
    """When a failed fetch may be tried again: 5 s, 10 s, 20 s... up to 5 minutes."""

    def __init__(self) -> None:
        self.failures = 0
        self.until = 0.0

    def waiting(self) -> float:
        """Seconds left before the next try (0 when one may go now)."""
        return max(0.0, self.until - _now())

    def failed(self) -> float:
        self.failures += 1
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self.failures - 1))
        self.until = _now() + delay
        return delay

    def succeeded(self) -> None:
        self.failures, self.until = 0, 0.0


class _Shared:
    """One fetch at a time, shared by everyone who needs it while it runs (per event loop)."""

    def __init__(self) -> None:
        self._task: asyncio.Future[Any] | None = None

    def running(self) -> asyncio.Future[Any] | None:
        task = self._task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            return None
        return task

    def start(self, make: Any) -> asyncio.Future[Any]:
        task = self._task = asyncio.ensure_future(make())
        task.add_done_callback(
            lambda t: t.cancelled() or t.exception()
        )  # a failure nobody waited for is not "never retrieved"
        return task


class OffLoopCredentials(Authentication):
    """The SDK's credentials for the bot, with its token fetched in a worker thread.

    msrest calls `signed_session` on the event loop before each request: here it only reads
    the kept token. `ready()` is awaited before (by the delivery channel, and whenever a
    connector client is handed out) and fetches a token when none is kept.
    """

    def __init__(self, inner: Any, timeout: float = FETCH_TIMEOUT) -> None:
        self.inner = inner
        self.timeout = timeout
        self._token: str | None = None
        self._fetched_at = 0.0
        self._backoff = _Backoff()
        self._fetch = _Shared()

    def __getattr__(self, name: str) -> Any:
        # microsoft_app_id, oauth_scope... as the SDK's own credentials have them
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def needed(self) -> bool:
        """Whether requests carry a token at all (not when the bot runs without an app id)."""
        return bool(self.inner._should_set_token(None))

    def _kept(self, max_age: float) -> str | None:
        return self._token if self._token and _now() - self._fetched_at < max_age else None

    async def ready(self, wait: float | None = None) -> None:
        """Have a usable token kept. A token due for renewal is still used while MSAL is asked
        again in a worker thread (for at most `timeout` seconds). With none usable, wait for the
        fetch, for at most `wait` seconds if given (the fetch carries on); TokenUnavailable if
        there is none then, or if a fetch failed a moment ago (the next waits for the back-off)."""
        if not self.needed or self._kept(TOKEN_REUSE):
            return
        task = self._fetch.running()
        if task is None:
            backing_off = self._backoff.waiting()
            if backing_off:
                if self._kept(TOKEN_USABLE):
                    return
                raise TokenUnavailable(
                    f"could not get the bot's token from Microsoft Entra; trying again in {backing_off:.0f} s",
                    backing_off,
                )
            task = self._fetch.start(self._fetch_token)
        elif wait is not None and not self._kept(TOKEN_USABLE):
            wait = 0  # someone already waits for this fetch: others are put off at once rather than queue behind it
        if self._kept(TOKEN_USABLE):
            return  # renewed in the background
        if wait is None:
            await asyncio.shield(task)
            return
        done, _ = await asyncio.wait({task}, timeout=wait)
        if not done:
            raise TokenUnavailable("still waiting for the bot's token from Microsoft Entra", 2 * TOKEN_WAIT)
        task.result()  # TokenUnavailable if the fetch failed

    async def _fetch_token(self) -> None:
        try:
            token = await asyncio.wait_for(asyncio.to_thread(self.inner.get_access_token), self.timeout)
        except Exception as exc:
            delay = self._backoff.failed()
            why = (
                str(exc) if isinstance(exc, PermissionError) else exc.__class__.__name__
            )  # MSAL's error code and description, never the secret
            log.warning("could not get the bot's token from Microsoft Entra (%s); trying again in %.0f s", why, delay)
            raise TokenUnavailable(
                f"could not get the bot's token from Microsoft Entra ({exc.__class__.__name__})"
            ) from None
        self._token, self._fetched_at = str(token), _now()
        self._backoff.succeeded()

    def forget(self) -> None:
        """Drop the kept token (the connector did not accept it): the next send asks MSAL again."""
        self._token = None

    def get_access_token(self, force_refresh: bool = False) -> str:
        """The kept token; never a fetch (that would block the event loop)."""
        token = self._kept(TOKEN_USABLE)
        if token is None:
            raise TokenUnavailable("the bot's token from Microsoft Entra is not ready yet")
        return token

    def signed_session(self, session: requests.Session | None = None) -> requests.Session:
        session = session or requests.Session()
        if not self.needed:
            session.headers.pop("Authorization", None)
        else:
            session.headers["Authorization"] = f"Bearer {self.get_access_token()}"
        return session


class OffLoopCredentialsFactory(ServiceClientCredentialsFactory):
    """The configured credentials, each made once per app id, scope and login endpoint and
    wrapped in OffLoopCredentials (so every connector client shares one kept token)."""

    def __init__(self, inner: ServiceClientCredentialsFactory, timeout: float = FETCH_TIMEOUT) -> None:
        self._inner = inner
        self.timeout = timeout
        self.made: dict[tuple[str, str, str, bool], OffLoopCredentials] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(await self._inner.is_valid_app_id(app_id))

    async def is_authentication_disabled(self) -> bool:
        return bool(await self._inner.is_authentication_disabled())

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        key = (app_id or "", oauth_scope or "", login_endpoint or "", bool(validate_authority))
        made = self.made.get(key)
        if made is None:
            made = OffLoopCredentials(
                await self._inner.create_credentials(app_id, oauth_scope, login_endpoint, validate_authority),
                self.timeout,
            )
            self.made[key] = made
        return made


class _Key:
    """What the SDK's JwtTokenExtractor reads of a signing key."""

    def __init__(self, public_key: Any, endorsements: list[str]) -> None:
        self.public_key = public_key
        self.endorsements = endorsements


class SigningKeys:
    """The keys published behind one OpenID metadata URL, in place of the SDK's `_OpenIdMetadata`."""

    def __init__(self, url: str, timeout: float = FETCH_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self.keys: dict[str, dict[str, Any]] = {}
        self.fetched_at: float | None = None
        self.fetches = 0  # attempts, for the log and tests
        self._backoff = _Backoff()
        self._fetch = _Shared()

    async def get(self, key_id: Any) -> _Key:
        """The published key a token names. PermissionError if it names none of them, or if
        they cannot be fetched now: the token cannot be checked, so it is not accepted."""
        if self._age() > KEYS_REUSE:
            await self._refresh()
        key = self.keys.get(key_id) if isinstance(key_id, str) else None
        if key is None and isinstance(key_id, str) and self._age() > UNKNOWN_KEY_REFETCH:
            await self._refresh()  # perhaps a new key: at most once an hour, as the SDK does
            key = self.keys.get(key_id)
        if key is None:
            raise PermissionError(
                "the token is not signed with a key the Bot Framework publishes"
                if self.keys
                else "the Bot Framework's signing keys could not be fetched"
            )
        endorsements = key.get("endorsements")
        return _Key(
            RSAAlgorithm.from_jwk(json.dumps(key)),
            [e for e in endorsements if isinstance(e, str)] if isinstance(endorsements, list) else [],
        )

    def _age(self) -> float:
        return float("inf") if self.fetched_at is None else _now() - self.fetched_at

    async def _refresh(self) -> None:
        """Fetch the keys again, unless a fetch failed a moment ago; a failure keeps the keys had before."""
        task = self._fetch.running()
        if task is None:
            if self._backoff.waiting():
                return
            task = self._fetch.start(self._download)
        with contextlib.suppress(Exception):
            await asyncio.shield(task)

    async def _download(self) -> None:
        self.fetches += 1
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout), trust_env=True
            ) as session:
                metadata = await _get_json(session, self.url)
                jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, dict) else None
                if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
                    raise ValueError("the OpenID metadata has no jwks_uri")
                found = await _get_json(session, jwks_uri)
            keys = found.get("keys") if isinstance(found, dict) else None
            if not isinstance(keys, list):
                raise ValueError("the key set has no keys")
        except Exception as exc:
            delay = self._backoff.failed()
            kept = (
                "keeping the keys fetched before"
                if self.keys
                else "Teams requests cannot be checked, so they are refused, until then"
            )
            log.warning(
                "could not fetch the Bot Framework's signing keys from %s (%s); %s; trying again in %.0f s",
                self.url,
                exc.__class__.__name__,
                kept,
                delay,
            )
            raise
        self.keys = {k["kid"]: k for k in keys if isinstance(k, dict) and isinstance(k.get("kid"), str)}
        self.fetched_at = _now()
        self._backoff.succeeded()


async def _get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as resp:
        resp.raise_for_status()
        return json.loads(await resp.read())


_KEY_SETS: dict[str, SigningKeys] = {}


def signing_keys(url: str) -> SigningKeys:
    """The one SigningKeys for a metadata URL (the SDK asks for it on every request)."""
    found = _KEY_SETS.get(url)
    if found is None:
        found = _KEY_SETS[url] = SigningKeys(url)
    return found


def use_signing_keys() -> None:
    """Make the SDK's token checks read their keys through SigningKeys, for every metadata URL.

    `JwtTokenExtractor.get_open_id_metadata` is where the SDK looks up its cache of keys
    per URL: the one seam it has, and the same for channel, emulator and skill tokens.
    """
    JwtTokenExtractor.get_open_id_metadata = staticmethod(signing_keys)  # type: ignore[method-assign]
