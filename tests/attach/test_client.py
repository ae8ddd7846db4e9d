"""The script side of an attached run, in the test's own process, against a real server
(`live_server`, tests/attach/conftest.py) steered and read as the page does (tests/attach/live.py):
what only the client can show. The scenarios a real script process shows (every loss once and in
order, bit-for-bit parameters, pause/step, an lr edit before the next step, a lost server, asyncio,
a subclass of Adam, a token in the address, a NaN pause) are tests/attach/test_script.py's."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import stepscope
from tests.attach.live import RunStream, make, refusal, run_of, train, wait, watched
from tests.support import Server, call, free_port


@pytest.mark.slow
def test_the_run_describes_the_script_its_optimizer_logged_names_and_relus(
    live_server: Server,
) -> None:
    model, optimizer, x, y = make()
    watch = stepscope.attach(model, optimizer, name="unit", server=live_server.url)
    train(model, optimizer, x, y, 200, watch)
    watch.close()
    run = wait(lambda: (run := run_of(live_server, watch))["state"] == "stopped" and run)
    assert (run["title"], run["experiment"], run["config"]) == ("unit", "attached", None)
    assert run["reason"] == "the script closed its watch at step 200"  # the Detach came last
    attached = run["attached"]
    assert attached["process"] == {"name": "unit", "host": socket.gethostname(), "pid": os.getpid()}
    group = optimizer.param_groups[0]
    assert attached["optimizer"] == {
        "torch_class": "torch.optim.adam.Adam",
        "config": {
            "name": "adam",
            "lr": group["lr"],
            "beta1": group["betas"][0],
            "beta2": group["betas"][1],
            "eps": group["eps"],
            "weight_decay": group["weight_decay"],
            "amsgrad": group["amsgrad"],
        },
        "ledger": True,
        "groups": 1,
    }
    assert attached["parameters"] == 4 and attached["logged"] == ["double"]
    assert (attached["dropped_snapshots"], attached["dropped_scalars"]) == (0, 0)
    exported = call(live_server, f"api/runs/{watch.run_id}/scalars")
    assert exported["logged"] == {"double": [2.0 * step for step in range(1, 201)]}
    # what a tab opened afterwards reads: the snapshots name the model's tensors, and the ReLU
    # between the layers is watched for the health points
    assert watch.run_id is not None
    stream = RunStream(live_server, watch.run_id)
    header = stream.wait_for(lambda: stream.headers and stream.headers[-1])
    health = stream.wait_for(lambda: stream.of_type("health"))[0]["points"]
    stream.close()
    assert [t["name"] for t in header["tensors"]] == [name for name, _ in model.named_parameters()]
    assert header["phase"] == "step" and header["effect"]["phase"] == "step"
    assert health and all(0 < point["step"] <= 200 for point in health)
    assert any(u["layer"] == "1" and u["units"] == 8 for p in health for u in p["units"])


def holds(stream: RunStream, step: int) -> list[dict[str, Any]]:
    """The hold snapshots of a loop held in step() `step` + 1, before its update."""
    return [h for h in stream.headers if (h["step"], h["phase"]) == (step, "backward")]


@pytest.mark.slow
def test_a_hold_shows_the_gradients_a_step_its_update_and_stop_unhooks_the_optimizer(
    live_server: Server,
) -> None:
    model, optimizer, x, y = make()
    with watched(live_server, model, optimizer, x, y) as (watch, stream, trainer):
        wait(lambda: trainer.count > 10)
        call(live_server, f"api/runs/{watch.run_id}/commands/pause", "POST")
        k = stream.acked("pause")
        # held in step() k + 1 before its update: θ after step k with step k + 1's gradients
        # (a running snapshot after step k may come first: the hold's is the one in "backward")
        held = stream.wait_for(lambda: holds(stream, k))[0]
        assert held["effect"]["phase"] == "backward"
        assert all(t["fields"]["grad"] is not None for t in held["tensors"])
        call(live_server, f"api/runs/{watch.run_id}/commands/step", "POST")
        assert stream.acked("step") == k + 1
        header = stream.wait_for(lambda: holds(stream, k + 1))[0]
        bias = header["tensors"][3]  # one element: its rule is written out, and the update fresh
        assert bias["ledger"] and bias["fields"]["update"] is not None
        assert bias["fields"]["predicted"] is not None
        call(live_server, f"api/runs/{watch.run_id}/commands/start", "POST")
        wait(lambda: trainer.count > k + 3)
        call(live_server, f"api/runs/{watch.run_id}/commands/stop", "POST")
        # the loop runs on, unobserved: the hooks are gone after its next log()
        wait(lambda: not optimizer._optimizer_step_pre_hooks)
        assert not optimizer._optimizer_step_post_hooks
        stopped = run_of(live_server, watch)
        assert stopped["state"] == "stopped"
        at = trainer.count
        wait(lambda: trainer.count > at + 10)
        assert run_of(live_server, watch)["step"] == stopped["step"]  # nothing more was sent


@pytest.mark.slow
def test_an_optimizer_edit_is_written_into_every_param_group_while_held(
    live_server: Server,
) -> None:
    model, optimizer, x, y = make()
    optimizer.add_param_group({"params": [nn.Parameter(torch.zeros(2))], "lr": 0.5})
    with watched(live_server, model, optimizer, x, y) as (watch, stream, trainer):
        assert run_of(live_server, watch)["attached"]["optimizer"]["groups"] == 2
        wait(lambda: trainer.count > 5)
        call(live_server, f"api/runs/{watch.run_id}/commands/pause", "POST")
        k = stream.acked("pause")
        config = {
            "name": "adam",
            "lr": 0.001,
            "beta1": 0.8,
            "beta2": 0.99,
            "eps": 1e-6,
            "weight_decay": 0.0,
            "amsgrad": False,
        }
        edited = call(live_server, f"api/runs/{watch.run_id}/optimizer", "PUT", config)
        assert edited["attached"]["optimizer"]["config"] == config
        # the held gate writes it at once, before any further step
        wait(lambda: all(group["lr"] == 0.001 for group in optimizer.param_groups))
        for group in optimizer.param_groups:
            assert (group["lr"], group["betas"], group["eps"]) == (0.001, (0.8, 0.99), 1e-6)
        mark = stream.wait_for(lambda: stream.of_type("optimizer"))[0]
        assert (mark["step"], mark["previous"]["lr"], mark["fresh"]) == (k, 0.01, False)
        assert trainer.count == k
        call(live_server, f"api/runs/{watch.run_id}/commands/start", "POST")
        wait(lambda: trainer.count > k + 1)
    assert trainer.lrs[k - 1] == [0.01, 0.5] and trainer.lrs[k] == [0.001, 0.001]


@pytest.mark.slow
def test_an_edit_that_needs_state_torch_never_made_is_refused_and_never_written(
    live_server: Server,
) -> None:
    model, optimizer, x, y = make()
    with watched(live_server, model, optimizer, x, y) as (watch, stream, trainer):
        wait(lambda: trainer.count > 5)
        amsgrad = {"name": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
        code, why = refusal(
            live_server,
            f"api/runs/{watch.run_id}/optimizer",
            "PUT",
            {**amsgrad, "weight_decay": 0.0, "amsgrad": True},
        )
        assert code == 409 and "amsgrad" in why and "restart the script" in why
        assert run_of(live_server, watch)["attached"]["optimizer"]["config"]["amsgrad"] is False
        # a pause is acknowledged after every command sent before it: none changed anything
        call(live_server, f"api/runs/{watch.run_id}/commands/pause", "POST")
        k = stream.acked("pause")
        call(live_server, f"api/runs/{watch.run_id}/commands/start", "POST")
        wait(lambda: trainer.count > k + 5)  # and step() never raised
    assert not stream.of_type("optimizer")
    assert optimizer.param_groups[0]["amsgrad"] is False


@pytest.mark.slow
def test_attaching_the_same_optimizer_again_stops_the_earlier_run(live_server: Server) -> None:
    model, optimizer, x, y = make()
    first = stepscope.attach(model, optimizer, server=live_server.url)
    hooks = len(optimizer._optimizer_step_pre_hooks), len(optimizer._optimizer_step_post_hooks)
    second = stepscope.attach(model, optimizer, server=live_server.url)  # a notebook cell again
    assert first._closed and not second._closed and first.run_id != second.run_id
    assert (
        len(optimizer._optimizer_step_pre_hooks),
        len(optimizer._optimizer_step_post_hooks),
    ) == hooks
    trainer = train(model, optimizer, x, y, 20, second)
    second.close()
    earlier = wait(lambda: (run := run_of(live_server, first))["state"] == "stopped" and run)
    assert earlier["reason"] == "the script attached this optimizer again: a new run watches it"
    assert earlier["step"] == 0
    wait(lambda: run_of(live_server, second)["state"] == "stopped")
    # each step once: one watch counts them
    assert call(live_server, f"api/runs/{second.run_id}/scalars")["loss"] == trainer.losses


@pytest.mark.slow
def test_with_the_nan_alert_off_the_loop_runs_on_and_its_snapshots_show_the_nan(
    live_server: Server,
) -> None:
    model, optimizer, x, y = make()
    with watched(live_server, model, optimizer, x, y, budget=0.5) as (watch, stream, trainer):
        run_id = watch.run_id
        assert not call(live_server, f"api/runs/{run_id}/alerts", "PUT", {"nonfinite": False})[
            "alerts"
        ]["nonfinite"]
        call(live_server, f"api/runs/{run_id}/commands/pause", "POST")
        k = stream.acked("pause")  # acknowledged after the setting, which is in force
        trainer.poison.set()
        call(live_server, f"api/runs/{run_id}/commands/start", "POST")
        stream.acked("start")

        def nan_in_parameters(header: dict[str, Any]) -> bool:
            stats = header["tensors"][0]["fields"]["value"]["stats"]
            return bool(stats["nan"] > 0)

        stream.wait_for(lambda: sum(nan_in_parameters(h) for h in stream.headers) >= 5)
        wait(lambda: trainer.count > k + 50)
        run = run_of(live_server, watch)
        assert (run["state"], run["reason"]) == ("running", None)
    assert not [alert for alert in stream.of_type("alert") if alert["kind"] == "nonfinite"]


def test_no_server_trains_unobserved(capfd: pytest.CaptureFixture[str]) -> None:
    model, optimizer, x, y = make(seed=5)
    watch = stepscope.attach(
        model, optimizer, server=f"http://127.0.0.1:{free_port()}", start_server=False
    )
    train(model, optimizer, x, y, 50, watch)
    watch.close()
    assert not optimizer._optimizer_step_pre_hooks
    assert "training goes on unobserved" in capfd.readouterr().err
    bare, bare_optimizer, bx, by = make(seed=5)
    train(bare, bare_optimizer, bx, by, 50)
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), bare.parameters(), strict=True)
    )


@pytest.mark.slow
def test_the_token_in_the_environment_lets_the_script_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STEPSCOPE_TOKEN, as docs/attach.md tells a user of an exposed server to set it (the token in
    the address is test_script.py's)."""
    token = "the-servers-token-0123456789abcdef"
    guarded = Server(
        tmp_path / "guarded",
        free_port(),
        env={"STEPSCOPE_DEFAULT_RUN": "false", "STEPSCOPE_TOKEN": token},
    )
    guarded.start()
    try:
        model, optimizer, x, y = make()
        monkeypatch.setenv("STEPSCOPE_TOKEN", token)
        watch = stepscope.attach(model, optimizer, server=guarded.url)
        train(model, optimizer, x, y, 5, watch)
        watch.close()
        assert watch.run_id is not None
        request = urllib.request.Request(
            f"{guarded.url}api/runs/{watch.run_id}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            run = json.load(response)
        assert run["attached"]["process"]["pid"] == os.getpid()
    finally:
        guarded.stop()
