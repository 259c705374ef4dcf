"""Bot Framework connector clients reused across turns, and the app's authentication from `[teams]`.

The stock CloudAdapter builds a new msrest `ConnectorClient` and a `TokenApiClient` on
every turn and every proactive send; each builds urllib3's retry table (about 3.7 ms
of CPU). `CachingAuthentication` wraps the SDK's authentication and hands out one
client per (service URL, app id, audience) instead. The cached connector clients also
have msrest's own retries switched off: a 429 or 5xx comes straight back to the
outbox, which retries it with backoff across restarts (never doubling a send).
"""

from __future__ import annotations

import contextlib
from types import SimpleNamespace
from typing import Any

from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from botframework.connector.skills import BotFrameworkClient

from adapters.teams.auth import (
    TOKEN_WAIT,
    OffLoopCredentials,
    OffLoopCredentialsFactory,
    TokenUnavailable,
    use_signing_keys,
)
from adapters.teams.settings import TeamsSettings

SEND_TIMEOUT = 20  # seconds for one connector call; a timeout is retried from the outbox


def configuration(teams: TeamsSettings) -> Any:
    """The settings object the SDK's configuration-based authentication reads."""
    # With no app id (local testing, Agents Playground) only the MultiTenant factory
    # allows the SDK's anonymous path; SingleTenant insists on an id.
    return SimpleNamespace(
        APP_ID=teams.app_id,
        APP_PASSWORD=teams.app_password,
        APP_TYPE=teams.app_type if teams.app_id else "MultiTenant",
        APP_TENANTID=teams.tenant_id,
    )


def tune(client: ConnectorClient, timeout: float = SEND_TIMEOUT) -> ConnectorClient:
    """No retries inside msrest (the outbox retries), and a bounded wait."""
    policy = client.config.retry_policy
    policy.retries = 0
    policy.policy.status_forcelist = set()
    policy.policy.raise_on_status = False
    client.config.connection.timeout = timeout
    return client


class _CachingConnectorFactory(ConnectorFactory):
    def __init__(self, owner: CachingAuthentication, inner: ConnectorFactory, app_id: str) -> None:
        self._owner, self._inner, self._app_id = owner, inner, app_id

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        # No audience means the channel's usual one (as the SDK's factory does), so inbound
        # turns and proactive sends share a client.
        audience = audience or self._owner.get_originating_audience()
        key = (service_url, self._app_id or "", audience or "")
        client = self._owner.connectors.get(key)
        if client is None:
            client = tune(await self._inner.create(service_url, audience), self._owner.timeout)
            self._owner.connectors[key] = client
        credentials = client.config.credentials
        if isinstance(credentials, OffLoopCredentials):
            # A reply in the turn is signed with the kept token: have one, without waiting on the loop.
            with contextlib.suppress(TokenUnavailable):
                await credentials.ready(wait=TOKEN_WAIT)
        return client


def _app_id(claims: ClaimsIdentity) -> str:
    return str(claims.get_claim_value("aud") or claims.get_claim_value("appid") or "")


class CachingAuthentication(BotFrameworkAuthentication):
    """The SDK's authentication, reusing connector and token clients across turns."""

    def __init__(self, inner: BotFrameworkAuthentication, timeout: float = SEND_TIMEOUT) -> None:
        self._inner = inner
        self.timeout = timeout
        self.connectors: dict[tuple[str, str, str], ConnectorClient] = {}
        self._token_clients: dict[str, UserTokenClient] = {}

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await self._inner.authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _CachingConnectorFactory(
                self, result.connector_factory, _app_id(result.claims_identity)
            )
        return result

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _CachingConnectorFactory(
            self, self._inner.create_connector_factory(claims_identity), _app_id(claims_identity)
        )

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        key = _app_id(claims_identity)
        client = self._token_clients.get(key)
        if client is None:
            client = await self._inner.create_user_token_client(claims_identity)
            self._token_clients[key] = client
        return client

    def create_bot_framework_client(self) -> BotFrameworkClient:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self._inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)


def build_authentication(teams: TeamsSettings, timeout: float = SEND_TIMEOUT) -> CachingAuthentication:
    """Bot Framework authentication for the configured app (anonymous when app_id is empty)."""
    use_signing_keys()
    config = configuration(teams)
    credentials = OffLoopCredentialsFactory(ConfigurationServiceClientCredentialFactory(config))
    return CachingAuthentication(
        ConfigurationBotFrameworkAuthentication(config, credentials_factory=credentials), timeout
    )
