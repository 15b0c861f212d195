"""Slovenia's 212 municipalities, and finding one in what an applicant typed.

People write "MO Ljubljana", "Obcina Skofja Loka", "Občine Škofje Loke", "Hoče-Slivnica",
"Kanal ob Soči" or "Knjižnica Ivana Potrča Ptuj". Matching folds case, diacritics,
hyphens, punctuation and the "(Mestna) občina" prefix, knows a few aliases, follows cheap
Slovenian inflection, forgives a close misspelling, and gives up (None) rather than guess
between two municipalities.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Municipality:
    code: int
    name: str
    official_name: str
    urban: bool


def fold(text: str) -> str:
    """Lower case without diacritics: "Škofja Loka" -> "skofja loka"."""
    text = text.casefold().replace("đ", "d").replace("ł", "l").replace("ß", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# "Sveti", "Sveta" and "Sv." are written interchangeably; "Slov." abbreviates "Slovenskih".
_TOKEN_SYNONYMS = {"sveta": "sv", "sveti": "sv", "sv": "sv", "slov": "slovenskih"}

_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("mestna", "obcina"),
    ("mestne", "obcine"),
    ("mestni", "obcini"),
    ("mestno", "obcino"),
    ("obcinska", "uprava", "obcine"),
    ("obcinska", "uprava"),
    ("obcina",),
    ("obcine",),
    ("obcini",),
    ("obcino",),
    ("obc",),
    ("mo",),
    ("comune", "citta", "di"),
    ("comune", "di"),
    ("kozseg",),
)
# Between the two names of a bilingual municipality ("Piran / Pirano", "Lendava - Lendva
# Község") or a municipality and its office ("Mestna občina Kranj - Urad župana").
_PARTS = re.compile(r"\s*/\s*|\s+[-–—]\s+|[()]")

_TOKEN = re.compile(r"[^\W_]+")


def _tokens(text: str) -> list[str]:
    return [_TOKEN_SYNONYMS.get(t, t) for t in _TOKEN.findall(fold(text))]


def _key(text: str) -> str:
    return " ".join(_tokens(text))


def _strip_affixes(tokens: list[str]) -> list[str]:
    changed = True
    while changed and tokens:
        changed = False
        for prefix in _PREFIXES:
            n = len(prefix)
            if len(tokens) > n and tuple(tokens[:n]) == prefix:
                tokens = tokens[n:]
                changed = True
                break
            if len(tokens) > n and tuple(tokens[-n:]) == prefix:
                tokens = tokens[:-n]
                changed = True
                break
    return tokens


# Explicit aliases. None marks a short form that names two municipalities or none for sure.
_ALIASES: Mapping[str, str | None] = {
    "kanal ob soci": "Kanal",
    "ljubljana mesto": "Ljubljana",
    "mol": "Ljubljana",
    "mom": "Maribor",
    "mong": "Nova Gorica",
    "monm": "Novo mesto",
    "moms": "Murska Sobota",
    "sempeter pri gorici": "Šempeter - Vrtojba",
    "sentjur pri celju": "Šentjur",  # its name until 2006, still on letterheads
    # The bilingual municipalities' Italian and Hungarian names.
    "capodistria": "Koper",
    "isola": "Izola",
    "pirano": "Piran",
    "ancarano": "Ankaran",
    "lendva": "Lendava",
    "dobronak": "Dobrovnik",
    "bistrica": None,
    "kostanjevica": None,
    "sv jurij": None,
    "smartno": None,
    "slivnica": None,
}
# Generated short forms that are too common as ordinary words or other places' names to be
# searched for inside a longer text (they still match when they are the whole text).
_NOT_IN_TEXT = frozenset({"log", "dol", "sempeter", "poljane", "slivnica", "fram", "miren"})
_ENDINGS = frozenset(
    {"", "a", "e", "i", "u", "o", "ju", "em", "om", "ih", "ah", "ega", "emu", "ja", "jem"}
)


@dataclass(frozen=True)
class _Pattern:
    tokens: tuple[str, ...]
    municipality: Municipality

    @property
    def size(self) -> int:
        return len(" ".join(self.tokens))


class Municipalities:
    """The list, indexed for matching. Build once and pass it around; it is immutable."""

    def __init__(self, rows: Iterable[Municipality]) -> None:
        self.all: tuple[Municipality, ...] = tuple(rows)
        self.by_name: Mapping[str, Municipality] = {m.name: m for m in self.all}
        exact: dict[str, Municipality | None] = {}
        for m in self.all:
            exact[_key(m.name)] = m
            exact[_key(m.official_name)] = m
        generated: dict[str, Municipality | None] = {}
        for m in self.all:
            for alias in _short_forms(m.name):
                key = _key(alias)
                if key in exact:
                    continue
                if key in generated and generated[key] != m:
                    generated[key] = None
                else:
                    generated[key] = m
        for key, value in generated.items():
            exact.setdefault(key, value)
        for alias, name in _ALIASES.items():
            if name is None or name in self.by_name:  # a partial list in tests lacks some
                exact[_key(alias)] = self.by_name[name] if name else None
        self._exact: Mapping[str, Municipality | None] = exact
        patterns = [
            _Pattern(tuple(key.split()), m)
            for key, m in exact.items()
            if m is not None
            and key not in _NOT_IN_TEXT
            and (key == _key(m.name) or len(key) >= 5)
            and not (key.startswith("mo") and " " not in key and key in _ALIASES)
        ]
        self._patterns: tuple[_Pattern, ...] = tuple(patterns)
        # "MOL", "MOM", "MONM": searched for inside a text only when written in capitals,
        # as on letterheads ("Kabinet župana MOL"); a small "mol" or "mom" is some word.
        self._acronyms: Mapping[str, Municipality] = {
            key: m
            for key, m in exact.items()
            if m is not None and " " not in key and key.startswith("mo") and key in _ALIASES
        }

    def __len__(self) -> int:
        return len(self.all)

    def match(self, text: str) -> Municipality | None:
        """The municipality this text names as a whole ("Obcina Skofja Loka"), or None.

        Tries, in order: the exact folded name or alias, the inflected name ("Občine Škofje
        Loke"), a close misspelling ("Ljubjana"). Each step accepts only an unambiguous answer.
        A text of several parts ("Občina Piran / Comune di Pirano") that does not match as a
        whole matches when its parts that name a municipality all name the same one.
        """
        found = self._match_whole(text)
        if found is not None or not _PARTS.search(text):
            return found
        named = {self._match_whole(part) for part in _PARTS.split(text) if part.strip()}
        named.discard(None)
        return named.pop() if len(named) == 1 else None

    def _match_whole(self, text: str) -> Municipality | None:
        tokens = _strip_affixes(_tokens(text))
        if not tokens:
            return None
        key = " ".join(tokens)
        if key in self._exact:
            return self._exact[key]
        inflected = {
            p.municipality
            for p in self._patterns
            if len(p.tokens) == len(tokens)
            and all(_inflects(a, b) for a, b in zip(p.tokens, tokens, strict=True))
        }
        if len(inflected) == 1:
            return inflected.pop()
        if inflected:
            return None
        return self._fuzzy(key)

    def find_in(self, text: str) -> Municipality | None:
        """The municipality named inside a longer text, e.g. an institution's name.

        "Zavod za turizem Škofja Loka" -> Škofja Loka. The longest name found wins, so
        "Dol pri Ljubljani" beats the "Ljubljana" inside it and "Mirna Peč" beats "Mirna";
        two municipalities named apart ("Ptuj in Kranj") give None: a human decides. In
        mixed-case text a name must start with a capital letter, so "mirna", "kanal" and
        "grad" as words do not count. Nothing found: `match` on the whole text.
        """
        spans = self._spans(text)
        if not spans:
            return self.match(text)
        named = {span[3] for span in spans}
        return named.pop() if len(named) == 1 else None

    def find_all(self, text: str) -> tuple[Municipality, ...]:
        """Every municipality named inside a text, in the order written, each once.

        "Občini Kranj in Naklo" -> (Kranj, Naklo): the founders of a joint institution or
        the members of a joint administration. Same rules as `find_in` (longest name wins,
        capitals in mixed-case text); nothing found: `match` on the whole text, if any.
        """
        spans = self._spans(text)
        if not spans:
            whole = self.match(text)
            return (whole,) if whole else ()
        return tuple(dict.fromkeys(span[3] for span in sorted(spans, key=lambda s: s[1])))

    def _spans(self, text: str) -> list[tuple[int, int, int, Municipality]]:
        """Non-overlapping (size, start, end, municipality) of the names found in `text`."""
        found = [(t.group(), fold(t.group())) for t in _TOKEN.finditer(text)]
        originals = [orig for orig, _ in found]
        words = [_TOKEN_SYNONYMS.get(f, f) for _, f in found]
        check_case = text != text.lower() and text != text.upper()
        spans: list[tuple[int, int, int, Municipality]] = []  # size, start, end, which
        for pattern in self._patterns:
            n = len(pattern.tokens)
            for start in range(len(words) - n + 1):
                if check_case and not originals[start][:1].isupper():
                    continue
                if all(
                    _inflects(a, b)
                    for a, b in zip(pattern.tokens, words[start : start + n], strict=True)
                ):
                    spans.append((pattern.size, start, start + n, pattern.municipality))
        for start, word in enumerate(words):
            acronym = self._acronyms.get(word)
            if acronym and originals[start].isupper():
                spans.append((len(word), start, start + 1, acronym))
        kept: list[tuple[int, int, int, Municipality]] = []
        for span in sorted(spans, key=lambda s: -s[0]):
            if all(span[2] <= other[1] or span[1] >= other[2] for other in kept):
                kept.append(span)
        return kept

    def _fuzzy(self, key: str) -> Municipality | None:
        if len(key) < 4:
            return None
        limit = 1 if len(key) < 10 else 2
        best_distance = limit + 1
        best: set[Municipality] = set()
        for candidate, m in self._exact.items():
            if m is None or len(candidate) < 4 or abs(len(candidate) - len(key)) > limit:
                continue
            distance = _distance(key, candidate, limit)
            if distance > limit:  # _distance caps at limit + 1: too far, not a tie
                continue
            if distance < best_distance:
                best_distance, best = distance, {m}
            elif distance == best_distance:
                best.add(m)
        return best.pop() if len(best) == 1 else None


def _short_forms(name: str) -> list[str]:
    """"Cerklje na Gorenjskem" -> "Cerklje"; "Rače - Fram" -> "Rače", "Fram"."""
    forms = []
    if " - " in name:
        forms += [part.strip() for part in name.split(" - ")]
    words = name.split()
    for i, word in enumerate(words[1:], start=1):
        if word in ("na", "ob", "pri", "v"):
            forms.append(" ".join(words[:i]))
            break
    return forms


def _inflects(name_token: str, word: str) -> bool:
    """Whether `word` is `name_token` or a cheap Slovenian case form of it."""
    if word == name_token:
        return True
    if len(name_token) < 4:
        return False
    stems = [name_token[:-1] if name_token[-1] in "aeiou" else name_token]
    if name_token[-2] == "e" and name_token[-1] not in "aeiou":
        stems.append(name_token[:-2] + name_token[-1])  # fleeting e: Koper -> Kopru
    return any(
        len(stem) >= 3 and word.startswith(stem) and word[len(stem) :] in _ENDINGS
        for stem in stems
    )


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts once), capped."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def parse_rows(text: str) -> list[Municipality]:
    """Rows of the CSV (code,name,official_name,urban)."""
    return [
        Municipality(
            code=int(row["code"]),
            name=row["name"].strip(),
            official_name=row["official_name"].strip(),
            urban=row["urban"].strip() == "1",
        )
        for row in csv.DictReader(io.StringIO(text))
    ]


def load_municipalities() -> Municipalities:
    """The packaged list (intake/data/obcine.csv). Call once and pass the result in."""
    text = resources.files("intake").joinpath("data/obcine.csv").read_text(encoding="utf-8")
    return Municipalities(parse_rows(text))
