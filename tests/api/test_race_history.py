"""The racers' series survive a reload: the history replay and the export carry what went live."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Stream, new_run, step_n

STEPS = 6


def test_race_series_replay_from_the_history(client: TestClient) -> None:
    run_id = new_run(
        client,
        experiment="surface-2d",
        optimizer={"name": "sgd", "lr": 0.05},
        race=[{"name": "adam", "lr": 0.05}, {"name": "rmsprop", "lr": 0.01}],
    )
    live: dict[str, list[list[float]]] = {}
    path: list[tuple[float, float]] = []
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, STEPS)
        for message in stream.events:
            if message["type"] == "scalars" and not message["history"]:
                path += list(zip(message["path"]["w"], message["path"]["b"], strict=True))
                for series in message["race"]:
                    rows = live.setdefault(series["name"], [])
                    rows += list(zip(series["loss"], series["w"], series["b"], strict=True))
    assert list(live) == ["Adam", "RMSprop"] and all(len(r) == STEPS for r in live.values())

    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        replay = Stream(ws)
        replay.next()  # hello
        history = replay.next()
    assert history["history"] is True and len(history["loss"]) == STEPS
    replayed = {
        s["name"]: list(zip(s["loss"], s["w"], s["b"], strict=True)) for s in history["race"]
    }
    assert replayed == live
    assert len(path) == STEPS
    assert list(zip(history["path"]["w"], history["path"]["b"], strict=True)) == path

    exported = client.get(f"/api/runs/{run_id}/scalars").json()
    assert {
        s["name"]: list(zip(s["loss"], s["w"], s["b"], strict=True)) for s in exported["race"]
    } == live
    assert list(zip(exported["path"]["w"], exported["path"]["b"], strict=True)) == path
    surface = client.get(f"/api/runs/{run_id}/surface").json()
    assert surface["start"] == [-0.5, 1.5]  # where every trail begins: y = −0.5·x + 1.5
