"""The in-process tests train on one intra-op thread, as the worker does (app/runs/worker.py): on
a busy machine a small op waiting in a parallel region for a second thread made backward 6 ms.

`live_server` is one real server process (`python -m app`) for a whole test module: the client
tests attach to it from the test's own process, each its own run, so they do not interfere, and
a server start (seconds) is paid once per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from tests.support import Server, free_port


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("live") / "data",
        free_port(),
        env={"STEPSCOPE_DEFAULT_RUN": "false"},
    )
    running.start()
    yield running
    running.stop()
