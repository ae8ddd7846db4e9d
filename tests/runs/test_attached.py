"""An attached script's run on the server's side, without a connection: the watchdog leaves it
alone, and what the script sends is checked before it is kept."""

from __future__ import annotations

import json

import pytest

from app.contract.attached import AttachedOptimizer, AttachedProcess, AttachedRun
from app.runs.attached import CLOSE_REASON_BYTES, clip
from app.runs.run import Run
from app.runs.script_input import Malformed, ScriptInput, snapshot_frame
from app.runs.state import Command
from app.runs.watchdog import check


def attached_run() -> Run:
    attached = AttachedRun(
        process=AttachedProcess(name="my run", host="box", pid=1),
        optimizer=AttachedOptimizer(
            torch_class="torch.optim.sgd.SGD", config=None, ledger=False, groups=1
        ),
        parameters=2,
    )
    run = Run(id="a", config=None, ready=True, attached=attached, heard_at=0.0)
    run.advance(Command.START)
    return run


def test_the_watchdog_never_fails_an_attached_script_for_a_late_answer_or_silence() -> None:
    """The script answers a pause at its next optimizer.step(), which may take minutes."""
    silent = attached_run()
    pausing = attached_run()
    pausing.advance(Command.PAUSE)
    pausing.unanswered.append((Command.PAUSE, 0.0))
    failed: list[str] = []
    check([silent, pausing], lambda _, reason: failed.append(reason), 15.0, now=3600.0)
    assert failed == []


def test_a_close_reason_is_cut_to_what_a_close_frame_carries() -> None:
    assert clip("short") == "short"
    cut = clip("é" * 100)  # 200 bytes of UTF-8
    assert len(cut.encode()) <= CLOSE_REASON_BYTES and cut.endswith("…")
    assert cut.startswith("é" * 50)


def test_logged_names_are_counted_over_the_connection() -> None:
    script = ScriptInput()
    for i in range(4):
        names = {f"n{8 * i + j}": [0.5] for j in range(8)}
        script.read(json.dumps({"kind": "logged", "first_step": 1, "values": names}))
    again = {"n0": [0.1]}  # a name already counted
    script.read(json.dumps({"kind": "logged", "first_step": 2, "values": again}))
    with pytest.raises(Malformed, match="at most 32 names"):
        script.read('{"kind": "logged", "first_step": 3, "values": {"n32": [1.0]}}')


@pytest.mark.parametrize(
    "frame",
    [b"", b"\x08\x00\x00\x00{}", b"\x00\x00\x00\x00\x00\x00\x80"],
    ids=["empty", "header-past-the-end", "partial-float"],
)
def test_a_frame_that_a_browser_could_not_read_in_place_is_malformed(frame: bytes) -> None:
    with pytest.raises(Malformed):
        snapshot_frame(frame)
