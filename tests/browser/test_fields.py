"""Fields show what the run really uses; a refused entry is put back and explained beside it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import screenshot
from tests.support import Server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # Chromium logs every refused request (422) as a console error; these tests refuse on purpose.
    pytest.mark.allow_console(r"status of 422"),
]


def run_of(page: Page) -> dict[str, Any]:
    """The run as the server has it, by the id in the page's URL."""
    run_id = page.url.split("#run=")[1]
    # the page's own address, without its query (?config=…) and fragment
    response = page.request.get(re.split(r"[?#]", page.url)[0] + f"api/runs/{run_id}")
    info: dict[str, Any] = response.json()
    return info


def fits(element: Locator, text: str, room: int = 0) -> bool:
    """Whether `text`, in the element's own font, fits inside it beside `room` pixels."""
    fitted: bool = element.evaluate(
        """(el, [text, room]) => {
             const style = getComputedStyle(el);
             const context = document.createElement('canvas').getContext('2d');
             context.font = style.font;
             const inner = el.clientWidth - parseFloat(style.paddingLeft)
                           - parseFloat(style.paddingRight);
             return context.measureText(text).width + room <= inner;
           }""",
        [text, room],
    )
    return fitted


def enter(page: Page, label: str, text: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(text)
    field.press("Enter")


def test_refused_and_empty_entries_go_back_to_the_run_value(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    lr = page.get_by_label("Learning rate")
    error = page.get_by_test_id("lr-error")
    expect(lr).to_have_value("0.01")
    for entry, reason in [("-1", "greater than 0"), ("1e9", "less than or equal to 10")]:
        enter(page, "Learning rate", entry)
        expect(error).to_contain_text(reason)
        expect(error).to_contain_text("The run still uses 0.01")
        expect(lr).to_have_value("0.01")
    # empty: nothing is sent (never 0), and the field shows the run's value again
    enter(page, "Learning rate", "")
    expect(error).to_contain_text("Empty: not sent; the run still uses 0.01")
    expect(lr).to_have_value("0.01")
    # not a number: Chromium keeps "1e" in the box but reports it as bad input
    lr.fill("")
    lr.press_sequentially("1e")
    lr.press("Tab")
    expect(error).to_contain_text("Not a number")
    expect(lr).to_have_value("0.01")
    assert run_of(page)["config"]["optimizer"]["lr"] == 0.01
    screenshot(page, "refused-lr")

    # one empty field does not block the others: each edit sends the run's values plus itself
    enter(page, "Momentum", "")
    expect(page.get_by_test_id("hp-momentum-error")).to_contain_text("Empty")
    expect(page.get_by_label("Momentum", exact=True)).to_have_value("0")
    enter(page, "Learning rate", "0.02")
    expect(error).to_be_hidden()  # an accepted edit clears its field's refusal
    page.wait_for_function(
        "async () => (await (await fetch('/api/runs/' + location.hash.split('=')[1])).json())"
        ".config.optimizer.lr === 0.02"
    )

    # a refused Nesterov is unticked again, and is not sent with the next edit
    nesterov = page.get_by_label("Nesterov")
    nesterov.click()  # not check(): the box is unticked again at once, which check() calls a failure
    expect(page.get_by_test_id("hp-nesterov-error")).to_contain_text(
        "nesterov momentum requires momentum > 0"
    )
    expect(nesterov).not_to_be_checked()
    enter(page, "Learning rate", "0.03")
    page.wait_for_function(
        "async () => (await (await fetch('/api/runs/' + location.hash.split('=')[1])).json())"
        ".config.optimizer.lr === 0.03"
    )
    optimizer = run_of(page)["config"]["optimizer"]
    assert optimizer["nesterov"] is False and optimizer["momentum"] == 0.0
    expect(nesterov).not_to_be_checked()

    # the teaching switches too: a refused count of micro-batches goes back to the run's
    enter(page, "Micro-batches per step", "40")
    expect(page.get_by_test_id("teach-accumulate-error")).to_contain_text(
        "less than or equal to 32"
    )
    expect(page.get_by_label("Micro-batches per step")).to_have_value("1")
    assert run_of(page)["config"]["teaching"]["accumulate"] == 1


def test_labels_and_ledger_come_from_the_server(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_label("Optimizer", exact=True).select_option("rprop")
    expect(page.get_by_label("η−")).to_have_value("0.5")
    minimum = page.get_by_label("Min step")
    expect(minimum).to_have_value(re.compile(r"^(0\.000001|1e-6)$"))
    assert fits(minimum, minimum.input_value(), room=20)  # every digit beside the spin buttons
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("1")
    page.locator("canvas.heatmap").first.focus()
    expect(page.locator("#detail")).to_contain_text("No ledger rule is written for Rprop")
    # the experiment menu is wide enough for its longest title
    menu = page.get_by_label("Experiment")
    for title in menu.locator("option").all_inner_texts():
        assert fits(menu, title, room=16), title  # 16 px: the menu's arrow
    screenshot(page, "rprop-labels")
    # what a choice builds is named in torch's words, Muon's split included
    expect(page.get_by_label("Optimizer", exact=True)).to_have_attribute(
        "title", "torch.optim.Rprop"
    )
    page.get_by_label("Optimizer", exact=True).select_option("muon")
    expect(page.get_by_label("Newton–Schulz steps")).to_have_value("5")
    expect(page.get_by_label("Optimizer", exact=True)).to_have_attribute(
        "title", re.compile(r"^torch\.optim\.Muon \+ torch\.optim\.AdamW: .*biases")
    )


def test_batch_size_seed_and_noise_start_a_new_run(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    enter(page, "Learning rate", "0.02")
    page.wait_for_function(
        "async () => (await (await fetch('/api/runs/' + location.hash.split('=')[1])).json())"
        ".config.optimizer.lr === 0.02"
    )
    first = page.url
    expect(page.get_by_label("Batch size")).to_have_value("32")
    enter(page, "Batch size", "1")  # the article's single-sample case: one change away
    expect(page).not_to_have_url(first)
    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text("batch size 1")
    expect(notice).to_contain_text("the optimizer is the same")
    expect(notice).to_contain_text("was stopped")
    expect(page.get_by_label("Batch size")).to_have_value("1")
    run = run_of(page)
    assert run["config"]["batch_size"] == 1
    assert run["config"]["optimizer"]["lr"] == 0.02
    page.get_by_role("button", name="Next phase").click()
    page.get_by_role("button", name="Next phase").click()
    expect(page.get_by_test_id("phase-result")).to_contain_text("a batch of 1")
    enter(page, "Seed", "7")
    expect(notice).to_contain_text("seed 7")
    enter(page, "Noise", "0")
    expect(notice).to_contain_text("noise 0")
    run = run_of(page)
    assert (run["config"]["seed"], run["config"]["noise"], run["config"]["batch_size"]) == (7, 0, 1)
    enter(page, "Batch size", "0")
    expect(page.get_by_test_id("data-batch-size-error")).to_contain_text(
        "greater than or equal to 1"
    )
    expect(page.get_by_label("Batch size")).to_have_value("1")
    screenshot(page, "data-fields")
    page.get_by_role("button", name="Open the previous run").click()
    expect(page.get_by_test_id("status")).to_have_text("stopped")


def test_edits_before_the_new_runs_hello_build_on_the_new_run(server: Server, page: Page) -> None:
    """A loaded machine can take seconds to send a new run's hello. Edits made meanwhile must
    build on the new run and go to it: CI once saw a seed edit undone by the noise edit after it,
    and an optimizer change sent to the replaced, stopped run (409)."""
    held: list[tuple[Any, str | bytes]] = []
    holding = False

    def route(ws: Any) -> None:
        upstream = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            if holding:
                held.append((ws, message))
            else:
                ws.send(message)

        upstream.on_message(to_page)

    page.route_web_socket(re.compile(r"/ws/runs/"), route)
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    first = run_of(page)["id"]
    holding = True  # from here, no stream message reaches the page: no hello for any new run
    notice = page.get_by_test_id("notice")
    enter(page, "Seed", "7")
    expect(notice).to_contain_text("seed 7")
    enter(page, "Noise", "0")
    expect(notice).to_contain_text("noise 0")
    page.get_by_label("Optimizer", exact=True).select_option("sgd")
    expect(page.get_by_label("Momentum", exact=True)).to_be_visible()
    run = run_of(page)
    assert run["id"] != first
    assert (run["config"]["seed"], run["config"]["noise"]) == (7, 0)
    assert run["config"]["optimizer"]["name"] == "sgd"
    holding = False
    for ws, message in held:
        ws.send(message)
