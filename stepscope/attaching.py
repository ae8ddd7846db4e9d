"""`stepscope.attach(model, optimizer)`: watch and steer a script's own training loop.

Attaching never harms the training: with no server, a refused attach or a broken network the
script gets a watch that records nothing, and says so on stderr; it never raises for those.
"""

from __future__ import annotations

import os
import socket
import sys
import weakref
from pathlib import Path

import torch
from pydantic import ValidationError
from websockets.exceptions import WebSocketException

from app.contract.attach import Attach
from app.contract.attached import NAME_MAX, AttachedProcess
from app.contract.health import BUDGET_DEFAULT, Instrumentation
from stepscope.frames import Instruments
from stepscope.link import AttachRefused, Link, open_link
from stepscope.optimizer import describe
from stepscope.server import DEFAULT_URL, find_or_start, split_address, websocket_url
from stepscope.watch import Watch

# The live watch of each optimizer: attaching one again (a notebook cell run twice) closes the
# old watch first, whose hooks would otherwise gate and record every step twice.
_WATCHES: weakref.WeakKeyDictionary[torch.optim.Optimizer, Watch] = weakref.WeakKeyDictionary()


def _say(text: str) -> None:
    print(f"stepscope: {text}", file=sys.stderr, flush=True)


def attach(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    name: str | None = None,
    server: str | None = None,
    token: str | None = None,
    *,
    budget: float = BUDGET_DEFAULT,
    start_server: bool = True,
) -> Watch:
    """Attach the loop that trains `model` with `optimizer` to a Stepscope server, and print the
    address of its run's page.

    server   the server's address (default STEPSCOPE_URL, else http://127.0.0.1:8000); with none
             answering on this machine one is started (`start_server=False` to not)
    token    the server's token when it is exposed (default STEPSCOPE_TOKEN, else one in the
             address's ?token=)
    budget   the share of wall time watching may take (0.005 .. 0.5), as a built-in run's
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"attach(model, …): a torch.nn.Module, not {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"attach(…, optimizer): a torch.optim.Optimizer, not {type(optimizer).__name__}"
        )
    instrumentation = Instrumentation(budget=budget)  # out of bounds: a ValidationError now
    earlier = _WATCHES.pop(optimizer, None)
    if earlier is not None:
        earlier.close("the script attached this optimizer again: a new run watches it")
    title = (name or Path(sys.argv[0] or "python").stem or "python")[:NAME_MAX]
    address = server or os.environ.get("STEPSCOPE_URL") or DEFAULT_URL
    _, address_token = split_address(address)
    token = token or os.environ.get("STEPSCOPE_TOKEN") or address_token
    config = None
    base = find_or_start(address, token, start=start_server)
    if base is None:
        _say("training goes on unobserved")
        return Watch(optimizer, None, None, config)
    parameters = list(model.named_parameters())
    described = describe(optimizer)
    message = Attach(
        process=AttachedProcess(
            name=title,
            host=(socket.gethostname() or "unknown")[:NAME_MAX],
            pid=os.getpid(),
        ),
        optimizer=described,
        parameters=[parameter_name for parameter_name, _ in parameters],
        instrumentation=instrumentation,
    )
    try:
        connection, attached = open_link(websocket_url(base), token, message)
    except AttachRefused as refused:
        _say(f"the server refused to attach: {refused}; training goes on unobserved")
        return Watch(optimizer, None, None, config)
    except (OSError, TimeoutError, WebSocketException, ValidationError) as error:
        _say(f"could not attach to {base} ({error}); training goes on unobserved")
        return Watch(optimizer, None, None, config)
    instruments = Instruments(parameters, model, budget)
    link = Link(connection)
    watch = Watch(
        optimizer, instruments, link, described.config, run_id=attached.run.id, url=attached.url
    )
    link.start(watch.command, watch.lost)
    _WATCHES[optimizer] = watch
    _say(f"watching {title!r} at {attached.url}")
    return watch
