"""xstilts: intermediate-task training, stage orders and zero-shot transfer on XTREME."""

__version__ = "0.1.0"
