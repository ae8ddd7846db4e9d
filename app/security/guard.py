"""The guard in front of every route: Host, Origin and cross-site checks, the token, body size.

An ASGI middleware rather than a dependency, so that no route — present or future, HTTP or
websocket, static file or API — can be left out by forgetting a line.

- Host: a server on loopback answers only to loopback names (and `allowed_hosts`), so a DNS
  rebinding page (evil.example resolving to 127.0.0.1) is refused.
- Origin: a websocket, and any request that changes state, from a page of another origin is
  refused, as is `Origin: null` (sandboxed frames, file: pages). Requests without an Origin come
  from programs, not pages, and are let through to the token check.
- Token: when set, every request but the health probe (`GET /healthz`) must carry it, as `Authorization: Bearer <token>` or in the
  `stepscope_token` cookie. Opening any page with `?token=<token>` sets the cookie (HttpOnly,
  SameSite=Strict) and redirects to the same page without it, as Jupyter does.
- View-only links (app/security/viewers.py): a viewer token (`view-…`), as a bearer or in the
  `stepscope_viewer` cookie that opening `/?view=<token>` sets, makes the request a viewer's, on
  servers with and without an owner token alike: only reads of its one run pass, everything else is
  403 (another run: 404, as if it did not exist). A viewer token that matches no link (revoked) is
  403, never a fall back to the owner a tokenless loopback server would otherwise make of it. The
  owner's token wins over a viewer cookie in the same browser.
"""

from __future__ import annotations

import hmac
import json
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.security.viewers import (
    ACCESS_KEY,
    LINKS_FILE,
    LINKS_KEY,
    OWNER,
    VIEW_PARAM,
    VIEW_PREFIX,
    VIEWER_COOKIE,
    Access,
    ViewerLinks,
    viewer_refusal,
)
from app.settings import Settings, is_loopback

COOKIE = "stepscope_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Probed by orchestrators and load balancers, which hold no secret and may use any Host (a pod's
# IP); it answers {"status": "ok"} and nothing more, so it is open.
OPEN_PATHS = frozenset({"/healthz"})


REVOKED = "this view-only link was revoked, or never existed: ask the run's owner for a new one"


class Refusal(Exception):
    def __init__(self, status: int, reason: str, close_code: int) -> None:
        super().__init__(reason)
        self.status, self.reason, self.close_code = status, reason, close_code


class Guard:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        # The guard enforces the links, so it keeps them; routes reach them through the scope.
        self.viewer_links = ViewerLinks(settings.data_dir / LINKS_FILE)
        self.token = settings.token
        self.allowed_hosts = {h.lower() for h in settings.allowed_hosts}
        self.allowed_origins = {o.rstrip("/").lower() for o in settings.allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if (
            scope["type"] == "http"
            and scope["path"] in OPEN_PATHS
            and scope["method"] in SAFE_METHODS
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            self.check_host(headers)
            self.check_origin(scope, headers)
            if self.token is not None:
                redirect = self.token_in_query(scope)
                if redirect is not None:
                    cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                    await redirect_setting_cookie(send, redirect, cookie)
                    return
            viewing = self.view_in_query(scope)
            if viewing is not None:
                await redirect_setting_cookie(send, *viewing)
                return
            access = self.identify(headers)
            if access.link is not None:
                refused = viewer_refusal(
                    scope["type"], scope.get("method", "GET"), scope["path"], access.link
                )
                if refused is not None:
                    status, reason = refused
                    raise Refusal(status, reason, 4000 + status)
            scope[ACCESS_KEY], scope[LINKS_KEY] = access, self.viewer_links
            if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
                receive = await self.read_body(headers, receive)
        except Refusal as refusal:
            await refuse(scope, receive, send, refusal)
            return
        if (
            access.link is not None
            and scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] == "/api/runs"
        ):
            send = only_its_run(send, access.link.run_id)
        await self.app(scope, receive, send)

    def check_host(self, headers: Headers) -> None:
        host = headers.get("host", "").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name in self.allowed_hosts or is_loopback(name.strip("[]")):
            return
        # Exposed, the token guards against rebinding (a rebound page has no cookie); an explicit
        # allow-list still narrows the names a server answers to.
        if self.settings.exposed and not self.allowed_hosts:
            return
        raise Refusal(403, f"Host {host!r} is not a name of this server", 4403)

    def check_origin(self, scope: Scope, headers: Headers) -> None:
        changes_state = scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS
        if not changes_state:
            return
        if headers.get("sec-fetch-site") == "cross-site":
            raise Refusal(403, "cross-site requests are refused", 4403)
        origin = headers.get("origin")
        if origin is None:
            return  # not sent by a page; the token (when required) still applies
        origin = origin.rstrip("/").lower()
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        own = f"{scheme}://{headers.get('host', '').lower()}"
        if origin == "null" or (origin != own and origin not in self.allowed_origins):
            raise Refusal(403, f"Origin {origin!r} may not use this server", 4403)

    def token_in_query(self, scope: Scope) -> str | None:
        """The path to redirect to, when a page is opened with a valid ?token=."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        given = [value for key, value in query if key == "token"]
        if not given or not self.matches(given[0]):
            return None
        rest = urlencode([(k, v) for k, v in query if k != "token"])
        path: str = scope["path"]
        return path + (f"?{rest}" if rest else "")

    def view_in_query(self, scope: Scope) -> tuple[str, str] | None:
        """(path to redirect to, Set-Cookie) when a page is opened with ?view=: a live link's token
        becomes the viewer cookie; an empty one ends viewing in this browser."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [value for key, value in query if key == VIEW_PARAM]
        if not given:
            return None
        if given[0] and self.viewer_links.find(given[0]) is None:
            raise Refusal(403, REVOKED, 4403)
        rest = urlencode([(k, v) for k, v in query if k != VIEW_PARAM])
        path: str = scope["path"]
        location = path + (f"?{rest}" if rest else "")
        if not given[0]:
            return location, f"{VIEWER_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        # Lax, not Strict: a link opened from a chat or a mail is a cross-site navigation, and the
        # page it lands on must get the cookie. A viewer cookie can change nothing, so what Lax
        # lets through cross-site can do no harm. A session cookie: it goes with the browser.
        return location, f"{VIEWER_COOKIE}={given[0]}; Path=/; HttpOnly; SameSite=Lax"

    def identify(self, headers: Headers) -> Access:
        """The owner (the token; anyone, on a server without one) or the viewer of one link."""
        authorization = headers.get("authorization", "")
        bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        cookies: dict[str, str] = {}
        for part in headers.get("cookie", "").split(";"):
            key, _, value = part.strip().partition("=")
            cookies.setdefault(key, value)
        owner = (bearer, cookies.get(COOKIE))
        if self.token is not None and any(v is not None and self.matches(v) for v in owner):
            return OWNER
        for given in (bearer, cookies.get(VIEWER_COOKIE)):
            if given and given.startswith(VIEW_PREFIX):
                link = self.viewer_links.find(given)
                if link is None:
                    raise Refusal(403, REVOKED, 4403)
                return Access(link)
        if self.token is None:
            return OWNER
        raise Refusal(
            401,
            "this server needs its token: open the URL it printed, "
            "or send 'Authorization: Bearer <token>'",
            4401,
        )

    def matches(self, given: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def read_body(self, headers: Headers, receive: Receive) -> Receive:
        """Read a (small) request body whole, refusing one over the limit before any route runs."""
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise Refusal(413, f"request bodies are limited to {limit} bytes", 1009)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > limit:
                raise Refusal(413, f"request bodies are limited to {limit} bytes", 1009)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return replay


def only_its_run(send: Send, run_id: str) -> Send:
    """The list of runs as a viewer sees it: its link's run only. Filtered here, on the way out,
    so that the route (and whoever edits it) need not know about viewers to keep the others hidden."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def filtered(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message  # held back: the length changes
            return
        if message["type"] != "http.response.body" or start is None:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        if start["status"] == 200:
            runs = json.loads(body)
            body = json.dumps([run for run in runs if run.get("id") == run_id]).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return filtered


async def refuse(scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        # Closing before accepting makes the server answer the handshake with HTTP 403.
        await send(
            {"type": "websocket.close", "code": refusal.close_code, "reason": refusal.reason}
        )
        return
    body = json.dumps({"detail": refusal.reason}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def redirect_setting_cookie(send: Send, location: str, cookie: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode()),
                (b"set-cookie", cookie.encode()),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
