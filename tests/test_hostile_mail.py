"""Hostile messages cannot hang or blow up the main process (read_message, parse_bodies).

Attachments are parsed in the sandbox; these inputs reach the main process itself. Each time
bound is generous (several times the fixed cost on a loaded 2-core machine) and far below
what the unbounded code took: seconds to minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from intake.reading import MAX_ATTACHMENTS, read_message, unflow
from parsers.body import html_to_text, parse_bodies

MB = 2**20
HEAD = (b"From: Ana Novak <ana.novak@kranj.si>\r\nSubject: Izjava o pristopu\r\n"
        b"Message-ID: <1@kranj.si>\r\nMIME-Version: 1.0\r\n")


def plain(body: bytes, extra: bytes = b"", ctype: bytes = b"text/plain; charset=utf-8") -> bytes:
    return HEAD + extra + b"Content-Type: " + ctype + b"\r\n\r\n" + body


def multipart(parts: list[bytes]) -> bytes:
    out = [HEAD, b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n']
    for part in parts:
        out += [b"--B\r\n", part, b"\r\n"]
    return b"".join([*out, b"--B--\r\n"])


def nested(depth: int) -> bytes:
    out = [HEAD, b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for level in range(1, depth):
        out.append(b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n'
                   % (level - 1, level))
    out.append(b"--b%d\r\nContent-Type: text/plain\r\n\r\nhello\r\n" % (depth - 1))
    return b"".join(out)


def cpu_seconds(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


HTML = b"text/html; charset=utf-8"
UTF7 = b"text/plain; charset=utf-7"  # a slow codec

# (name, message, seconds): the bound is about 5x the time with the fixes.
SLOW = [
    ("200,000 MIME parts", multipart([b"Content-Type: text/plain\r\n\r\nx"] * 200_000), 1.5),
    ("a header section of 2,000,000 lines", HEAD + b"X-A: b\r\n" * 2_000_000, 1.0),
    ("a 4,000,000-line folded header", plain(b"hi", b"Subject: a\r\n" + b" a\r\n" * 4 * MB), 1.0),
    ("an address header of 5 MB of unclosed quotes", plain(b"hi", b'To: ' + b'"a' * MB), 1.0),
    ("100,000 parameters in Content-Disposition", multipart([
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment; "
        + b"; ".join(b"p%d=v" % i for i in range(100_000)) + b"\r\n\r\nx"]), 1.0),
    ("a file name of 1 MB of encoded words", multipart([
        b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="'
        + b" ".join([b"=?utf-8?B?xI3FocW+?="] * 50_000) + b'"\r\n\r\nx']), 1.0),
    ("format=flowed, 2,000,000 flowed lines", plain(
        b"word \r\n" * 2 * MB, ctype=b"text/plain; charset=utf-8; format=flowed"), 3.0),
    ("1,000,000 uuencoded files", plain(b"begin 644 x\r\nend\r\n" * 1_000_000), 3.0),
    ("HTML: 10 MB of '<a'", plain(b"<a" * 5 * MB, ctype=HTML), 2.0),
    ("HTML: 30 MB of '<'", plain(b"<" * 30 * MB, ctype=HTML), 3.0),
    ("HTML: 1,000,000 unclosed tables", plain(b"<table><tr><td>x" * 1_000_000, ctype=HTML), 5.0),
    # get_payload() of a leaf re-decodes its 8-bit text in the declared codec, here utf-7.
    ("40 MB of windows-1250 labelled utf-7", plain("čšž".encode("cp1250") * 13 * MB, ctype=UTF7),
     2.5),
]


@pytest.mark.parametrize(("raw", "bound"), [(raw, bound) for _, raw, bound in SLOW],
                         ids=[name.replace(" ", "_") for name, _, _ in SLOW])
def test_reading_and_the_body_grammar_stay_cheap(raw: bytes, bound: float) -> None:
    def work() -> None:
        view = read_message(raw)
        assert not any(d.startswith("message unreadable") for d in view.defects)
        parse_bodies(view.body_text, view.body_html)

    assert cpu_seconds(work) < bound


@pytest.mark.parametrize("raw", [nested(5_000), plain(b"hi", b"Reply-To: " + b"(" * MB + b"\r\n")],
                         ids=["multipart_nested_5000_deep", "1MB_of_nested_comments"])
def test_recursion_in_the_email_package_costs_only_the_content(raw: bytes) -> None:
    """The email package recurses on nesting: the message still has its sender."""
    view = read_message(raw)
    assert view.sender == "ana.novak@kranj.si"
    assert not any(d.startswith("message unreadable") for d in view.defects)


def test_text_bodies_are_cut_with_a_defect() -> None:
    view = read_message(plain(b"Ime in priimek: Ana\r\n" + b"a" * 40 * MB))
    assert view.body_text.startswith("Ime in priimek: Ana")
    assert len(view.body_text) <= MB
    assert any("cut" in defect for defect in view.defects)


def test_html_bodies_are_cut_after_inline_images_and_styles() -> None:
    image = b'<img src="data:image/png;base64,' + b"A" * MB + b'">'
    style = b"<style>" + b"p {color: red}\r\n" * 100_000 + b"</style>"
    view = read_message(plain(b"<html>" + image + style + b"<p>Ime in priimek: Ana</p>",
                              ctype=HTML))
    assert view.body_html is not None and len(view.body_html) <= 2**19
    assert view.body_text == "Ime in priimek: Ana"


def test_attachments_are_capped() -> None:
    parts = [b'Content-Type: application/pdf\r\nContent-Disposition: attachment; '
             b'filename="izjava%d.pdf"\r\n\r\nx' % number for number in range(1_000)]
    view = read_message(multipart(parts))
    assert len(view.attachments) == MAX_ATTACHMENTS
    assert view.attachments[0].filename == "izjava0.pdf"


def test_unflow_is_linear() -> None:
    assert unflow("a \nb \nc\n> d \n> e", delsp=False) == "a b c\n> d e"
    assert cpu_seconds(lambda: unflow("word \n" * 1_000_000, delsp=True)) < 2.0


def test_html_reader_survives_deep_unclosed_tables() -> None:
    html = "<table><tr><td>Ime in priimek:</td><td>Ana</td></tr>" + "<table><tr><td>x" * 50_000
    text = ""

    def work() -> None:
        nonlocal text
        text = html_to_text(html)

    assert cpu_seconds(work) < 2.0
    assert text.startswith("Ime in priimek: Ana")


@pytest.mark.parametrize("html", ["</a" * 100_000, "<!" * 400_000, "<?" * 100_000,
                                  "<![CDATA[>" * 50_000])
def test_html_reader_is_linear_on_unclosed_constructs(html: str) -> None:
    """Python 3.11's HTMLParser is quadratic on these (a minute each, unescaped)."""
    assert cpu_seconds(lambda: html_to_text(html)) < 1.0


def test_defused_html_reads_as_before() -> None:
    html = ("<p>a &lt; b</p><!--[if gte mso 9]><xml></xml><![endif]--><![if !supportLists]>"
            "<table><tr><td>Ime in priimek:</td><td>Ana <b>Novak</b></td></tr></table>"
            "<script>if (a<b) {}</script><p>x < y</p>")
    assert html_to_text(html) == "a < b\nIme in priimek: Ana Novak\nx < y"


def test_lines_beyond_a_million_are_not_split() -> None:
    """The email package keeps an object per line while splitting: 20 million empty lines
    cost 5 s and 1.6 GB before the cut."""
    view = read_message(plain(b"Ime in priimek: Ana\r\n" + b"\r\n" * 20_000_000))
    assert "more than 1000000 lines: the rest not read" in view.defects
    assert view.body_text.startswith("Ime in priimek: Ana")
