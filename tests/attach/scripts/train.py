"""A user's plain training script, run as its own process by tests/attach/test_script.py.

It trains a small MLP with Adam on fixed random data and prints one line per step on stdout,
`step <n> <loss> <lr>` (the loss as float32 read to Python, repr'd; lr from param_groups[0] after
the step), then `done` and saves the final state_dict to --out. With --attach it adds the two
lines; --asyncio runs everything inside asyncio.run; --subclass uses a subclass of Adam; --nan-at
puts a NaN in the data at that step.
"""

from __future__ import annotations

import argparse
import asyncio

import torch
from torch import nn

import stepscope


class MyAdam(torch.optim.Adam):
    """A script's own optimizer class: no ledger, but hyperparameters the page can edit."""


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)  # the test machine's cores are shared
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    x, y = torch.randn(128, 16), torch.randint(0, 4, (128,))
    optimizer = (MyAdam if args.subclass else torch.optim.Adam)(model.parameters(), lr=0.01)
    watch = (
        stepscope.attach(model, optimizer, name=args.name, server=args.server)
        if args.attach
        else None
    )
    for step in range(1, args.steps + 1):
        if step == args.nan_at:
            x[0, 0] = float("nan")  # the data turns bad: NaN gradients, then NaN parameters
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        print(f"step {step} {loss.item()!r} {optimizer.param_groups[0]['lr']!r}", flush=True)
        if watch is not None:
            watch.log(loss=loss)
    if watch is not None and not args.no_close:
        watch.close()
    torch.save(model.state_dict(), args.out)
    print("done", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--attach", action="store_true")
    parser.add_argument("--server")
    parser.add_argument("--name", default="test script")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--out", required=True)
    parser.add_argument("--asyncio", action="store_true")
    parser.add_argument("--subclass", action="store_true")
    parser.add_argument("--nan-at", type=int, default=0)
    parser.add_argument("--no-close", action="store_true", help="leave the watch to atexit")
    arguments = parser.parse_args()
    if arguments.asyncio:

        async def in_a_loop() -> None:
            main(arguments)

        asyncio.run(in_a_loop())
    else:
        main(arguments)
