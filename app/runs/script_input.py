"""What an attached script sends, checked before anything of it is kept or shown.

The script is a program the server does not control: a message is data to validate, never code or
a pickle. Each JSON text message must validate as a ScriptMessage (app/contract/attach.py); each
binary message must be a snapshot frame a browser can read in place (its header a SnapshotHeader,
its float32 block aligned, every span inside it). Past the models, a step must be a count a
browser's number and SQLite's integer hold exactly, a loss batch must carry a loss, and only the
commands an attached run can be given may be acknowledged. Anything else raises Malformed with a
sentence, and the connection is closed with it.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app.contract.attach import Attach, Dropped, Logged, ScriptMessage
from app.contract.attached import AttachedRun
from app.contract.snapshot import SnapshotHeader
from app.contract.worker import (
    Ack,
    Alerted,
    HealthMeasured,
    OptimizerChanged,
    ScalarsBatch,
    SnapshotFrame,
)
from app.runs.state import Command

# Steps and counts beyond 2⁵³ are no count of optimizer steps, and a browser's number would round
# them (SQLite's integer, 2⁶³, would even refuse them on the reader thread).
MAX_STEP = 2**53
# Names a run may log besides the loss, over its whole life (RunInfo.attached.logged's bound).
LOGGED_NAMES_MAX = AttachedRun.model_fields["logged"].metadata[0].max_length
# What a script may acknowledge: the commands an attached run is given (RunManager).
ACKNOWLEDGED = frozenset({Command.PAUSE, Command.START, Command.STEP, Command.STOP})
ERRORS_SHOWN = 3  # validation errors named in a refusal

_MESSAGES: TypeAdapter[ScriptMessage] = TypeAdapter(ScriptMessage)
_HEADER_LENGTH = struct.Struct("<I")

Report = ScriptMessage | SnapshotFrame


class Malformed(ValueError):
    """A message the server refuses; the text says why, for the script's user."""


class ScriptInput:
    """One connection's messages, read in order (it remembers the names logged so far)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def read(self, payload: str | bytes) -> Report:
        if isinstance(payload, bytes):
            return snapshot_frame(payload)
        message = parse(payload)
        self._check(message)
        return message

    def _check(self, message: ScriptMessage) -> None:
        match message:
            case ScalarsBatch(first_step=first, loss=loss, t0=t0, t1=t1):
                if not loss:
                    raise Malformed("a scalars message carries the loss of one step at least")
                _steps("scalars", first, len(loss))
                if message.race is not None or message.path is not None:
                    raise Malformed("race and path belong to the server's own surface-2d runs")
                if not (math.isfinite(t0) and math.isfinite(t1)):
                    raise Malformed("a scalars message's t0 and t1 are finite wall-clock times")
            case Logged(first_step=first, values=values):
                _steps("logged", first, max(map(len, values.values()), default=0))
                names = self.names | values.keys()
                if len(names) > LOGGED_NAMES_MAX:
                    raise Malformed(
                        f"a run logs at most {LOGGED_NAMES_MAX} names besides the loss; this "
                        f"message makes {len(names)}"
                    )
                self.names = names
            case HealthMeasured(point=point):
                _step("a health point", point.step)
            case Ack(command=command, step=step):
                if command not in ACKNOWLEDGED:
                    raise Malformed(f"an attached run is never sent '{command}' to acknowledge")
                _step("an ack", step)
            case OptimizerChanged(step=step):
                _step("an optimizer change", step)
            case Alerted(alert=alert, at_step=at_step):
                _step("an alert", alert.step)
                _step("an alert's at_step", at_step)
            case Dropped(snapshots=snapshots, scalars=scalars):
                _step("a dropped count", max(snapshots, scalars))


def read_attach(payload: str | bytes | None) -> Attach:
    """A connection's first message: the Attach that makes its run."""
    if not isinstance(payload, str):
        raise Malformed("the first message is an attach, as JSON text")
    try:
        return Attach.model_validate_json(payload)
    except ValidationError as error:
        raise Malformed(
            _explain(error).replace("a malformed message", "a malformed attach")
        ) from None


def parse(text: str) -> ScriptMessage:
    """One JSON text message as a ScriptMessage, or Malformed naming what is wrong."""
    try:
        return _MESSAGES.validate_json(text)
    except ValidationError as error:
        raise Malformed(_explain(error)) from None


def _explain(error: ValidationError, what: str = "message") -> str:
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    context = first.get("ctx", {})
    if first["type"] == "union_tag_invalid" and context.get("tag") == "attach":
        return "this connection has attached its run already: a connection sends one attach"
    if first["type"] == "union_tag_invalid":
        return f"unknown kind {context.get('tag')!r}; a script sends {context.get('expected_tags')}"
    if first["type"] == "union_tag_not_found":
        return 'a message names its kind: {"kind": "scalars", …}'
    named = [
        ": ".join([".".join(map(str, problem["loc"])), problem["msg"]]).lstrip(": ")
        for problem in problems[:ERRORS_SHOWN]
    ]
    more = len(problems) - ERRORS_SHOWN
    return f"a malformed {what}; " + "; ".join(named) + (f" (and {more} more)" if more > 0 else "")


def snapshot_frame(frame: bytes) -> SnapshotFrame:
    """A binary message as the snapshot it claims to be: a uint32 header length, a JSON
    SnapshotHeader, padding to a multiple of 4 bytes, then float32 data that every span of the
    header lies inside (a browser reads it in place as a Float32Array)."""
    if len(frame) < _HEADER_LENGTH.size:
        raise Malformed("a binary message is a snapshot frame: a 4-byte header length first")
    (length,) = _HEADER_LENGTH.unpack_from(frame)
    start = _HEADER_LENGTH.size + length
    if start > len(frame) or start % 4 or (len(frame) - start) % 4:
        raise Malformed(
            "a snapshot frame's header length does not fit its bytes: the header must end on a "
            "multiple of 4 bytes and the data be whole float32 values"
        )
    try:  # pydantic's own parser: bad UTF-8, bad JSON and deep nesting are ValidationErrors
        header = SnapshotHeader.model_validate_json(frame[_HEADER_LENGTH.size : start])
    except ValidationError as error:
        raise Malformed(_explain(error, "snapshot frame header")) from None
    _step("a snapshot", header.step)
    floats = (len(frame) - start) // 4
    for offset, count in _spans(header.model_dump()):
        if offset < 0 or count < 0 or offset + count > floats:
            raise Malformed(
                f"a snapshot frame's span [{offset}, {count}] lies outside its {floats} floats"
            )
    return SnapshotFrame.model_construct(step=header.step, frame=frame)


def _spans(value: Any) -> list[tuple[int, int]]:
    """Every [offset, length] pair in a dumped header: its only tuples of two ints (Span)."""
    if isinstance(value, tuple):
        if len(value) == 2 and all(type(item) is int for item in value):
            return [value]
        return [span for item in value for span in _spans(item)]
    if isinstance(value, dict):
        return [span for item in value.values() for span in _spans(item)]
    if isinstance(value, list):
        return [span for item in value for span in _spans(item)]
    return []


def _step(what: str, step: int) -> None:
    if not 0 <= step <= MAX_STEP:
        raise Malformed(f"{what}'s step {step} is not a count of optimizer steps (0 … 2⁵³)")


def _steps(what: str, first: int, count: int) -> None:
    if first < 1 or first + count - 1 > MAX_STEP:
        raise Malformed(
            f"a {what} message's steps {first}…{first + count - 1} are not counts of optimizer "
            "steps (1 … 2⁵³)"
        )
