"""The hub: one encoding for every subscriber, bounded queues, never waiting on a slow client."""

from __future__ import annotations

import asyncio
import json

from app.stream.hub import MERGE_LIMIT, Frame, FrameKind, Hub, Subscriber


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


def scalars(first: int, losses: list[float], t1: float, **more: object) -> Frame:
    body = {"v": 1, "type": "scalars", "first_step": first, "loss": losses, "t0": t1 - 0.04}
    body |= {"t1": t1, "history": False, "race": None, "path": None, **more}
    return Frame(FrameKind.SCALARS, json.dumps(body), first, first + len(losses) - 1)


def test_a_pending_snapshot_keeps_its_place_in_the_order() -> None:
    async def scenario() -> None:
        subscriber = Subscriber(limit=10)
        before, shot, after = event("before"), snapshot(1), event("after")
        for frame in (before, shot, after):
            subscriber.offer(frame)
        assert [await subscriber.next() for _ in range(3)] == [before, shot, after]

    asyncio.run(scenario())


def test_a_viewer_behind_gets_its_scalars_joined_in_one_message() -> None:
    async def scenario() -> None:
        hub = Hub()
        behind, also_behind = hub.subscribe("run"), hub.subscribe("run")
        frames = [scalars(1, [1.0, 0.9], 100.0), scalars(3, [0.8], 100.05)]
        frames.append(scalars(4, [0.7, "NaN"], 100.1))  # type: ignore[list-item]
        for frame in frames:
            hub.publish("run", frame)
        joined = await behind.next()
        assert joined is not None and joined.kind is FrameKind.SCALARS
        assert (joined.first_step, joined.last_step) == (1, 5)
        body = json.loads(joined.payload)
        assert body["first_step"] == 1 and body["loss"] == [1.0, 0.9, 0.8, 0.7, "NaN"]
        assert body["t0"] == 100.0 - 0.04 and body["t1"] == 100.1  # the newest step's send time
        assert body["history"] is False and body["v"] == 1
        assert len(behind) == 0
        assert await also_behind.next() is joined  # the same frames: encoded once for both

    asyncio.run(scenario())


def test_scalars_are_joined_only_where_nothing_else_comes_between() -> None:
    async def scenario() -> None:
        subscriber = Subscriber(limit=100)
        a, b = scalars(1, [1.0], 1.0), scalars(2, [2.0], 2.0)
        alert, c = event("alert"), scalars(3, [3.0], 3.0)
        gap = scalars(9, [9.0], 9.0)  # a step missing between: the sender fills it from history
        shot, d, e = snapshot(9), scalars(10, [10.0], 10.0), scalars(11, [11.0], 11.0)
        for frame in (a, b, alert, c, gap, shot, d, e):
            subscriber.offer(frame)
        got = [await subscriber.next() for _ in range(6)]
        assert got[0] is not None and (got[0].first_step, got[0].last_step) == (1, 2)
        assert got[1:5] == [alert, c, gap, shot]  # none joined across an event, gap or snapshot
        assert got[5] is not None and (got[5].first_step, got[5].last_step) == (10, 11)
        # a race or a surface path is sent as it came
        racing = Subscriber(limit=100)
        raced = [scalars(1, [1.0], 1.0, race=[]), scalars(2, [2.0], 2.0)]
        for frame in raced:
            racing.offer(frame)
        assert [await racing.next(), await racing.next()] == raced
        # and at most MERGE_LIMIT frames go in one message
        long = Subscriber(limit=1000)
        for step in range(1, MERGE_LIMIT + 3):
            long.offer(scalars(step, [float(step)], float(step)))
        first = await long.next()
        assert first is not None and first.last_step == MERGE_LIMIT
        rest = await long.next()
        assert rest is not None and (rest.first_step, rest.last_step) == (
            MERGE_LIMIT + 1,
            MERGE_LIMIT + 2,
        )

    asyncio.run(scenario())


def test_a_room_gets_its_frames_once_a_tick_coalesced_and_the_same_for_all() -> None:
    async def scenario() -> None:
        hub = Hub(room_size=2, room_tick=0.05)
        one, two = hub.subscribe("run"), hub.subscribe("run")
        old, new, alert = snapshot(1), snapshot(3), event("alert")
        for frame in (old, scalars(1, [1.0, 0.9], 1.0), scalars(3, [0.8], 2.0), new, alert):
            hub.publish("run", frame)
        assert len(one) == 0 and len(two) == 0  # held until the tick ends
        await asyncio.sleep(0.1)
        got = [await one.next() for _ in range(3)]
        assert len(one) == 0  # the older snapshot was never sent
        assert got[0] is not None and (got[0].first_step, got[0].last_step) == (1, 3)
        assert json.loads(got[0].payload)["loss"] == [1.0, 0.9, 0.8]
        assert got[1:] == [new, alert]
        assert [await two.next() for _ in range(3)] == got  # the very same frames: encoded once

    asyncio.run(scenario())


def test_fewer_than_a_room_get_every_frame_at_once_and_in_order() -> None:
    async def scenario() -> None:
        hub = Hub(room_size=3, room_tick=0.05)
        one, two = hub.subscribe("run"), hub.subscribe("run")
        first = event("first")
        hub.publish("run", first)
        assert one.frames == [first] and two.frames == [first]  # no tick for two viewers
        three = hub.subscribe("run")
        held, later = event("held"), event("later")
        hub.publish("run", held)
        assert len(three) == 0
        hub.unsubscribe("run", three)  # the room shrinks while a tick is under way...
        hub.publish("run", later)  # ...and what follows still waits behind it
        assert one.frames == [first]
        await asyncio.sleep(0.1)
        assert one.frames == [first, held, later] and two.frames == [first, held, later]

    asyncio.run(scenario())


def test_a_larger_room_waits_longer_ticks_so_the_sends_stay_bounded() -> None:
    async def scenario() -> None:
        # 4 viewers at 20 messages a second at most: ticks of 4 / 20 = 0.2 s, not 0.05 s
        hub = Hub(room_size=2, room_tick=0.05, room_rate=20.0)
        room = [hub.subscribe("run") for _ in range(4)]
        hub.publish("run", event("update"))
        await asyncio.sleep(0.12)
        assert all(len(viewer) == 0 for viewer in room)  # a 0.05 s tick would have ended
        await asyncio.sleep(0.2)
        assert all(len(viewer) == 1 for viewer in room)

    asyncio.run(scenario())
