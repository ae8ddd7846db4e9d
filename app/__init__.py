"""Stepscope: watch PyTorch learn."""
