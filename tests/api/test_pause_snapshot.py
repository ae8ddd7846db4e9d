"""At Max speed a pause gives a snapshot whose update is recorded: the last step's, as the same
loop written by hand had it."""

from __future__ import annotations

import torch
from fastapi.testclient import TestClient

from app.engine.experiments import ExperimentConfig
from app.engine.optimizers import SGDConfig
from tests.api.test_runs import field
from tests.conftest import Stream, new_run
from tests.engine.oracle import run_oracle


def test_a_pause_at_max_speed_shows_the_last_steps_update(client: TestClient) -> None:
    sgd = {"name": "sgd", "lr": 0.05, "momentum": 0.9}
    run_id = new_run(client, optimizer=sgd)  # steps_per_second: null, Max
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        client.post(f"/api/runs/{run_id}/commands/start")
        stream.until(lambda m: m["type"] == "scalars" and m["first_step"] > 300)
        client.post(f"/api/runs/{run_id}/commands/pause")
        paused = stream.acknowledged("pause")["run"]["step"]
    header, data = stream.snapshots[-1]
    assert header["step"] == paused and header["effect"] == {"phase": "step", "moved": True}
    config = ExperimentConfig(optimizer=SGDConfig(lr=0.05, momentum=0.9))
    last = run_oracle(config, torch.optim.SGD, paused, lr=0.05, momentum=0.9)[-1]
    for name in ("weight", "bias"):
        entry = next(t for t in header["tensors"] if t["name"] == name)
        assert entry["fields"]["update"] is not None, "the step before a pause is recorded"
        update = field(header, data, name, "update")
        torch.testing.assert_close(
            update, last.after[name] - last.before[name], rtol=1e-5, atol=1e-6
        )
