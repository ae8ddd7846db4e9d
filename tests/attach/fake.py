"""A stand-in for the server's /ws/attach, in the test's own process: it answers Attach, keeps
every message the script sends (validated against the contract), and sends the commands a test
gives it. The client's logic is tested with it; the real server is tests/attach/test_script.py's."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from app.contract.attach import Attach, Attached, ScriptMessage
from app.contract.attached import AttachedRun
from app.contract.run import RunInfo
from app.stream.protocol import decode_snapshot, to_json

_SCRIPT: TypeAdapter[ScriptMessage] = TypeAdapter(ScriptMessage)


class FakeServer:
    def __init__(self) -> None:
        self.received: list[Any] = []  # contract models, and (header, data) for snapshots
        self.attach: Attach | None = None
        self.headers: Headers | None = None
        self._changed = threading.Condition()
        self.reading = threading.Event()  # cleared: the server stops reading (a stalled server)
        self.reading.set()
        self._connection: ServerConnection | None = None
        self._server: Server = serve(
            self._handle, "127.0.0.1", 0, process_request=self._healthz, ping_interval=None
        )
        self.port = self._server.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _healthz(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            return connection.respond(200, "ok\n")
        return None

    def _handle(self, connection: ServerConnection) -> None:
        self.headers = connection.request.headers if connection.request else None
        attach = Attach.model_validate_json(connection.recv())
        run = RunInfo(
            id="fake",
            experiment="attached",
            title=attach.process.name,
            config=None,
            state="running",
            reason=None,
            step=0,
            loss=None,
            phase=None,
            ready=True,
            alerts={"nonfinite": True},
            instrumentation=attach.instrumentation,
            attached=AttachedRun(
                process=attach.process,
                optimizer=attach.optimizer,
                parameters=len(attach.parameters),
            ),
        )
        connection.send(to_json(Attached(run=run, url=f"{self.url}#run=fake")))
        with self._changed:
            self.attach, self._connection = attach, connection
            self._changed.notify_all()
        for message in connection:
            self.reading.wait()
            if isinstance(message, bytes):
                item: Any = decode_snapshot(message)
            else:
                item = _SCRIPT.validate_json(message)
            with self._changed:
                self.received.append(item)
                self._changed.notify_all()

    def send(self, command: dict[str, Any]) -> None:
        self.wait_for(lambda: self._connection is not None)
        assert self._connection is not None
        self._connection.send(json.dumps(command))

    def wait_for(self, condition: Callable[[], Any], limit: float = 30.0) -> Any:
        deadline = time.monotonic() + limit
        with self._changed:
            while not (found := condition()):
                left = deadline - time.monotonic()
                assert left > 0, "the condition never held"
                # (woken by each message; a condition on the script's side is looked at often)
                self._changed.wait(min(left, 0.05))
            return found

    def of_kind(self, kind: str) -> list[Any]:
        with self._changed:
            return [m for m in self.received if getattr(m, "kind", None) == kind]

    def snapshots(self) -> list[tuple[dict[str, Any], Any]]:
        with self._changed:
            return [m for m in self.received if isinstance(m, tuple)]

    def close_connection(self) -> None:
        assert self._connection is not None
        self._connection.close()

    def shutdown(self) -> None:
        self._server.shutdown()
