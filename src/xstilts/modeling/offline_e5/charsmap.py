"""SentencePiece's precompiled charsmap (a darts-clone double-array trie) for a normalisation map."""

from __future__ import annotations

import struct

import numpy as np

from xstilts.errors import XstiltsError

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
