"""Branching: a new run that goes on from a step of another (issue 12).

The state at the fork comes from one of two places: a checkpoint of the parent at that very step
(app/store/checkpoints.py), or the parent's worker, which keeps its latest steps in memory
(app/runs/rewind.py) and writes the state of the step asked for as the branch's first checkpoint.
The branch is then an ordinary run whose worker starts from that checkpoint, exactly as a resumed
run does: the same parameters, optimizer state, RNG and batch position the parent had at the step.
A changed optimizer is applied at the fork as a live change would be (the same optimizer keeps its
state, another starts fresh), so it is marked on the branch's loss chart.

The branch's history starts with the parent's: its losses, evaluations, optimizer marks and
alerts up to the fork are copied, so its loss chart draws the parent's curve up to the fork and its
own after. The lineage is kept as two events, one in each run's history ("branch_of" in the
child's, "branch" in the parent's), and shown as RunInfo.branch and RunInfo.branches.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING

from app.contract.branch import BranchPoint, BranchRequest, Lineage, Rewind, Rewound
from app.engine.checkpoint import config_of
from app.runs.publish import publish_status
from app.runs.rewind import for_branch
from app.runs.run import Run
from app.runs.spawn import send
from app.runs.state import IllegalTransition
from app.store.checkpoints import CheckpointStore, load_file
from app.store.history import CHILD_EVENT, PARENT_EVENT, History

if TYPE_CHECKING:
    from app.runs.manager import RunManager

# What a branch's history takes over from its parent's, up to the fork.
COPIED_EVENTS = frozenset({"optimizer", "evaluation", "alert"})


class BranchRefused(ValueError):
    """No state at the step asked for; the message says which steps there are (a 422)."""


def lineage(history: History, run_id: str) -> tuple[BranchPoint | None, list[BranchPoint]]:
    """The run this one branched from, and the runs that branched from it, from the history."""
    parent: BranchPoint | None = None
    children: list[BranchPoint] = []
    for event in history.events(run_id):
        kind = event["kind"]
        if kind == CHILD_EVENT:
            parent = BranchPoint.model_construct(run=event["run"], step=event["step"])
        elif kind == PARENT_EVENT:
            children.append(BranchPoint.model_construct(run=event["run"], step=event["step"]))
    return parent, children


def copy_history(history: History, parent: str, child: str, step: int) -> None:
    """The parent's losses and events of steps 1..step, as the branch's own."""
    losses = history.losses(parent, upto=step)
    if losses:
        history.append_scalars(child, 1, losses)
    for event in history.events(parent):
        kind, at = event.pop("kind"), event.pop("step")
        if kind in COPIED_EVENTS and at <= step:
            history.add_event(child, at, kind, event)


async def ask_worker(run: Run, rewind: Rewind, timeout: float) -> Rewound:
    """Send a Rewind to the run's worker and wait for its answer (app/runs/relay.py). The same
    question asked again before the answer (two pages reading a run's branches: the key "") waits
    for that answer rather than replacing the first asker's."""
    asked = run.rewinding.get(rewind.into)
    if asked is not None and not asked.done():
        return await _answer(asyncio.shield(asked), timeout)
    future: asyncio.Future[Rewound] = asyncio.get_running_loop().create_future()
    run.rewinding[rewind.into] = future
    send(run, rewind)
    try:
        return await _answer(future, timeout)
    finally:
        if run.rewinding.get(rewind.into) is future:
            del run.rewinding[rewind.into]


async def _answer(answer: Awaitable[Rewound], timeout: float) -> Rewound:
    try:
        return await asyncio.wait_for(answer, timeout)
    except TimeoutError:
        raise IllegalTransition(
            f"the worker did not answer within {timeout:g} s; try again in a moment"
        ) from None


def _from_checkpoint(store: CheckpointStore, parent: str, step: int, child: str) -> Path:
    """The parent's checkpoint of `step`, saved again as the branch's first."""
    state = for_branch(store.load(parent, step))
    return store.save(child, state).path


async def state_for(manager: RunManager, parent_id: str, step: int, child: str) -> Path:
    """The branch's first checkpoint: the parent's of that step, or one its worker writes from the
    steps it keeps. Refused with the steps there are."""
    store = manager.checkpoints
    if store is None:
        raise IllegalTransition("this server keeps no checkpoints, so runs cannot branch")
    saved = [found.step for found in store.list(parent_id)]
    if step in saved:
        return await asyncio.to_thread(_from_checkpoint, store, parent_id, step, child)
    live = manager.live_worker(parent_id)
    kept = None
    if live is not None:
        answer = await ask_worker(
            live, Rewind.model_construct(step=step, into=child), manager.command_timeout
        )
        if answer.path is not None:
            return Path(answer.path)
        kept = answer.refused
    where = kept or f"step {step} is not kept in memory: the run has no live worker"
    if saved:
        where += "; its checkpoints are of steps " + ", ".join(map(str, saved))
    raise BranchRefused(where)


def _forget(manager: RunManager, child: str) -> None:
    if manager.checkpoints is not None:
        manager.checkpoints.delete(child)


async def branch(manager: RunManager, parent_id: str, request: BranchRequest) -> Run:
    info = manager.info(parent_id)  # raises UnknownRun: 404
    if info.config is None:
        raise IllegalTransition(
            "an attached script's loop is its own: the server cannot take it back to a step"
        )
    if request.step > info.step:
        raise BranchRefused(f"step {request.step} is in the future: the run is at step {info.step}")
    child = uuid.uuid4().hex[:12]
    try:
        path = await state_for(manager, parent_id, request.step, child)
        config = config_of(await asyncio.to_thread(load_file, path))
        run = manager.create_from_checkpoint(child, config, path, request.step)
    except FileNotFoundError:  # the parent's checkpoint was pruned (it keeps its latest few)
        _forget(manager, child)
        raise BranchRefused(
            f"the checkpoint of step {request.step} is gone (a run keeps its latest few)"
        ) from None
    except BaseException:  # refused (no room, …): no checkpoint of a run that never was is left
        _forget(manager, child)
        raise
    point = BranchPoint.model_construct(run=parent_id, step=request.step)
    run.branch = point
    history = manager.history
    await asyncio.to_thread(copy_history, history, parent_id, child, request.step)
    history.add_event(child, request.step, CHILD_EVENT, {"run": parent_id})
    history.add_event(parent_id, request.step, PARENT_EVENT, {"run": child})
    parent = manager.live_worker(parent_id)
    if parent is not None:  # its page draws the fork at once
        parent.branches = [
            *parent.branches,
            BranchPoint.model_construct(run=child, step=request.step),
        ]
        publish_status(manager.hub, parent)
    if request.optimizer is not None and request.optimizer != config.optimizer:
        manager.change_optimizer(child, request.optimizer)
    return run


async def describe(manager: RunManager, run_id: str) -> Lineage:
    """Where a run came from, what branched from it, and which steps a branch may start from."""
    manager.info(run_id)  # raises UnknownRun: 404
    parent, children = await asyncio.to_thread(lineage, manager.history, run_id)
    store = manager.checkpoints
    saved = [] if store is None else [found.step for found in store.list(run_id)]
    kept = None
    live = manager.live_worker(run_id)
    if live is not None:
        query = Rewind.model_construct(step=-1, into="")
        kept = (await ask_worker(live, query, manager.command_timeout)).kept
    return Lineage.model_construct(parent=parent, children=children, kept=kept, checkpoints=saved)
