"""The hub: one encoding for every subscriber, bounded queues, never waiting on a slow client."""

from __future__ import annotations

import asyncio

from app.stream.hub import Frame, FrameKind, Hub, Subscriber


def event(text: str) -> Frame:
    return Frame(FrameKind.EVENT, text)


def snapshot(step: int) -> Frame:
    return Frame(FrameKind.SNAPSHOT, f"snapshot {step}".encode())


def pending(subscriber: Subscriber) -> list[Frame]:
    return list(subscriber.frames)


def test_publish_reaches_every_subscriber_with_the_same_bytes() -> None:
    async def scenario() -> None:
        hub = Hub()
        a, b = hub.subscribe("run"), hub.subscribe("run")
        other = hub.subscribe("other")
        frame = snapshot(1)
        hub.publish("run", frame)
        got_a, got_b = await a.next(), await b.next()
        assert got_a is frame and got_b is frame
        assert got_a.payload is got_b.payload  # encoded once
        assert pending(other) == []
        hub.publish("nobody", event("x"))  # a run nobody watches: nothing happens

    asyncio.run(scenario())


def test_frames_arrive_in_order_and_wake_a_waiting_reader() -> None:
    async def scenario() -> None:
        hub = Hub()
        subscriber = hub.subscribe("run")
        reader = asyncio.create_task(subscriber.next())
        await asyncio.sleep(0)
        assert not reader.done()  # nothing to read: it waits
        first, second = event("1"), event("2")
        hub.publish("run", first)
        hub.publish("run", second)
        assert await asyncio.wait_for(reader, 1.0) is first
        assert await subscriber.next() is second

    asyncio.run(scenario())


def test_a_newer_snapshot_replaces_a_pending_one() -> None:
    subscriber = Subscriber(limit=10)
    old, scalars, new = snapshot(1), Frame(FrameKind.SCALARS, "s", 1, 2), snapshot(2)
    before = event("before")
    for frame in (before, old, scalars, new):
        subscriber.offer(frame)
    assert pending(subscriber) == [before, scalars, new]
    assert not subscriber.resync


def test_overflow_empties_the_queue_and_asks_for_a_resync() -> None:
    async def scenario() -> None:
        subscriber = Subscriber(limit=3)
        for i in range(3):
            subscriber.offer(event(str(i)))
        assert len(subscriber.frames) == 3 and not subscriber.resync
        subscriber.offer(event("overflow"))
        assert pending(subscriber) == [] and subscriber.resync
        assert await subscriber.next() is None  # the sender resends from history...
        assert await subscriber.next() is None  # ...and keeps being told until it does
        subscriber.resync = False
        later = event("later")
        subscriber.offer(later)
        assert await subscriber.next() is later

    asyncio.run(scenario())


def test_a_snapshot_never_overflows_a_queue_holding_one() -> None:
    subscriber = Subscriber(limit=1)
    for step in range(5):
        subscriber.offer(snapshot(step))
    assert not subscriber.resync
    assert [frame.payload for frame in subscriber.frames] == [b"snapshot 4"]


def test_close_ends_a_waiting_reader() -> None:
    async def scenario() -> None:
        hub = Hub()
        subscriber = hub.subscribe("run")
        reader = asyncio.create_task(subscriber.next())
        await asyncio.sleep(0)
        hub.close_all()
        assert await asyncio.wait_for(reader, 1.0) is None
        assert subscriber.closed
        hub.publish("run", event("after"))
        assert await subscriber.next() is None

    asyncio.run(scenario())


def test_subscribe_unsubscribe_and_count() -> None:
    hub = Hub(queue_limit=7)
    assert hub.count() == 0 and hub.count("run") == 0
    a, b = hub.subscribe("run"), hub.subscribe("run")
    c = hub.subscribe("other")
    assert a.limit == 7
    assert hub.count("run") == 2 and hub.count("other") == 1 and hub.count() == 3
    hub.unsubscribe("run", a)
    hub.unsubscribe("run", a)  # twice is harmless
    hub.unsubscribe("nowhere", c)  # so is an unknown run
    assert hub.count("run") == 1 and hub.count() == 2
    hub.publish("run", event("x"))
    assert pending(a) == [] and len(b.frames) == 1
    hub.unsubscribe("run", b)
    hub.unsubscribe("other", c)
    assert hub.count() == 0 and hub.count("run") == 0
