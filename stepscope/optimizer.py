"""The script's own optimizer, described for the page: its class, and its hyperparameters as the
fields of the registry entry of the torch.optim class it is or derives from.

The registry maps fields to torch's keyword arguments (`OptimizerEntry.to_torch`: betas is a pair
of β₁ and β₂, Adafactor's eps a pair whose second is ε₂, …). Rather than write the inverse of each
mapping by hand, where it would drift from the registry, the mapping is probed: every field gets a
sentinel, and where each sentinel lands in the torch kwargs says where to read that field in a
param_group. An edit from the page goes back the same way, field by field, and only for the
fields it changed (`write_changes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from pydantic import TypeAdapter, ValidationError

from app.contract.attached import AttachedOptimizer
from app.engine.muon import MuonWithAdamW
from app.engine.optimizers import REGISTRY, OptimizerConfig, OptimizerEntry
from app.instrument.ledger import LEDGER_NAMES

_CONFIG: TypeAdapter[OptimizerConfig] = TypeAdapter(OptimizerConfig)

# Where a field lives in a param_group: the key, and an index into a pair such as betas.
Place = tuple[str, int | None]


@dataclass(frozen=True)
class _Sentinel:
    field: str


def entry_for(optimizer_class: type) -> OptimizerEntry | None:
    """The registry entry of the nearest torch.optim class in the class's ancestry (AdamW before
    Adam, since torch's AdamW derives from Adam). Stepscope's own Muon wrapper is not a class a
    script would hold, and is never matched."""
    for cls in optimizer_class.__mro__:
        for entry in REGISTRY.values():
            if entry.torch_class is cls and cls is not MuonWithAdamW:
                return entry
    return None


def places(entry: OptimizerEntry) -> dict[str, Place]:
    """Each config field's place in a param_group, found by probing the entry's to_torch."""
    fields = [name for name in entry.config.model_fields if name != "name"]
    probed = entry.to_torch({name: _Sentinel(name) for name in fields})
    found: dict[str, Place] = {}
    for key, value in probed.items():
        if isinstance(value, _Sentinel):
            found[value.field] = (key, None)
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                if isinstance(item, _Sentinel):
                    found[item.field] = (key, index)
    missing = set(fields) - set(found)
    if missing:  # a mapping that drops a field: nothing could be read back for it
        raise ValueError(f"{entry.name}: to_torch loses {sorted(missing)}")
    return found


def read_config(optimizer: torch.optim.Optimizer) -> OptimizerConfig | None:
    """The optimizer's hyperparameters from param_groups[0], validated as its registry entry's
    config; None for a class with no entry, or values the page could not edit (a tensor lr, a
    value outside the page's bounds)."""
    entry = entry_for(type(optimizer))
    if entry is None or not optimizer.param_groups:
        return None
    group = optimizer.param_groups[0]
    values: dict[str, Any] = {"name": entry.name}
    for field, (key, index) in places(entry).items():
        if key not in group:
            return None
        value = group[key] if index is None else group[key][index]
        if isinstance(value, torch.Tensor):
            # a tensor lr (capturable or fused optimizers) is read on the device, and an edit
            # would replace it by a float: such hyperparameters stay the script's own
            return None
        values[field] = value
    try:
        return _CONFIG.validate_python(values)
    except ValidationError:
        return None


def class_name(optimizer: torch.optim.Optimizer) -> str:
    cls = type(optimizer)
    return f"{cls.__module__}.{cls.__qualname__}"


def describe(optimizer: torch.optim.Optimizer) -> AttachedOptimizer:
    """What the Attach message says of the optimizer."""
    config = read_config(optimizer)
    # The ledger's rule is the exact class's step: a subclass may change it, so it gets none.
    # maximize=True negates the gradient, which no written rule does.
    ledger = type(optimizer) in LEDGER_NAMES and not any(
        group.get("maximize", False) for group in optimizer.param_groups
    )
    return AttachedOptimizer.model_construct(
        torch_class=class_name(optimizer),
        config=config,
        ledger=ledger,
        groups=max(1, len(optimizer.param_groups)),
    )


def write_changes(
    optimizer: torch.optim.Optimizer, previous: OptimizerConfig, new: OptimizerConfig
) -> list[str]:
    """Write the fields the page changed into every param group, and only those: a script's
    groups keep their own values of the rest (a lower lr for a backbone, no decay for biases).
    A field inside a pair (β₁ of betas) replaces its half of each group's own pair. Returns the
    fields written."""
    entry = entry_for(type(optimizer))
    assert entry is not None and entry.name == new.name == previous.name
    where = places(entry)
    changed = [field for field in where if getattr(new, field) != getattr(previous, field)]
    for group in optimizer.param_groups:
        for field in changed:
            key, index = where[field]
            value = getattr(new, field)
            if index is None:
                group[key] = value
            else:
                pair = list(group[key])
                pair[index] = value
                group[key] = tuple(pair)
    return changed
