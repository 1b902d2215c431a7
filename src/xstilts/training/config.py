"""Training hyper-parameters, with per-task defaults from the X-STILTs paper's setup.

Defaults (docs/reference.md section 1): AdamW lr 1e-5, eps 1e-8, weight decay 0.01, linear
warm-up over 10% then linear decay, grad-norm clip 1.0, effective batch 32 (QA: 16), max length
256 (classification, tagging) or 384 with doc stride 128 (QA); target-task epochs XNLI 2,
PAWS-X 5, POS 10, NER 10, QA 2; intermediate tasks 3 epochs. Model selection on English dev.

``preset`` names where the per-task defaults come from: ``"paper"`` (the default: jiant's
X-STILTs values above, lr 1e-5 for every stage) or ``"xtreme"`` (XTREME's own baseline scripts
for XLM-R large, applied to target fine-tuning only: XTREME has no intermediate stages). The
preset and every value it resolved to are part of the TrainConfig a node records. The per-task
values (epochs, XTREME's script values) live in each task's file (``TaskSpec.training``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, ValidationError, model_serializer

from xstilts.errors import ConfigError
from xstilts.tasks.types import TaskSpec

Preset = Literal["paper", "xtreme"]
DocStrideMode = Literal["step", "overlap"]


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
    max_query_length: int | None = Field(
        None, gt=2, description="Sub-words of a question (extractive QA) or a query (dual encoder: its "
                                "candidates get max_length); default 64, XTREME's QA value.")
    doc_stride: int = Field(128, gt=0)
    doc_stride_mode: DocStrideMode = Field(
        "step", description="QA windows: step = doc_stride is the step between window starts (XTREME's and "
                            "jiant's SQuAD featurisation); overlap = windows overlap by doc_stride (HF run_qa).")
    seed: int = Field(1, ge=0, lt=2**32, description="Random seed (numpy accepts 0 .. 2**32-1).")
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = "auto"
    compile: bool | Literal["auto"] = Field(
        False, description="torch.compile the encoder (auto: where measured to pay, i.e. on a CUDA device; "
                           "xstilts.modeling.compilation). Part of a node's identity when on: compiled dropout "
                           "draws differ from eager ones.")
    eval_every: int | None = Field(None, gt=0, description="Evaluate on English dev every N steps (default: each epoch).")
    early_stopping_patience: int | None = Field(None, gt=0, description="Evaluations without improvement before stopping.")
    select_best: bool = Field(True, description="Keep the best dev checkpoint (else the last).")
    group_by_length: bool = Field(False, description="Batch rows of similar length (faster; not measured to "
                                                     "keep accuracy within seed noise, so off by default).")
    preset: Preset = Field("paper", description="Per-task defaults: paper (jiant X-STILTs) or xtreme (XTREME baselines).")
    carry_head: bool = Field(False, description="Target fine-tuning keeps a same-family intermediate head "
                                                "(default: a fresh head, as jiant does for X-STILTs).")
    freeze_embeddings: bool = Field(False, description="Freeze word embeddings (most of a small encoder's weights).")
    max_train_examples: int | None = Field(None, gt=0, description="Use only the first N training examples.")
    max_eval_examples: int | None = Field(None, gt=0, description="Use only the first N dev examples.")
    checkpoint_every: int = Field(50, gt=0, description="Write a resumable checkpoint every N optimizer steps.")
    dropout: float | None = Field(None, ge=0, le=1, description="Override the encoder's dropout.")
    mlm_probability: float = Field(0.15, gt=0, lt=1, description="Masked-LM tasks: share of tokens masked (80/10/10).")
    mlm_whole_word: bool = Field(False, description="Masked-LM tasks: mask every sub-word of a chosen word.")
    pack_sequences: bool = Field(True, description="Run the encoder on each batch's real tokens only (sequences "
                                 "packed end to end, block-diagonal attention): same batches, same math up to "
                                 "float rounding. Classification and tagging on BERT/XLM-R family encoders.")
    trim_vocabulary: bool = Field(True, description="Train only the word-embedding rows the training data uses; "
                                  "exact (untouched rows get AdamW's decay product on saving). Off by itself for "
                                  "tied LM heads and mlm tasks.")

    @model_serializer(mode="wrap")
    def _leave_out_unset_query_length(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Configs that never set it dump (and hash into node ids) as they did before it existed.
        values = handler(self)
        if values.get("max_query_length", 0) is None:
            del values["max_query_length"]
        return values

    @property
    def per_device_batch_size(self) -> int:
        return max(1, self.batch_size // self.grad_accumulation)


def dev_selects(config: TrainConfig | Mapping[str, Any]) -> bool:
    """Whether a training's dev set shapes its weights: it picks the checkpoint (``select_best``)
    or stops training early. Only then is the dev set "used" (contamination, zero-shot labels).
    Takes a TrainConfig or the config a run recorded (run.json)."""
    values = config if isinstance(config, Mapping) else config.model_dump()
    return bool(values.get("select_best", True)) or values.get("early_stopping_patience") is not None


def make_config(task: TaskSpec, *, target: bool, model_scale: str = "large", **overrides: object) -> TrainConfig:
    """TrainConfig with the task's defaults as a target or as an intermediate stage (of the preset
    given, else the paper's; the same values a study gives it in that role; ``model_scale``: the
    model's, for values XTREME's scripts choose by size), then the caller's non-None overrides."""
    given = {k: v for k, v in overrides.items() if v is not None}
    values = task.training_defaults(target=target, preset=given.get("preset", "paper"),  # type: ignore[arg-type]
                                    model_scale=model_scale)
    values.update(given)
    try:
        return TrainConfig(**values)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "config"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{field}: {message[0].lower() + message[1:]} (got {first.get('input')!r})") from None
