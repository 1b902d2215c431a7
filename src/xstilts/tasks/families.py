"""What several task files share: a family's label set, and the preset values of XTREME's scripts.

A task file imports from here what its family has in common; everything else about a task is in
its own file (``xstilts.tasks.catalog``).
"""

from __future__ import annotations

NLI_LABELS = ("entailment", "neutral", "contradiction")
# Spellings of the NLI labels in the various sources, mapped onto one label set so that
# MNLI, SNLI, ANLI and XNLI share a head (ANLI+).
NLI_LABEL_MAP = (("contradictory", "contradiction"), ("e", "entailment"), ("n", "neutral"),
                 ("c", "contradiction"), ("0", "entailment"), ("1", "neutral"), ("2", "contradiction"))
# Every NLI task trains this one head.
NLI_HEAD = "nli"

# XTREME's scripts/train_*.sh for xlm-roberta-large (effective batch 32 everywhere; their Python
# scripts default to no warm-up and no weight decay, except QA: 500 warm-up steps, which is 6% of
# 3 epochs of SQuAD v1.1 at batch 32, and weight decay 1e-4). Values the scripts pick by model
# size (XNLI's and XCOPA's lr) are ``ByModelScale`` in the task's file.
XTREME_CLASSIFY = {"batch_size": 32, "max_length": 128, "warmup_ratio": 0.0, "weight_decay": 0.0}
XTREME_QA = {"learning_rate": 3e-5, "epochs": 3.0, "batch_size": 32, "max_length": 384, "doc_stride": 128,
             "warmup_ratio": 0.06, "weight_decay": 1e-4}

# Hub splits of the GLUE-style sets: train and validation (= our dev).
TRAIN_DEV = {"train": "train", "dev": "validation"}
TRAIN_DEV_TEST = {"train": "train", "dev": "validation", "test": "test"}

# XTREME's translate-train sets that are not on the hub, in Google's public bucket.
XTREME_TRANSLATIONS = "https://storage.googleapis.com/xtreme_translations"
