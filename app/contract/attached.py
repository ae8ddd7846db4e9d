"""An attached script's run, as RunInfo.attached describes it (the wire is app/contract/attach.py)."""

from __future__ import annotations

from pydantic import Field

from app.contract.base import Message
from app.engine.optimizers import OptimizerConfig

NAME_MAX = 100  # characters of a run's name or host


class AttachedOptimizer(Message):
    """The script's optimizer as the page can show and edit it."""

    torch_class: str = Field(
        max_length=200, description="its class, with its module (e.g. torch.optim.adam.Adam)"
    )
    config: OptimizerConfig | None = Field(
        description="its hyperparameters, read from param_groups[0], as the fields of the "
        "torch.optim class it is or derives from; null for a class Stepscope has no fields for "
        "(its hyperparameters cannot be edited from the page)"
    )
    ledger: bool = Field(
        description="the update ledger's written rule applies: the class is exactly one whose "
        "step has a rule (a subclass may change its step, so it gets none)"
    )
    groups: int = Field(ge=1, description="len(param_groups); an edit is written into every group")


class AttachedProcess(Message):
    """Who is training: shown in the page's list of attached runs."""

    name: str = Field(min_length=1, max_length=NAME_MAX, description="the name given to attach()")
    host: str = Field(min_length=1, max_length=NAME_MAX, description="socket.gethostname()")
    pid: int = Field(ge=0, description="the script's process id")


class AttachedRun(Message):
    """What RunInfo.attached holds for a run of an attached script (null for the server's own)."""

    process: AttachedProcess
    optimizer: AttachedOptimizer
    parameters: int = Field(ge=0, description="parameter tensors of the model")
    dropped_snapshots: int = Field(
        default=0, ge=0, description="snapshots the script dropped because the server was slow"
    )
    dropped_scalars: int = Field(
        default=0, ge=0, description="steps' scalars the script dropped after its buffer filled"
    )
    logged: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="the names of the scalars logged besides the loss, in order of first use",
    )
