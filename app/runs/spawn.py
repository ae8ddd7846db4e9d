"""Starting a run's worker process, and saying in words why one ended."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from multiprocessing.connection import Connection

from app.contract.worker import WorkerCommand
from app.engine.loader import loaded_files
from app.runs.run import Run
from app.runs.worker import Persistence, run_worker

# spawn, not fork: a forked child would inherit the server's threads and torch's thread pools
CONTEXT = multiprocessing.get_context("spawn")


def spawn_worker(run: Run, persistence: Persistence | None = None) -> Connection:
    """Start `run`'s worker (keeping checkpoints as `persistence` says, and starting from its
    `resume` checkpoint when it names one); return the end of the pipe its messages arrive on."""
    assert run.config is not None  # an attached script's run has no worker process
    commands, worker_commands = CONTEXT.Pipe(duplex=False)
    worker_frames, frames = CONTEXT.Pipe(duplex=False)
    run.commands = worker_commands
    run.posted = CONTEXT.RawValue("q", 0)
    run.process = CONTEXT.Process(
        target=run_worker,
        args=(
            run.config.model_dump_json(),
            commands,
            run.posted,
            frames,
            [str(path) for path in loaded_files()],
            persistence,
        ),
        name=f"stepscope-run-{run.id}",
        daemon=True,
    )
    run.process.start()
    # The child has its own copies now; closing ours lets EOF reach the reader when it exits.
    commands.close()
    frames.close()
    return worker_frames


def send(run: Run, message: WorkerCommand) -> None:
    """Post a command or setting to the worker, which carries it out between steps (an attached
    script: at its next `optimizer.step()`)."""
    if run.script is not None:
        run.script.send(message)
        return
    assert run.commands is not None
    with contextlib.suppress(OSError):  # the worker is gone; the relay reports why
        run.commands.send(message)
        run.posted.value += 1  # after the send: the worker polls only once it sees this


def kill(run: Run) -> None:
    if run.process is not None and run.process.is_alive():
        run.process.kill()


def exit_reason(code: int | None) -> str:
    """Why a worker process ended, in words."""
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        if -code == signal.SIGKILL:
            return f"the worker process was killed ({name}); the system may have run out of memory"
        if -code == signal.SIGSEGV:
            return f"the worker process crashed ({name}, a segmentation fault)"
        return f"the worker process was ended by {name}"
    return f"the worker process exited unexpectedly (exit code {code})"
