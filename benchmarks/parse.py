"""Documents per second of parse_document, beside the floor of the libraries it stands on.

Run from the repository root: python benchmarks/parse.py [repeats]

For each kind a few documents are built in memory; each is parsed `repeats` times and the
median time per document is reported as documents/second, with the floor measured in the
same run (`pdfplumber.open(...).pages[0].extract_text()` for PDFs, `docx.Document(...)` for
DOCX, the stdlib-only grammar input for the body: `str.splitlines`) and the ratio ours/floor
(time, so lower is better).
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import docx
import pdfplumber

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests/ is not installed; `make bench` runs this as a script
    sys.path.insert(0, str(ROOT))

from parsers.body import parse_body  # noqa: E402
from parsers.document import parse_document  # noqa: E402
from tests.parsers.builders import (  # noqa: E402
    ANA_LINES,
    ANA_MARKS,
    ANA_TEXT,
    acroform_pdf,
    make_docx,
    official_rows,
    text_pdf,
)


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _measure(name: str, documents: Sequence[bytes], ours: Callable[[bytes], object],
             floor: Callable[[bytes], object], repeats: int) -> None:
    ours_s = statistics.mean(_median_seconds(lambda d=d: ours(d), repeats) for d in documents)
    floor_s = statistics.mean(_median_seconds(lambda d=d: floor(d), repeats) for d in documents)
    print(f"{name:13} ours {1 / ours_s:8.1f} docs/s   floor {1 / floor_s:8.1f} docs/s   "
          f"ratio {ours_s / floor_s:5.2f}x")


def main(argv: list[str]) -> None:
    repeats = int(argv[1]) if len(argv) > 1 else 15
    people = [("Ana Novak", "ana.novak@kranj.si"), ("Janez Kovač", "janez.kovac@celje.si"),
              ("Eva Horvat", "eva.horvat@ptuj.si")]
    acro = [acroform_pdf({"ime_priimek": n, "e_naslov": e, "delovno_mesto": "svetovalka",
                          "naziv_organizacije": "Mestna občina"}, ("soglasje", "interes_mediji"),
                         {"vrsta_organizacije": "obcina", "vloga": "pr_staff"})
            for n, e in people]
    texts = [text_pdf([[line.replace("Ana Novak", n).replace("ana.novak@kranj.si", e)
                        for line in ANA_LINES]]) for n, e in people]
    docxs = [make_docx(official_rows({**ANA_TEXT, "full_name": n, "email": e}, ANA_MARKS))
             for n, e in people]
    bodies = ["\n".join(ANA_LINES).replace("Ana Novak", n) for n, _ in people]

    def pdf_floor(data: bytes) -> object:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return pdf.pages[0].extract_text()

    _measure("pdf-acroform", acro, parse_document, pdf_floor, repeats)
    _measure("pdf-text", texts, parse_document, pdf_floor, repeats)
    _measure("docx", docxs, parse_document, lambda d: docx.Document(io.BytesIO(d)), repeats)
    _measure("body", [b.encode() for b in bodies], lambda d: parse_body(d.decode()),
             lambda d: d.decode().splitlines(), repeats)


if __name__ == "__main__":
    main(sys.argv)
