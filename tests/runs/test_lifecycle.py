"""What happens to a run unasked, through the real server: a shutdown stops it with a reason."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import new_run


def test_a_shutdown_stops_live_runs_and_says_so(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        run_id = new_run(client)
    with TestClient(create_app(settings)) as client:
        run = client.get(f"/api/runs/{run_id}").json()
    assert (run["state"], run["reason"]) == ("stopped", "the server shut down")
