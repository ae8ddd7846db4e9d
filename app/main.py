"""The application factory: long-lived objects are made in the lifespan and kept on app.state."""

from __future__ import annotations

import base64
import hashlib
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp

from app.api import attach, branch, catalogue, checkpoints, export, pages, runs, stream
from app.api.encoding import ProtocolJSONResponse
from app.api.errors import refused_input
from app.engine.experiments import ExperimentConfig
from app.engine.loader import load_experiments
from app.runs.manager import RunManager, TooManyRuns, UnknownRun
from app.runs.state import LIVE_STATES, IllegalTransition
from app.security.guard import Guard
from app.security.headers import POLICY, SecurityHeaders
from app.security.token import ensure_token, write_token_file
from app.settings import Settings, get_settings
from app.store.checkpoints import CheckpointStore
from app.store.history import History
from app.stream.hub import Hub

# The OpenAPI page (Swagger UI) loads its script and styles from this CDN, as FastAPI's own does.
SWAGGER_CDN = "https://cdn.jsdelivr.net"
FASTAPI_FAVICON = "https://fastapi.tiangolo.com"


class Stepscope(FastAPI):
    """FastAPI with the security headers outside everything, Starlette's error handler included,
    so that a 500 carries them too (`add_middleware` would put them inside it)."""

    def __init__(self, *args: object, docs_policy: str = POLICY, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.docs_policy = docs_policy

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), {"/docs": self.docs_policy})


def docs_page(title: str) -> tuple[HTMLResponse, str]:
    """FastAPI's Swagger UI page, and a CSP that allows its CDN and, by hash, its one inline
    script: no 'unsafe-inline' even there."""
    page = get_swagger_ui_html(openapi_url="/openapi.json", title=f"{title} — API")
    scripts = re.findall(rb"<script>(.*?)</script>", page.body, re.DOTALL)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in scripts
    )
    policy = POLICY.replace("script-src 'self'", f"script-src 'self' {SWAGGER_CDN} {hashes}")
    policy = policy.replace("style-src 'self'", f"style-src 'self' {SWAGGER_CDN}")
    policy = policy.replace("img-src 'self'", f"img-src 'self' {FASTAPI_FAVICON}")
    return page, policy


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = ensure_token(settings or get_settings())
    for problem in load_experiments(settings.experiments):
        # by name, with its error; the server starts with the experiments that did load
        print(f"Stepscope: could not load experiments from {problem}", file=sys.stderr, flush=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        write_token_file(settings)
        history = History(settings.database)
        history.mark_interrupted([str(state) for state in LIVE_STATES])
        hub = Hub(settings.queue_limit)
        saved = CheckpointStore(settings.checkpoints)
        manager = RunManager(
            history,
            hub,
            settings.max_runs,
            settings.command_timeout,
            checkpoints=saved,
            checkpoint_every=settings.checkpoint_every,
        )
        manager.start_watchdog()
        app.state.settings, app.state.history = settings, history
        app.state.checkpoints = saved
        app.state.hub, app.state.runs = hub, manager
        if settings.default_run:
            manager.create(ExperimentConfig())
        try:
            yield
        finally:
            await manager.stop_all()
            hub.close_all()
            history.close()

    docs, docs_policy = docs_page("Stepscope")
    app = Stepscope(
        title="Stepscope",
        summary="Watch PyTorch learn: what loss.backward() and optimizer.step() do, live.",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=ProtocolJSONResponse,
        # /docs is served below, with its own policy; ReDoc (which needs blob: workers and a
        # second CDN) is left out
        docs_url=None,
        redoc_url=None,
        docs_policy=docs_policy,
    )
    app.add_middleware(Guard, settings=settings)
    app.state.templates = Jinja2Templates(directory=settings.templates_dir)
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    for router in (pages.router, catalogue.router, runs.router, stream.router, attach.router):
        app.include_router(router)
    app.include_router(checkpoints.router)
    app.include_router(branch.router)
    app.include_router(export.router)

    app.add_exception_handler(RequestValidationError, refused_input)

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return docs

    @app.exception_handler(UnknownRun)
    async def unknown_run(request: Request, error: UnknownRun) -> JSONResponse:
        return JSONResponse(
            {"detail": f"no run with id {error.args[0]!r}"}, status_code=status.HTTP_404_NOT_FOUND
        )

    @app.exception_handler(IllegalTransition)
    async def illegal_transition(request: Request, error: IllegalTransition) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(TooManyRuns)
    async def too_many_runs(request: Request, error: TooManyRuns) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status.HTTP_429_TOO_MANY_REQUESTS)

    return app
