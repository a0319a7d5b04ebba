"""Reader for the IDX format of (Fashion-)MNIST, with strict checks.

IDX header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions,
then one big-endian uint32 per dimension. Images are ``0x00000803`` (3 dims), labels
``0x00000801`` (1 dim). A file may be gzip-compressed (``.gz``).

Every problem (missing file, bad gzip stream, wrong magic, truncated payload, trailing
bytes, label out of range) raises :class:`~kerascnn.errors.CorruptDataError` naming the file
and what was found; garbage never reaches a model.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from kerascnn.errors import CorruptDataError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".gz" or raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise CorruptDataError(
                f"{path} is not a valid gzip file ({exc}); the download may be truncated. "
                f"Delete it and get the dataset again."
            ) from None
    return raw


def read_idx(path: str | Path, expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file into a uint8 array, checking its magic number and size."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise CorruptDataError(f"{path} is too short to be an IDX file ({len(data)} bytes).")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    magic = struct.unpack(">I", data[:4])[0]
    if (
        zero != 0
        or dtype_code != 0x08
        or ndim < 1
        or (expected_magic is not None and magic != expected_magic)
    ):
        want = (
            f"0x{expected_magic:08x}"
            if expected_magic is not None
            else "0x0000080N (unsigned-byte IDX)"
        )
        raise CorruptDataError(
            f"{path} has magic number 0x{magic:08x}; expected {want}. It is not the IDX file it "
            f"is named after (or it is corrupt)."
        )
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise CorruptDataError(f"{path} is truncated inside its header ({len(data)} bytes).")
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    expected = int(np.prod(dims, dtype=np.int64))
    payload = len(data) - header_len
    if payload != expected:
        raise CorruptDataError(
            f"{path} declares shape {tuple(dims)} = {expected} bytes of data but holds {payload}; "
            f"the file is {'truncated' if payload < expected else 'padded or corrupt'}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims).copy()


def read_idx_images(path: str | Path) -> np.ndarray:
    """Images as uint8 ``(N, H, W, 1)``."""
    arr = read_idx(path, IMAGES_MAGIC)
    return arr[..., None]


def read_idx_labels(path: str | Path, num_classes: int = 10) -> np.ndarray:
    """Labels as int64 ``(N,)``, checked to lie in ``[0, num_classes)``."""
    arr = read_idx(path, LABELS_MAGIC).astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise CorruptDataError(
            f"{path} holds labels in [{arr.min()}, {arr.max()}]; expected [0, {num_classes - 1}]."
        )
    return arr
