"""All declarations of one message: every attachment, then the body, without duplicates."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from parsers.body import parse_bodies
from parsers.document import parse_document
from parsers.model import UNREADABLE_ATTACHMENT, Declaration
from parsers.text import normalize

Parse = Callable[[bytes, str | None], list[Declaration]]

_PGP_ARMOUR = "-----BEGIN PGP MESSAGE-----"


def find_declarations(
    body_text: str,
    attachments: Sequence[tuple[str | None, bytes]],
    parse: Parse = parse_document,
    body_html: str | None = None,
    forwarded: Sequence[str] = (),
) -> list[Declaration]:
    """Declarations in attachment order, the body's last, each person once.

    `parse` reads one attachment; the pipeline injects the sandboxed one. The same
    declaration sent twice (as DOCX and as its PDF, or retyped in the body) is one person:
    declarations with the same normalised e-mail and full name are merged into the one with
    the fewest problems, then the most fields, kept in the place of the first. A body that
    only names the declaration (its title and no field) is dropped when an attachment holds
    one. Unreadable attachments are always kept: they are reasons for review. The HTML
    alternative of the body, when given, is read too: a client's plain-text rendering of an
    HTML table can lose the pairing of labels and values. The bodies of forwarded messages
    are read with the body only when the body alone holds no declaration (a colleague
    forwarding an applicant's mail with a line of their own).
    """
    found: list[Declaration] = []
    for filename, data in attachments:
        found.extend(parse(data, filename))
    armour = body_text.find(_PGP_ARMOUR)
    if armour >= 0:
        # Inline PGP: the body itself is encrypted; say so rather than "no declaration".
        found.extend(parse_document(body_text[armour:armour + 4096].encode(), "body"))
    bodies = parse_bodies(body_text, body_html)
    if not bodies and forwarded:
        bodies = parse_bodies("\n\n".join([body_text, *forwarded]))
    readable = any(UNREADABLE_ATTACHMENT not in d.problems for d in found)
    for body in bodies:
        empty = not any(value for name, value in body.fields.items() if name != "consent")
        if not (empty and readable):
            found.append(body)
    return _unique(found)


def _identity(declaration: Declaration) -> tuple[str, str] | None:
    email = declaration.fields.get("email")
    name = declaration.fields.get("full_name")
    if isinstance(email, str) and isinstance(name, str) and email and name:
        return normalize(email), normalize(name)
    return None


def _better(candidate: Declaration, kept: Declaration) -> bool:
    return (len(candidate.problems), -len(candidate.fields)) < (
        len(kept.problems), -len(kept.fields))


def _unique(declarations: list[Declaration]) -> list[Declaration]:
    result: list[Declaration] = []
    slot: dict[tuple[str, str], int] = {}
    for declaration in declarations:
        identity = _identity(declaration)
        if identity is None:
            result.append(declaration)
        elif identity not in slot:
            slot[identity] = len(result)
            result.append(declaration)
        elif _better(declaration, result[slot[identity]]):
            result[slot[identity]] = declaration
    return result
