"""A local fake of Microsoft's identity services, in its own thread and event loop.

- GET  /botframework/openid  -> the Bot Framework's OpenID metadata (its jwks_uri points here)
- GET  /botframework/keys    -> the key set: one RSA key, endorsed for msteams
- POST /token                -> an access token for the bot, as Microsoft Entra's token endpoint gives

`delay` makes every answer wait that many seconds (a slow Microsoft), `status` and
`token_status` make the metadata or the token endpoint answer with that HTTP status instead.
It runs in its own thread so that it keeps answering even while the code under test blocks
its own event loop.
`sign` makes tokens as the Bot Framework does, or forged ones.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"
KID = "fake-bot-framework-key"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIdentity:
    def __init__(self, token: str = "made-up-token-from-the-fake-identity-service") -> None:
        self.key = new_key()
        self.token = token
        self.delay = 0.0
        self.stalled_since = 0.0  # time.monotonic() when delay was last set
        self.status = 200
        self.token_status = 200  # the token endpoint's answer (400: say, a wrong app password)
        self.requests: Counter[str] = Counter()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = TestServer(self._app(), host="127.0.0.1", port=0)
        asyncio.run_coroutine_threadsafe(self.server.start_server(), self.loop).result(10)
        self.url = str(self.server.make_url("")).rstrip("/")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "delay":
            object.__setattr__(self, "stalled_since", time.monotonic())
        object.__setattr__(self, name, value)

    @property
    def metadata_url(self) -> str:
        return self.url + "/botframework/openid"

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/botframework/openid", self._openid)
        app.router.add_get("/botframework/keys", self._keys)
        app.router.add_post("/token", self._token)
        return app

    async def _wait(self, what: str) -> None:
        self.requests[what] += 1
        if self.delay:
            await asyncio.sleep(self.delay)

    async def _openid(self, _request: web.Request) -> web.Response:
        await self._wait("openid")
        if self.status != 200:
            return web.json_response({"error": "unavailable"}, status=self.status)
        return web.json_response(
            {
                "issuer": ISSUER,
                "jwks_uri": self.url + "/botframework/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, _request: web.Request) -> web.Response:
        await self._wait("keys")
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return web.json_response({"keys": [{**jwk, "kid": KID, "use": "sig", "endorsements": ["msteams"]}]})

    async def _token(self, _request: web.Request) -> web.Response:
        await self._wait("token")
        if self.token_status != 200:
            return web.json_response(
                {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."},
                status=self.token_status,
            )
        return web.json_response({"token_type": "Bearer", "expires_in": 3599, "access_token": self.token})

    def sign(self, claims: dict[str, Any], *, kid: str | None = KID, key: Any = None, algorithm: str = "RS256") -> str:
        """A token as the Bot Framework sends it (by default signed with the published key)."""
        now = int(time.time())
        body = {"iss": ISSUER, "nbf": now - 60, "exp": now + 3600, **claims}
        headers = {"kid": kid} if kid is not None else {}
        signing_key = "" if algorithm == "none" else key if key is not None else self.key
        return jwt.encode(body, signing_key, algorithm=algorithm, headers=headers)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
