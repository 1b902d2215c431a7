"""Q4_0 dequantisation: blocks of 32 four-bit values sharing one fp16 scale."""

from __future__ import annotations

import numpy as np

Q4_BLOCK = 32
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2  # fp16 scale + 16 bytes of nibbles


def dequantize_q4_0(raw: np.ndarray) -> np.ndarray:
    """Q4_0 bytes -> float32: per block an fp16 scale d, then 16 bytes whose low nibbles are values
    0-15 and high nibbles values 16-31; value = (nibble - 8) * d."""
    blocks = raw.reshape(-1, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.empty((len(blocks), Q4_BLOCK), np.int8)
    values[:, :16] = nibbles & 0x0F
    values[:, 16:] = nibbles >> 4
    values -= 8
    out = values.astype(np.float32)
    out *= scales
    return out.reshape(-1)
