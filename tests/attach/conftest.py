"""The in-process tests train on one intra-op thread, as the worker does (app/runs/worker.py): on
a busy machine a small op waiting in a parallel region for a second thread made backward 6 ms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
