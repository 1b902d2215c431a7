"""Training hyper-parameters, with per-task defaults from the X-STILTs paper's setup.

Defaults (reference page, section 1): AdamW lr 1e-5, eps 1e-8, weight decay 0.01, linear
warm-up over 10% then linear decay, grad-norm clip 1.0, effective batch 32 (QA: 16), max length
256 (classification, tagging) or 384 with doc stride 128 (QA); target-task epochs XNLI 2,
PAWS-X 5, POS 10, NER 10, QA 2; intermediate tasks 3 epochs. Model selection on English dev.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from xstilts.tasks.types import TaskKind, TaskSpec

# Target-task epochs from the paper; every other task trains for INTERMEDIATE_EPOCHS.
TARGET_EPOCHS: dict[str, float] = {
    "xnli": 2, "pawsx": 5, "udpos": 10, "panx": 10, "xquad": 2, "mlqa": 2, "tydiqa": 2,
}
INTERMEDIATE_EPOCHS = 3.0


class TrainConfig(BaseModel):
    """Everything that determines a training stage's optimisation (part of the node identity)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    learning_rate: float = Field(1e-5, gt=0)
    epochs: float = Field(3.0, gt=0)
    max_steps: int | None = Field(None, gt=0, description="Stop after this many optimizer steps.")
    batch_size: int = Field(32, gt=0, description="Effective batch: per-device batch x accumulation x devices.")
    grad_accumulation: int = Field(1, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    weight_decay: float = Field(0.01, ge=0)
    adam_epsilon: float = Field(1e-8, gt=0)
    max_grad_norm: float = Field(1.0, gt=0)
    max_length: int = Field(256, gt=8)
    doc_stride: int = Field(128, gt=0)
    seed: int = 1
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = "auto"
    eval_every: int | None = Field(None, gt=0, description="Evaluate on English dev every N steps (default: each epoch).")
    early_stopping_patience: int | None = Field(None, gt=0, description="Evaluations without improvement before stopping.")
    select_best: bool = Field(True, description="Keep the best dev checkpoint (else the last).")
    group_by_length: bool = True
    freeze_embeddings: bool = Field(False, description="Freeze word embeddings (most of a small encoder's weights).")
    max_train_examples: int | None = Field(None, gt=0, description="Use only the first N training examples.")
    max_eval_examples: int | None = Field(None, gt=0, description="Use only the first N dev examples.")
    checkpoint_every: int = Field(50, gt=0, description="Write a resumable checkpoint every N optimizer steps.")
    dropout: float | None = Field(None, ge=0, le=1, description="Override the encoder's dropout.")
    trim_vocabulary: bool = Field(True, description="Train only the word-embedding rows the training data uses; "
                                  "exact (untouched rows get AdamW's decay product on saving). Off by itself for "
                                  "tied LM heads and mlm tasks.")

    @property
    def per_device_batch_size(self) -> int:
        return max(1, self.batch_size // self.grad_accumulation)


def defaults_for(task: TaskSpec, *, target: bool | None = None) -> dict[str, object]:
    """The paper's hyper-parameters for ``task`` as overrides on TrainConfig's defaults."""
    is_target = task.is_target if target is None else target
    values: dict[str, object] = {
        "epochs": TARGET_EPOCHS.get(task.name, INTERMEDIATE_EPOCHS) if is_target else INTERMEDIATE_EPOCHS,
    }
    if task.kind is TaskKind.EXTRACTIVE_QA:
        values.update(batch_size=16, max_length=384, doc_stride=128)
    return values


def make_config(task: TaskSpec, **overrides: object) -> TrainConfig:
    """TrainConfig with the task's defaults, then the caller's non-None overrides."""
    values = defaults_for(task)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**values)
