"""Fan-out of frames to every browser watching a run, never waiting for a slow one.

Each frame is encoded once; the same bytes go to every subscriber. A subscriber has a bounded queue:
a newer snapshot replaces one still waiting (the newest state wins), and a queue that overflows is
emptied and marked for a resync, which the sender answers from the run's history, so scalars are
never lost. Publishing is synchronous and O(subscribers), O(1) for each whatever its backlog (a
room of 500 viewers, some behind, is offered every frame): it cannot block the training relay.

A subscriber that has fallen behind by several consecutive scalars frames is handed them as one
message (the steps joined, `t1` of the newest): a busy server sends fewer, larger messages rather
than falling further behind, and viewers behind by the same frames share one encoding (cached).
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MERGE_LIMIT = 64  # scalars frames joined into one message at most (64 × 50 ms of steps)


class FrameKind(enum.StrEnum):
    EVENT = "event"
    SCALARS = "scalars"
    SNAPSHOT = "snapshot"


# eq=False: frames are compared by identity; one published frame is one object for every subscriber
# (comparing payloads, as a dataclass would, costs a memcmp of a snapshot per comparison)
@dataclass(frozen=True, eq=False)
class Frame:
    kind: FrameKind
    payload: str | bytes
    first_step: int = 0  # for scalars: the steps this frame carries
    last_step: int = 0
    resets: bool = False  # the run went back to step 0


class Subscriber:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        # Frames other than snapshots, in order, each with its place in the order of offers; the
        # one pending snapshot waits beside them with its own place, so that a newer one replaces
        # it in O(1) and still goes out after every frame offered before it.
        self._queue: deque[tuple[int, Frame]] = deque()
        self._snapshot: tuple[int, Frame] | None = None
        self._offered = 0
        self.resync = False  # the queue overflowed: the sender must resend from history
        self.closed = False
        self.on_close: Callable[[], None] | None = None  # e.g. leave the hub
        self._wakeup = asyncio.Event()

    @property
    def frames(self) -> list[Frame]:
        """The frames waiting, in the order they will be sent."""
        waiting = list(self._queue)
        if self._snapshot is not None:
            waiting.append(self._snapshot)
            waiting.sort(key=lambda entry: entry[0])
        return [frame for _, frame in waiting]

    def __len__(self) -> int:
        return len(self._queue) + (self._snapshot is not None)

    def offer(self, frame: Frame) -> None:
        if frame.kind is FrameKind.SNAPSHOT:
            self._snapshot = None  # the newest state wins
        if len(self) >= self.limit:
            self._queue.clear()
            self._snapshot = None
            self.resync = True
        else:
            self._offered += 1
            if frame.kind is FrameKind.SNAPSHOT:
                self._snapshot = (self._offered, frame)
            else:
                self._queue.append((self._offered, frame))
        self._wakeup.set()

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()
        if self.on_close is not None:
            self.on_close()

    async def next(self) -> Frame | None:
        """The next frame, or None when a resync is due or the subscriber was closed."""
        while not len(self) and not self.resync and not self.closed:
            self._wakeup.clear()
            await self._wakeup.wait()
        if self.resync or self.closed:
            return None
        snapshot = self._snapshot
        if snapshot is not None and (not self._queue or snapshot[0] < self._queue[0][0]):
            self._snapshot = None
            return snapshot[1]
        return self._take_scalars() or self._queue.popleft()[1]

    def _take_scalars(self) -> Frame | None:
        """The consecutive scalars frames at the head of the queue (offered before the pending
        snapshot, each going on from the last's step) as one frame; None when there are fewer
        than two or they cannot be joined."""
        before = self._snapshot[0] if self._snapshot is not None else None
        run: list[Frame] = []
        for seq, frame in self._queue:
            if len(run) == MERGE_LIMIT or (before is not None and seq > before):
                break
            if frame.kind is not FrameKind.SCALARS or frame.resets:
                break
            if run and frame.first_step != run[-1].last_step + 1:
                break
            run.append(frame)
        if len(run) < 2:
            return None
        merged = joined(tuple(run))
        if merged is None:
            return None
        for _ in run:
            self._queue.popleft()
        return merged


@lru_cache(maxsize=32)
def joined(frames: tuple[Frame, ...]) -> Frame | None:
    """One scalars frame holding the steps of consecutive ones, encoded once for every subscriber
    behind by the same frames (frames hash by identity, and the cache keeps them alive); None when
    one carries more than the loss (a race or a surface path), which is sent as it came."""
    events: list[dict[str, Any]] = [json.loads(frame.payload) for frame in frames]
    if any(event.get("race") is not None or event.get("path") is not None for event in events):
        return None
    merged = {**events[0], "loss": [loss for event in events for loss in event["loss"]]}
    merged["t1"] = events[-1]["t1"]  # when the newest of its steps left the worker
    payload = json.dumps(merged, separators=(",", ":"), allow_nan=False)
    return Frame(
        FrameKind.SCALARS, payload, first_step=frames[0].first_step, last_step=frames[-1].last_step
    )


def coalesced(frames: list[Frame]) -> list[Frame]:
    """A room's frames of one tick as few as they can be: the newest snapshot only (in its place),
    and each run of consecutive scalars joined into one."""
    last = max((i for i, f in enumerate(frames) if f.kind is FrameKind.SNAPSHOT), default=-1)
    kept = [f for i, f in enumerate(frames) if f.kind is not FrameKind.SNAPSHOT or i == last]
    out: list[Frame] = []
    run: list[Frame] = []
    for frame in [*kept, None]:
        if (
            frame is not None
            and frame.kind is FrameKind.SCALARS
            and not frame.resets
            and (not run or frame.first_step == run[-1].last_step + 1)
            and len(run) < MERGE_LIMIT
        ):
            run.append(frame)
            continue
        merged = joined(tuple(run)) if len(run) > 1 else None
        out.extend([merged] if merged is not None else run)
        run = []
        if frame is None:
            break
        if frame.kind is FrameKind.SCALARS and not frame.resets:
            run = [frame]
        else:
            out.append(frame)
    return out


class Hub:
    """Frames for each run's subscribers. A room — `room_size` subscribers or more — gets its
    frames in ticks: the frames of a tick coalesced once (the newest snapshot, consecutive scalars
    joined) and offered to all, so the server sends each viewer a few messages a tick however fast
    the run goes; fewer subscribers get every frame at once. A tick is `room_tick` seconds, longer
    for a room so large that one tick's frame for each viewer would exceed `room_rate` a second:
    the server's sends, and so its share of the CPU the training needs, stay bounded whatever the
    room's size, and a larger room waits a little longer for each update instead."""

    def __init__(
        self,
        queue_limit: int = 256,
        room_size: int = 32,
        room_tick: float = 0.1,
        room_rate: float = 2500.0,
    ) -> None:
        self.queue_limit = queue_limit
        self.room_size, self.room_tick, self.room_rate = room_size, room_tick, room_rate
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self._pending: dict[str, list[Frame]] = {}  # a room's frames of the tick under way

    def subscribe(self, run_id: str) -> Subscriber:
        subscriber = Subscriber(self.queue_limit)
        self._subscribers[run_id].add(subscriber)
        return subscriber

    def unsubscribe(self, run_id: str, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(run_id)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[run_id]

    def publish(self, run_id: str, frame: Frame) -> None:
        subscribers = self._subscribers.get(run_id)
        if not subscribers:
            return
        pending = self._pending.get(run_id)
        if pending is not None:
            pending.append(frame)  # the tick under way takes it, in order
        elif len(subscribers) >= self.room_size:
            self._pending[run_id] = [frame]
            tick = max(self.room_tick, len(subscribers) / self.room_rate)
            asyncio.get_running_loop().call_later(tick, self.flush, run_id)
        else:
            for subscriber in subscribers:
                subscriber.offer(frame)

    def flush(self, run_id: str) -> None:
        """The end of a room's tick: its frames, coalesced, to every subscriber."""
        frames = coalesced(self._pending.pop(run_id, []))
        for subscriber in list(self._subscribers.get(run_id, ())):
            for frame in frames:
                subscriber.offer(frame)

    def count(self, run_id: str | None = None) -> int:
        if run_id is not None:
            return len(self._subscribers.get(run_id, ()))
        return sum(len(subscribers) for subscribers in self._subscribers.values())

    def close_all(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):  # closing may unsubscribe it
                subscriber.close()
