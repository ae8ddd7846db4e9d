"""Instrumentation through PyTorch's public hooks: what backward and step did, summarised cheaply."""
