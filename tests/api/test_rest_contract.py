"""The REST API as docs/protocol.md states it: refused settings name their field, a command in the
wrong state keeps its reason, non-finite numbers are written as on the stream, and every response
is typed in the OpenAPI schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Stream, new_run


def refuse(constant: str) -> Any:
    raise AssertionError(f"{constant} is not JSON")


def strict(text: str) -> Any:
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    ("route", "body", "field", "words"),
    [
        ("optimizer", {"name": "sgd", "lr": -1}, "lr", "greater than 0"),
        ("optimizer", {"name": "sgd", "lr": 1e9}, "lr", "less than or equal to 10"),
        ("optimizer", {"name": "sgd", "lr": "fast"}, "lr", "valid number"),
        ("optimizer", {"name": "sgd", "lr": ""}, "lr", "valid number"),
        ("optimizer", {"name": "sgd", "lr": None}, "lr", "valid number"),
        ("optimizer", {"name": "sgd", "lr": 0.1, "nesterov": True}, "nesterov", "momentum > 0"),
        ("optimizer", {"name": "adam", "beta1": 1}, "beta1", "less than 1"),
        ("pace", {"steps_per_second": -1}, "steps_per_second", "greater than 0"),
        ("teaching", {"accumulate": 0}, "accumulate", "greater than or equal to 1"),
    ],
)
def test_a_refused_setting_names_its_field(
    client: TestClient, route: str, body: dict[str, Any], field: str, words: str
) -> None:
    response = client.put(f"/api/runs/any/{route}", json=body)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == field
    assert words in problem["msg"] and not problem["msg"].startswith("Value error")
    assert problem["loc"][-1] in (field, "sgd")
    assert set(problem) == {"loc", "field", "msg", "type"}


def test_a_refused_new_run_names_its_field(client: TestClient) -> None:
    response = client.post(
        "/api/runs", json={"batch_size": 0, "optimizer": {"name": "adam", "eps": 0}}
    )
    assert response.status_code == 422
    assert {p["field"] for p in response.json()["detail"]} == {"batch_size", "eps"}


def test_a_command_in_the_wrong_state_keeps_its_reason(client: TestClient) -> None:
    run_id = new_run(client)
    response = client.post(f"/api/runs/{run_id}/commands/pause")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "cannot pause a run that is idle; pause needs one of: running"
    }


def test_rest_writes_non_finite_numbers_as_the_stream_does(client: TestClient) -> None:
    run_id = new_run(client, optimizer={"name": "sgd", "lr": 10, "momentum": 0.9})
    # the NaN/Inf alert would pause it at the first Inf (tests/api/test_alerts.py)
    client.put(f"/api/runs/{run_id}/alerts", json={"nonfinite": False})
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        client.post(f"/api/runs/{run_id}/commands/start")
        stream.until(lambda m: m["type"] == "scalars" and "NaN" in m["loss"])
        client.post(f"/api/runs/{run_id}/commands/pause")
        stream.acknowledged("pause")
    run = strict(client.get(f"/api/runs/{run_id}").text)
    assert run["loss"] == "NaN"
    assert strict(client.get("/api/runs").text)[0]["loss"] == "NaN"
    exported = strict(client.get(f"/api/runs/{run_id}/scalars").text)
    assert exported["run"]["loss"] == "NaN"
    assert None not in exported["loss"]
    assert {"Infinity", "NaN"} <= set(exported["loss"])
    streamed = [stream.losses[step] for step in sorted(stream.losses)]
    assert [float(x) for x in exported["loss"]] == pytest.approx(streamed, nan_ok=True)


def test_every_rest_response_is_typed_in_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    untyped = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            for code, response in operation["responses"].items():
                if not code.startswith("2") or code == "204":  # 204: no body (a DELETE)
                    continue
                content = response.get("content", {}).get("application/json", {})
                body = content.get("schema", {})
                if not ("$ref" in body or "$ref" in body.get("items", {})):
                    untyped.append(f"{method.upper()} {path} {code}: {body}")
    assert untyped == []
    scalars = schema["paths"]["/api/runs/{run_id}/scalars"]["get"]["responses"]["200"]
    assert scalars["content"]["application/json"]["schema"]["$ref"].endswith("/ScalarsExport")


def test_error_bodies_are_typed_in_openapi_and_match(client: TestClient) -> None:
    from app.contract.rest import Problem, RefusedInput

    schema = client.get("/openapi.json").json()
    put = schema["paths"]["/api/runs/{run_id}/optimizer"]["put"]["responses"]
    refs = {code: put[code]["content"]["application/json"]["schema"]["$ref"] for code in put}
    assert refs["409"].endswith("/Problem") and refs["404"].endswith("/Problem")
    assert refs["422"].endswith("/RefusedInput")
    RefusedInput.model_validate(client.put("/api/runs/x/pace", json={"steps_per_second": 0}).json())
    Problem.model_validate(client.get("/api/runs/nope").json())
