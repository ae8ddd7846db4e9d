"""Fan-out of frames to every browser watching a run, never waiting for a slow one.

Each frame is encoded once; the same bytes go to every subscriber. A subscriber has a bounded queue:
a newer snapshot replaces one still waiting (the newest state wins), and a queue that overflows is
emptied and marked for a resync, which the sender answers from the run's history, so scalars are
never lost. Publishing is synchronous and O(subscribers): it cannot block the training relay.
"""

from __future__ import annotations

import asyncio
import enum
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass


class FrameKind(enum.StrEnum):
    EVENT = "event"
    SCALARS = "scalars"
    SNAPSHOT = "snapshot"


@dataclass(frozen=True)
class Frame:
    kind: FrameKind
    payload: str | bytes
    first_step: int = 0  # for scalars: the steps this frame carries
    last_step: int = 0
    resets: bool = False  # the run went back to step 0


class Subscriber:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.frames: deque[Frame] = deque()
        self.resync = False  # the queue overflowed: the sender must resend from history
        self.closed = False
        self.on_close: Callable[[], None] | None = None  # e.g. leave the hub
        self._wakeup = asyncio.Event()

    def offer(self, frame: Frame) -> None:
        if frame.kind is FrameKind.SNAPSHOT:
            stale = next((f for f in self.frames if f.kind is FrameKind.SNAPSHOT), None)
            if stale is not None:
                self.frames.remove(stale)
        if len(self.frames) >= self.limit:
            self.frames.clear()
            self.resync = True
        else:
            self.frames.append(frame)
        self._wakeup.set()

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()
        if self.on_close is not None:
            self.on_close()

    async def next(self) -> Frame | None:
        """The next frame, or None when a resync is due or the subscriber was closed."""
        while not self.frames and not self.resync and not self.closed:
            self._wakeup.clear()
            await self._wakeup.wait()
        if self.resync or self.closed:
            return None
        return self.frames.popleft()


class Hub:
    def __init__(self, queue_limit: int = 256) -> None:
        self.queue_limit = queue_limit
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)

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
        for subscriber in self._subscribers.get(run_id, ()):
            subscriber.offer(frame)

    def count(self, run_id: str | None = None) -> int:
        if run_id is not None:
            return len(self._subscribers.get(run_id, ()))
        return sum(len(subscribers) for subscribers in self._subscribers.values())

    def close_all(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):  # closing may unsubscribe it
                subscriber.close()
