"""The safetensors dtypes and how each becomes a numpy array.

Every dtype of the format (the ``Dtype`` enum of the safetensors library) is listed here:

* read as the numpy dtype of the same name: BOOL, U8, I8, U16, I16, U32, I32, U64, I64, F16
  (kept float16), F32, F64, C64 (complex64);
* numpy has no such dtype, so **converted to float32, exactly**: BF16 (a bfloat16 is the upper
  half of a float32), the 8-bit floats F8_E4M3 (OCP E4M3FN: bias 7, no infinities, NaN
  ``S.1111.111``, largest 448), F8_E5M2 (bias 15, IEEE infinities and NaNs, largest 57344),
  F8_E4M3FNUZ (bias 8, largest 240) and F8_E5M2FNUZ (bias 16, largest 57344) — the FNUZ
  forms have no infinities and no negative zero, their only NaN is ``0x80`` — and F8_E8M0
  (an exponent alone: ``2**(e - 127)``, ``0xFF`` is NaN). Every value of these formats,
  subnormals, signed zeros, infinities and NaN included, is a float32 value, so nothing is
  rounded;
* refused: F4, F6_E2M3, F6_E3M2 (two or four-thirds of a value per byte): the format does not
  say in which order values are packed into a byte, so no reading of them is safe.

The 8-bit floats are decoded through a 256-entry table indexed by the bytes (one numpy
gather, no Python loop).
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

#: Codes read and written as numpy dtypes (little-endian in the file).
NUMPY: Dict[str, np.dtype] = {
    "BOOL": np.dtype("|b1"),
    "U8": np.dtype("|u1"),
    "I8": np.dtype("|i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "F16": np.dtype("<f2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F64": np.dtype("<f8"),
    "C64": np.dtype("<c8"),
}

#: Codes numpy has no dtype for, read as float32: code -> bytes per value.
TO_FLOAT32: Dict[str, int] = {"BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1, "F8_E8M0": 1}

#: Codes of the format that are refused, and why.
REFUSED: Dict[str, str] = {
    code: f"packed {bits}-bit floats, and the safetensors format does not fix the order of the values within a byte"
    for code, bits in (("F4", 4), ("F6_E2M3", 6), ("F6_E3M2", 6))
}

#: What ``save`` writes: C64 is left out (complex arrays are saved as real and imaginary
#: parts), so files stay readable by dlarray versions that predate it.
_WRITTEN = {dt.newbyteorder("="): code for code, dt in NUMPY.items() if code != "C64"}


def code_of(dtype: np.dtype) -> Optional[str]:
    """The safetensors code ``save`` writes a numpy dtype as, or None."""
    return _WRITTEN.get(np.dtype(dtype).newbyteorder("="))


def itemsize(code: str) -> int:
    return NUMPY[code].itemsize if code in NUMPY else TO_FLOAT32[code]


def _minifloat_table(exponent_bits: int, mantissa_bits: int, bias: int, kind: str) -> np.ndarray:
    """float32 values of all 256 bytes of an 8-bit float. ``kind``: "ieee" (infinities and
    NaNs at the top exponent), "fn" (only all-ones is NaN, no infinities) or "fnuz" (``0x80``
    is the only NaN: no infinities, no negative zero)."""
    codes = np.arange(256, dtype=np.int64)
    negative = codes >> 7 == 1
    e = (codes >> mantissa_bits) & ((1 << exponent_bits) - 1)
    m = codes & ((1 << mantissa_bits) - 1)
    # Subnormals (e == 0) have no implicit leading one and the exponent of e == 1.
    significand = np.where(e == 0, m, m + (1 << mantissa_bits)).astype(np.float64)
    value = np.ldexp(significand, np.maximum(e, 1) - bias - mantissa_bits)
    value = np.where(negative, -value, value)
    top = e == (1 << exponent_bits) - 1
    if kind == "ieee":
        value = np.where(top & (m == 0), np.where(negative, -np.inf, np.inf), value)
        value = np.where(top & (m != 0), np.nan, value)
    elif kind == "fn":
        value = np.where(top & (m == (1 << mantissa_bits) - 1), np.nan, value)
    else:
        value = np.where(codes == 0x80, np.nan, value)
    return value.astype(np.float32)


_TABLES: Dict[str, np.ndarray] = {}


def _table(code: str) -> np.ndarray:
    if code not in _TABLES:
        if code == "F8_E8M0":
            e = np.arange(256, dtype=np.int64)
            _TABLES[code] = np.where(e == 255, np.nan, np.ldexp(1.0, e - 127)).astype(np.float32)
        else:
            exponent_bits, mantissa_bits, bias, kind = {
                "F8_E4M3": (4, 3, 7, "fn"),
                "F8_E5M2": (5, 2, 15, "ieee"),
                "F8_E4M3FNUZ": (4, 3, 8, "fnuz"),
                "F8_E5M2FNUZ": (5, 2, 16, "fnuz"),
            }[code]
            _TABLES[code] = _minifloat_table(exponent_bits, mantissa_bits, bias, kind)
    return _TABLES[code]


def to_float32(code: str, raw: np.ndarray) -> np.ndarray:
    """A new float32 array (1-D) from the file bytes ``raw`` (uint8) of a TO_FLOAT32 tensor."""
    if code == "BF16":
        return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
    return _table(code)[raw]
