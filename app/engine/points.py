"""A run's samples as points to draw, for inputs of one or two numbers."""

from __future__ import annotations

import torch

from app.contract.rest import DataPoints, PointSet
from app.engine.experiments import EXPERIMENTS, ExperimentConfig

POINTS_LIMIT = 2000  # per split: enough to see a data set's shape, small enough to send at once


def data_points(config: ExperimentConfig) -> DataPoints | None:
    experiment = EXPERIMENTS[config.experiment]
    if not experiment.pictured:
        return None
    data = experiment.data(config)
    if data.inputs.dim() != 2 or data.inputs.shape[1] > 2:
        return None
    validation = None
    if data.validation_inputs is not None and data.validation_targets is not None:
        validation = _points(data.validation_inputs, data.validation_targets)
    return DataPoints.model_construct(
        dims=data.inputs.shape[1],
        task=experiment.task,
        train=_points(data.inputs, data.targets),
        validation=validation,
    )


def _points(inputs: torch.Tensor, targets: torch.Tensor) -> PointSet:
    limit = POINTS_LIMIT
    return PointSet.model_construct(
        inputs=inputs[:limit].tolist(), targets=targets[:limit].reshape(-1).float().tolist()
    )
