"""find_declarations: attachments in order, the body last, each person once."""

from __future__ import annotations

from parsers.find import find_declarations
from parsers.model import TITLE, Declaration
from tests.parsers.builders import ANA, ANA_LINES, ANA_MARKS, ANA_TEXT, make_docx, official_rows
from tests.parsers.builders import text_pdf as make_pdf


def test_docx_and_its_pdf_and_the_body_are_one_declaration() -> None:
    docx = make_docx(official_rows(ANA_TEXT, ANA_MARKS))
    pdf = make_pdf([ANA_LINES[:6]])  # the same person, less complete
    found = find_declarations("\n".join(ANA_LINES), [("a.pdf", pdf), ("a.docx", docx)])
    assert [(d.source, d.fields) for d in found] == [("a.docx", ANA)]


def test_unreadable_kept_and_order() -> None:
    other = "\n".join(line.replace("Ana Novak", "Eva Horvat").replace("ana.novak", "eva")
                      for line in ANA_LINES)
    found = find_declarations(
        "\n".join(ANA_LINES),
        [("scan.png", b"\x89PNG\r\n\x1a\n"), ("eva.txt", other.encode())])
    assert [(d.source, d.problems, d.fields.get("full_name")) for d in found] == [
        ("scan.png", ("unreadable_attachment",), None), ("eva.txt", (), "Eva Horvat"),
        ("body", (), "Ana Novak")]


def test_a_body_that_only_names_the_form_is_dropped_beside_an_attachment() -> None:
    docx = make_docx(official_rows(ANA_TEXT, ANA_MARKS))
    found = find_declarations(f"V prilogi:\n{TITLE}\nLp", [("a.docx", docx)])
    assert [d.source for d in found] == ["a.docx"]
    alone = find_declarations(f"{TITLE}\nLp", [])
    assert [(d.source, d.fields) for d in alone] == [("body", {"consent": False})]


def test_the_injected_parser_is_used() -> None:
    seen: list[str | None] = []

    def parse(data: bytes, filename: str | None) -> list[Declaration]:
        seen.append(filename)
        return [Declaration(fields={}, problems=("unreadable_attachment",), source="x")]

    found = find_declarations("Hvala.", [("a.pdf", b"1"), (None, b"2")], parse)
    assert seen == ["a.pdf", None] and len(found) == 2
