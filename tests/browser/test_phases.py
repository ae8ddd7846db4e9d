"""The backward/step dance one phase at a time, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import ARTIFACTS, screenshot
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHASES = ["zero_grad", "forward", "loss", "backward", "step"]
CALLS = {
    "zero_grad": "self.optimizer.zero_grad(set_to_none=True)",
    "forward": "self.predictions = self.model(self.inputs)",
    "loss": "self.loss = self.loss_fn(self.predictions, self.targets)",
    "backward": "(self.loss / self.teaching.accumulate).backward()",
    "step": "self.optimizer.step()",
}


def ledger_value(page: Page, label: str) -> str:
    row = page.locator("#detail .ledger tr").filter(has_text=label).first
    return row.locator("td").inner_text()


def test_next_phase_walks_the_five_phases(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Step").click()  # a first step, so there is a gradient
    expect(page.get_by_test_id("step")).to_have_text("1")
    page.locator("canvas.heatmap").first.focus()
    expect(page.locator("#detail .element-name")).to_have_text("weight[0, 0]")
    value_before = ledger_value(page, "value θ")
    assert ledger_value(page, "gradient g") != "None"

    seen = {}
    for phase in PHASES:
        page.get_by_role("button", name="Next phase").click()
        expect(page.get_by_test_id("phase")).to_have_text(phase)
        expect(page.locator("#code [aria-current=step]")).to_have_text(CALLS[phase])
        seen[phase] = (
            page.get_by_test_id("step").inner_text(),
            ledger_value(page, "gradient g"),
            ledger_value(page, "value θ"),
        )
        if phase == "forward":
            expect(page.locator("#phase-result table")).to_contain_text("prediction ŷ")
        if phase == "loss":
            expect(page.locator("#phase-result")).to_contain_text("loss = MSELoss")
    # zero_grad clears .grad to None; backward fills it
    assert seen["zero_grad"][1] == "None" and seen["loss"][1] == "None"
    assert seen["backward"][1] != "None"
    # parameters change only at step, and the step count rises by exactly one, there
    assert {seen[p][2] for p in PHASES[:4]} == {value_before}
    assert seen["step"][2] != value_before
    assert [seen[p][0] for p in PHASES] == ["1", "1", "1", "1", "2"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phases-after-step.png"))


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_the_ledger_writes_the_rule_out_and_agrees_with_step(
    server: Server, page: Page, optimizer: str
) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_label("Optimizer", exact=True).select_option(optimizer)
    expect(page.get_by_label("Optimizer", exact=True)).to_have_value(optimizer)
    for step in range(1, 4):
        page.get_by_role("button", name="Step").click()
        expect(page.get_by_test_id("step")).to_have_text(str(step))
    page.locator("canvas.heatmap").first.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#detail .element-name")).to_have_text("weight[0, 1]")
    rule = page.locator("#detail .rule")
    expect(rule).to_contain_text("θ ←")
    if optimizer == "adam":
        expect(rule).to_contain_text("bias_correction1 = 1 − β₁^t")
    verdict = page.get_by_test_id("ledger-verdict")
    expect(verdict).to_contain_text("they agree")
    assert "agrees" in (verdict.get_attribute("class") or "")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ledger-{optimizer}.png"))


def test_teaching_switches_in_the_page(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("1")
    # step without backward: there are no gradients, so nothing moves
    page.get_by_label("backward() each step").uncheck()
    expect(page.get_by_label("backward() each step")).not_to_be_checked()
    page.locator("canvas.heatmap").first.focus()
    before = ledger_value(page, "value θ")
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("2")
    expect(page.locator("#detail .ledger")).to_contain_text("None")  # gradient g: None
    assert ledger_value(page, "gradient g") == "None"
    assert ledger_value(page, "value θ") == before
    # without zero_grad the gradient keeps growing from step to step
    page.get_by_label("backward() each step").check()
    page.get_by_label("zero_grad() each step").uncheck()
    expect(page.get_by_label("zero_grad() each step")).not_to_be_checked()
    norms = []
    for step in (3, 4, 5):
        page.get_by_role("button", name="Step").click()
        expect(page.get_by_test_id("step")).to_have_text(str(step))
        norms.append(page.locator("#params .field-scale").nth(1).inner_text())
    assert len(set(norms)) == 3  # the gradient's scale changed every step: it accumulates


def phase(page: Page, name: str) -> str:
    """Run one phase; what the page says it did."""
    page.get_by_role("button", name="Next phase").click()
    expect(page.get_by_test_id("phase")).to_have_text(name)
    return page.get_by_test_id("phase-result").inner_text()


def code_line(page: Page, call: str) -> Locator:
    return page.locator("#code .line").filter(has_text=call)


def test_switched_off_phases_say_what_really_happened(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    # the loss phase's loss shows in the header at once, before any step has a loss
    phase(page, "zero_grad")
    phase(page, "forward")
    said = phase(page, "loss")
    assert "Nothing has a gradient yet" in said
    shown = page.get_by_test_id("loss").inner_text()
    assert shown != "—" and shown in said
    phase(page, "backward")
    phase(page, "step")

    # backward off, zero_grad on: no gradient at all, so step() moves nothing
    page.get_by_label("backward() each step").uncheck()
    expect(page.get_by_label("backward() each step")).not_to_be_checked()
    assert "every .grad is None again" in phase(page, "zero_grad")
    phase(page, "forward")
    assert "backward is switched off: none will come" in phase(page, "loss")
    said = phase(page, "backward")
    assert "backward is switched off" in said and "filled" not in said
    expect(code_line(page, CALLS["backward"])).to_have_class(re.compile(r"\bskipped\b"))
    expect(page.locator("#code [aria-current=step]")).to_have_count(0)
    said = phase(page, "step")
    assert "moved nothing" in said and "every Δθ is exactly 0" in said
    assert "updated the parameters" not in said
    expect(page.locator("#code [aria-current=step]")).to_have_text(CALLS["step"])

    # zero_grad off, backward on: gradients pile up, and the page says so
    page.get_by_label("backward() each step").check()
    page.get_by_label("zero_grad() each step").uncheck()
    expect(page.get_by_label("zero_grad() each step")).not_to_be_checked()
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("3")
    said = phase(page, "zero_grad")
    assert "zero_grad is switched off" in said and "None again" not in said
    assert "keeps what earlier backward() calls put there" in said
    expect(code_line(page, CALLS["zero_grad"])).to_have_class(re.compile(r"\bskipped\b"))
    expect(page.locator("#code [aria-current=step]")).to_have_count(0)
    phase(page, "forward")
    said = phase(page, "loss")
    assert "Nothing has a gradient" not in said and "still holds earlier gradients" in said
    said = phase(page, "backward")
    assert "added to what every .grad already held" in said and "is filled" not in said
    expect(code_line(page, CALLS["backward"])).not_to_have_class(re.compile(r"\bskipped\b"))
    screenshot(page, "phase-zero-grad-off")


def test_the_second_micro_batch_adds_to_the_first(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_label("Micro-batches per step").fill("2")
    page.get_by_label("Micro-batches per step").press("Enter")
    expect(page.get_by_label("Micro-batches per step")).to_have_value("2")
    phase(page, "zero_grad")
    assert "micro-batch 1 of 2" in phase(page, "forward")
    assert "Nothing has a gradient yet" in phase(page, "loss")
    said = phase(page, "backward")
    assert "micro-batch 1 of 2" in said and "filled .grad" in said
    assert "micro-batch 2 of 2" in phase(page, "forward")
    said = phase(page, "loss")
    assert "Nothing has a gradient" not in said
    assert "already holds the earlier micro-batches' gradients" in said
    said = phase(page, "backward")
    assert "micro-batch 2 of 2" in said and "added to .grad" in said
    said = phase(page, "step")
    assert "updated the parameters (step 1)" in said


def test_selected_element_after_zero_grad_is_labelled_the_previous_step(
    server: Server, page: Page
) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("1")
    page.locator("canvas.heatmap").first.focus()
    expect(page.locator("#detail .ledger")).to_contain_text("update Δθ")
    expect(page.locator("#detail .ledger")).not_to_contain_text("previous")
    expect(page.locator("#detail .ledger-title")).to_have_text(
        "Update ledger: the rule of this step"
    )
    phase(page, "zero_grad")
    assert ledger_value(page, "gradient g") == "None"
    # the update beside "gradient None" is step 1's, and says so; so does its rule
    expect(page.locator("#detail .ledger")).to_contain_text("update Δθ (step 1, previous)")
    expect(page.locator("#detail .ledger-title")).to_have_text(
        "Update ledger: the rule of step 1, the previous step()"
    )
    screenshot(page, "selected-after-zero-grad")
    phase(page, "forward")
    phase(page, "loss")
    phase(page, "backward")
    phase(page, "step")
    expect(page.locator("#detail .ledger")).not_to_contain_text("previous")
