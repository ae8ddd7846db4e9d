"""Hooks on a real optimizer, and the snapshot of every parameter they make possible.

The step hooks bracket `optimizer.step()`: the pre-hook keeps a copy of each parameter, the post-hook
subtracts it from the new value, so the update we show is exactly what `step()` did (after − before),
for any optimizer, without re-implementing one. The optimizer's own `state[p]` is read, never
recomputed. Copies for the ledger are only taken when a snapshot is due (`arm()`). Between armed
steps the pre-hook keeps one plain copy of the parameters in preallocated buffers (one
`_foreach_copy_`), so that a snapshot taken after *any* step, a pause at full speed included, still
shows that step's update — while that copy is cheap: it is timed every SHADOW_CHECK steps, and
dropped once it costs more than SHADOW_SHARE of a step (and over SHADOW_FLOOR) three checks in a
row. On the seed it is a few µs of ~250; on the 6.3M-parameter MLP 2.2 ms of 60, 3.6% of its
throughput every step, more than the whole snapshot budget leaves to spare.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from app.contract.snapshot import FieldData, Stats
from app.contract.snapshot import LedgerLine as LineView
from app.contract.snapshot import Tensor as TensorView
from app.instrument.ledger import LEDGER_NAMES, LedgerLine, predict
from app.instrument.stats import (
    CHUNK,
    STAT_NAMES,
    VIEW_LIMIT,
    Scratch,
    bounds_of,
    histogram,
    sample_indices,
    summarize,
    tensor_stats,
    view_of,
)

LEDGER_ELEMENTS = 64  # tensors up to this size have every element's rule written out
SHADOW_CHECK = 8  # steps between timings of the shadow copy (an armed one skips its turn)
SHADOW_SHARE = 0.01  # of a step's time, the most the shadow copy may take...
# ...unless it takes less than this (s of CPU time): inside the hook the seed's copy takes ~6 µs
# of a ~250 µs step (2%), so only a copy of real size (the wide MLP's 2.2 ms; a 270k-parameter
# MLP's ~0.1 ms) is ever dropped
SHADOW_FLOOR = 50e-6
SHADOW_STRIKES = 3  # checks in a row over the limit before the copy is dropped


@dataclass(frozen=True)
class Snapshot:
    """Every parameter's description, and the float32 data its views point into."""

    tensors: list[TensorView]
    data: bytes

    @property
    def header(self) -> dict[str, Any]:
        """The `tensors` part of a snapshot header, as plain data."""
        return {"tensors": [tensor.model_dump() for tensor in self.tensors]}

    def moved(self) -> bool | None:
        """Whether the update shown changed any element (None when no update is recorded)."""
        updates = [t.fields.get("update") for t in self.tensors]
        if not updates or any(u is None for u in updates):
            return None
        return any(
            u.stats.min != 0.0 or u.stats.max != 0.0 or u.stats.nan or u.stats.inf
            for u in updates
            if u is not None  # never None here; says so to the type checker
        )


class Recorder:
    def __init__(self, parameters: list[tuple[str, nn.Parameter]]) -> None:
        self.parameters = parameters
        self.armed = False
        self.updates: dict[nn.Parameter, torch.Tensor] = {}
        self._update_buffers: list[torch.Tensor] | None = None  # where armed steps' updates go
        self.hook_seconds = 0.0  # time spent in armed hooks, charged to the overhead budget
        self._before: list[torch.Tensor] | None = None
        # The update ledger: what was known before step() (group, grad, state), and what it predicts
        self.explain = False  # also write the rule out, element by element (for discrete steps)
        self._known: list[Known] | None = None
        self.ledgers: dict[nn.Parameter, tuple[torch.Tensor, list[list[LedgerLine]]]] = {}
        self._steps = 0  # step() calls seen
        self._updated_at = 0  # the step() whose update `updates` holds
        # Unarmed steps: the parameters as they were before the latest step(), and which step.
        self._shadow = [p.detach().clone() for _, p in parameters]
        self._shadow_at = 0
        self.shadowing = True  # whether unarmed steps keep the copy (see the module's docstring)
        self._checked_at: float | None = None  # perf_counter of the latest timing, and its step
        self._checked_step = 0
        self._strikes = 0
        self.shown_updates: dict[nn.Parameter, torch.Tensor] = {}  # those of the latest snapshot
        # views sharing the parameters' storage: optimizers update in place, so these stay current,
        # and copying from them needs no autograd bookkeeping (no `no_grad` per step)
        self._sources = [p.detach() for _, p in parameters]
        self._handles: list[RemovableHandle] = []
        self._scratch = Scratch()  # the statistics' work buffers, kept between snapshots

    def attach(self, optimizer: torch.optim.Optimizer) -> None:
        """Hook a (new) optimizer; the hooks of the previous one are removed."""
        self.detach()
        self.updates.clear()
        self._handles = [
            optimizer.register_step_pre_hook(self._before_step),
            optimizer.register_step_post_hook(self._after_step),
        ]

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def arm(self, explain: bool = False) -> None:
        """Capture the update of the next `step()`; with `explain`, write its rule out per element
        (for a step a learner asked for, not for the frames of a running loop)."""
        self.armed = True
        self.explain = explain

    def _before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self._steps += 1
        if not self.armed:
            if not self.shadowing:
                return
            if self._steps % SHADOW_CHECK:
                # note: one fused copy, no allocation: about 1.5 µs a step on the seed, the cost
                # of "a pause always shows the last step's update"
                torch._foreach_copy_(self._shadow, self._sources)
                self._shadow_at = self._steps
                return
            self._timed_shadow_copy()
            return
        started = time.perf_counter()
        with torch.no_grad():
            # the same preallocated copy as an unarmed step: a fresh one costs page faults
            torch._foreach_copy_(self._shadow, self._sources)
            self._shadow_at = self._steps
            self._before = self._shadow
            self._known = _known_before_step(optimizer, self.parameters)
        self.hook_seconds += time.perf_counter() - started

    def _timed_shadow_copy(self) -> None:
        """The shadow copy, timed against the mean step since the previous timing, both in this
        thread's CPU time: time the thread spent descheduled (a busy machine) counts for neither."""
        started = time.thread_time()
        torch._foreach_copy_(self._shadow, self._sources)
        self._shadow_at = self._steps
        copied = time.thread_time()
        if self._checked_at is not None:
            step = (started - self._checked_at) / (self._steps - self._checked_step)
            costly = copied - started > max(SHADOW_FLOOR, SHADOW_SHARE * step)
            self._strikes = self._strikes + 1 if costly else 0
            if self._strikes >= SHADOW_STRIKES:
                self.shadowing = False
        self._checked_at, self._checked_step = copied, self._steps

    def _after_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._before is None:
            return
        started = time.perf_counter()
        with torch.no_grad():
            # into buffers kept from the last armed step: a fresh 25 MB tensor costs more in page
            # faults than the subtraction (the previous update is no longer shown: not fresh)
            if self._update_buffers is None:
                self._update_buffers = [torch.empty_like(before) for before in self._before]
            self.updates = {
                p: torch.sub(p.detach(), before, out=buffer)
                for (_, p), before, buffer in zip(
                    self.parameters, self._before, self._update_buffers, strict=True
                )
            }
            self.ledgers = self._predictions(optimizer)
        self._before = None
        self.armed = False
        self._updated_at = self._steps
        self.hook_seconds += time.perf_counter() - started

    def snapshot(self, optimizer: torch.optim.Optimizer) -> Snapshot:
        # An update from an earlier step is not this step's: leave it out rather than mislabel it.
        fresh = self._updated_at == self._steps
        with torch.no_grad():
            updates = self.updates if fresh else {}
            if not fresh and self._shadow_at == self._steps:
                # the latest step() ran unarmed: its update is the parameters minus the copy
                updates = {
                    p: p.detach() - before
                    for (_, p), before in zip(self.parameters, self._shadow, strict=True)
                }
            self.shown_updates = updates
            return build_snapshot(
                self.parameters, optimizer, updates, self.ledgers if fresh else {}, self._scratch
            )

    def _predictions(
        self, optimizer: torch.optim.Optimizer
    ) -> dict[nn.Parameter, tuple[torch.Tensor, list[list[LedgerLine]]]]:
        """What the ledger predicted for every parameter (and, when explaining, each element's
        rule with its numbers) from what was known before this step."""
        name = LEDGER_NAMES.get(type(optimizer))
        known, self._known = self._known, None
        if name is None or known is None or self._before is None:
            return {}
        found = {}
        for (_, p), before, (group, grad, state, sampled) in zip(
            self.parameters, self._before, known, strict=True
        ):
            if sampled is not None:
                before = sampled  # a large tensor: the ledger replays its sampled elements only
            if grad is None:
                continue  # step() skips a parameter without a gradient; so does the ledger
            if group.get("maximize", False):
                continue  # maximize=True negates the gradient, which no written rule does
            explained = self.explain and p.numel() <= LEDGER_ELEMENTS
            elements = range(p.numel()) if explained else [None]
            ledgers = [
                predict(
                    optimizer=name, group=group, value=before, grad=grad, state=state, element=i
                )
                for i in elements
            ]
            found[p] = (
                ledgers[0].predicted,
                [ledger.lines for ledger in ledgers] if explained else [],
            )
        return found


# A parameter's param_group, gradient and state before step(), and, for a sampled tensor, its
# sampled elements' values (the gradient and state then hold those elements only).
Known = tuple[dict[str, Any], torch.Tensor | None, dict[str, Any], torch.Tensor | None]


def _known_before_step(
    optimizer: torch.optim.Optimizer, parameters: list[tuple[str, nn.Parameter]]
) -> list[Known]:
    """Each parameter's param_group, gradient and optimizer state, copied before step() runs.

    A tensor of more than VIEW_LIMIT elements is shown by its VIEW_LIMIT sampled elements, so only
    those are copied and predicted: every update rule is elementwise, so the prediction of an
    element does not depend on the others, and the cost stays fixed at any size."""
    groups = {p: group for group in optimizer.param_groups for p in group["params"]}
    known: list[Known] = []
    for _, p in parameters:
        group = {k: v for k, v in groups.get(p, {}).items() if k != "params"}
        numel = p.numel()
        indices = sample_indices(numel, p.device) if numel > VIEW_LIMIT else None
        state = {
            k: _copied(v, p.shape, indices) if isinstance(v, torch.Tensor) else v
            for k, v in optimizer.state.get(p, {}).items()
        }
        grad = None if p.grad is None else _copied(p.grad, p.shape, indices)
        known.append(
            (group, grad, state, None if indices is None else _copied(p, p.shape, indices))
        )
    return known


def _copied(t: torch.Tensor, shape: torch.Size, indices: torch.Tensor | None) -> torch.Tensor:
    """A copy of `t`, or of its sampled elements when it is shaped like a sampled parameter."""
    if indices is not None and t.shape == shape:
        return t.detach().reshape(-1)[indices]  # indexing copies
    return t.detach().clone()


def _per_element_fields(
    param: nn.Parameter, optimizer: torch.optim.Optimizer, update: torch.Tensor | None
) -> tuple[dict[str, torch.Tensor | None], dict[str, torch.Tensor]]:
    """The tensors shaped like the parameter (value, grad, update, state) and its scalar state."""
    fields: dict[str, torch.Tensor | None] = {
        "value": param.detach(),
        "grad": None if param.grad is None else param.grad.detach(),
        "update": update,
    }
    scalars: dict[str, torch.Tensor] = {}
    for key, state in optimizer.state.get(param, {}).items():
        if state is None:  # e.g. SGD's momentum_buffer before momentum is used
            continue
        if not isinstance(state, torch.Tensor):
            scalars[key] = torch.tensor(float(state))
        elif state.shape == param.shape:
            fields[f"state.{key}"] = state.detach()
        elif state.numel() == 1:
            scalars[key] = state.detach()
    return fields, scalars


def build_snapshot(
    parameters: list[tuple[str, nn.Parameter]],
    optimizer: torch.optim.Optimizer,
    updates: dict[nn.Parameter, torch.Tensor],
    ledgers: dict[nn.Parameter, tuple[torch.Tensor, list[list[LedgerLine]]]] | None = None,
    scratch: Scratch | None = None,
) -> Snapshot:
    # Gather every number on the device first: one concatenation, one copy to the host.
    # The data block holds views and histograms only, so every float in it is under one of them.
    # Statistics and scalar state ride along in `extra`, after it, to cross to the host in the same
    # copy, and are cut off before the block is sent: they travel in the header.
    pieces: list[torch.Tensor] = []
    extra: list[torch.Tensor] = []
    offset = extra_offset = 0

    def place(values: torch.Tensor) -> tuple[int, int]:
        nonlocal offset
        flat = values.reshape(-1).to(torch.float32)
        pieces.append(flat)
        start, offset = offset, offset + flat.numel()
        return start, flat.numel()

    def place_extra(values: torch.Tensor) -> int:
        nonlocal extra_offset
        flat = values.reshape(-1).to(torch.float32)
        extra.append(flat)
        start, extra_offset = extra_offset, extra_offset + flat.numel()
        return start

    entries: list[dict[str, Any]] = []
    jobs: list[tuple[dict[str, Any], torch.Tensor, bool]] = []  # (record, flat, sampled)
    # (record, where its numbers start in `extra`, its (min, max) when it holds no NaN or Inf)
    stat_slots: list[tuple[dict[str, Any], int, tuple[float, float] | None]] = []
    scalar_slots: list[tuple[dict[str, float], str, int]] = []
    for name, param in parameters:
        fields, scalars = _per_element_fields(param, optimizer, updates.get(param))
        ledger = (ledgers or {}).get(param)
        if ledger is not None:
            fields["predicted"] = ledger[0]  # the ledger's value for after step(), to compare
        sampled = param.numel() > VIEW_LIMIT
        records: dict[str, dict[str, Any] | None] = {}
        for field, tensor in fields.items():
            if tensor is None:
                records[field] = None
                continue
            record: dict[str, Any] = {"histogram": None}
            jobs.append((record, tensor.reshape(-1).to(torch.float32), sampled))
            records[field] = record
        state_scalars: dict[str, float] = {}
        for key, value in scalars.items():
            scalar_slots.append((state_scalars, key, place_extra(value)))
        lines = [] if ledger is None else ledger[1]
        entries.append(
            {
                "name": name,
                "shape": list(param.shape),
                "numel": param.numel(),
                "sampled": sampled,
                "fields": records,  # made into FieldData below, once the numbers are on the host
                "state_scalars": state_scalars,
                "ledger": [
                    [
                        LineView.model_construct(
                            symbolic=ln.symbolic, numeric=ln.numeric, value=ln.value
                        )
                        for ln in element
                    ]
                    for element in lines
                ],
            }
        )

    # Every field's min and max first, so that its statistics can skip the masks for non-finite
    # elements when it has none (nearly always). On a GPU in one round trip for all fields; on a
    # CPU, where a host read is free, just before the field's sweep, which then reads it from the
    # cache rather than from memory (and so do its 4096 samples, taken after it).
    scratch = scratch or Scratch()
    flats = [flat for _, flat, _ in jobs]
    on_cpu = all(flat.device.type == "cpu" for flat in flats)
    # (a tensor that fits in one chunk stays in the cache anyway: those go in one round trip)
    early = [i for i, flat in enumerate(flats) if not on_cpu or flat.numel() <= CHUNK]
    found = dict(zip(early, bounds_of([flats[i] for i in early]), strict=True))
    for index, (record, flat, sampled) in enumerate(jobs):
        bounds = found[index] if index in found else bounds_of([flat])[0]
        if math.isfinite(bounds[0]) and math.isfinite(bounds[1]):
            # min and max are on the host already; mean, std and norm follow in `extra`
            moments, counts = summarize(flat, *bounds, scratch, binned=sampled)
            record["view"] = place(view_of(flat))
            stat_slots.append((record, place_extra(moments), bounds))
            if counts is not None:
                record["histogram"] = place(counts)
            continue
        record["view"] = place(view_of(flat))
        stats = tensor_stats(flat, bounds, scratch)
        stat_slots.append((record, place_extra(stats), None))
        if sampled:
            record["histogram"] = place(histogram(flat, stats, scratch))

    # note: on a GPU this and bounds_of are the snapshot's device-to-host sync points (and
    # histogram's, once per sampled field holding a NaN or Inf)
    everything = pieces + extra
    host = torch.cat(everything).cpu().numpy() if everything else torch.empty(0).numpy()
    data, extras = host[:offset], host[offset:]
    for record, start, finite_bounds in stat_slots:
        if finite_bounds is None:
            values = extras[start : start + len(STAT_NAMES)].tolist()
        else:
            mean, std, norm = extras[start : start + 3].tolist()
            values = [mean, std, *finite_bounds, norm, 0, 0]
        named = dict(zip(STAT_NAMES, values, strict=True))
        # counts are whole numbers; they travel as float32 with the rest, and leave as integers
        named["nan"], named["inf"] = int(named["nan"]), int(named["inf"])
        record["stats"] = Stats.model_construct(**named)
    for target, key, start in scalar_slots:
        target[key] = float(extras[start])
    tensors = [
        TensorView.model_construct(
            **{
                **entry,
                "fields": {
                    field: None if record is None else FieldData.model_construct(**record)
                    for field, record in entry["fields"].items()
                },
            }
        )
        for entry in entries
    ]
    return Snapshot(tensors=tensors, data=data.tobytes())
