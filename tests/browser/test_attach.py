"""An attached script steered from the page: a real server, a real training script in its own
process (a plain PyTorch loop with stepscope.attach), and the page's own controls.

The script prints, after each optimizer.step(), how many steps it has completed, the learning rate
in its param_groups and the learning rate the step really used, measured from the parameters
(plain SGD: θ' = θ − lr·g, so lr = (θ − θ')·g / g·g). The test reads its output: a paused script
prints nothing more, a Step prints exactly one line, and an edit made from the page is the lr of
the very next step.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, screenshot
from tests.support import Server, call

REPO = Path(__file__).resolve().parents[2]
NAME = "browser-attach"
LR = 0.01
NEW_LR = 0.05

# A plain loop on a real small task (noisy linear regression), with the two added lines.
SCRIPT = """
import sys
import torch
import stepscope

torch.manual_seed(0)
w_true = torch.randn(8, 1)
model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr={lr})
watch = stepscope.attach(model, optimizer, name="{name}", server=sys.argv[1])
weight = model[0].weight
for step in range(1, 2_000_001):
    x = torch.randn(32, 8)
    y = x @ w_true + 0.1 * torch.randn(32, 1)
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    before = weight.detach().clone()
    grad = weight.grad.detach().clone()
    optimizer.step()
    used = float(((before - weight.detach()) * grad).sum() / (grad * grad).sum())
    watch.log(loss=loss, grad_norm=grad.norm())
    print(f"step {{step}} lr {{optimizer.param_groups[0]['lr']}} used {{used:.6f}}", flush=True)
watch.close()
"""

LINE = re.compile(r"^step (\d+) lr (\S+) used (\S+)$")


@dataclass
class Script:
    """The training script's process, and what it printed (read on a thread as it comes)."""

    process: subprocess.Popen[str]
    lines: list[tuple[int, float, float]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.process.stdout is not None
        for text in self.process.stdout:
            match = LINE.match(text.strip())
            if match:
                self.lines.append((int(match[1]), float(match[2]), float(match[3])))
            else:
                self.other.append(text.rstrip())

    @property
    def steps(self) -> int:
        """Steps the script has completed, by its own count."""
        return self.lines[-1][0] if self.lines else 0

    def line(self, step: int) -> tuple[int, float, float]:
        return next(line for line in self.lines if line[0] == step)

    def wait(self, what: str, done: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert self.process.poll() is None, f"the script ended: {self.other[-20:]}"
            assert time.monotonic() < deadline, f"{what}: script at step {self.steps}"
            time.sleep(0.02)


@pytest.fixture
def script(server: Server, tmp_path: Path) -> Iterator[Script]:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT.format(lr=LR, name=NAME))
    process = subprocess.Popen(
        [sys.executable, str(path), server.url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"},
    )
    running = Script(process)
    threading.Thread(target=running.read, daemon=True).start()
    yield running
    process.terminate()
    process.wait(timeout=30)


def held_at(server: Server, run_id: str) -> int:
    """The step at which the script acknowledged a pause: held before step() (phase backward)."""
    deadline = time.monotonic() + 30
    while (run := call(server, f"api/runs/{run_id}"))["phase"] != "backward":
        assert time.monotonic() < deadline, f"the pause was never acknowledged: {run}"
        time.sleep(0.02)
    assert run["state"] == "paused", run
    step: int = run["step"]
    return step


def used_lr(script: Script, step: int) -> tuple[float, object]:
    """The lr in param_groups after that step, and the lr its update really used."""
    _, lr, used = script.line(step)
    return lr, used


def test_page_lists_pauses_steps_and_changes_lr_of_an_attached_script(
    server: Server, page: Page, script: Script
) -> None:
    # The page opens on a run of its own; the script attaches meanwhile and is listed.
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    listed = page.get_by_test_id("attached-runs").get_by_role("link", name=re.compile(NAME))
    # The script imports torch and attaches in its own time (slow on a loaded machine).
    expect(listed).to_contain_text(
        f"{socket.gethostname()} · pid {script.process.pid}", timeout=60_000
    )
    listed.click()
    expect(listed).to_have_attribute("aria-current", "page")
    run_id = page.url.split("#run=")[1]
    assert call(server, f"api/runs/{run_id}")["attached"]["process"]["pid"] == script.process.pid
    panel = page.get_by_test_id("attached-run")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("attached-name")).to_have_text(NAME)
    expect(page.get_by_test_id("attached-class")).to_have_text("torch.optim.sgd.SGD")
    expect(page.get_by_test_id("attached-controls")).to_contain_text(
        "Pause holds the script before its next optimizer.step()"
    )
    # What drives the page's own loop is not there for a script's; the optimizer class is off.
    for hidden in ("Experiment", "Speed", "Batch size"):
        expect(page.get_by_label(hidden, exact=True)).to_be_hidden()
    for hidden in ("Next phase", "Reset"):
        expect(page.get_by_role("button", name=hidden)).to_be_hidden()
    expect(page.get_by_label("Pause on NaN/Inf")).to_be_checked()  # the script's client arms it
    optimizer = page.get_by_label("Optimizer", exact=True)
    expect(optimizer).to_be_disabled()
    expect(optimizer).to_have_attribute("title", re.compile("its class cannot change"))
    expect(page.get_by_test_id("status")).to_have_text("running")
    # The loss and the other logged scalar are drawn, named in the legend.
    chart = page.locator("#loss-chart")
    expect(chart.locator(".u-legend")).to_contain_text("grad_norm")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    screenshot(page, "attach-running")

    # Pause: the script is held before its next step(); its own count stops where the page's does.
    pause = page.get_by_role("button", name="Pause")
    expect(pause).to_be_enabled()
    pause.click()
    expect(page.get_by_test_id("status")).to_have_text("paused")
    # Held in its step pre-hook, the script acknowledged the pause mid-step, after backward.
    held = held_at(server, run_id)
    expect(page.get_by_test_id("phase")).to_have_text("backward")
    assert held > 0
    expect(page.get_by_test_id("step")).to_have_text(str(held))
    script.wait(f"the script printing step {held}", lambda: script.steps >= held)
    assert script.steps == held

    # Step: exactly one step() goes through, and the script is held again.
    step = page.get_by_role("button", name="Step", exact=True)
    expect(step).to_be_enabled()
    step.click()
    expect(page.get_by_test_id("step")).to_have_text(str(held + 1))
    script.wait(f"the script printing step {held + 1}", lambda: script.steps >= held + 1)
    assert script.steps == held + 1
    assert used_lr(script, held + 1) == (LR, pytest.approx(LR, rel=1e-3))

    # A new learning rate from the page: written into param_groups while the script is held, so
    # the next step uses it (measured from the parameters' change), and marked on the chart.
    lr = page.get_by_label("Learning rate")
    expect(lr).to_be_enabled()
    lr.fill(str(NEW_LR))
    lr.press("Enter")
    expect(chart).to_have_attribute("data-marks", re.compile(rf"lr {LR}→{NEW_LR}"))
    attached = call(server, f"api/runs/{run_id}")["attached"]
    assert attached["optimizer"]["config"]["lr"] == NEW_LR
    assert script.steps == held + 1, "the paused script took a step by itself"
    expect(step).to_be_enabled()
    step.click()
    script.wait(f"the script printing step {held + 2}", lambda: script.steps >= held + 2)
    assert used_lr(script, held + 2) == (NEW_LR, pytest.approx(NEW_LR, rel=1e-3))
    expect(page.get_by_test_id("step")).to_have_text(str(held + 2))
    assert script.steps == held + 2

    # The views that apply: the health panels, and the selected element's update ledger (the
    # held snapshot carries the step just let through; plain SGD has a written rule).
    expect(page.get_by_test_id("health")).to_be_visible()
    expect(page.get_by_test_id("grad-norms")).to_be_visible()
    page.locator("canvas.heatmap").first.hover(position={"x": 4, "y": 4})
    expect(page.locator("#detail .element-name")).to_have_text("0.weight[0, 0]")
    expect(page.get_by_test_id("ledger-verdict")).to_be_visible()
    screenshot(page, "attach-stepped")

    page.set_viewport_size(PHONE)
    expect(panel).to_be_visible()
    # The charts follow the new width when their resize observers fire: wait for the page to fit.
    page.wait_for_function(f"document.documentElement.scrollWidth <= {PHONE['width']}")
    screenshot(page, "attach-paused")

    # Stop watching: the run stops and says why; the script trains on, unobserved.
    stop = page.get_by_role("button", name="Stop watching")
    expect(stop).to_be_enabled()
    stop.click()
    expect(page.get_by_test_id("status")).to_have_text("stopped")
    expect(page.get_by_test_id("notice")).to_contain_text(
        f"The script “{NAME}” is no longer watched"
    )
    script.wait("the script training on after the stop", lambda: script.steps > held + 2)


# An optimizer class of the script's own: Stepscope knows no fields of it and has no rule for it.
ENDED_SCRIPT = """
import sys
import torch
import stepscope


class SignDescent(torch.optim.Optimizer):
    def __init__(self, params, lr):
        super().__init__(params, {{"lr": lr}})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad.sign(), alpha=-group["lr"])


torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
optimizer = SignDescent(model.parameters(), lr=0.01)
with stepscope.attach(model, optimizer, name="{name}", server=sys.argv[1]) as watch:
    for step in range({steps}):
        x = torch.randn(16, 4)
        optimizer.zero_grad()
        loss = (model(x) - x.sum(dim=1, keepdim=True)).pow(2).mean()
        loss.backward()
        optimizer.step()
        watch.log(loss=loss)
print("trained", flush=True)
"""


def test_an_ended_script_with_an_unknown_optimizer_class_explains_itself(
    server: Server, page: Page, tmp_path: Path
) -> None:
    name, steps = "sign-descent", 300
    path = tmp_path / "sign.py"
    path.write_text(ENDED_SCRIPT.format(name=name, steps=steps))
    done = subprocess.run(
        [sys.executable, str(path), server.url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0 and "trained" in done.stdout, done.stderr
    run = next(r for r in call(server, "api/runs") if r["attached"])
    assert run["state"] == "stopped"

    page.goto(f"{server.url}#run={run['id']}")
    expect(page.get_by_test_id("status")).to_have_text("stopped")
    # Its history stays readable: every step's loss, and why it ended.
    expect(page.get_by_test_id("step")).to_have_text(str(steps))
    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text(f"The script “{name}” is no longer watched ({run['reason']})")
    expect(notice).to_contain_text("its history stays readable", ignore_case=True)
    expect(notice.get_by_role("button", name="New run with the same configuration")).to_have_count(
        0
    )
    # The class is named; the page says it has no fields for it, and shows none to edit.
    expect(page.get_by_test_id("attached-class")).to_contain_text("SignDescent")
    expect(page.get_by_test_id("optimizer-fixed")).to_have_text(
        "Optimizer: SignDescent (no fields Stepscope knows: not editable here)"
    )
    expect(page.get_by_test_id("attached-optimizer")).to_contain_text("no update ledger")
    expect(page.get_by_label("Learning rate")).to_be_hidden()
    expect(page.get_by_label("Optimizer", exact=True)).to_be_hidden()
    for control in ("Start", "Step", "Stop watching"):
        button = page.get_by_role("button", name=control, exact=True)
        expect(button).to_be_disabled()
        expect(button).to_have_attribute("title", re.compile("run the script again"))
    screenshot(page, "attach-ended")
