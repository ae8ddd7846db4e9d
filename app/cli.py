"""`stepscope`: start the server with the seed experiment ready, and print the URL to open."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from app.main import create_app
from app.security.headers import PARSER_LIMIT_BYTES
from app.security.token import ensure_token, open_url
from app.settings import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="stepscope", description=__doc__)
    parser.add_argument("--host", default=defaults.host, help="interface to listen on")
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=defaults.data_dir,
        help="where the run history (SQLite) is kept",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=float,
        default=defaults.checkpoint_every,
        metavar="SECONDS",
        help="how often a running run writes a checkpoint (it also does on pause, on stop and "
        "when asked from the page); Start on a stopped or interrupted run goes on from the latest",
    )
    parser.add_argument(
        "--experiments",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="a Python file, or a folder of them, defining more experiments (repeatable;"
        " see docs/experiments.md)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = ensure_token(
        Settings(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            checkpoint_every=args.checkpoint_every,
            experiments=args.experiments or Settings().experiments,
        )
    )
    if settings.exposed:
        print(
            f"Stepscope listens on {settings.host}, beyond this machine: every request needs "
            "the token in the URL below (or 'Authorization: Bearer <token>').",
            flush=True,
        )
    print(f"Stepscope: open {open_url(settings)}  (history in {settings.database})", flush=True)
    # Docker's health check asks every few seconds; its lines would bury the log that matters.
    logging.getLogger("uvicorn.access").addFilter(
        lambda record: "/healthz" not in record.getMessage()
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_graceful_shutdown=5,
        # explicit, not uvicorn's default: the most of a request's line and headers it buffers;
        # h11 named so that installing httptools (which has no such limit) cannot drop it
        http="h11",
        h11_max_incomplete_event_size=PARSER_LIMIT_BYTES,
        # Every frame is encoded once for all its viewers; per-message deflate would compress it
        # again for each connection (zlib for each of 500 viewers, 40 frames a second): most of
        # the server's time with a room watching (BENCHMARKS.md, bench/viewers.py).
        ws_per_message_deflate=False,
    )
