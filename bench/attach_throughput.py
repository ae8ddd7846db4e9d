"""An attached training loop's throughput against the bare loop, in one process (issue 11).

    .venv/bin/python bench/attach_throughput.py [--seconds 4] [--rounds 5] [--only wide-mlp ...]
    .venv/bin/python bench/attach_throughput.py --variants --only seed-linear   # where time goes

The four models of bench/throughput.py (its `MODELS`: the same experiments, data, batches, loss
and Adam), trained by this process on one torch thread, twice over: a bare loop

    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()

and the same loop with Stepscope's two lines, `watch = stepscope.attach(model, optimizer,
server=...)` once and `watch.log(loss=loss)` after each `step()`. The watch speaks to a real
`python -m app` in a subprocess, and one client reads the run's websocket (`/ws/runs/{id}`, every
message, in its own process as a browser tab would be). Each loop keeps its model across rounds.
For each model, after a warm-up, `--rounds` rounds of one bare and one attached window of
`--seconds` each, their order reversed from round to round so that other work on the machine slows
both alike. Per model it prints steps/s of each side, attached / bare (ratio of medians, and the
median of the per-round ratios), the snapshots a second the client received during the attached
windows, what the script dropped (and whether RunInfo.attached says the same), and whether every
logged loss reached the client and the REST export exactly once, in order.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import torch
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import stepscope
from app.engine.experiments import EXPERIMENTS, Batches, ExperimentConfig
from app.engine.loader import load_experiments
from app.engine.optimizers import build_optimizer
from bench.throughput import EXPERIMENT_FILE, MODELS
from tests.support import Server, call, free_port

WARM_UP = 2.0  # seconds of each loop before the rounds: first calls, allocations, first snapshots


class Loop:
    """One experiment's model, data, batches, loss and optimizer, built as the worker builds them,
    kept across rounds; `steps` counts the optimizer steps it has taken."""

    def __init__(self, config: ExperimentConfig) -> None:
        experiment = EXPERIMENTS[config.experiment]
        torch.manual_seed(config.seed)
        self.model = experiment.model(config)
        self.loss_fn = experiment.make_loss(config)
        self.batches = Batches(experiment.data(config), config.batch_size, config.seed)
        self.optimizer = build_optimizer(config.optimizer, self.model.parameters())
        self.steps = 0

    def bare(self, seconds: float) -> Window:
        """The bare loop for `seconds`."""
        model, loss_fn, batches, optimizer = self.model, self.loss_fn, self.batches, self.optimizer
        steps, started, cpu = 0, time.perf_counter(), time.thread_time()
        while time.perf_counter() - started < seconds:
            inputs, targets = batches.next()
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            steps += 1
        return self.window(steps, started, cpu)

    def attached(self, watch: stepscope.Watch, seconds: float) -> Window:
        """The same loop with `watch.log(loss=loss)` after each step, for `seconds`."""
        model, loss_fn, batches, optimizer = self.model, self.loss_fn, self.batches, self.optimizer
        steps, started, cpu = 0, time.perf_counter(), time.thread_time()
        while time.perf_counter() - started < seconds:
            inputs, targets = batches.next()
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            watch.log(loss=loss)
            steps += 1
        return self.window(steps, started, cpu)

    def calling(self, log: Callable[[torch.Tensor], None], seconds: float) -> Window:
        """The same loop calling `log(loss)` after each step (--variants)."""
        model, loss_fn, batches, optimizer = self.model, self.loss_fn, self.batches, self.optimizer
        steps, started, cpu = 0, time.perf_counter(), time.thread_time()
        while time.perf_counter() - started < seconds:
            inputs, targets = batches.next()
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            log(loss)
            steps += 1
        return self.window(steps, started, cpu)

    def window(self, steps: int, started: float, cpu: float) -> Window:
        elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
        self.steps += steps
        return Window(steps / elapsed, cpu / steps, cpu)


@dataclass
class Window:
    """One window of a loop: steps a second, and the training thread's CPU seconds a step
    (time.thread_time: what the loop itself computed, apart from time it waited for a core or
    for the GIL)."""

    rate: float
    cpu: float
    thread: float  # the training thread's CPU seconds in all


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The reading client, in its own process ----------------------------------------------------------


def read_run(url: str, control: Connection) -> None:
    """Read every message of a run's websocket, as a browser tab does. Keeps the arrival time
    (time.time()) of each snapshot and (first_step, count) of each scalars message, with (0, 0)
    for a hello or reset (the history replays after it). When the parent sends the last step it
    expects, reads on until the scalars reach it (10 s at most) and sends back what it kept."""
    snapshots: list[float] = []
    scalars: list[tuple[int, int]] = []
    last: int | None = None
    with connect(url, max_size=None, open_timeout=30) as socket:
        control.send("open")
        deadline = float("inf")
        while time.monotonic() < deadline:
            if last is None and control.poll():
                last = int(control.recv())
                deadline = time.monotonic() + 10
            if last is not None and scalars and sum(c for _, c in scalars) >= last:
                break  # (a rough test; the parent checks the order)
            try:
                message = socket.recv(timeout=0.2)
            except TimeoutError:
                continue
            if isinstance(message, bytes):
                snapshots.append(time.time())
                continue
            event = json.loads(message)
            if event["type"] == "scalars":
                scalars.append((event["first_step"], len(event["loss"])))
            elif event["type"] in ("hello", "reset"):
                scalars.append((0, 0))
    control.send((snapshots, scalars))


@dataclass
class Reader:
    """The reading client's process and its end of the control pipe."""

    process: multiprocessing.process.BaseProcess
    control: Connection

    @classmethod
    def open(cls, server: Server, run_id: str) -> Reader:
        here, there = multiprocessing.get_context("spawn").Pipe()
        process = multiprocessing.get_context("spawn").Process(
            target=read_run, args=(f"ws://127.0.0.1:{server.port}/ws/runs/{run_id}", there)
        )
        process.start()
        if not here.poll(60):
            raise SystemExit("the reading client did not connect in 60 s")
        here.recv()
        return cls(process, here)

    def close(self, last: int) -> tuple[list[float], list[tuple[int, int]]]:
        self.control.send(last)
        snapshots, scalars = self.control.recv()
        self.process.join(10)
        return snapshots, scalars


def in_order(scalars: list[tuple[int, int]], last: int) -> bool:
    """Steps 1..last received exactly once, in order, after the last hello or reset."""
    resets = [i for i, (first, _) in enumerate(scalars) if first == 0]
    expected = 1
    for first, count in scalars[resets[-1] + 1 if resets else 0 :]:
        if first != expected:
            return False
        expected = first + count
    return expected - 1 == last


def exported(server: Server, run_id: str, last: int) -> bool:
    """The REST export holds steps 1..last (the history may trail the stream a moment)."""
    deadline = time.monotonic() + 10
    while True:
        export = call(server, f"api/runs/{run_id}/scalars")
        if export["first_step"] == 1 and len(export["loss"]) == last:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


@dataclass
class Row:
    name: str
    bare: list[Window] = field(default_factory=list)
    attached: list[Window] = field(default_factory=list)
    snapshots: list[float] = field(default_factory=list)  # a second, each attached window
    # cores busy during each attached window: the watch's own threads (the process's CPU time
    # less the training thread's), and the server and the reading client together
    threads: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)
    dropped: tuple[int, int] = (0, 0)  # by the script: snapshots, steps' scalars
    told: tuple[int, int] = (0, 0)  # what the server's RunInfo.attached says they dropped
    steps: int = 0
    page: bool = False
    rest: bool = False


def measure(
    server: Server, name: str, config: ExperimentConfig, seconds: float, rounds: int
) -> Row:
    bare, looped = Loop(config), Loop(config)
    watch = stepscope.attach(looped.model, looped.optimizer, name=name, server=server.url)
    if watch.run_id is None:
        raise SystemExit(f"{name}: attach did not reach the server (its reason is above)")
    run_id = watch.run_id
    reader = Reader.open(server, run_id)
    assert server.process is not None and reader.process.pid is not None
    pids = (server.process.pid, reader.process.pid)

    def elsewhere() -> float:
        return sum(cpu_seconds(pid) for pid in pids)

    row = Row(name)
    windows: list[tuple[float, float]] = []
    bare.bare(WARM_UP)
    looped.attached(watch, WARM_UP)
    for round_ in range(rounds):
        for side in ("bare", "attached") if round_ % 2 == 0 else ("attached", "bare"):
            if side == "bare":
                row.bare.append(bare.bare(seconds))
            else:
                begun, own, away = time.time(), cpu_seconds(os.getpid()), elsewhere()
                row.attached.append(window := looped.attached(watch, seconds))
                ended = time.time()
                windows.append((begun, ended))
                own = cpu_seconds(os.getpid()) - own - window.thread
                row.threads.append(own / (ended - begun))
                row.others.append((elsewhere() - away) / (ended - begun))
    watch.close()  # flushes the buffered losses, then Detach
    row.steps = looped.steps
    arrivals, scalars = reader.close(looped.steps)
    row.snapshots = [
        sum(1 for t in arrivals if begun <= t <= ended) / (ended - begun)
        for begun, ended in windows
    ]
    info = call(server, f"api/runs/{run_id}")["attached"]
    row.dropped = (watch.dropped_snapshots, watch.dropped_scalars)
    row.told = (info["dropped_snapshots"], info["dropped_scalars"])
    row.page = in_order(scalars, looped.steps)
    row.rest = exported(server, run_id, looped.steps)
    return row


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def variants(
    server: Server, name: str, config: ExperimentConfig, seconds: float, rounds: int
) -> None:
    """Where an attached step's time goes (--variants): the bare loop; the watch's hooks with no
    log() at all; `watch.log(loss=loss.item())`; `watch.log(loss=loss)`, each on its own model and
    watch (no reading client), in interleaved rounds. Prints steps/s, the median of the per-round
    ratios to the bare loop, and the training thread's CPU a step."""
    loops = {side: Loop(config) for side in ("bare", "no log()", "log(float)", "log(tensor)")}
    watches = {
        side: stepscope.attach(
            loop.model, loop.optimizer, name=f"{name}, {side}", server=server.url
        )
        for side, loop in loops.items()
        if side != "bare"
    }
    logs: dict[str, Callable[[torch.Tensor], None]] = {
        "bare": lambda loss: None,
        "no log()": lambda loss: None,
        "log(float)": lambda loss: watches["log(float)"].log(loss=loss.item()),
        "log(tensor)": lambda loss: watches["log(tensor)"].log(loss=loss),
    }
    windows: dict[str, list[Window]] = {side: [] for side in loops}
    for side, loop in loops.items():
        loop.calling(logs[side], WARM_UP)
    for round_ in range(rounds):
        for side in list(loops) if round_ % 2 == 0 else list(loops)[::-1]:
            windows[side].append(loops[side].calling(logs[side], seconds))
    for watch in watches.values():
        watch.close()
    bare = windows["bare"]
    for side, got in windows.items():
        paired = statistics.median(w.rate / b.rate for w, b in zip(got, bare, strict=True))
        print(
            f"| {name} | {side} | {statistics.median(w.rate for w in got):,.0f} | {paired:.3f}"
            f" | {statistics.median(w.cpu for w in got) * 1e6:,.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None, help="experiment names")
    parser.add_argument(
        "--variants", action="store_true", help="where the time goes: no log(), float, tensor"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the worker: the server and the client share the cores
    for problem in load_experiments([EXPERIMENT_FILE]):
        raise SystemExit(f"could not load {problem}")
    models = [m for m in MODELS if args.only is None or m[1]["experiment"] in args.only]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    before, started = load(), time.monotonic()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder) / "data", free_port(), env={"STEPSCOPE_DEFAULT_RUN": "false"})
        server.start()
        try:
            if args.variants:
                print(
                    "| model | loop | steps/s | paired / bare | training thread's CPU µs a step |"
                )
                print("| --- | --- | ---: | ---: | ---: |")
            for name, overrides, least in models:
                config = ExperimentConfig.model_validate({**overrides, "steps_per_second": None})
                if args.variants:
                    variants(server, name, config, max(args.seconds, least), args.rounds)
                    continue
                row = measure(server, name, config, max(args.seconds, least), args.rounds)
                rows.append(row)
                print(
                    f"  {name}: bare {[f'{b.rate:,.0f}' for b in row.bare]},"
                    f" attached {[f'{a.rate:,.0f}' for a in row.attached]},"
                    f" snapshots/s {[f'{s:.2f}' for s in row.snapshots]},"
                    f" CPU µs a step bare {[f'{b.cpu * 1e6:,.0f}' for b in row.bare]}"
                    f" attached {[f'{a.cpu * 1e6:,.0f}' for a in row.attached]}",
                    file=sys.stderr,
                )
        finally:
            server.stop()
    print(
        f"commit {commit}, torch {torch.__version__}, one thread, {args.rounds} rounds of"
        f" {args.seconds:g} s per side (longer where MODELS says: the wide MLP's 8 s),"
        f" {time.monotonic() - started:.0f} s in all\n"
        f"uptime before: {before}\nuptime after:  {load()}"
    )
    if args.variants:
        return
    print(
        "| model | bare steps/s | attached steps/s | **attached / bare** (medians; paired) "
        "| bare rounds vary | training thread's CPU a step, attached / bare "
        "| cores busy: watch threads; server + client | snapshots/s (client) "
        "| dropped: snapshots, scalars | every loss: client, REST (steps) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        bare_rates = [w.rate for w in row.bare]
        bare, attached = (
            statistics.median(bare_rates),
            statistics.median(w.rate for w in row.attached),
        )
        paired = statistics.median(
            a.rate / b.rate for a, b in zip(row.attached, row.bare, strict=True)
        )
        spread = statistics.pstdev(bare_rates) / statistics.mean(bare_rates)
        cpu = statistics.median(w.cpu for w in row.attached) / statistics.median(
            w.cpu for w in row.bare
        )
        print(
            f"| {row.name} | {bare:,.0f} | {attached:,.0f}"
            f" | **{attached / bare:.3f}**; {paired:.3f} | {spread * 100:.1f}% | {cpu:.3f}"
            f" | {statistics.median(row.threads):.2f}; {statistics.median(row.others):.2f}"
            f" | {statistics.median(row.snapshots):.2f}"
            f" | {row.dropped[0]:,}, {row.dropped[1]:,}"
            f"{'' if row.told == row.dropped else f' (the server says {row.told})'}"
            f" | {'yes' if row.page else 'NO'}, {'yes' if row.rest else 'NO'} ({row.steps:,}) |"
        )


if __name__ == "__main__":
    main()
