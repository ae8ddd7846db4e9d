"""Stepscope's public Python API.

Define an experiment in your own file and start the server with it (docs/experiments.md):

    import stepscope
    EXPERIMENT = stepscope.Experiment(name="my-task", title=..., description=...,
                                      data=make_data, model=make_model, loss=make_loss)

    $ stepscope --experiments my_task.py

Or watch and steer your own training loop (docs/attach.md):

    watch = stepscope.attach(model, optimizer, name="my run")
    ...  # after each optimizer.step():
    watch.log(loss=loss)
    watch.close()
"""

from app.engine.experiments import Data, Experiment, ExperimentConfig
from app.engine.models import Architecture, mlp
from stepscope.attaching import attach
from stepscope.watch import Watch

__all__ = ["Architecture", "Data", "Experiment", "ExperimentConfig", "Watch", "attach", "mlp"]
