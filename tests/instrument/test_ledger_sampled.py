"""The ledger of a sampled tensor (more than VIEW_LIMIT elements) predicts its sampled elements only:
the same numbers, element for element, as a prediction over the whole tensor, at a fixed cost."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from app.instrument.ledger import LEDGER_NAMES, predict
from app.instrument.recorder import Recorder
from app.instrument.stats import STAT_NAMES, VIEW_LIMIT, sample_indices
from tests.instrument.decode import entry_of, read_fields

OPTIMIZERS: list[tuple[type[torch.optim.Optimizer], dict[str, Any]]] = [
    (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (torch.optim.Adam, {"lr": 0.01}),
    (torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.01}),
    (torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (torch.optim.Adagrad, {"lr": 0.1}),
]


@pytest.mark.parametrize(("torch_class", "hyperparameters"), OPTIMIZERS)
def test_a_sampled_tensor_is_predicted_at_its_samples_as_the_whole_would_be(
    torch_class: type[torch.optim.Optimizer], hyperparameters: dict[str, Any]
) -> None:
    torch.manual_seed(0)
    model = nn.Linear(128, 64)  # a 8192-element weight (sampled) and a 64-element bias (whole)
    optimizer = torch_class(model.parameters(), **hyperparameters)
    recorder = Recorder(list(model.named_parameters()))
    recorder.attach(optimizer)
    inputs, targets = torch.randn(32, 128), torch.randn(32, 64)

    def backward() -> None:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(inputs), targets).backward()

    for _ in range(3):  # state with history in it
        backward()
        optimizer.step()
    backward()
    weight = model.weight
    # the whole tensor's prediction, by hand, from copies taken before step()
    group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
    state = {
        k: v.clone() if isinstance(v, torch.Tensor) else v
        for k, v in optimizer.state[weight].items()
    }
    assert weight.grad is not None
    whole = predict(
        optimizer=LEDGER_NAMES[torch_class],
        group=group,
        value=weight.detach().clone(),
        grad=weight.grad.clone(),
        state=state,
    ).predicted
    recorder.arm()
    optimizer.step()
    snapshot = recorder.snapshot(optimizer)
    fields = read_fields(snapshot.header, snapshot.data)

    samples = sample_indices(weight.numel(), weight.device)
    predicted = fields["weight"]["predicted"]
    assert predicted is not None and predicted.shape == (VIEW_LIMIT,)
    assert torch.equal(predicted, whole.reshape(-1)[samples])
    value = fields["weight"]["value"]
    assert value is not None
    torch.testing.assert_close(predicted, value, rtol=1e-6, atol=1e-7)
    # its statistics are those of the samples (docs/protocol.md, `predicted`)
    stats = entry_of(snapshot.header, "weight")["fields"]["predicted"]["stats"]
    reference = predicted.double()
    expected = {
        "mean": reference.mean().item(),
        "std": reference.std(correction=0).item(),
        "min": reference.min().item(),
        "max": reference.max().item(),
        "norm": reference.norm().item(),
        "nan": 0,
        "inf": 0,
    }
    assert {k: stats[k] for k in STAT_NAMES} == pytest.approx(expected, rel=1e-5, abs=1e-7)
    # a small tensor is still predicted whole
    bias = fields["bias"]["predicted"]
    assert bias is not None and bias.shape == (64,)
    torch.testing.assert_close(bias, model.bias.detach(), rtol=1e-6, atol=1e-7)
