"""Stepscope's public Python API.

Define an experiment in your own file and start the server with it (docs/experiments.md):

    import stepscope
    EXPERIMENT = stepscope.Experiment(name="my-task", title=..., description=...,
                                      data=make_data, model=make_model, loss=make_loss)

    $ stepscope --experiments my_task.py
"""

from app.engine.experiments import Data, Experiment, ExperimentConfig
from app.engine.models import Architecture, mlp

__all__ = ["Architecture", "Data", "Experiment", "ExperimentConfig", "mlp"]
