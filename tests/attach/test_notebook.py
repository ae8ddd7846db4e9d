"""`stepscope.attach` in a real Jupyter kernel (ipykernel, driven by jupyter_client as a notebook
front end drives it), against a real server: the cells run inside the kernel's own asyncio loop,
the case a library that called `asyncio.run` would break in.

The page's commands reach the loop while a cell is busy training: Pause holds it at the next
`step()`, Step lets exactly one through, Start releases it; every logged loss arrives once, in
order; and the parameters are bit for bit those of the same loop run here without Stepscope."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from jupyter_client.manager import KernelManager

from tests.attach.live import RunStream
from tests.support import Server, call

pytestmark = pytest.mark.slow

STEPS = 4000

# The cells a learner would write. The loop is the README's: the two attach lines added.
SETUP = """
import asyncio, json, torch, stepscope
loop_running = asyncio.get_running_loop().is_running()   # a notebook's cell runs inside a loop
torch.manual_seed(0)
torch.set_num_threads(1)
model = torch.nn.Linear(10, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
data = torch.Generator().manual_seed(1)
true_w = torch.randn(10, 1, generator=data)
"""

ATTACH = """
watch = stepscope.attach(model, optimizer, name="notebook", server={url!r})
"""

TRAIN = """
losses = []
for _ in range({steps}):
    x = torch.randn(1, 10, generator=data)
    y = x @ true_w + 0.1 * torch.randn(1, 1, generator=data)
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    {log}
    losses.append(loss.item())
"""

REPORT = """
watch.close()
print(json.dumps({"loop_running": loop_running, "losses": losses,
                  "weight": model.weight.tolist(), "bias": model.bias.tolist()}))
"""


class Kernel:
    """One ipykernel process and a client that runs cells and collects what they print."""

    def __init__(self) -> None:
        self.manager = KernelManager(kernel_name="python3")
        # The kernel runs with this interpreter (the project's venv), as a notebook opened in it.
        self.manager.kernel_spec.argv[0] = sys.executable
        self.manager.start_kernel()
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def start(self, code: str) -> str:
        """Send a cell and return at once (as a notebook does): its id, for `finish`."""
        return str(self.client.execute(code))

    def finish(self, cell: str, limit: float = 240.0) -> str:
        """What the cell printed; fails with the kernel's traceback if the cell raised."""
        out: list[str] = []
        deadline = time.monotonic() + limit
        while True:
            message = self.client.get_iopub_msg(timeout=max(1.0, deadline - time.monotonic()))
            if message["parent_header"].get("msg_id") != cell:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream" and content["name"] == "stdout":
                out.append(content["text"])
            elif kind == "error":
                raise AssertionError("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)

    def run(self, code: str) -> str:
        return self.finish(self.start(code))

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    running = Kernel()
    yield running
    running.close()


def wait(condition: Callable[[], Any], limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def notebook_run(server: Server) -> str:
    def found() -> str | None:
        for run in call(server, "api/runs"):
            if run.get("attached") and run["attached"]["process"]["name"] == "notebook":
                return str(run["id"])
        return None

    return str(wait(found))


def bare_loop() -> dict[str, Any]:
    """The same cells' loop, here, without Stepscope: what the notebook must end with."""
    namespace: dict[str, Any] = {}
    exec(SETUP.replace("loop_running = asyncio.get_running_loop().is_running()", ""), namespace)
    exec(TRAIN.format(steps=STEPS, log="pass"), namespace)
    return {
        "losses": namespace["losses"],
        "weight": namespace["model"].weight,
        "bias": namespace["model"].bias,
    }


def test_a_notebook_cell_is_paused_stepped_and_released_and_keeps_every_loss(
    kernel: Kernel, live_server: Server
) -> None:
    kernel.run(SETUP)
    kernel.run(ATTACH.format(url=live_server.url))
    run_id = notebook_run(live_server)
    acks = RunStream(live_server, run_id)
    try:
        training = kernel.start(TRAIN.format(steps=STEPS, log="watch.log(loss=loss)"))
        wait(lambda: call(live_server, f"api/runs/{run_id}")["step"] >= 100)

        call(live_server, f"api/runs/{run_id}/commands/pause", "POST")
        held = acks.acked("pause")
        assert 100 <= held < STEPS  # the cell is still running, held before a step()
        call(live_server, f"api/runs/{run_id}/commands/step", "POST")
        assert acks.acked("step") == held + 1  # exactly one step() let through
        run = call(live_server, f"api/runs/{run_id}")
        assert (run["state"], run["step"]) == ("paused", held + 1)  # and the cell is held again
        call(live_server, f"api/runs/{run_id}/commands/start", "POST")
        kernel.finish(training)
    finally:
        acks.close()

    report = json.loads(kernel.run(REPORT).strip().splitlines()[-1])
    assert report["loop_running"] is True
    bare = bare_loop()
    # The notebook's loop took every step: the page's Step was one of them, not an extra one.
    assert report["losses"] == bare["losses"]
    assert torch.equal(torch.tensor(report["weight"]), bare["weight"].detach())
    assert torch.equal(torch.tensor(report["bias"]), bare["bias"].detach())
    stored = call(live_server, f"api/runs/{run_id}/scalars")["loss"]
    assert stored == report["losses"]  # every logged loss, once, in order
