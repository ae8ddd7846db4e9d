"""The training loop in plain PyTorch: experiments, optimizers, and the loop run as phases.

Nothing here knows about HTTP, websockets or processes.
"""
