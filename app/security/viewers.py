"""View-only links: a token scoped to one run and to reading, revocable, kept across restarts.

A link's token is shown once, in the URL the owner shares; only its SHA-256 is kept (in
`<data-dir>/viewer-links.json`, mode 0600), so the file leaks no working link. The token is 256
random bits, so looking its digest up in a dict is safe: no timing can reveal a preimage.

What a viewer may do is decided in one place, `viewer_refusal`, which the Guard calls for every
request and websocket before any route: anything not named there as a read of the link's own run
is refused, so a route added later is closed to viewers until someone opens it here on purpose.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

VIEWER_COOKIE = "stepscope_viewer"
VIEW_PARAM = "view"  # the query parameter of a shared link: /?view=<token>#run=<id>
# Every viewer token starts so: one that matches no link (revoked) is refused as such, rather
# than taken for no credential at all, which a loopback server without a token lets in as owner.
VIEW_PREFIX = "view-"
LINKS_FILE = "viewer-links.json"
ACCESS_KEY = "stepscope.access"  # the scope key under which the Guard leaves who is asking
LINKS_KEY = "stepscope.viewer_links"  # and the links, which it keeps

# Reads a viewer needs to draw the page besides its run's own routes: the catalogue.
CATALOGUE = frozenset({"/api/experiments", "/api/optimizers", "/api/source", "/api/builder"})
RUN_PATH = re.compile(r"^/api/runs/(?P<run>[^/]+)(?P<rest>/.*)?$")
STREAM_PATH = re.compile(r"^/ws/runs/(?P<run>[^/]+)$")
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class ViewerLink:
    id: str  # public: names the link in the owner's DELETE; not a secret
    run_id: str
    digest: str  # SHA-256 of the token, hex
    created: float  # Unix seconds


@dataclass(frozen=True)
class Access:
    """Who is asking: the owner (the token, or anyone on a loopback server without one), or a
    viewer holding one link."""

    link: ViewerLink | None = None

    @property
    def viewer(self) -> bool:
        return self.link is not None

    def may_read(self, run_id: str) -> bool:
        return self.link is None or self.link.run_id == run_id


OWNER = Access()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class ViewerLinks:
    """The links of every run, and the open websockets of each, to close when it is revoked."""

    path: Path
    _by_digest: dict[str, ViewerLink] = field(default_factory=dict)
    _sockets: dict[str, set[Callable[[], None]]] = field(default_factory=dict)
    # The latest driver event of each run (encoded), for a page that connects later. In memory:
    # where a page points is not worth keeping over a restart.
    drivers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            stored = json.loads(self.path.read_text())
            links = [ViewerLink(**entry) for entry in stored["links"]]
        except FileNotFoundError:
            return
        except (ValueError, KeyError, TypeError) as error:
            # Refusing to start would lock the owner out; starting with no links locks viewers out,
            # which is the safe side. Said, not hidden.
            print(
                f"Stepscope: {self.path} is unreadable ({error}); no viewer link works",
                file=sys.stderr,
            )
            return
        self._by_digest = {link.digest: link for link in links}

    def create(self, run_id: str) -> tuple[ViewerLink, str]:
        token = VIEW_PREFIX + secrets.token_urlsafe(32)
        link = ViewerLink(secrets.token_hex(8), run_id, digest(token), time.time())
        self._by_digest[link.digest] = link
        self._save()
        return link, token

    def find(self, token: str) -> ViewerLink | None:
        return self._by_digest.get(digest(token)) if token else None

    def of_run(self, run_id: str) -> list[ViewerLink]:
        return sorted(
            (link for link in self._by_digest.values() if link.run_id == run_id),
            key=lambda link: link.created,
        )

    def revoke(self, run_id: str, link_id: str) -> bool:
        """Forget the link and close its open websockets now; False when the run has no such link."""
        found = [
            d for d, link in self._by_digest.items() if (link.run_id, link.id) == (run_id, link_id)
        ]
        for key in found:
            del self._by_digest[key]
        if not found:
            return False
        self._save()
        for close in list(self._sockets.pop(link_id, ())):
            close()
        return True

    def forget_run(self, run_id: str) -> None:
        """A deleted run's links go, their open websockets closed, and its driver's message."""
        for link in self.of_run(run_id):
            self.revoke(run_id, link.id)
        self.drivers.pop(run_id, None)

    def watch(self, link_id: str, close: Callable[[], None]) -> Callable[[], None]:
        """Register an open websocket of a link: `close` runs when the link is revoked. Returns
        the function that unregisters it (call it when the socket ends)."""
        self._sockets.setdefault(link_id, set()).add(close)

        def forget() -> None:
            sockets = self._sockets.get(link_id)
            if sockets is not None:
                sockets.discard(close)
                if not sockets:
                    del self._sockets[link_id]

        return forget

    def open_sockets(self, link_id: str) -> int:
        return len(self._sockets.get(link_id, ()))

    def _save(self) -> None:
        """Write the whole file anew and rename it into place: a crash leaves the old or the new."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"links": [asdict(link) for link in self._by_digest.values()]}, indent=1)
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(temporary, self.path)


def viewer_refusal(
    scope_type: str, method: str, path: str, link: ViewerLink
) -> tuple[int, str] | None:
    """Why a viewer may not make this request (status, reason), or None when it may: reads of the
    page, its assets, the catalogue and its own run; never a change, never another run."""
    if scope_type == "websocket":
        stream = STREAM_PATH.match(path)
        if stream is None:
            return 403, "a view-only link cannot open this connection"
        if stream["run"] != link.run_id:
            return 404, f"no run with id {stream['run']!r}"
        return None
    if method not in READ_METHODS:
        return 403, f"a view-only link cannot change anything ({method} {path} refused)"
    if path == "/" or path.startswith("/static/") or path in CATALOGUE or path == "/api/access":
        return None
    if path == "/api/runs":
        return None  # the route lists the link's run only
    run = RUN_PATH.match(path)
    if run is not None:
        if run["run"] != link.run_id:
            return 404, f"no run with id {run['run']!r}"
        if run["rest"] is not None and run["rest"].startswith("/viewer-links"):
            return 403, "a view-only link cannot see the run's other links"
        return None
    return 403, f"a view-only link opens one run's page and its reads only ({path} refused)"


def get_access(connection: HTTPConnection) -> Access:
    # The Guard sets it on every request but the open health probe, which needs none.
    access: Access = connection.scope.get(ACCESS_KEY, OWNER)
    return access


def get_viewer_links(connection: HTTPConnection) -> ViewerLinks:
    links: ViewerLinks = connection.scope[LINKS_KEY]
    return links


AccessDep = Annotated[Access, Depends(get_access)]
ViewerLinksDep = Annotated[ViewerLinks, Depends(get_viewer_links)]
