"""The one typed contract: every message between worker, server and browser.

`worker` is the pipe between server and worker process; `events` and `snapshot` are what a browser
receives on a run's websocket; `run` is a run as REST and the stream describe it. The JSON Schema of
all of them (`python -m app.contract.schema`) is where the browser's types come from.
"""
