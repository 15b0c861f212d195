"""The declaration written into the mail body, plain or HTML."""

from __future__ import annotations

from parsers.body import html_to_text, parse_body
from parsers.model import TITLE
from tests.parsers.builders import ANA, ANA_LINES

_PLAIN = """Spoštovani,

pošiljam podatke za pristop k mreži.

Ime in priimek: Ana Novak
Delovno mesto: svetovalka za odnose z javnostmi
E-pošta: ana.novak@kranj.si
Organizacija: Mestna občina Kranj
Vrsta organizacije: občina
Vloga: strokovna sodelavka za stike z javnostmi
Soglašam z obdelavo osebnih podatkov.

Lep pozdrav,
Ana Novak
Tel.: 04 237 31 00
"""


def test_plain_body() -> None:
    declaration = parse_body(_PLAIN)
    assert declaration is not None
    assert declaration.fields == {
        "full_name": "Ana Novak", "job_title": "svetovalka za odnose z javnostmi",
        "email": "ana.novak@kranj.si", "phone": "04 237 31 00", "organization_type": "obcina",
        "organization": "Mestna občina Kranj", "role": "pr_staff", "consent": True}
    assert (declaration.problems, declaration.source) == ((), "body")


def test_quoted_body() -> None:
    declaration = parse_body("\n".join("> " + line for line in ANA_LINES))
    assert declaration is not None and declaration.fields == ANA


def test_ordinary_mail_is_none() -> None:
    assert parse_body("Živjo,\nse vidimo jutri na seminarju.\nLp, Ana\nTel: 041 111 222") is None


def test_html_table_body() -> None:
    html = (
        "<html><head><style>td {color: red}</style><script>var x = 'Vloga: župan';</script>"
        f"</head><body><p><b>{TITLE}</b></p><table>"
        "<tr><td>Ime in priimek</td><td>Ana&nbsp;Novak</td></tr>"
        "<tr><td>E-naslov:</td><td><a href='mailto:ana.novak@kranj.si'>ana.novak@kranj.si</a>"
        "</td></tr>"
        "<tr><td>Vrsta organizacije</td><td><p>&#9746; občina</p><p>&#9744; javni zavod</p></td>"
        "</tr><tr><td>Vloga</td><td><input type=checkbox checked> direktor<br>"
        "<input type=checkbox> župan</td></tr>"
        "</table><div>Soglasje: DA</div></body></html>"
    )
    assert html_to_text(html).splitlines() == [
        TITLE, "Ime in priimek: Ana Novak", "E-naslov: ana.novak@kranj.si",
        "Vrsta organizacije: ☒ občina", "☐ javni zavod", "Vloga: ☒ direktor", "☐ župan",
        "Soglasje: DA"]
    declaration = parse_body("", html)
    assert declaration is not None
    assert declaration.fields == {"full_name": "Ana Novak", "email": "ana.novak@kranj.si",
                                  "organization_type": "obcina", "role": "director",
                                  "consent": True}
    assert declaration.extra == {"kind": "body-html"}
