"""The outbox never blocks and drops only what it may; scalars become messages exactly."""

from __future__ import annotations

import torch

from stepscope.link import FRAMES_PENDING, TEXTS_PENDING, Outbox, Row, Scalars, scalars_messages


def test_a_full_outbox_drops_frames_and_refuses_scalars_but_never_essentials() -> None:
    outbox = Outbox()
    assert all(outbox.put_frame(b"f") for _ in range(FRAMES_PENDING))
    assert not outbox.put_frame(b"dropped")
    assert outbox.put_frame(b"held", essential=True)  # a paused loop's snapshot
    batch = Scalars([Row(1, {"loss": 1.0})], 0.0)
    assert all(outbox.put_scalars(batch) for _ in range(TEXTS_PENDING))
    assert not outbox.put_scalars(batch)
    assert outbox.put_scalars(batch, essential=True)
    assert outbox.put_text("ack")
    taken = [outbox.take(0.0) for _ in range(FRAMES_PENDING + TEXTS_PENDING + 3)]
    assert taken[FRAMES_PENDING] == b"held" and taken[-1] == "ack"  # in the order put
    assert outbox.take(0.0) is None
    outbox.close()
    assert not outbox.put_text("late") and not outbox.put_frame(b"late", essential=True)


def test_scalars_split_into_contiguous_losses_and_logged_names() -> None:
    rows = [
        Row(1, {"loss": torch.tensor(0.5), "acc": 0.25}),
        Row(2, {"loss": torch.tensor(float("nan"))}),
        Row(3, {"acc": torch.tensor(0.75, dtype=torch.float64)}),  # no loss: the run breaks
        Row(4, {"loss": torch.tensor(0.125)}),
        Row(6, {"loss": 1.5, "acc": 1.0}),  # a gap of one step
    ]
    messages = scalars_messages(Scalars(rows, t0=10.0), sent_at=11.0)
    batches = [m for m in messages if m.kind == "scalars"]
    assert [(b.first_step, b.t0, b.t1) for b in batches] == [
        (1, 10.0, 11.0),
        (4, 10.0, 11.0),
        (6, 10.0, 11.0),
    ]
    assert batches[0].loss[0] == 0.5 and batches[0].loss[1] != batches[0].loss[1]  # NaN is data
    assert [b.loss for b in batches[1:]] == [[0.125], [1.5]]
    logged = [m for m in messages if m.kind == "logged"]
    assert [(m.first_step, m.values) for m in logged] == [
        (1, {"acc": [0.25, None, 0.75, None]}),
        (6, {"acc": [1.0]}),
    ]


def test_a_nan_loss_travels_as_data() -> None:
    from pydantic import TypeAdapter

    from app.contract.attach import ScriptMessage
    from app.stream.protocol import to_json

    rows = [Row(1, {"loss": torch.tensor(float("nan")), "acc": float("inf")})]
    sent = [to_json(m) for m in scalars_messages(Scalars(rows, t0=1.0), sent_at=2.0)]
    read = [TypeAdapter(ScriptMessage).validate_json(text) for text in sent]
    assert read[0].loss[0] != read[0].loss[0]  # NaN, as the server reads it
    assert read[1].values == {"acc": [float("inf")]}
