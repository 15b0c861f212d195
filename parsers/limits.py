"""How much of a document the parsers are willing to read, and the zip checks that enforce it."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 25 * MB  # the whole file, as received
    max_pages: int = 20  # PDF pages read; a declaration has one or two
    max_zip_entries: int = 1000
    max_zip_uncompressed: int = 50 * MB  # the sum of the sizes the central directory declares
    max_zip_ratio: int = 200  # per entry, uncompressed / compressed, for entries over 1 MB


DEFAULT_LIMITS = Limits()
_RATIO_FLOOR = MB  # small entries compress well for honest reasons (XML full of zeros)


def zip_refusal(archive: zipfile.ZipFile, limits: Limits) -> str:
    """Why the archive's central directory is refused ("" when it is acceptable).

    Checked before anything is inflated: a zip bomb declares sizes that give it away, and an
    entry that lies about its size is cut off by `read_member` anyway.
    """
    entries = archive.infolist()
    if len(entries) > limits.max_zip_entries:
        return f"ZIP ima preveč datotek ({len(entries)})"
    total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            return "šifriran ZIP/DOCX"
        total += entry.file_size
        if entry.file_size > _RATIO_FLOOR and (
            entry.file_size > limits.max_zip_ratio * max(entry.compress_size, 1)
        ):
            return "sumljivo stisnjena datoteka (zip bomb)"
    if total > limits.max_zip_uncompressed:
        return f"vsebina ZIP je prevelika ({total // MB} MB)"
    return ""


def read_member(archive: zipfile.ZipFile, name: str, cap: int) -> bytes:
    """An entry's bytes, never more than `cap` + 1 of them whatever its header claims."""
    with archive.open(name) as stream:
        data: bytes = stream.read(cap + 1)
    if len(data) > cap:
        raise ValueError(f"{name} is larger than {cap} bytes")
    return data
