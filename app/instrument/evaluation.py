"""How well the model does, on samples it trains on and on samples it never trains on.

Measured at display rate (with each snapshot), under `torch.no_grad()` and in eval mode, on at most
`EVALUATION_LIMIT` samples of each split, always the same ones: the points of a curve compare.
Nothing here touches a gradient, the optimizer or a random generator, so watching a run does not
change it.
"""

from __future__ import annotations

import torch
from torch import nn

from app.contract.views import Evaluation
from app.engine.experiments import Data, Task

EVALUATION_LIMIT = 512  # samples per split: all of them for every built-in set but the wide MLP's


class Evaluator:
    def __init__(self, data: Data, task: Task, loss_fn: nn.Module) -> None:
        limit = EVALUATION_LIMIT
        self.task = task
        self.loss_fn = loss_fn
        self.train = (data.inputs[:limit], data.targets[:limit])
        self.validation = (
            None
            if data.validation_inputs is None or data.validation_targets is None
            else (data.validation_inputs[:limit], data.validation_targets[:limit])
        )
        self.confusion: list[list[int]] | None = None  # validation, after the latest evaluate()
        self.classes = 0  # the model's outputs, for "classes": one score per class

    @property
    def classifies(self) -> bool:
        return self.task != "regression"

    def evaluate(self, model: nn.Module, step: int) -> Evaluation:
        with torch.no_grad(), eval_mode(model):
            train_loss, train_accuracy, _ = self._measure(model, *self.train)
            validation_loss = validation_accuracy = None
            if self.validation is not None:
                validation_loss, validation_accuracy, predicted = self._measure(
                    model, *self.validation
                )
                if self.task == "classes" and predicted is not None:
                    self.confusion = confusion(self.validation[1], predicted, self.classes)
        return Evaluation.model_construct(
            step=step,
            train_loss=train_loss,
            validation_loss=validation_loss,
            train_accuracy=train_accuracy,
            validation_accuracy=validation_accuracy,
        )

    def _measure(
        self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[float, float | None, torch.Tensor | None]:
        outputs = model(inputs)
        loss = float(self.loss_fn(outputs, targets))
        if not self.classifies:
            return loss, None, None
        self.classes = outputs.shape[-1]
        predicted = predict(outputs, self.task, self.loss_fn)
        truth = targets.reshape(predicted.shape).long()
        return loss, float((predicted == truth).float().mean()), predicted


def predict(outputs: torch.Tensor, task: Task, loss_fn: nn.Module) -> torch.Tensor:
    """The class each output says: a logit above 0 (BCE with logits) or an output above ½ (a model
    trained with MSE on 0/1 targets) for two classes; the largest score for several."""
    if task == "classes":
        return outputs.argmax(dim=1)
    threshold = 0.0 if isinstance(loss_fn, nn.BCEWithLogitsLoss) else 0.5
    return (outputs > threshold).long()


def confusion(truth: torch.Tensor, predicted: torch.Tensor, classes: int) -> list[list[int]]:
    counts = torch.zeros(classes * classes, dtype=torch.long)
    counts.index_add_(0, truth.long() * classes + predicted.long(), torch.ones_like(truth.long()))
    rows: list[list[int]] = counts.reshape(classes, classes).tolist()
    return rows


class eval_mode:
    """Put a model in eval mode for a measurement, and back to the mode it was in."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.was_training = model.training

    def __enter__(self) -> None:
        self.model.eval()

    def __exit__(self, *exc: object) -> None:
        self.model.train(self.was_training)
