"""The two halves of a resumed run, each in a process of its own (tests/engine/test_resume.py).

    python -m tests.engine.resume_child save    SPEC.json STORE   k steps, then a checkpoint
    python -m tests.engine.resume_child resume  SPEC.json STORE   restore it, train to N, write
                                                                  the parameters and optimizer

SPEC.json: {"cases": {"<id>": {"config": {...}, "k": 7, "n": 50}}}. Nothing is shared with the
test's process but these files: the resumed half starts with no state of the first in memory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from app.engine.checkpoint import capture, restore
from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from app.store.checkpoints import CheckpointStore


def save(spec: dict[str, dict[str, object]], store: CheckpointStore) -> None:
    for case_id, case in spec.items():
        loop = TrainingLoop(ExperimentConfig.model_validate(case["config"]))
        for _ in range(int(str(case["k"]))):
            loop.run_step()
        store.save(case_id, capture(loop))


def resume(spec: dict[str, dict[str, object]], store: CheckpointStore) -> None:
    for case_id, case in spec.items():
        loop = restore(store.load(case_id))
        while loop.step < int(str(case["n"])):
            loop.run_step()
        torch.save(
            {
                "step": loop.step,
                "parameters": dict(loop.model.named_parameters()),
                "optimizer": loop.optimizer.state_dict(),
            },
            store.folder(case_id) / "resumed.pt",
        )


if __name__ == "__main__":
    torch.set_num_threads(1)  # as the worker runs
    half, spec_path, root = sys.argv[1:4]
    spec = json.loads(Path(spec_path).read_text())["cases"]
    {"save": save, "resume": resume}[half](spec, CheckpointStore(Path(root)))
