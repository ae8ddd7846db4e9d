"""The page itself, and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api.deps import HubDep, RunsDep
from app.api.schemas import Health, ServerStatus

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> HTMLResponse:
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(request, "index.html", {})
    return response


@router.get("/healthz", tags=["health"])
def healthz() -> Health:
    """Liveness for orchestrators and load balancers: no token needed, and nothing to learn."""
    return Health(status="ok")


@router.get("/api/server", tags=["health"])
def server_status(runs: RunsDep, hub: HubDep) -> ServerStatus:
    """What the server carries now (token-guarded, unlike /healthz)."""
    return ServerStatus(live_runs=len(runs.live()), connections=hub.count())
