"""Security headers on every response, and oversized request headers refused (431).

The outermost ASGI layer (`app.main.Stepscope.build_middleware_stack` wraps the whole stack in
it, Starlette's error handler included), so every page, static file, JSON answer, refusal of the
guard and 500 carries the same headers; no route can leave them out. What each one prevents is
in SECURITY.md.

The page loads its script, styles and vendor files from /static and sets styles only through the
CSSOM (`element.style.width = …`), which a CSP does not restrict; so the policy needs no
'unsafe-inline' and no 'unsafe-eval'. `connect-src 'self'` covers the run's websocket: CSP level 3
matches ws:/wss: of the page's own host to 'self'. The favicon is a data: URL.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

# The request line and headers together, names and values: 16 KiB, as Node.js allows. A browser's
# own headers take well under 2 KiB; more is a cookie flood or a probe for parser bugs.
MAX_HEADER_BYTES = 16 * 1024
# uvicorn's HTTP parser (h11) holds at most this much of an unfinished request line and headers,
# and answers 400 and closes the connection beyond it (app.cli passes it). Above MAX_HEADER_BYTES,
# so requests between the two get this middleware's clear 431.
PARSER_LIMIT_BYTES = 64 * 1024


def security_headers(policy: str = POLICY) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        # frame-ancestors for browsers that predate it
        (b"x-frame-options", b"DENY"),
    ]


def header_bytes(scope: Scope) -> int:
    """The size of the request's line and headers as they came on the wire (near enough)."""
    line = len(scope.get("method", "GET")) + len(scope.get("raw_path") or scope["path"]) + 12
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


class SecurityHeaders:
    def __init__(
        self,
        app: ASGIApp,
        policies: dict[str, str] | None = None,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ) -> None:
        self.app = app
        self.default = security_headers()
        # A path whose page needs another policy (the OpenAPI docs page): still no
        # 'unsafe-inline', still frame-ancestors 'none'.
        self.by_path = {path: security_headers(p) for path, p in (policies or {}).items()}
        self.max_header_bytes = max_header_bytes
        self.names = {name for name, _ in self.default}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = self.by_path.get(scope["path"], self.default)
        if header_bytes(scope) > self.max_header_bytes:
            await self.refuse(scope, receive, send, headers)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in self.names
                ]
                message = {**message, "headers": kept + headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def refuse(
        self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]
    ) -> None:
        reason = f"request headers are limited to {self.max_header_bytes} bytes"
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            # Closed before accepting: the handshake is answered with HTTP 403.
            await send({"type": "websocket.close", "code": 1009, "reason": reason})
            return
        body = json.dumps({"detail": reason}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 431,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
