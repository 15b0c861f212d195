"""The shared grammar of the declaration: labels, marks and choices in any document's text.

Every reader (DOCX, the PDF text layer, the mail body) flattens its document into a sequence
of `Item`s and hands it to `read_items`, so a label variant or a mark is understood the same
way wherever it appears. An item is `(label, value)`: `label` is the text of a table's label
cell (or None for a free line, where the label, if any, starts the line), `value` the text of
the value cell or the line, with one option or paragraph per line.

How choices are decided (spec/declaration.md, "How a mark looks"):

* an option is chosen when a mark precedes it (☒ ☑ ✓ ✔ ■ [x] (x), an `X` or `x` opening the
  line, or an X typed beside its empty box: "☐ X direktor", "☐ direktor X"); ☐ [ ] ( ) or
  nothing is unmarked; marks after the options ("občina [x] javni zavod
  [ ]", "direktor ✓") count when no option opens with a mark and the last one ends with one;
  "občina / javni zavod občine: javni zavod" chooses what follows the colon;
* if some options are marked, the marked ones count; for a single choice, two different
  marked values are ambiguous and the field is left empty (so `missing:role` is reported by
  `missing_problems` rather than guessing one of them);
* if nothing is marked, the options still standing count, boxed or not: one value left (the
  others deleted, or the option written out after the label) is the choice; all of them left
  is no choice;
* consent is given when its line is marked, when its value says so ("da", "soglašam"), when
  "DA" is typed beside it (also beside an empty box), or when the consent sentence stands
  without any box (the applicant wrote or kept it); an empty box or "ne" is no consent.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from parsers.model import EXPERIENCE, FIELDS, INTERESTS, ORGANIZATION_TYPES, ROLES, Fields

Item = tuple[str | None, str]

# ---------------------------------------------------------------------------------------------
# Normalisation

_SPECIAL_FOLDS = {"đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "ß": "s",
                  "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\t": " "}
_fold_cache: dict[str, str] = {}


def _fold_char(char: str) -> str:
    folded = _fold_cache.get(char)
    if folded is None:
        folded = _SPECIAL_FOLDS.get(char)
        if folded is None:
            lower = char.lower()
            if len(lower) != 1:
                lower = char
            base = unicodedata.normalize("NFKD", lower)
            folded = base[0] if base and base[0].isalnum() and len(base) > 1 else lower
            if len(folded) != 1:
                folded = char
        _fold_cache[char] = folded
    return folded


def fold(text: str) -> str:
    """Lower case without diacritics (č->c, đ->d), one character per character.

    Length-preserving on purpose: a label found in the folded text cuts the original text at
    the same offset, so values keep their case and diacritics.
    """
    if text.isascii():
        return text.lower().replace("\t", " ")
    return "".join([_fold_char(char) for char in text])


_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Folded, spaces collapsed and trimmed: the form in which two spellings compare equal."""
    return _SPACES.sub(" ", fold(text)).strip()


# ---------------------------------------------------------------------------------------------
# Labels

# (name, pattern on folded text, needs a colon on a free line, strong)
# Names other than the model's: title, signature, consent_text, first_name, last_name.
# Strong labels are specific to this declaration; see Reading.is_declaration.
_LABEL_SPECS: tuple[tuple[str, str, bool, bool], ...] = (
    ("title", r"izjav[ao]\s+o\s+pristopu\s+k\s+mrezi(?:\s+komunikatorjev)?[\w\s]*", False, True),
    ("full_name", r"ime\s*(?:in|,|/|&|\+|ter)?\s*priimek|priimek\s*(?:in|,|/)?\s*ime"
                  r"|polno\s+ime", False, False),
    ("first_name", r"ime", True, False),
    ("last_name", r"priimek", True, False),
    ("job_title", r"delovno\s+mesto\s*(?:(?:/|,|in|ali)\s*funkcija)?|funkcija"
                  r"|naziv\s+delovnega\s+mesta", False, False),
    ("email", r"e\s*-?\s*(?:naslov|posta|mail)(?:\s+naslov)?|email|elektronski\s+naslov"
              r"|elektronska\s+posta|naslov\s+elektronske\s+poste", False, False),
    # "Službeni e-naslov", "Kontaktni e-mail": the kind of address before the label.
    ("email", r"(?:sluzben|kontaktn|osebn)\w*\s+(?:e\s*-?\s*(?:naslov|posta|mail)"
              r"|elektronsk\w*\s+(?:naslov|posta))", False, False),
    ("email", r"mail|posta", True, False),
    ("phone", r"telefon(?:ska\s+stevilka)?|mobitel|gsm", False, False),
    ("phone", r"(?:mobiln|kontaktn|sluzben)\w*\s+(?:telefon(?:ska\s+stevilka)?|stevilka)"
              r"|kontaktna\s+stevilka", False, False),
    ("phone", r"tel\.?|mob\.?|telefonska\s+st\.?", True, False),
    ("organization_type", r"vrsta\s+organizacije|tip\s+organizacije", False, True),
    ("organization", r"naziv\s+organizacije|ime\s+organizacije", False, False),
    # Longest first: a regular expression takes the first alternative that matches.
    ("organization", r"naziv\s+(?:obcine|zavoda|institucije)|organizacija|delodajalec|naziv",
     True, False),
    ("municipality", r"obcina\s*\(?\s*(?:,\s*)?ustanoviteljic\w*(?:\s+javnega\s+zavoda)?\s*\)?"
                     r"|ustanoviteljic\w*(?:\s+javnega\s+zavoda)?", False, True),
    # The masculine form, only as a label ("Ustanovitelj zavoda je občina ..." is a sentence).
    ("municipality", r"ustanovitelj(?:\s+(?:javnega\s+)?zavoda)?", True, True),
    ("municipality", r"obcina", True, False),
    ("address", r"naslov\s+organizacije|naslov\s+sedeza|sedez", False, False),
    ("address", r"naslov", True, False),
    ("role", r"vloga\s+pri\s+stikih\s+z\s+javnostmi", False, True),
    ("role", r"(?:moja\s+)?vloga", True, True),
    ("experience", r"izkusnje\s+na\s+podrocju\s+komuniciranja", False, True),
    ("experience", r"izkusnje|izkusenost", True, False),
    ("interests", r"podrocja\s*,?\s*na\s+katerih\s+zelim\s+nadgraditi\s+znanje", False, True),
    ("interests", r"podrocja(?:\s+interesa)?|interesi|zanima\s+me"
                  r"|zelim\s+se\s+izobrazevati(?:\s+na\s+podrocjih)?", True, False),
    ("consent", r"soglasje", False, True),
    ("consent_text", r"soglasam\b", False, True),
    ("place_date", r"kraj\s*(?:in|,|/)?\s*datum", False, False),
    ("place_date", r"datum|kraj", True, False),
    ("signature", r"podpis", False, False),
)

_TOKEN = re.compile(r"\w+|[^\w\s]")


def _prefix_pattern(tokens: Sequence[str], required: int) -> str:
    """The first `required` tokens, then each further token optional in turn.

    A long label wraps in a PDF table ("Občina (ustanoviteljica javnega" / "zavoda)"): its
    first line must still be recognised, and the words it carries must not become the value.
    """
    pattern = ""
    for token in reversed(tokens[required:]):
        pattern = rf"(?:\s*{re.escape(token)}{pattern})?"
    head = r"\s*".join(re.escape(token) for token in tokens[:required])
    return head + pattern


# How many words of the printed label identify it on a line of its own.
_OFFICIAL_REQUIRED = {"full_name": 3, "job_title": 2, "email": 3, "phone": 1,
                      "organization_type": 2, "organization": 2, "municipality": 3,
                      "address": 2, "role": 2, "experience": 2, "interests": 3, "consent": 1,
                      "place_date": 3}
_STRONG_FIELDS = frozenset({"organization_type", "municipality", "role", "experience",
                            "interests", "consent"})
_OFFICIAL_TOKENS = {
    spec.name: tuple(_TOKEN.findall(fold(spec.label)))
    for spec in FIELDS if spec.name in _OFFICIAL_REQUIRED
}
_OFFICIAL = tuple(
    (name, _prefix_pattern(tokens, _OFFICIAL_REQUIRED[name]), False, name in _STRONG_FIELDS)
    for name, tokens in _OFFICIAL_TOKENS.items()
)
# A second label on the same line ("Kraj in datum: Kranj Podpis: ____", "Ime in priimek:
# Ana Novak<tabs>Delovno mesto: svetovalka"): printed labels, at least the words that identify
# them on a line of their own, followed by a colon.
_INLINE_LABEL = re.compile(
    r"(?<![\w-])(?:podpis|obcina|vloga|tel\.?|telefon|mobitel|gsm|e-?posta|e-?mail|naslov|kraj|"
    r"datum|"
    + "|".join(_prefix_pattern(tokens, _OFFICIAL_REQUIRED[name])
               for name, tokens in _OFFICIAL_TOKENS.items())
    + r")\s*:"
)
_LABELS = tuple(
    (name, re.compile(pattern), colon, strong)
    for name, pattern, colon, strong in _OFFICIAL + _LABEL_SPECS
)
# Bullets and numbering in front of a label; marks in front of the consent sentence.
# "1.", "2)", "a)", "b.", "(c)", "iv." as people number a retyped form.
# Never a lone "x": "(x)" and "x)" in front of an option are marks.
_LEAD = re.compile(r"[\s\-•*·–>]*(?:\(?(?:\d{1,2}|[a-h]|i{1,3}|iv|vi{0,3}|ix)[.)]\s+)?")


@dataclass(frozen=True)
class LabelMatch:
    name: str
    strong: bool
    value: str  # the original text after the label and its colon
    tail: tuple[str, ...] = ()  # words of the printed label not on this line (it wrapped)
    loose: bool = False  # a short label that needs a colon on a free line ("Občina", "Tel.")


def match_label(line: str, *, whole_cell: bool = False) -> LabelMatch | None:
    """The label that opens `line`, and the rest of the line as its value.

    With `whole_cell`, `line` is a table's label cell: it must be the label and nothing more,
    and labels that on a free line need a colon (`Občina`, `Naslov`) are accepted without one.
    """
    folded = fold(line)
    start = _LEAD.match(folded)
    offset = start.end() if start else 0
    mark = _MARK.match(folded, offset) or _X_MARK.match(folded, offset)
    if mark is not None and folded.startswith("soglasam", _skip_spaces(folded, mark.end())):
        # The consent sentence with its box in front: the whole line is the consent's value.
        return LabelMatch("consent_text", True, line[offset:])
    candidates: list[tuple[int, str, bool, bool]] = []
    for name, pattern, colon, strong in _LABELS:
        found = pattern.match(folded, offset)
        if found is None:
            continue
        end = found.end()
        if end < len(folded) and folded[end].isalnum():
            continue
        candidates.append((end, name, colon, strong))
    candidates.sort(key=lambda candidate: -candidate[0])
    for end, name, colon, strong in candidates:
        rest = _REQUIRED.sub("", folded[end:], count=1).strip()
        if name == "consent_text":
            return LabelMatch(name, strong, line[offset:])
        qualified = None
        if rest and not rest.startswith(":") and name != "title":
            qualified = _qualified(line, folded, end, name, colon)
        if whole_cell:
            if rest not in ("", ":") and name != "title" and qualified is None:
                continue
        elif colon and not rest.startswith(":") and qualified is None:
            continue
        if qualified is not None:
            return LabelMatch(name, strong, _VALUE_LEAD.sub("", line[qualified:], count=1),
                              (), colon)
        tail: tuple[str, ...] = ()
        tokens = _OFFICIAL_TOKENS.get(name)
        if tokens is not None and not whole_cell:
            seen = len(_TOKEN.findall(folded[offset:end]))
            if _OFFICIAL_REQUIRED[name] <= seen < len(tokens):
                tail = tokens[seen:]
        return LabelMatch(name, strong, _VALUE_LEAD.sub("", line[end:], count=1), tail, colon)
    return None


# The applicant's own words between a label and its colon: "Ime in priimek kandidata:",
# "Funkcija v organizaciji:", "Tel./GSM:", "Organizacija / zavod:", "Ime in priimek (kot v
# osebni izkaznici):", "Soglasje za obdelavo podatkov: DA". Without this the words become the
# value ("kandidata: Ana Novak"). At most four words in lower case (or an abbreviation in
# capitals: "GSM"), so a name or a place ("Kraj in datum Kranj: ...") is never taken for one;
# nothing but letters, "/", ",", "." and one parenthesis. Matched only on the text before the
# first colon within _QUALIFIER_MAX characters, so it costs nothing on a long line.
_QUALIFIER_MAX = 80
_QUALIFIER = re.compile(
    r"\s*[/,]?\s*(?:(?P<words>[^\W\d_]+\.?(?:(?:\s*[/,]\s*|\s+)[^\W\d_]+\.?){0,3})\s*)?"
    r"(?:\([^()]*\)\s*)?\**\s*"
)
_QUALIFIER_WORD = re.compile(r"[^\W\d_]+")
# Words naming another field: "Naslov elektronske pošte" is no address, "Ime zavoda" no name.
_OTHER_FIELD_WORDS = re.compile(r"\b(?:mail|post|tel|gsm|mobi|elektronsk)")
# Short labels that need a colon on a free line, and whose qualifier is safe to drop:
# "Ime občine:" is no first name, "Občina prebivališča:" no founding municipality, "Datum
# rojstva:" no place and date; they stay unread.
_LOOSE_QUALIFIED = frozenset({"phone", "organization", "role", "experience", "interests",
                              "email"})


def _qualified(line: str, folded: str, end: int, name: str, loose: bool) -> int | None:
    """Where the value starts when the label is followed by a qualifier and a colon."""
    if loose and name not in _LOOSE_QUALIFIED:
        return None
    colon = folded.find(":", end, end + _QUALIFIER_MAX)
    if colon < 0:
        return None
    between = line[end:colon]
    found = _QUALIFIER.fullmatch(between)
    if found is None or not between.strip():
        return None
    words = _QUALIFIER_WORD.findall(found.group("words") or "")
    if not all(word.islower() or word.isupper() for word in words):
        return None
    if name not in ("email", "phone") and _OTHER_FIELD_WORDS.search(fold(" ".join(words))):
        return None
    return colon + 1


def strip_tail(line: str, tail: Sequence[str]) -> str:
    """`line` without the wrapped rest of a label at its start (see `_prefix_pattern`)."""
    if not tail:
        return line
    found = re.compile(r"\s*" + _prefix_pattern(tail, 1)).match(fold(line))
    if found is None or (found.end() < len(line) and line[found.end()].isalnum()):
        return line
    return _VALUE_LEAD.sub("", line[found.end():], count=1)


_VALUE_LEAD = re.compile(r"^\s*(?:\*+\s*|\((?:ne)?obvezno\)\s*)?(?:[:=]|[-–—](?=\s))?\s*")
# A required-field marker after a label: "E-naslov*:", "Telefon (neobvezno):".
_REQUIRED = re.compile(r"^\s*(?:\*+|\((?:ne)?obvezno\))")


def _skip_spaces(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


# ---------------------------------------------------------------------------------------------
# Marks

# The private-use code points are Wingdings' boxes and ticks as Word's PDF export leaves them
# in the text layer (U+F0FE ☒, U+F0FD, U+F0FB, U+F0FC ✓; U+F0A8 ☐, U+F06F, U+F071).
MARKED_GLYPHS = "☒☑✓✔■✗✘⊠▣◉●⬛🗹🗷⌧\uf0fe\uf0fd\uf0fb\uf0fc"
UNMARKED_GLYPHS = "☐□❑❒▢◻◯○⬜❏\uf0a8\uf06f\uf071"
_MARK = re.compile(
    rf"(?P<on>[{MARKED_GLYPHS}]|\[\s*[xX✓✔]\s*\]|\(\s*[xX✓✔]\s*\))"
    rf"|(?P<off>[{UNMARKED_GLYPHS}]|\[\s*\]|\(\s*\))"
)
# An X typed in front of the option, where a box would be.
_X_MARK = re.compile(r"\s*[xX](?=\s)")


@dataclass(frozen=True)
class Segment:
    """One option as written: its mark (True marked, False an empty box, None no box)."""

    mark: bool | None
    text: str


# An X typed after the option, ending the line: "direktor X".
_X_AFTER = re.compile(r"\s[xX]\s*$")


def _trailing(line: str) -> list[Segment] | None:
    """The options of a line whose marks follow them ("občina [x] javni zavod [ ]").

    Only when that is unambiguous: text before the first mark and nothing after the last.
    """
    marks = list(_MARK.finditer(line))
    if not marks:
        after = _X_AFTER.search(line)
        if after is None or not any(char.isalpha() for char in line[:after.start()]):
            return None
        return [Segment(True, line[:after.start()].strip())]
    if not line[:marks[0].start()].strip() or line[marks[-1].end():].strip():
        return None
    result: list[Segment] = []
    position = 0
    for found in marks:
        text = line[position:found.start()].strip()
        if text:
            result.append(Segment(found.group("on") is not None, text))
        position = found.end()
    return result


def _typed_x(mark: bool | None, text: str) -> Segment:
    """An X typed beside an empty box marks its option ("☐ X direktor", "☐ direktor X").

    The applicant could not tick the checkbox control (or did not know how) and typed the
    mark next to it instead; the X is not part of the option.
    """
    if mark is False:
        before = _X_MARK.match(text)
        if before is not None and text[before.end():].strip():
            return Segment(True, text[before.end():].strip())
        after = _X_AFTER.search(text)
        if after is not None and any(char.isalpha() for char in text[:after.start()]):
            return Segment(True, text[:after.start()].strip())
    return Segment(mark, text)


def segments(lines: Iterable[str]) -> list[Segment]:
    """Split lines into options at every mark; a mark alone on a line belongs to the next.

    When the first line does not open with a mark and the last one ends with one, the marks
    follow their options: the lines are read as one (a printed line wraps anywhere).
    """
    lines = [line for line in lines if line.strip()]
    if lines and not (_MARK.match(lines[0].lstrip()) or _X_MARK.match(lines[0])):
        last = lines[-1].rstrip()
        if _MARK.search(last[-5:]) or _X_AFTER.search(last):
            per_line = [_trailing(line) for line in lines]
            if all(found is not None or not _MARK.search(line)
                   for found, line in zip(per_line, lines, strict=True)):
                return [seg for found, line in zip(per_line, lines, strict=True)
                        for seg in (found if found is not None else [Segment(None, line.strip())])]
            trailing = _trailing(" ".join(line.strip() for line in lines))
            if trailing is not None:
                return trailing
    result: list[Segment] = []
    pending: bool | None = None
    for line in lines:
        x_mark = _X_MARK.match(line)
        if x_mark is not None:
            pending = True
            line = line[x_mark.end():]
        elif pending is None:
            trailing = _trailing(line)
            if trailing is not None:
                result.extend(trailing)
                continue
        # (mark, start of its text) for the text before the first mark and after each mark
        starts: list[tuple[bool | None, int, int]] = []
        position = 0
        mark = pending
        for found in _MARK.finditer(line):
            starts.append((mark, position, found.start()))
            mark = found.group("on") is not None
            position = found.end()
        starts.append((mark, position, len(line)))
        pending = None
        for mark, begin, end in starts:
            text = line[begin:end].strip()
            if text:
                result.append(_typed_x(mark, text))
        last_mark, last_begin, _ = starts[-1]
        if last_mark is not None and not line[last_begin:].strip():
            pending = last_mark
    if pending is not None:
        result.append(Segment(pending, ""))
    return result


# ---------------------------------------------------------------------------------------------
# Choices


def _org_types(folded: str) -> list[str]:
    return [
        "obcina" if found.group().startswith("obcin") else "javni_zavod"
        for found in re.finditer(
            r"(?:javn\w*+\s+)?zavod\w*+(?:\s+obcin\w*+)?|\bobcin\w*+|\bjz\b", folded)
    ]


def _roles(folded: str) -> list[str]:
    # One role per option; the order settles the printed options' overlaps
    # ("drug zaposleni ... v javnem zavodu" is other_employee, not institution_pr).
    if re.search(r"\bdrug[aio]?\s+zaposl|\bdrug[aio]?\b", folded):
        return ["other_employee"]
    if "zavod" in folded:
        return ["institution_pr"]
    if "strokovn" in folded:
        return ["pr_staff"]
    if "direktor" in folded:
        return ["director"]
    if "zupan" in folded:
        return ["mayor"]
    # Written in one's own words: "odnosi z javnostmi", "PR", "komuniciranje".
    if re.search(r"javnost|\bpr\b|komunik|piar|mediji", folded):
        return ["pr_staff"]
    return []


# "izkušen / izkušena" is the adjective; the noun ("5 let izkušenj", "izkušnje z mediji")
# says nothing about which option, and negated ("nimam izkušenj", "brez izkušenj", "nisem
# izkušena") it is a beginner's.
_EXPERIENCE_WORDS = re.compile(
    r"(?P<beginner>\b(?:nimam|brez|malo|nisem)\s+(?:\w+\s+)?izkus\w*+|zacetn\w*+|neizkus\w*+)"
    r"|(?P<experienced>\bizkusen(?!j)\w*+)"
)


def _experience(folded: str) -> list[str]:
    return [str(found.lastgroup) for found in _EXPERIENCE_WORDS.finditer(folded)]


_INTEREST_WORDS = re.compile(
    r"(?P<social_media>druzben\w*|omrezj\w*|social\w*)"
    r"|(?P<media_relations>medij\w*|novinar\w*)"
    r"|(?P<crisis>krizn\w*|kriz\w*)"
    r"|(?P<writing>pisanj\w*|besedil\w*|sporocil\w*)"
    r"|(?P<web>splet\w*|digital\w*)"
    r"|(?P<public_speaking>nastop\w*)"
    r"|(?P<internal>intern\w*)"
)
_OTHER = re.compile(r"\bdrugo\b\s*[:\-–]?\s*")


def _interests(folded: str) -> list[str]:
    return [str(found.lastgroup) for found in _INTEREST_WORDS.finditer(folded)]


_CHOICE_READERS = {
    "organization_type": (_org_types, ORGANIZATION_TYPES),
    "role": (_roles, ROLES),
    "experience": (_experience, EXPERIENCE),
}


def _answer(reader: Callable[[str], list[str]], segment: Segment) -> Segment:
    """The answer after a colon when the options are listed before it.

    "občina / javni zavod občine: javni zavod" chooses the part after the colon.
    """
    head, colon, tail = segment.text.rpartition(":")
    if colon and head.strip() and reader(fold(tail)):
        return Segment(segment.mark, tail.strip())
    return segment


def decide_choice(name: str, options: Sequence[Segment]) -> str | None:
    """The one value of a single choice, or None when none or several are chosen."""
    reader, _choices = _CHOICE_READERS[name]
    options = [_answer(reader, seg) for seg in options]
    marked = {value for seg in options if seg.mark for value in reader(fold(seg.text))}
    if any(seg.mark for seg in options):
        return marked.pop() if len(marked) == 1 else None
    standing = {value for seg in options for value in reader(fold(seg.text))}
    return standing.pop() if len(standing) == 1 else None


def decide_interests(options: Sequence[Segment]) -> tuple[list[str], str]:
    """The chosen interests in spec order, and the text written after "drugo"."""
    any_marked = any(seg.mark for seg in options)
    chosen: set[str] = set()
    standing: set[str] = set()
    other_text = ""
    for seg in options:
        folded = fold(seg.text)
        other = _OTHER.search(folded)
        head, written = folded, ""
        if other is not None:
            head = folded[: other.start()]
            written = clean_text(seg.text[other.end():])
        values = set(_interests(head))
        if other is not None:
            values.add("other")
        if written:
            other_text = other_text or written
            chosen.add("other")  # a filled-in "drugo" is chosen even without its box ticked
        if seg.mark:
            chosen |= values
        standing |= values
    if not any_marked and len(standing) < len(INTERESTS):
        chosen |= standing
    if "other" not in chosen:
        other_text = ""
    return [choice.value for choice in INTERESTS if choice.value in chosen], other_text


_NO = re.compile(r"\s*(?:ne\b|no\b|ne\s+soglasam)")
_YES = re.compile(r"\s*(?:da\b|yes\b|soglasam\b|(?:se\s+)?strinjam\b|x\s*$|✓|✔)")
# An answer typed next to the consent sentence, on its own ("DA" in the next cell or line)
# or at the end of the sentence ("... mreže komunikatorjev. DA"). "Soglašam, da" is the
# sentence itself: a "da" after a comma is no answer. Matched on the text without its final
# stop and spaces (`_answer_text`): trailing runs of spaces in a pattern backtrack
# quadratically on a hostile line.
_ANSWER_YES = re.compile(r"(?:da|yes|x)$")
_ANSWER_NO = re.compile(r"(?:ne|no)$")
_ENDS_YES = re.compile(r"[^\s,]\s+(?:da|yes)$")
_ENDS_NO = re.compile(r"[^\s,]\s+(?:ne|no)$")


def _answer_text(text: str) -> str:
    return fold(text).strip().rstrip(".!").rstrip()


def _typed_answer(options: Sequence[Segment]) -> bool | None:
    """DA or NE typed beside the consent (its box, if any, left empty); None if neither.

    Only a line that is just the answer, or a sentence that ends with one: a free line of a
    mail body ("Lep pozdrav") says nothing either way.
    """
    said = [(seg.mark, _answer_text(seg.text)) for seg in options]
    for mark, text in said:
        if _ANSWER_NO.match(text) or (
                _ENDS_NO.search(text) and (mark is False or "soglas" in text)):
            return False
    for mark, text in said:
        if (mark is None and _ANSWER_YES.match(text)) or (
                mark is False and _ENDS_YES.search(text)):
            return True
    return None


# "Ne soglašam" / "ne strinjam se" anywhere: a refusal, even after the consent sentence
# ("Soglašam z obdelavo osebnih podatkov: ne soglašam") or marked as an option of its own.
_REFUSED = re.compile(r"\bne\s+(?:soglasam|strinjam)")


def decide_consent(lines: Sequence[str], sentence_seen: bool) -> bool:
    options = segments(lines)
    marked = [seg for seg in options if seg.mark]
    if marked:
        return not all(_REFUSED.search(fold(seg.text)) for seg in marked)
    answer = _typed_answer(options)
    if answer is not None:
        return answer
    if any(seg.mark is False for seg in options):
        return False
    text = fold(" ".join(lines)).strip()
    if _NO.match(text) or _REFUSED.search(text):
        return False
    return sentence_seen or bool(_YES.match(text))


# ---------------------------------------------------------------------------------------------
# Values

_PLACEHOLDER = re.compile(r"_{2,}|\.{3,}|…+|\s{2,}")
_EMPTY_VALUES = frozenset({"", "/", "-", "–", "—", "n/a", "x", "ni", "ni podatka"})


def clean_text(value: str) -> str:
    """A typed value without fill-in underscores and dots, spaces collapsed; "" for none."""
    text = _PLACEHOLDER.sub(" ", value)
    text = _SPACES.sub(" ", text).strip(" \t\r\n:;,")
    return "" if text.casefold() in _EMPTY_VALUES else text


_EMAIL = re.compile(
    r"[\w.!#$%&'*+/=?^`{|}~-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}(?![\w.-]*@)"
)


def clean_email(value: str) -> str:
    """The first plausible addr-spec in `value` ("" if none): mailto: and <> tolerated."""
    text = value.replace("mailto:", " ").replace("MAILTO:", " ")
    for found in _EMAIL.finditer(text):
        address = found.group()
        local = address.split("@", 1)[0]
        if local.startswith(".") or local.endswith(".") or ".." in local:
            continue
        return address
    return ""


# ---------------------------------------------------------------------------------------------
# Items to fields

_TEXT_FIELDS = ("full_name", "job_title", "phone", "organization", "municipality", "address",
                "place_date", "first_name", "last_name")
# What a reader looks at, at most: a declaration is a page of short lines, so a longer line
# or a longer text is cut rather than letting hostile input cost quadratic time.
MAX_LINE = 2000
MAX_LINES = 20000
_SINGLE_VALUED = frozenset(_TEXT_FIELDS) | {"email"}
_STRONG_NEEDED = 1
_LABELS_NEEDED = 4


@dataclass
class _Collected:
    own: list[str] = field(default_factory=list)  # on the label's line or in its value cell
    following: list[str] = field(default_factory=list)  # free lines after the label


@dataclass(frozen=True)
class Reading:
    """What the grammar found: the fields, and whether it looks like a declaration at all."""

    fields: Fields
    labels: frozenset[str]
    strong: frozenset[str]
    title: bool

    @property
    def is_declaration(self) -> bool:
        """The title, or at least four labels of which one is specific to this form.

        Name, e-mail, phone and address alone are what any CV or signature carries.
        """
        return self.title or (
            len(self.labels) >= _LABELS_NEEDED and len(self.strong) >= _STRONG_NEEDED
        )


def read_items(items: Iterable[Item]) -> Reading:
    """Fields from a document flattened into label/value items (see the module docstring)."""
    collected: dict[str, _Collected] = {}
    strong: set[str] = set()
    title = False
    sentence_seen = False
    current: str | None = None
    text_taken = False  # a text field's value on the following line has been taken
    tail: tuple[str, ...] = ()

    def start(name: str) -> _Collected:
        nonlocal title, sentence_seen
        if name == "title":
            title = True
        if name == "consent_text":
            sentence_seen = True
            name = "consent"
        return collected.setdefault(name, _Collected())

    budget = MAX_LINES
    for label, value in items:
        if budget <= 0:
            break
        if label is not None:
            budget -= 1
            label, value = label[:MAX_LINE], value[:MAX_LINE * 20]
            found = match_label(label, whole_cell=True)
            if found is not None and found.name not in ("title", "consent_text"):
                if found.strong:
                    strong.add(found.name)
                start(found.name).own.extend(value.splitlines() or [""])
                current = None
                continue
            value = label + "\n" + value if value else label
        lines = deque(value.splitlines())
        while lines and budget > 0:
            line = lines.popleft()
            if not line or line.isspace():
                continue
            budget -= 1
            line = line[:MAX_LINE]
            found = match_label(line)
            if found is not None and found.value:
                inline = _INLINE_LABEL.search(fold(found.value))
                if inline is not None:
                    cut = len(found.value) - len(found.value[inline.start():])
                    lines.appendleft(found.value[cut:])
                    found = LabelMatch(found.name, found.strong, found.value[:cut], found.tail)
            if found is not None and found.name in _SINGLE_VALUED and any(
                    clean_text(v) for v in _values(collected.get(found.name))):
                # The label again, further down (a quoted original, a signature): the first
                # filled-in value stands.
                current, tail = None, ()
                continue
            if found is not None:
                if found.strong:
                    strong.add("consent" if found.name == "consent_text" else found.name)
                entry = start(found.name)
                current = "consent" if found.name == "consent_text" else found.name
                entry.own.append(found.value)
                text_taken = bool(clean_text(found.value)) and current in _TEXT_FIELDS
                tail = found.tail
                continue
            if current is None or not line.strip():
                continue
            if tail:
                line, tail = strip_tail(line, tail), ()
                if not line.strip():
                    continue
            if current in _TEXT_FIELDS or current == "email":
                if not text_taken and not any(clean_text(v) for v in collected[current].own):
                    collected[current].following.append(line)
                text_taken = True
                continue
            collected[current].following.append(line)
    fields = _fields(collected, sentence_seen)
    names = {_FIELD_OF.get(name, name) for name in collected} - {"title", "signature"}
    return Reading(fields, frozenset(names), frozenset(strong & names), title)


def _join_lines(parts: Sequence[str], name: str) -> str:
    """A text value given on several lines (paragraphs of one cell, a wrapped line).

    Separate items ("Slovenski trg 1" / "4000 Kranj") are joined with a comma; a line that
    goes on in lower case continues the one before ("svetovalka" / "za odnose z javnostmi"),
    and a name is never a list ("Ana" / "Novak").
    """
    text = ""
    for part in parts:
        if not part:
            continue
        if not text:
            text = part
        elif name == "full_name" or part[0].islower():
            text += " " + part
        else:
            text += ", " + part
    return text


def _values(entry: _Collected | None) -> list[str]:
    return entry.own + entry.following if entry is not None else []


_FIELD_OF = {"first_name": "full_name", "last_name": "full_name"}


def _fields(collected: dict[str, _Collected], sentence_seen: bool) -> Fields:
    fields: Fields = {}
    for name, entry in collected.items():
        lines = entry.own + entry.following
        if name in _TEXT_FIELDS:
            text = _join_lines([clean_text(line) for line in lines], name)
            if text and (name != "phone" or any(char.isdigit() for char in text)):
                fields[name] = text
        elif name == "email":
            address = next((a for a in map(clean_email, lines) if a), "")
            if address:
                fields[name] = address
        elif name in _CHOICE_READERS:
            value = decide_choice(name, segments(lines))
            if value is not None:
                fields[name] = value
        elif name == "interests":
            interests, other_text = decide_interests(segments(lines))
            if interests:
                fields["interests"] = interests
            if other_text:
                fields["interests_other"] = other_text
    first = fields.pop("first_name", "")
    last = fields.pop("last_name", "")
    if "full_name" not in fields and (first or last):
        fields["full_name"] = f"{first} {last}".strip()
    consent = collected.get("consent")
    fields["consent"] = (
        decide_consent(consent.own + consent.following, sentence_seen) if consent else False
    )
    role = collected.get("role")
    if (fields.get("role") == "pr_staff" and fields.get("organization_type") == "javni_zavod"
            and role is not None and not _PRINTED_PR_STAFF.search(fold(" ".join(_values(role))))):
        # "odnosi z javnostmi" in one's own words, written by someone at a public
        # institution, is the institution's PR work; the printed option says "v občini".
        fields["role"] = "institution_pr"
    return {name: fields[name] for name in _ORDER if name in fields}


_PRINTED_PR_STAFF = re.compile(r"strokovn|v\s+obcini")


_ORDER = ("full_name", "job_title", "email", "phone", "organization_type", "organization",
          "municipality", "address", "role", "experience", "interests", "interests_other",
          "consent", "place_date")


def read_lines(text: str) -> Reading:
    """The grammar over plain text, one free line per line."""
    return read_items([(None, text)])


# ---------------------------------------------------------------------------------------------
# Several declarations in one document

MAX_DECLARATIONS = 20  # per document: a municipality's whole PR team, not a phone book


def read_declarations(items: Sequence[Item]) -> list[Reading]:
    """Each declaration of a document that holds the form filled in more than once (one
    per colleague, one after another), in order; one reading when it holds one.

    A new declaration starts where the name label comes again after a declaration's worth
    of labels. A part that does not read as a declaration of its own (the name and a
    signature line under the form, "Ime in priimek: … Podpis: …") stays with the one
    before it, as `read_items` would have read it.
    """
    parts = _parts(items)
    if len(parts) == 1:
        return [read_items(items)]
    kept: list[tuple[list[Item], Reading]] = []
    for part in parts:
        reading = read_items(part)
        if kept and not _stands_alone(reading):
            joined = kept[-1][0] + part
            kept[-1] = (joined, read_items(joined))
        else:
            kept.append((part, reading))
    return [reading for _, reading in kept]


def declared_fields(items: Sequence[Item]) -> list[Fields]:
    """The fields of each declaration in a document's items; [] when the document does not
    read as a declaration at all (what the DOCX and ODT readers return)."""
    readings = read_declarations(items)
    return [reading.fields for reading in readings] if readings[0].is_declaration else []


def _stands_alone(reading: Reading) -> bool:
    fields = reading.fields
    return (reading.is_declaration and bool(fields.get("full_name"))
            and bool(fields.get("email") or fields.get("organization")))


def _parts(items: Sequence[Item]) -> list[list[Item]]:
    # Cheap gate: without the name label twice there is nothing to split.
    if sum(fold(label or "").count("priimek") + fold(value).count("priimek")
           for label, value in items) < 2:
        return [list(items)]
    parts: list[list[Item]] = [[]]
    seen: set[str] = set()
    budget = MAX_LINES
    for label, value in _line_items(items):
        budget -= 1
        if budget <= 0:
            parts[-1].append((label, value))
            continue
        found = (match_label(label[:MAX_LINE], whole_cell=True) if label is not None
                 else match_label(value[:MAX_LINE]))
        name = _FIELD_OF.get(found.name, found.name) if found is not None else None
        if (name == "full_name" and "full_name" in seen and len(seen - {"title"}) >= _LABELS_NEEDED
                and len(parts) < MAX_DECLARATIONS):
            parts.append([])
            seen = set()
        if name is not None:
            seen.add(name)
        parts[-1].append((label, value))
    return [part for part in parts if part]


def _line_items(items: Iterable[Item]) -> Iterable[Item]:
    """Free text one line per item (the grammar reads a free item line by line anyway)."""
    for label, value in items:
        if label is None:
            yield from ((None, line) for line in value.splitlines() if line.strip())
        else:
            yield label, value
