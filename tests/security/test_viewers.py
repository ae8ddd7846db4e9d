"""View-only links: every route and websocket message walked with a viewer's token. Reads of its
run pass, every change is refused (403), other runs are invisible (404, as if they did not exist),
a revoked link stops at once (its open websockets too), and links outlive a restart."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.runs.state import Command
from app.security.guard import COOKIE
from app.security.viewers import VIEWER_COOKIE
from app.settings import Settings
from tests.conftest import Stream, new_run
from tests.security.test_exposure import flatten

pytestmark = pytest.mark.slow  # two workers per server

TOKEN = "an-owner-token-that-is-long-enough"
LOOPBACK = "http://127.0.0.1:8000"


def make_settings(data_dir: Path, exposed: bool) -> Settings:
    if exposed:
        return Settings(host="0.0.0.0", token=TOKEN, data_dir=data_dir, default_run=False)
    # TestClient's websockets say "Host: testserver", whatever the base URL
    return Settings(data_dir=data_dir, default_run=False, allowed_hosts=["testserver"])


@pytest.fixture(params=["loopback without a token", "exposed with a token"])
def owner(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """The owner's client: on a loopback server nothing is needed, exposed the owner's token."""
    exposed = request.param.startswith("exposed")
    with TestClient(create_app(make_settings(tmp_path, exposed)), base_url=LOOPBACK) as client:
        if exposed:
            client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield client


def another_browser(owner: TestClient) -> TestClient:
    """A client with no credentials of the owner's, on the owner's event loop: one server has one
    loop, and a revocation made on one loop cannot wake a websocket waiting on another."""
    client = TestClient(owner.app, base_url=LOOPBACK)
    client.portal = owner.portal
    return client


def viewer_of(owner: TestClient, url: str) -> TestClient:
    """A second browser: opens the shared URL, keeps the cookie it sets, holds nothing else."""
    viewer = another_browser(owner)
    opened = viewer.get(url.split("#")[0], follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"{VIEWER_COOKIE}=view-") and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Max-Age" not in cookie  # a session cookie
    viewer.cookies.set(VIEWER_COOKIE, cookie.split(";")[0].split("=", 1)[1])
    return viewer


def share(owner: TestClient, run_id: str) -> dict[str, Any]:
    made = owner.post(f"/api/runs/{run_id}/viewer-links")
    assert made.status_code == 201, made.text
    link: dict[str, Any] = made.json()
    assert re.fullmatch(rf"{LOOPBACK}/\?view=view-[\w-]{{43}}#run={run_id}", link["url"])
    return link


def routes(app: Any) -> list[tuple[str, str]]:
    """(method or "WS", path template) of every route the app has, as its route table lists them."""
    found = []
    for route in flatten(app.routes):
        if isinstance(route, APIRoute):
            found += [(method, route.path) for method in sorted(route.methods or ())]
        elif isinstance(route, WebSocketRoute):
            found.append(("WS", route.path))
        elif isinstance(route, Mount):
            found.append(("GET", route.path + "/css/app.css"))
        else:
            found.append(("GET", route.path))
    return found


def concrete(template: str, run_id: str, link_id: str) -> list[str]:
    """The template with the run's id, the link's id, and every command where it takes one."""
    path = template.replace("{run_id}", run_id).replace("{link_id}", link_id)
    if "{command}" in path:
        return [path.replace("{command}", str(command)) for command in Command]
    return [re.sub(r"\{[^}]+\}", "x", path)]


def run_state(owner: TestClient, run_id: str) -> tuple[Any, ...]:
    run = owner.get(f"/api/runs/{run_id}").json()
    return run["state"], run["step"], run["config"], run.get("name")


def test_every_route_and_message_with_a_viewer_token(owner: TestClient) -> None:
    shared, other = new_run(owner), new_run(owner)
    owner.post(f"/api/runs/{shared}/commands/step")
    deadline = time.monotonic() + 30
    while owner.get(f"/api/runs/{shared}").json()["step"] < 1:  # a snapshot and a loss to read
        assert time.monotonic() < deadline, "the step was not taken"
        time.sleep(0.02)
    link = share(owner, shared)
    viewer = viewer_of(owner, link["url"])
    before = {run: run_state(owner, run) for run in (shared, other)}
    table = routes(owner.app)
    assert ("POST", "/api/runs/{run_id}/viewer-links") in table
    assert ("WS", "/ws/runs/{run_id}") in table and len(table) >= 20
    opened_reads = 0
    for method, template in table:
        if template == "/healthz":
            continue  # open to anyone, on purpose (test_exposure)
        if method == "WS":
            continue  # below, message by message
        for path in concrete(template, shared, link["id"]):
            answer = viewer.request(method, path, json={})
            if method not in ("GET", "HEAD"):
                # every change, to any run, known or not: 403 before the route runs
                assert answer.status_code == 403, (method, path, answer.text)
                assert "view-only link" in answer.json()["detail"], (method, path)
                unknown = path.replace(shared, "no-such-run")
                assert viewer.request(method, unknown, json={}).status_code == 403, unknown
                continue
            its_run = path.startswith(f"/api/runs/{shared}")
            if its_run and "/viewer-links" in path:
                assert answer.status_code == 403, path
                continue
            if (
                its_run
                or path in ("/", "/api/runs", "/api/access")
                or template
                in (
                    "/api/experiments",
                    "/api/optimizers",
                    "/api/source",
                    "/api/builder",
                    "/static/css/app.css",
                )
            ):
                # a read of its own run (or of what the page needs to draw it): as the owner gets it
                assert answer.status_code == owner.request(method, path).status_code, path
                opened_reads += 1
            else:
                assert answer.status_code == 403, (path, answer.status_code)
            # the same read of the other run: as if it did not exist
            if its_run:
                hidden = viewer.request(method, path.replace(shared, other))
                assert hidden.status_code == 404, path
                if method == "GET":
                    assert hidden.json()["detail"] == f"no run with id {other!r}", path
    assert opened_reads >= 8
    assert [run["id"] for run in viewer.get("/api/runs").json()] == [shared]
    # the list's disk use (a read of the whole history file) is the owner's alone
    assert [run["disk_bytes"] for run in viewer.get("/api/runs").json()] == [None]
    assert {run["id"] for run in owner.get("/api/runs").json()} == {shared, other}
    assert viewer.get("/api/access").json() == {"role": "viewer", "run_id": shared}
    assert owner.get("/api/access").json() == {"role": "owner", "run_id": None}
    # nothing the walk sent changed either run
    assert {run: run_state(owner, run) for run in (shared, other)} == before

    # websockets: its run's stream opens; every message the stream knows is answered
    for _, template in [r for r in table if r[0] == "WS"]:
        if template != "/ws/runs/{run_id}":
            with pytest.raises(WebSocketDisconnect) as refused, viewer.websocket_connect(template):
                pass
            assert refused.value.code == 4403, template
            assert "view-only link" in refused.value.reason, template
    with (
        pytest.raises(WebSocketDisconnect) as hidden_stream,
        viewer.websocket_connect(f"/ws/runs/{other}"),
    ):
        pass
    assert hidden_stream.value.code == 4404
    with viewer.websocket_connect(f"/ws/runs/{shared}") as ws:
        stream = Stream(ws)
        assert stream.next()["type"] == "hello"
        stream.drain()
        ws.send_text(json.dumps({"type": "ping"}))
        assert stream.until(lambda m: m["type"] in ("pong", "error"))["type"] == "pong"
        ws.send_text(json.dumps({"type": "driver", "step": 1, "panels": ["race"]}))
        refused_driver = stream.until(lambda m: m["type"] in ("driver", "error"))
        assert refused_driver["type"] == "error" and refused_driver["code"] == 403
        assert "view-only link" in refused_driver["message"]
        for command in Command:  # a command on the socket is not control for anyone
            ws.send_text(json.dumps({"type": str(command)}))
            answer = stream.until(lambda m: m["type"] == "error")
            assert answer.get("code") is None and "REST" in answer["message"]
    assert run_state(owner, shared) == before[shared]


def test_the_owner_drives_and_every_page_of_the_run_follows(owner: TestClient) -> None:
    shared = new_run(owner)
    viewer = viewer_of(owner, share(owner, shared)["url"])
    driven = {
        "type": "driver",
        "element": {"tensor": "0.weight", "index": 3},
        "step": 2,
        "phase": "backward",
        "panels": ["race-picker"],
        "views": {"logscale": "true"},
    }
    with (
        owner.websocket_connect(f"/ws/runs/{shared}") as driver_ws,
        viewer.websocket_connect(f"/ws/runs/{shared}") as viewer_ws,
    ):
        driver, watcher = Stream(driver_ws), Stream(viewer_ws)
        driver.drain(), watcher.drain()
        driver_ws.send_text(json.dumps(driven))
        seen = watcher.until(lambda m: m["type"] == "driver")
        assert {k: v for k, v in seen.items() if k != "v"} == driven
        # a wrong one is refused with the field it is about, and reaches nobody
        driver_ws.send_text(json.dumps({**driven, "panels": ["x" * 65]}))
        refused = driver.until(lambda m: m["type"] == "error")
        assert "panels.0" in refused["message"] and refused["code"] is None
    # a page that connects later gets where the driver points, after the history
    with viewer.websocket_connect(f"/ws/runs/{shared}") as late:
        stream = Stream(late)
        stream.drain()
        drivers = [m for m in stream.events if m["type"] == "driver"]
        assert [m["element"] for m in drivers] == [driven["element"]]


def test_a_revoked_link_stops_at_once_open_websockets_included(owner: TestClient) -> None:
    shared = new_run(owner)
    link = share(owner, shared)
    viewer = viewer_of(owner, link["url"])
    bearer = {"Authorization": f"Bearer {link['url'].split('view=')[1].split('#')[0]}"}
    assert viewer.get(f"/api/runs/{shared}").status_code == 200
    assert another_browser(owner).get("/api/runs", headers=bearer).is_success
    closed: dict[str, Any] = {}

    with viewer.websocket_connect(f"/ws/runs/{shared}") as ws:
        Stream(ws).drain()
        assert owner.get(f"/api/runs/{shared}/viewer-links").json()[0]["open_sockets"] == 1

        def read_until_closed() -> None:
            while (message := ws.receive())["type"] != "websocket.close":
                pass
            closed.update(code=message["code"], reason=message["reason"], at=time.monotonic())

        reader = threading.Thread(target=read_until_closed, daemon=True)
        reader.start()
        revoked_at = time.monotonic()
        assert owner.delete(f"/api/runs/{shared}/viewer-links/{link['id']}").status_code == 204
        reader.join(10)
    assert closed, "the revoked link's websocket stayed open"
    assert closed["code"] == 4403 and "revoked" in closed["reason"]
    assert closed["at"] - revoked_at < 2.0  # at once, not at the next frame or ping
    for answer in (
        viewer.get(f"/api/runs/{shared}"),
        viewer.get("/api/runs"),
        another_browser(owner).get("/api/runs", headers=bearer),
        viewer.get(link["url"].split("#")[0], follow_redirects=False),
    ):
        # refused as revoked: never taken for no credential (a tokenless server's owner)
        assert answer.status_code == 403 and "revoked" in answer.json()["detail"]
    with (
        pytest.raises(WebSocketDisconnect) as again,
        viewer.websocket_connect(f"/ws/runs/{shared}"),
    ):
        pass
    assert again.value.code == 4403
    assert owner.get(f"/api/runs/{shared}/viewer-links").json() == []
    assert owner.delete(f"/api/runs/{shared}/viewer-links/{link['id']}").status_code == 404
    assert owner.post("/api/runs/no-such-run/viewer-links").status_code == 404
    # a made-up token is refused like a revoked one, in the URL as in a cookie
    stranger = another_browser(owner)
    assert stranger.get("/?view=view-made-up", follow_redirects=False).status_code == 403
    stranger.cookies.set(VIEWER_COOKIE, "view-made-up")
    assert stranger.get("/api/runs").status_code == 403


def test_links_outlive_a_restart_and_only_their_hash_is_kept(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, exposed=False)
    with TestClient(create_app(settings), base_url=LOOPBACK) as first:
        shared = new_run(first)
        link = share(first, shared)
    token = link["url"].split("view=")[1].split("#")[0]
    stored = (tmp_path / "viewer-links.json").read_text()
    assert token not in stored and token[5:] not in stored
    assert json.loads(stored)["links"][0]["id"] == link["id"]
    assert (tmp_path / "viewer-links.json").stat().st_mode & 0o777 == 0o600
    with TestClient(create_app(settings), base_url=LOOPBACK) as second:
        viewer = viewer_of(second, link["url"])
        assert viewer.get(f"/api/runs/{shared}").status_code == 200
        assert viewer.post(f"/api/runs/{shared}/commands/start").status_code == 403


def test_the_owner_token_wins_over_a_viewer_cookie_and_a_viewer_needs_no_owner_token(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, exposed=True)
    with TestClient(create_app(settings), base_url=LOOPBACK) as owner:
        owner.headers["Authorization"] = f"Bearer {TOKEN}"
        shared = new_run(owner)
        link = share(owner, shared)
        viewer = viewer_of(owner, link["url"])  # holds no owner token, and reads its run
        assert viewer.get(f"/api/runs/{shared}").status_code == 200
        assert viewer.post(f"/api/runs/{shared}/commands/step").status_code == 403
        # the teacher opens the link in their own browser: still the owner there
        teacher = viewer_of(owner, link["url"])
        teacher.cookies.set(COOKIE, TOKEN)
        assert teacher.get("/api/access").json()["role"] == "owner"
        # ?view= with nothing ends viewing in this browser
        ended = viewer.get("/?view=", follow_redirects=False)
        assert ended.status_code == 303 and "Max-Age=0" in ended.headers["set-cookie"]
        assert another_browser(owner).get("/api/runs").status_code == 401


def test_deleting_a_run_revokes_its_links(owner: TestClient) -> None:
    shared = new_run(owner)
    link = share(owner, shared)
    viewer = viewer_of(owner, link["url"])
    assert viewer.get(f"/api/runs/{shared}").status_code == 200
    owner.post(f"/api/runs/{shared}/commands/stop")
    deadline = time.monotonic() + 30
    while (deleted := owner.delete(f"/api/runs/{shared}")).status_code == 409:
        assert time.monotonic() < deadline, deleted.text  # (its worker is still exiting)
        time.sleep(0.05)
    assert deleted.status_code == 204
    # the link is gone with its run, from the owner's list and the links file: refused as revoked
    answer = viewer.get("/api/runs")
    assert answer.status_code == 403 and "revoked" in answer.json()["detail"]
    assert link["id"] not in (owner.app.state.settings.data_dir / "viewer-links.json").read_text()
