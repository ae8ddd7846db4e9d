"""The loss surface and a race of optimizers, in a real browser."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.rest import call, new_run, open_run, run_until, steps
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_race_on_the_loss_surface(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    first_run = page.url
    page.get_by_label("Experiment").select_option("surface-2d")
    expect(page.locator("#surface canvas")).to_be_visible()
    expect(page).not_to_have_url(first_run)
    page.locator("#race-summary").click()
    page.get_by_role("checkbox", name="Adam", exact=True).check()
    expect(page.locator("#race-summary")).to_have_text("Racing: Adam")
    page.get_by_role("checkbox", name="RMSprop", exact=True).check()
    expect(page.locator("#race-summary")).to_have_text("Racing: Adam, RMSprop")
    page.locator("#race-summary").click()
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    for step in range(1, 16):
        page.get_by_role("button", name="Step").click()
        expect(page.get_by_test_id("step")).to_have_text(str(step))
    label = page.locator("#surface canvas").get_attribute("aria-label") or ""
    for name in ("SGD", "Adam", "RMSprop"):
        assert name in label, label
    assert label.startswith("Loss surface of y = w·x + b")
    # all three left the start (w = -0.5, b = 1.5) and are somewhere else on the map now
    assert label.count(" at w = ") == 3 and "w = −0.500, b = 1.50" not in label
    assert "diverged" not in label
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "loss-surface-race.png"))


def arrows(page: Page) -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = json.loads(
        page.locator("#surface canvas").get_attribute("data-arrows") or "[]"
    )
    return value


def trails(page: Page) -> dict[str, int]:
    drawn = json.loads(page.locator("#surface canvas").get_attribute("data-trails") or "[]")
    return {t["name"]: t["points"] for t in drawn}


def test_near_the_minimum_the_gradient_arrow_is_readable_with_its_true_length(
    server: Server, page: Page
) -> None:
    """Close to the minimum −lr·g is a fraction of a pixel: it is drawn at a readable length and
    its true length is written beside it."""
    run_id = new_run(server, {"experiment": "surface-2d", "optimizer": {"name": "sgd", "lr": 0.1}})
    run_until(server, run_id, lambda run: run["step"] >= 400)
    steps(server, run_id, 1)  # a snapshot of one step: the arrows start from the point before it
    open_run(page, server, run_id)
    page.wait_for_function(
        "JSON.parse(document.querySelector('#surface canvas').dataset.arrows || '[]').length > 0"
    )
    [arrow] = arrows(page)
    assert arrow["stretched"] is True, arrow
    # a few thousandths of a unit on a map about 5 units wide: a pixel or less drawn to scale
    # (the batch noise keeps it from vanishing altogether)
    assert 0 < arrow["length"] < 0.05, arrow
    # the arrow and its label are really drawn: pixels of the racer's blue around the marker
    blue: int = page.evaluate(
        """() => {
          const canvas = document.querySelector('#surface canvas');
          const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
          let n = 0;
          for (let i = 0; i < data.length; i += 4)
            if (Math.abs(data[i] - 29) < 30 && Math.abs(data[i + 1] - 78) < 30
                && Math.abs(data[i + 2] - 216) < 30 && data[i + 3] > 200) n++;
          return n;
        }"""
    )
    assert blue > 150, blue
    screenshot(page, "loss-surface-near-minimum")


def test_length_labels_of_racers_that_start_together_never_overlap(
    server: Server, page: Page
) -> None:
    """Racers side by side near the start each have a short, stretched −lr·g arrow; the lengths
    written beside them stack instead of writing over each other."""
    run_id = new_run(
        server,
        {
            "experiment": "surface-2d",
            "optimizer": {"name": "adam", "lr": 0.05},
            "race": [{"name": "muon"}, {"name": "adafactor"}, {"name": "adamax", "lr": 0.05}],
        },
    )
    steps(server, run_id, 3)
    open_run(page, server, run_id)
    page.wait_for_function(
        "JSON.parse(document.querySelector('#surface canvas').dataset.arrows || '[]').length == 4"
    )
    boxes = [a["label"] for a in arrows(page) if a["label"] is not None]
    assert len(boxes) >= 2, arrows(page)  # several labels were written: the case this is about
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["w"] <= b["x"]
                or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"]
                or b["y"] + b["h"] <= a["y"]
            )
            assert apart, (a, b)
    screenshot(page, "loss-surface-labels")


def test_race_trails_survive_a_reload(server: Server, page: Page) -> None:
    run_id = new_run(
        server,
        {
            "experiment": "surface-2d",
            "optimizer": {"name": "sgd", "lr": 0.1},
            "race": [{"name": "adam", "lr": 0.05}, {"name": "rmsprop", "lr": 0.01}],
        },
    )
    steps(server, run_id, 25)
    open_run(page, server, run_id)
    page.wait_for_function(
        "(document.querySelector('#surface canvas').dataset.trails || '').includes('Adam')"
    )
    before = trails(page)
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.wait_for_function(
        "(document.querySelector('#surface canvas').dataset.trails || '').includes('Adam')"
    )
    after = trails(page)
    for name in ("SGD", "Adam", "RMSprop"):
        # every step of the history from the start, not only the last snapshot's point
        assert after[name] >= 26, after
        assert after[name] == before[name], (before, after)
    screenshot(page, "loss-surface-after-reload")


def test_the_race_picker_closes_on_escape(server: Server, page: Page) -> None:
    run_id = new_run(server, {"experiment": "surface-2d"})
    open_run(page, server, run_id)
    summary = page.locator("#race-summary")
    summary.click()
    picker = page.locator("details.race-picker:not(.branch-picker)")
    expect(picker).to_have_attribute("open", "")
    page.get_by_role("checkbox", name="Adam", exact=True).focus()
    page.keyboard.press("Escape")
    expect(picker).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()


def test_a_new_race_keeps_the_runs_data_and_switches(server: Server, page: Page) -> None:
    """Racers change, nothing else: the batch size, seed, noise, teaching switches and speed a
    learner chose carry over to the new run the picker starts."""
    chosen = {
        "experiment": "surface-2d",
        "optimizer": {"name": "sgd", "lr": 0.05},
        "batch_size": 1,
        "seed": 7,
        "noise": 0.3,
        "teaching": {"zero_grad": True, "backward": True, "accumulate": 2},
        "steps_per_second": 10,
    }
    run_id = new_run(server, chosen)
    open_run(page, server, run_id)
    page.locator("#race-summary").click()
    page.get_by_role("checkbox", name="Adam", exact=True).check()
    expect(page).not_to_have_url(re.compile(f"run={run_id}$"))
    new_id = page.url.split("run=")[1]
    config = call(server, f"api/runs/{new_id}")["config"]
    assert [r["name"] for r in config["race"]] == ["adam"]
    for key, value in chosen.items():
        assert config[key] == value or key == "optimizer", (key, config[key])
    assert config["optimizer"]["lr"] == 0.05
