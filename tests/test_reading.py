"""read_message: every kind of mail a municipality sends, and garbage, without raising."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.reading import (
    Attachment,
    MessageView,
    decode_text,
    html_to_text,
    newest_received,
    read_message,
    sanitise_filename,
)
from tests.messages import build, raw

CET = timezone(timedelta(hours=1))
TEXT = "Občina Šenčur, Žiga Čučnik, ŠČŽ šćž"


def single_part(charset: str, body: bytes, cte: str = "8bit") -> bytes:
    head = (
        "From: Ana Novak <ana.novak@kranj.si>\r\n"
        "To: metka.lasic@skupnostobcin.si\r\n"
        "Subject: test\r\n"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode("ascii") + body + b"\r\n"


def test_plain_message_fields() -> None:
    view = read_message(
        build(
            sender='"Novak, Ana" <Ana.Novak@Kranj.SI>',
            headers={
                "Reply-To": "Tajnistvo <Tajnistvo@Kranj.si>",
                "Return-Path": "<ana.novak@kranj.si>",
            },
        )
    )
    assert view.message_id == "<test-1@kranj.si>"
    assert view.subject == "Izjava o pristopu k mreži komunikatorjev"
    assert view.sender == "ana.novak@kranj.si"
    assert view.sender_name == "Novak, Ana"
    assert view.reply_to == "tajnistvo@kranj.si"
    assert view.return_path == "<ana.novak@kranj.si>"
    assert view.date == datetime(2021, 2, 3, 10, 12, tzinfo=CET)
    assert view.content_type == "text/plain"
    assert view.body_text.strip() == "Pozdravljeni, v prilogi pošiljam izjavo o pristopu."
    assert view.body_html is None
    assert view.attachments == ()
    assert view.defects == ()
    assert view.headers["subject"] == ("Izjava o pristopu k mreži komunikatorjev",)
    assert view.header("X-Nothing") is None


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("windows-1250", "cp1250"), ("iso-8859-2", "iso-8859-2"), ("utf-8", "utf-8")],
)
def test_bodies_in_declared_charsets(charset: str, encoding: str) -> None:
    view = read_message(single_part(charset, TEXT.encode(encoding)))
    assert view.body_text.strip() == TEXT


@pytest.mark.parametrize(
    ("charset", "data"),
    [
        ("utf-8", TEXT.encode("cp1250")),  # says utf-8, is windows-1250
        ("x-unknown-charset", TEXT.encode("utf-8")),
        ("x-unknown-charset", TEXT.encode("cp1250")),
        ("us-ascii", TEXT.encode("utf-8")),
        ("iso-8859-2", TEXT.encode("utf-8")),  # says latin-2, is utf-8
        ("windows-1250", TEXT.encode("utf-8")),
    ],
)
def test_wrong_or_unknown_charset_falls_back(charset: str, data: bytes) -> None:
    assert read_message(single_part(charset, data)).body_text.strip() == TEXT


def test_undecodable_bytes_are_replaced() -> None:
    assert decode_text(b"a\x81\x98b\xff\xfe", "utf-8") == "a\ufffd\ufffdb\ufffd\ufffd"


def test_quoted_printable_windows_1250() -> None:
    body = b"Ob=E8ina =8Aen=E8ur"
    view = read_message(single_part("windows-1250", body, cte="quoted-printable"))
    assert view.body_text.strip() == "Občina Šenčur"


def test_html_only_body_is_converted_to_text() -> None:
    html = (
        "<html><head><style>p{color:red}</style></head><body><p>Ime in priimek: Ana&nbsp;Novak</p>"
        "<table><tr><td>E-naslov</td><td>ana@kranj.si</td></tr></table><br>Lep pozdrav</body>"
    )
    message = (
        b"From: a@kranj.si\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html.encode() + b"\r\n"
    )
    view = read_message(message)
    assert view.body_html is not None and "<table>" in view.body_html
    assert view.body_text == "Ime in priimek: Ana Novak\n\nE-naslov\tana@kranj.si\n\nLep pozdrav"


def test_alternative_prefers_plain_and_keeps_html() -> None:
    view = read_message(build(body="plain text", html="<p>html text</p>"))
    assert view.body_text.strip() == "plain text"
    assert view.body_html is not None and "html text" in view.body_html
    assert view.attachments == ()


def test_html_to_text_survives_broken_markup() -> None:
    assert html_to_text("<p>a<b>b</p><script>x()</script>c<") == "ab\nc<"  # a stray "<" is text


def test_attachment_bytes_and_names() -> None:
    pdf = b"%PDF-1.4 fake"
    view = read_message(build(attachments=[("izjava Šenčur.pdf", "application/pdf", pdf)]))
    assert view.attachments == (Attachment("izjava Šenčur.pdf", "application/pdf", pdf),)
    assert view.content_type == "multipart/mixed"


RFC2231 = raw("""
From: a@kranj.si
Subject: x
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BB"

--BB
Content-Type: text/plain; charset=utf-8

body
--BB
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''izjava%20o%20pristopu%20%C5%A0en%C4%8Dur.pdf
Content-Transfer-Encoding: base64

JVBERi0x
--BB
Content-Type: application/pdf; name="=?windows-1250?Q?Izjava_=8Akofja_Loka.pdf?="
Content-Disposition: attachment; filename="=?windows-1250?Q?Izjava_=8Akofja_Loka.pdf?="
Content-Transfer-Encoding: base64

JVBERi0y
--BB
Content-Type: application/pdf
Content-Disposition: attachment; filename*0*=utf-8''dolgo%20ime%20;
 filename*1*=%C5%BEupan.pdf
Content-Transfer-Encoding: base64

JVBERi0z
--BB--
""")


def test_rfc2231_and_encoded_word_filenames() -> None:
    view = read_message(RFC2231)
    assert [(a.filename, a.data) for a in view.attachments] == [
        ("izjava o pristopu Šenčur.pdf", b"%PDF-1"),
        ("Izjava Škofja Loka.pdf", b"%PDF-2"),
        ("dolgo ime župan.pdf", b"%PDF-3"),
    ]
    assert view.body_text.strip() == "body"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1250"])
def test_raw_8bit_filename_is_decoded_not_replaced(encoding: str) -> None:
    # Some clients write the file name's bytes straight into the header, no RFC 2047/2231.
    name = "Izjava_Šenčur_žig.docx".encode(encoding)
    data = (b"From: a@kranj.si\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n"
            b"Content-Type: text/plain\r\n\r\nbody\r\n--BB\r\n"
            b'Content-Type: application/octet-stream; name="' + name + b'"\r\n'
            b'Content-Disposition: attachment; filename="' + name + b'"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\nUEsD\r\n--BB--\r\n")
    view = read_message(data)
    assert [(a.filename, a.data) for a in view.attachments] == [
        ("Izjava_Šenčur_žig.docx", b"PK\x03")
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../x.pdf", "x.pdf"),
        ("..\\..\\windows\\x.pdf", "x.pdf"),
        ("/etc/passwd", "passwd"),
        (".htaccess", "htaccess"),
        ("...", "attachment-3"),
        ("", "attachment-3"),
        ("a\x00b\x1f\u202ec.pdf", "abc.pdf"),
        ("  izjava   o  pristopu.docx ", "izjava o pristopu.docx"),
        ("x" * 150 + ".pdf", "x" * 96 + ".pdf"),
        ("y" * 150, "y" * 100),
    ],
)
def test_sanitise_filename(name: str, expected: str) -> None:
    assert sanitise_filename(name, 3) == expected


def test_path_traversal_filename_in_message() -> None:
    view = read_message(build(attachments=[("../../x.pdf", "application/pdf", b"%PDF")]))
    assert [a.filename for a in view.attachments] == ["x.pdf"]


def test_nameless_attachment_gets_numbered_name() -> None:
    message = raw("""
From: a@kranj.si
Subject: x
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BB"

--BB
Content-Type: text/plain

body
--BB
Content-Type: application/pdf
Content-Transfer-Encoding: base64

JVBERi0x
--BB--
""")
    view = read_message(message)
    assert view.attachments == (Attachment("attachment-1", "application/pdf", b"%PDF-1"),)


FORWARDED = raw("""
From: Tajnistvo <tajnistvo@ptuj.si>
Subject: Fwd: izjava
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="OUT"

--OUT
Content-Type: text/plain; charset=utf-8

Posredujem.
--OUT
Content-Type: message/rfc822
Content-Disposition: attachment; filename="original.eml"

From: Janez <janez@ptuj.si>
Subject: izjava
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="IN"

--IN
Content-Type: text/plain; charset=utf-8

Izjava v prilogi.
--IN
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document
Content-Disposition: attachment; filename="izjava.docx"
Content-Transfer-Encoding: base64

UEsDBA==
--IN--

--OUT--
""")


def test_forwarded_message_attachment_is_found() -> None:
    view = read_message(FORWARDED)
    assert view.body_text.strip() == "Posredujem."
    assert view.forwarded_bodies == ("Izjava v prilogi.",)
    assert [(a.filename, a.data) for a in view.attachments] == [("izjava.docx", b"PK\x03\x04")]


def test_inline_part_with_filename_is_an_attachment() -> None:
    message = raw("""
From: a@kranj.si
Subject: x
MIME-Version: 1.0
Content-Type: multipart/related; boundary="BB"

--BB
Content-Type: text/html; charset=utf-8

<p>Izjava je spodaj</p>
--BB
Content-Type: image/png
Content-Disposition: inline; filename="image001.png"
Content-ID: <image001>
Content-Transfer-Encoding: base64

iVBORw==
--BB
Content-Type: text/plain; charset=utf-8
Content-Disposition: inline; filename="izjava.txt"

Ime in priimek: Ana
--BB--
""")
    view = read_message(message)
    assert view.body_text == "Izjava je spodaj"
    assert view.attachments == (
        Attachment("image001.png", "image/png", b"\x89PNG", inline=True),
        Attachment("izjava.txt", "text/plain", b"Ime in priimek: Ana", inline=True),
    )


def test_missing_closing_boundary_still_yields_body_and_attachment() -> None:
    message = raw("""
From: a@kranj.si
Subject: x
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BB"

--BB
Content-Type: text/plain

telo sporocila
--BB
Content-Type: application/pdf; name="a.pdf"
Content-Transfer-Encoding: base64

JVBERi0x
""")
    view = read_message(message)
    assert view.body_text.strip() == "telo sporocila"
    assert [(a.filename, a.data) for a in view.attachments] == [("a.pdf", b"%PDF-1")]
    assert "CloseBoundaryNotFoundDefect" in view.defects


def test_multipart_without_boundary_is_read_as_text() -> None:
    message = raw("""
From: a@kranj.si
Subject: x
MIME-Version: 1.0
Content-Type: multipart/mixed

just some text
""")
    view = read_message(message)
    assert view.body_text.strip() == "just some text"
    assert view.defects == ("NoBoundaryInMultipartDefect", "MultipartInvariantViolationDefect")


def test_crlf_in_encoded_display_name_costs_only_that_header() -> None:
    message = raw("""
From: =?utf-8?q?Ana=0D=0ANovak?= <Ana@Kranj.si>
To: metka.lasic@skupnostobcin.si
Subject: =?utf-8?q?Izjava=0D=0Ao_pristopu?=
Message-ID: <x@kranj.si>

telo
""")
    view = read_message(message)
    assert view.defects == ("header From unreadable",)
    assert view.sender == "ana@kranj.si"
    assert view.sender_name == "Ana Novak"
    assert view.subject == "Izjava o pristopu"
    assert view.message_id == "<x@kranj.si>"
    assert view.body_text.strip() == "telo"


def test_received_times_and_newest() -> None:
    message = raw("""
Received: from mx.skupnostobcin.si by imap.skupnostobcin.si; Wed, 10 Feb 2021 00:00:05 +0100
Received: from mail.kranj.si (mail.kranj.si [1.2.3.4])
 by mx.skupnostobcin.si with ESMTPS id abc;
 Tue, 09 Feb 2021 22:59:58 +0000
Received: garbage without a date
Received: from x; not a date at all
From: a@kranj.si
Subject: x
Date: Tue, 09 Feb 2021 20:00:00 -0000

telo
""")
    view = read_message(message)
    assert view.received_times == (
        datetime(2021, 2, 10, 0, 0, 5, tzinfo=CET),
        datetime(2021, 2, 9, 22, 59, 58, tzinfo=UTC),
    )
    assert newest_received(view) == datetime(2021, 2, 9, 23, 0, 5, tzinfo=UTC)
    assert view.date == datetime(2021, 2, 9, 20, 0, tzinfo=UTC)  # -0000: zone unknown, UTC
    assert newest_received(MessageView()) is None


def test_null_return_path_and_report_content_type() -> None:
    message = raw("""
Return-Path: <>
From: MAILER-DAEMON@mx.kranj.si
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BB"

--BB
Content-Type: text/plain

The mail system could not deliver.
--BB
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.kranj.si

Final-Recipient: rfc822; nobody@kranj.si
Action: failed
Status: 5.1.1
--BB--
""")
    view = read_message(message)
    assert view.return_path == "<>"
    assert view.content_type == "multipart/report"
    assert view.sender == "mailer-daemon@mx.kranj.si"
    assert view.body_text.strip() == "The mail system could not deliver."
    assert view.attachments == ()


def test_bad_date_is_none() -> None:
    view = read_message(raw("From: a@b.si\nDate: yesterday-ish\nSubject: x\n\nbody"))
    assert view.date is None
    assert view.sender == "a@b.si"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe garbage \x80\x81",
        b"\r\n\r\n\r\n",
        b"From:\r\n\r\n",
        b"-" * 5000,
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x\r\n" * 3,
    ],
)
def test_garbage_yields_a_view(data: bytes) -> None:
    view = read_message(data)
    assert isinstance(view, MessageView)
    assert view.sender == ""
    assert view.attachments == ()


def test_eight_bit_header_does_not_break() -> None:
    data = b"From: \xc5\xa0ef <sef@kranj.si>\r\nSubject: Pristop \xe8\r\n\r\nbody\r\n"
    view = read_message(data)
    assert view.sender == "sef@kranj.si"
    assert view.subject.startswith("Pristop")


_MIME_BITS = st.sampled_from(
    [
        b"From: a@b.si\r\n",
        b"Subject: =?utf-8?q?x=0Ay?=\r\n",
        b"From: =?utf-8?q?A=0D=0AB?= <a@b.si>\r\n",
        b'Content-Type: multipart/mixed; boundary="b"\r\n',
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: text/plain; charset=x-bogus\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Disposition: attachment; filename*=utf-8''%FF%00../x\r\n",
        b"\r\n",
        b"--b\r\n",
        b"--b--\r\n",
        b"Received: x; Mon, 99 Foo 2021 99:99:99 +9999\r\n",
        b"Date: Tue, 09 Feb 2021 23:59:59 +0100\r\n",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.lists(_MIME_BITS | st.binary(max_size=20), max_size=25).map(b"".join),
    )
)
def test_read_message_never_raises(data: bytes) -> None:
    view = read_message(data)
    assert isinstance(view, MessageView)
    assert all(isinstance(a.data, bytes) for a in view.attachments)
    assert all("/" not in a.filename and "\\" not in a.filename for a in view.attachments)


def test_nested_forwards_outermost_first() -> None:
    innermost = b"From: c@ptuj.si\r\nSubject: c\r\n\r\ninnermost\r\n"
    middle = (
        b"From: b@ptuj.si\r\nSubject: b\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=M\r\n\r\n--M\r\n\r\nmiddle\r\n--M\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + innermost + b"--M--\r\n"
    )
    outer = (
        b"From: a@ptuj.si\r\nSubject: a\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=O\r\n\r\n--O\r\n\r\nouter\r\n--O\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + middle + b"--O--\r\n"
    )
    view = read_message(outer)
    assert view.body_text.strip() == "outer"
    assert [b.strip() for b in view.forwarded_bodies] == ["middle", "innermost"]
    assert view.sender == "a@ptuj.si"


def test_received_time_survives_a_semicolon_in_a_trailing_comment() -> None:
    """The plain "after the last ';'" rule would read "Ljubljana)" here; mail-parser's
    Received grammar finds the date clause."""
    from intake.reading import _received_time

    value = "from a by b with ESMTP id 1; Wed, 3 Feb 2021 10:12:00 +0100 (CET; Ljubljana)"
    assert _received_time(value) == datetime(2021, 2, 3, 9, 12, tzinfo=UTC)
