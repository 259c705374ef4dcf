"""A local fake of the Bot Framework connector (the Teams service) that records every call.

Routes, as https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference:
- POST /v3/conversations                               -> create a personal chat
- POST /v3/conversations/{id}/activities               -> send a message
- POST /v3/conversations/{id}/activities/{activityId}  -> reply to a message
- PUT  /v3/conversations/{id}/activities/{activityId}  -> update a message

`fail(n, status)` makes the next n calls fail with that status (503, 429...), then it recovers.
Creating a chat for someone not in `installed` fails 403 as Teams does when the app is not installed.
An activity the connector would refuse (no type, no sender, a card attachment without
content, a conversation other than the one in the URL) is answered 400, and with `token`
set every call without "Authorization: Bearer <token>" is answered 401.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str
    conversation: str
    activity_id: str
    body: dict[str, Any]

    @property
    def card(self) -> dict[str, Any] | None:
        for a in self.body.get("attachments") or []:
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return a["content"]
        return None

    def text(self) -> str:
        """Every text on the card, for assertions."""
        card = self.card or {}
        out: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k in ("text", "title", "value"):
                    if isinstance(node.get(k), str):
                        out.append(node[k])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(card)
        return "\n".join(out)


@dataclass
class FakeConnector:
    calls: list[Call] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    installed: set[str] = field(default_factory=set)
    refused: int = 0
    token: str = ""
    _next: int = 0

    def _refusal(self, request: web.Request, body: Any, conversation: str = "") -> web.Response | None:
        """401 without the expected token; 400 for an activity the connector would not accept."""
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(
                {"error": {"code": "Unauthorized", "message": "Authorization has been denied for this request."}},
                status=401,
            )
        if conversation:
            ok = (
                isinstance(body, dict)
                and body.get("type") == "message"
                and isinstance((body.get("from") or {}).get("id"), str)
                and (body.get("conversation") or {}).get("id") == conversation
                and all(
                    isinstance(a, dict) and isinstance(a.get("contentType"), str) and "content" in a
                    for a in body.get("attachments") or []
                )
            )
            if not ok:
                return web.json_response({"error": {"code": "BadArgument", "message": "Invalid activity"}}, status=400)
        return None

    def fail(self, times: int, status: int = 503) -> None:
        self.failures.extend([status] * times)

    def _failure(self) -> web.Response | None:
        if self.failures:
            status = self.failures.pop(0)
            self.refused += 1
            headers = {"Retry-After": "1"} if status == 429 else {}
            return web.json_response(
                {"error": {"code": "ServiceError", "message": "try again later"}}, status=status, headers=headers
            )
        return None

    def _id(self) -> str:
        self._next += 1
        return f"1:{self._next:04d}"

    async def send(self, request: web.Request) -> web.Response:
        if (failed := self._failure()) is not None:
            return failed
        body = await request.json()
        conv = request.match_info["conversation"]
        if (refused := self._refusal(request, body, conv)) is not None:
            return refused
        new = self._id()
        self.calls.append(Call("POST", conv, new, body))
        return web.json_response({"id": new})

    async def update(self, request: web.Request) -> web.Response:
        if (failed := self._failure()) is not None:
            return failed
        body = await request.json()
        conv, aid = request.match_info["conversation"], request.match_info["activity"]
        if (refused := self._refusal(request, body, conv)) is not None:
            return refused
        if not any(c.activity_id == aid and c.conversation == conv for c in self.calls if c.method == "POST"):
            return web.json_response({"error": {"code": "ActivityNotFound", "message": "Unknown activity"}}, status=404)
        self.calls.append(Call("PUT", conv, aid, body))
        return web.json_response({"id": aid})

    async def create(self, request: web.Request) -> web.Response:
        if (failed := self._failure()) is not None:
            return failed
        body = await request.json()
        if (refused := self._refusal(request, body)) is not None:
            return refused
        member = (body.get("members") or [{}])[0].get("id", "")
        self.calls.append(Call("CREATE", "", "", body))
        if member not in self.installed:
            return web.json_response(
                {
                    "error": {
                        "code": "BotNotInConversationRoster",
                        "message": "The bot is not part of the conversation roster.",
                    }
                },
                status=403,
            )
        return web.json_response({"id": f"a:personal-{member}", "activityId": ""}, status=201)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations", self.create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self.send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self.send)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self.update)
        return app

    def to(self, conversation: str, method: str = "POST") -> list[Call]:
        return [c for c in self.calls if c.conversation == conversation and c.method == method]

    def last(self, conversation: str) -> Call:
        sent = self.to(conversation)
        assert sent, f"nothing was sent to {conversation}: {[c.conversation for c in self.calls]}"
        return sent[-1]
