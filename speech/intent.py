"""Which procedure or place a visitor means, robust to how it was said and how it was misheard.

Every phrase of the site's knowledge base (names and `phrases`, Japanese and English) and the
utterance are reduced to one phonetic key (`normalize.phonetic_key`): kanji are read as kana, kana
become romaji, long vowels and doubled consonants are collapsed. A phrase matches when it appears
in the utterance's key with few edits (an alignment against any part of it); short phrases must
match more exactly than long ones, and each misheard letter costs a match more than a letter heard
right earns it. The slips a recogniser makes are small and spread over a phrase, so a match is
refused when its edits fall where a different word would: on the distinctive part of a phrase with
a generic tail (転入手続き is not 保険の手続き), on a whole English word ("residence record" is
not "residence card"), or on a phrase whose kanji were written otherwise and whose sound only
nearly agrees (亡くなった is not 暮らせなくなって). English phrases may also be said in other
forms or with words between ("leaving Japan" for "leave Japan"), for less.

Each intent collects the letters its phrases cover (overlapping matches count once), so a longer,
more specific match or several cues for the same thing outweigh one short generic one. Words that
point at several procedures at once ("引っ越し") ask a question instead, unless the utterance also
says which one; nothing matching is a hand-off to staff.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from speech.knowledge import FACILITY_IDS, Knowledge, Place
from speech.normalize import is_japanese, phonetic_key, places_generalised

# Words that every second phrase ends with say nothing about *which* procedure is meant, and
# particles join the words that do: each word between them must match on its own (転入 of
# 転入手続き, not just 手続き; 近所 of 近所に引っ越し, not just 引っ越し).
_GENERIC_JA = re.compile(
    r"手続き|手続|証明書|証明|届出|届け|届|申請|したい|ください|写し|から|[のをにへでがとは]"
)
# English words a phrase may contain without the visitor saying them ("baby was born").
_OPTIONAL_EN = frozenset({
    "a", "an", "the", "my", "our", "your", "his", "her", "their", "of", "for", "to", "i", "is", "am", "are", "was",
    "be",
})  # fmt: skip
_INFLECTIONS = ("s", "es", "ed", "d", "ing", "ren")  # go/going, child/children, tax/taxes
_KANJI_CHARS = "\u3400-\u9fff\uf900-\ufaff々"
_KANJI = re.compile(f"[{_KANJI_CHARS}]")
_WORD = re.compile(r"[a-z0-9]+")
_KANJI_OR_HIRAGANA = re.compile(f"[\u3041-\u309fー{_KANJI_CHARS}]+")
# What one misheard letter costs a match, against one letter heard right: a long phrase with a few
# slips must not outweigh a shorter one heard exactly (国民年近 is 国民年金, not 国民健康保険).
EDIT_COST = 3
SHORT_KEY = 6  # letters: a phrase this short heard in other characters is likely another word
STAFF_ONLY = "staff_only"  # target of the knowledge base's staff_only phrases: a hand-off
# Words every visitor says that are one letter from a phrase: heard whole, they are not a near miss of
# it (窓口, "madoguchi", is not 出口, "deguchi").
_LOBBY_WORDS = tuple(phonetic_key(w) for w in ("窓口",))
_FACILITIES = frozenset(FACILITY_IDS)


@dataclass(frozen=True)
class Intent:
    """What the matcher understood. Exactly one of: a procedure, a destination (facility), a
    clarifying question's candidates, or a hand-off (none of these)."""

    procedure: str | None = None
    destination: str | None = None
    candidates: tuple[str, ...] = ()  # procedures to choose between: ask before answering
    score: float = 0.0  # 0–100, of the best phrase (or the examples classifier's probability × 100)
    phrase: str | None = None  # the phrase that matched, for logs
    guessed: bool = False  # no phrase matched: the examples classifier chose (speech/examples.py)
    either: bool = False  # the candidates were said as alternatives (戸籍か住民票か), not by a rule

    @property
    def handoff(self) -> bool:
        return self.procedure is None and self.destination is None and not self.candidates


@dataclass(frozen=True)
class _Phrase:
    key: str
    text: str
    target: str  # procedure or facility id, or "clarify:N"
    surface: str  # NFKC, lower case: found as written, it is certainly meant
    kanji: frozenset[str]  # of the distinctive part; written otherwise, only the sound matched
    cores: tuple[str, ...]  # keys of the parts besides generic words; each must match too
    words: tuple[str, ...]  # English: keys of the words the visitor must have said
    inflected: bool  # mostly kana around few kanji (亡くなった): the kanji carry the meaning


@dataclass(frozen=True)
class _Heard:
    """The utterance, in the forms phrases are compared with."""

    key: str
    surface: str
    words: tuple[str, ...]  # keys of its Latin-script words, and of each two neighbours joined
    tokens: tuple[tuple[str, int], ...]  # its Latin-script words' keys, and where they begin in `key`
    japanese: bool


@dataclass(frozen=True)
class _Match:
    target: str
    text: str
    weight: float  # letters matched, less EDIT_COST for each misheard one
    score: float  # 0–100
    start: int  # span in the utterance's key
    end: int


def allowed_edits(key: str) -> int:
    """How many letters may differ for a phrase of this length: short keys must match exactly,
    since one wrong letter in five is a different word (inkan / ikan)."""
    return 0 if len(key) <= 5 else 1 if len(key) <= 8 else 2 if len(key) <= 13 else 3


def _part_edits(key: str) -> int:
    """Budget for one part of a Japanese phrase between generic words and particles (転入 of
    転入手続き): a slip of the ear is one letter in it, a part that sounds different is another word."""
    return 0 if len(key) <= 3 else 1 if len(key) <= 8 else 2


def alignment(phrase: str, text: str) -> tuple[int, int, int]:
    """(edits, start, end): the substring text[start:end] that `phrase` turns into with the fewest
    edits (semi-global alignment: the phrase may start and end anywhere in the text, for free)."""
    costs, starts = [0] * (len(text) + 1), list(range(len(text) + 1))
    for i, p in enumerate(phrase, 1):
        row, row_starts = [i] + [0] * len(text), [0] * (len(text) + 1)
        for j, t in enumerate(text, 1):
            diagonal, up, left = costs[j - 1] + (p != t), costs[j] + 1, row[j - 1] + 1
            if diagonal <= up and diagonal <= left:
                row[j], row_starts[j] = diagonal, starts[j - 1]
            elif up <= left:
                row[j], row_starts[j] = up, starts[j]
            else:
                row[j], row_starts[j] = left, row_starts[j - 1]
        costs, starts = row, row_starts
    end = min(range(len(costs)), key=costs.__getitem__)
    return costs[end], starts[end], end


def substring_edits(phrase: str, text: str) -> int:
    """Fewest edits that turn `phrase` into some substring of `text`."""
    return alignment(phrase, text)[0]


def _surface(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _without_apostrophes(surface: str) -> str:
    return surface.replace("'", "").replace("’", "")  # "child's" is one word, as "childs"


def _tokens(surface: str) -> tuple[tuple[str, int], ...]:
    """Each Latin-script word's key, and where it begins in the key of the whole utterance."""
    text = _without_apostrophes(surface)
    return tuple((phonetic_key(m[0]), len(phonetic_key(text[: m.start()]))) for m in _WORD.finditer(text))


def _heard_words(tokens: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    """The utterance's words, and each two neighbours joined: a recogniser splits a word it does
    not know into ones it does ("in shorance")."""
    words = tuple(word for word, _ in tokens)
    return words + tuple(a + b for a, b in itertools.pairwise(words))


def _at_word(start: int, heard: _Heard) -> bool:
    """In Latin script a phrase is found only from the start of a word ("maina" is not in "remain
    a"); Japanese has no spaces to go by. One letter of slack: collapsing "want the" to "wanthe"
    moves where "the" begins."""
    return heard.japanese or any(abs(start - at) <= 1 for _, at in heard.tokens)


def _at_word_end(end: int, heard: _Heard) -> bool:
    """In Latin script a phrase heard letter for letter must also end where a word does ("my car"
    is not in "my card")."""
    return heard.japanese or any(end == at + len(word) for word, at in heard.tokens)


def _at_syllable(start: int, end: int, key: str) -> bool:
    """Whether key[start:end] of a Japanese key begins and ends at syllable boundaries: it starts
    after a vowel or ん (hikoshi is not in the "ashikoshi" of 足腰) and does not end before the ん
    of its last syllable (takai, 他界, is not in the "datakainkan" of だったか印鑑)."""
    starts = start == 0 or key[start - 1] in "aeioun" or _vowel_merged(start, end, key)
    takes_n = end < len(key) and key[end] == "n" and (end + 1 == len(key) or key[end + 1] not in "aeiouy")
    return starts and not takes_n


def _vowel_merged(start: int, end: int, key: str) -> bool:
    """Whether a phrase of some length that begins with a vowel lost it to the syllable before,
    as keys write a long vowel once: けど落とし物 is "kedotoshimono"."""
    return end - start >= _MERGED_MIN and key[start] in "aeiou" and key[start - 1] not in "aeioun"


_MERGED_MIN = 6  # shorter vowel-first phrases (inkan) would be found inside other words (kinkan)


def _said(word: str, heard: Iterable[str], slips: float = 0.4) -> bool:
    """Whether the visitor said `word` or a form of it (children for child, going for go), with
    up to `slips` of its letters misheard: sounds misheard ("bird" for birth, "penshun") are
    forgiven, a different word is not ("card" for record, "out" for in)."""
    stem = word[:-1] if len(word) > 3 and word.endswith("e") else word  # move/moving
    forms = {word, *(stem + ending for ending in _INFLECTIONS)}
    budget = int(len(word) * slips) if len(word) >= 3 else 0
    return any(
        h in forms or (budget and Levenshtein.distance(word, h, score_cutoff=budget) <= budget) for h in heard
    )


def _phrase(text: str, target: str) -> _Phrase | None:
    key = phonetic_key(text)
    if not key:
        return None
    surface = _surface(text)
    words: tuple[str, ...] = ()
    cores: tuple[str, ...] = ()
    parts = _GENERIC_JA.split(surface)
    if not is_japanese(text):
        said = map(phonetic_key, _WORD.findall(_without_apostrophes(surface)))
        words = tuple(w for w in said if w not in _OPTIONAL_EN)
    elif len(parts) > 1:
        cores = tuple(k for k in map(phonetic_key, parts) if len(k) >= 3)
    # The kanji that say what is meant: 転居 of 転居届 (届 is in every notification).
    kanji = frozenset(_KANJI.findall("".join(parts))) or frozenset(_KANJI.findall(surface))
    okurigana = len(phonetic_key(_KANJI.sub("", surface))) if kanji else 0
    return _Phrase(key, text, target, surface, kanji, cores, words, okurigana * 2 > len(key))


def _hear(utterance: str) -> _Heard:
    surface = _surface(utterance)
    tokens = _tokens(surface)
    return _Heard(phonetic_key(surface), surface, _heard_words(tokens), tokens, is_japanese(surface))


def _match(p: _Phrase, heard: _Heard) -> _Match | None:
    """The phrase's match in the utterance, if it is close enough to count."""
    if p.words and not all(_said(w, heard.words) for w in p.words):
        return None
    strict = 1 if _written_otherwise(p, heard) else 0
    if strict and _KANJI.search(heard.surface) and (p.inflected or _short_word(p, heard)):
        return None  # kanji were written, just not these: 電池がなくなりました is not a death
    return _exact_match(p, heard) or _fuzzy_match(p, heard, strict) or _sequence_match(p, heard)


def _short_word(p: _Phrase, heard: _Heard) -> bool:
    """A short word heard in hiragana or in other kanji, among kanji: its sound alone is some other
    word (市内 in 「何かしないと」, 道路 in 「今度六十五歳」), since a recogniser that writes kanji would
    have written these. (Katakana is how it writes a word it does not know: リコン届 may still be
    離婚届.)"""
    return (
        len(p.key) <= SHORT_KEY
        and not any(k in heard.surface for k in p.kanji)
        and any(p.key in phonetic_key(run) for run in _KANJI_OR_HIRAGANA.findall(heard.surface))
    )


def _written_otherwise(p: _Phrase, heard: _Heard) -> bool:
    """Whether what was written disagrees with the phrase, so that its sound must agree all the
    more: none of its kanji (暮らせなくなって for 亡くなった), or one of a two-kanji word (運転免許
    for 転居). A recogniser's wrong kanji for a longer phrase usually keep some (順民票, 引判等録)."""
    written = sum(k in heard.surface for k in p.kanji)
    return bool(p.kanji) and (written == 0 or (len(p.kanji) <= 2 and written < len(p.kanji)))


def _exact_match(p: _Phrase, heard: _Heard) -> _Match | None:
    at = next((i for i in _occurrences(p.key, heard.key) if _exact_at(p, i, heard)), None)
    if at is None:
        return None
    bonus = 0.5 if p.kanji and p.surface in heard.surface else 0.0  # the very characters were said
    return _Match(p.target, p.text, len(p.key) + bonus, 100.0, at, at + len(p.key))


def _exact_at(p: _Phrase, at: int, heard: _Heard) -> bool:
    if heard.japanese and is_japanese(p.text):
        return _at_syllable(at, at + len(p.key), heard.key)
    return _at_word(at, heard) and _at_word_end(at + len(p.key), heard)


def _fuzzy_match(p: _Phrase, heard: _Heard, strict: int) -> _Match | None:
    budget = allowed_edits(p.key) - strict
    if budget <= 0 or fuzz.partial_ratio(p.key, heard.key) < 100 * (1 - 2 * budget / len(p.key)):
        return None  # cheap filter in C before the exact alignment in Python
    edits, start, end = alignment(p.key, heard.key)
    span = heard.key[max(0, start - 2) : end + 2]
    if edits > budget or not _at_word(start, heard) or not _cores_match(p.cores, span, strict):
        return None
    score = 100.0 * (1 - edits / len(p.key))
    return _Match(p.target, p.text, len(p.key) - EDIT_COST * edits, score, start, end)


def _sequence_match(p: _Phrase, heard: _Heard) -> _Match | None:
    """English said in another form or with words between ("leaving Japan" for "leave japan"):
    the phrase's words in order, at most two words apart. It costs what two misheard letters do."""
    if not p.words:
        return None
    found = [_word_at(p.words[0], heard.tokens, 0, len(heard.tokens))]
    for word in p.words[1:]:
        if found[-1] is None:
            return None
        found.append(_word_at(word, heard.tokens, found[-1] + 1, found[-1] + 3))
    first, last = found[0], found[-1]
    if first is None or last is None:
        return None
    weight = len(p.key) - 2 * EDIT_COST
    start, (word, at) = heard.tokens[first][1], heard.tokens[last]
    return _Match(p.target, p.text, weight, 100.0 * weight / len(p.key), start, at + len(word))


def _word_at(word: str, tokens: tuple[tuple[str, int], ...], after: int, until: int) -> int | None:
    """The first of tokens[after:until] that is a form of `word`, with fewer slips forgiven than
    in a phrase that matched letter for letter ("garbage" is not "marriage")."""
    return next((i for i in range(after, min(until, len(tokens))) if _said(word, (tokens[i][0],), 0.2)), None)


def _occurrences(key: str, text: str) -> Iterable[int]:
    at = text.find(key)
    while at >= 0:
        yield at
        at = text.find(key, at + 1)


def _cores_match(cores: tuple[str, ...], span: str, strict: int) -> bool:
    return all(substring_edits(c, span) <= _part_edits(c) - strict for c in cores)


def _coverage(matches: list[_Match]) -> float:
    """Letters of the utterance that one target's matches cover, each counted once."""
    taken: list[_Match] = []
    for m in sorted(matches, key=lambda m: -m.weight):
        if all(m.end <= t.start or t.end <= m.start for t in taken):
            taken.append(m)
    return sum(m.weight for m in taken)


def _ranked(matches: list[_Match]) -> list[tuple[float, float, str, _Match]]:
    """Targets, best first: by letters covered, then by their single best match."""
    by_target: dict[str, list[_Match]] = {}
    for m in matches:
        by_target.setdefault(m.target, []).append(m)
    ranked = []
    for target, found in by_target.items():
        best = max(found, key=lambda m: (m.weight, len(m.text)))
        ranked.append((_coverage(found), best.weight, target, best))
    return sorted(ranked, key=lambda r: (-r[0], -r[1], r[2]))


def _found(heard: _Heard, phrases: Iterable[_Phrase]) -> list[_Match]:
    found = ((p, _match(p, heard)) for p in phrases) if heard.key else ()
    words = [(at, at + len(w), w) for w in _LOBBY_WORDS for at in _occurrences(w, heard.key)]
    return [m for p, m in found if m is not None and not _in_lobby_word(m, p, words)]


def _in_lobby_word(m: _Match, p: _Phrase, words: list[tuple[int, int, str]]) -> bool:
    """Whether a near miss overlaps a lobby word heard whole that its phrase does not contain."""
    return m.score < 100 and any(
        m.start < end and start < m.end and w not in p.key for start, end, w in words
    )


# A procedure already done, still to come or under way (転入届はもう出したんですが…, 住民票を取る
# 前に…, 住民票を待ってる間に…, 住民票を取ろうとしたら…), or named and taken back (住民票…じゃなくて、
# 戸籍), is not the request: its key is followed by one of these.
_TAKEN_BACK = re.compile(r"^(a|e)?(janaku|dewanaku|chigau|chigaimashita)")  # 住民票…じゃなくて
_IN_PASSING = re.compile(
    r"^(o|wa|mo|wamo)?(dashita|dashimashita|teshutsushita|sumimashita|sunda|owata)(?!i)"
    # 取る前に, 待ってる間に; not 作ったので、前に (before now), nor a 前に of the next sentence
    # (海外へ移住する予定です。出国前に…: the key has no 。, but です/ます end a sentence)
    r"|^(?:(?!desu|masu)[a-z]){0,20}(u|no)(maeni|aidani)"
    r"|^(o|wa|mo|wamo)?dashite(kimashita|kita|ar|oi|ok)"  # 出してきました, 出してあります
    r"|^(o|wa|ga)?[a-z]{0,6}otoshitara"  # 住民票を取ろうとしたら (an attempt, then the trouble)
    r"|^(o|wa|mo)?[a-z]{0,12}?sumase(ta|mashita)"  # 転出はオンラインで済ませたので
    r"|^wa(mukode|achirade|sochirade)"  # 転入届は向こうで出すとして (somewhere else)
    r"|^(sho)?de(daijobu|ii|yoi|yoroshi|kamaimase)"  # 運転免許証で大丈夫 (shown, not asked for)
    r"|^bak?a(ri)?(de|nanode|nande)"  # 越してきたばっかで (just done)
    # 越してきたので、 (the reason for what follows); not きたんです, きたのですが (what it is about)
    r"|^[a-z]{0,12}?(te|de)(kitanode|kimashite|kimashitanode)(?!su)"
    r"|" + _TAKEN_BACK.pattern
)
# The procedure for which a paper from another counter is needed (年金の手続きで、…戸籍の紙を
# 持ってきてと言われまして): the paper is the request.
_FOR_A_PROCEDURE = re.compile(r"^(no)?tetsuzukide")
_PAPER_NEEDED = re.compile(r"(kami|shorui)(ga|o|wa)?(iru|hitsuyo|mote|mot|dase)")
# …and one the question is about (婚姻届を出すときに、戸籍謄本は要りますか) is the request, whatever
# else it names: its key is followed by "when handing it in", or by a verb's ending and "when"
# (籍を入れ|るときって、戸籍謄本を…).
_TOPIC = re.compile(r"^(o|wa)?(dasu|teshutsusuru|suru|ru)(toki|sai)")
_FOLLOWING = 24  # letters of the key after a match read for what follows it (the verb, a where-word)
_QUALIFIER_GAP = 2  # letters between a procedure and the question's words it qualifies (の)
# A candidate named beside a question's words, or as one of two alternatives, is heard at least this
# well: one slip in a long phrase ("the income certificate" keyed as "thencome…"), not a near miss.
_NAMED_SCORE = 90.0


def _in_passing_dropped(matches: list[_Match], heard: _Heard) -> list[_Match]:
    """The matches less the procedures mentioned in passing (every match of theirs, and the words
    of the verb that says so: 転入届を出したんですが), unless no other place was named (住民票を
    取ろうとしたら…こちらでも取れますか asks for the 住民票 after all). A procedure taken back gives
    way to a matter for staff said word for word too (婚姻届…じゃなくて、離婚届)."""
    spans: list[tuple[int, int]] = []
    taken_back = False
    for m in matches:
        following = _following(m, heard)
        verb = _IN_PASSING.match(following)
        if verb:
            spans.append((m.start, m.end + verb.end()))
            taken_back = taken_back or _TAKEN_BACK.match(following) is not None
        elif _for_a_paper(m, heard.key[m.end :]):
            spans.append((m.start, m.end))
    passing = {m.target for m in matches if _within(m, spans)}
    kept = [m for m in matches if m.target not in passing]
    return kept if any(_another_place(m, taken_back) for m in kept) else matches


def _another_place(m: _Match, taken_back: bool) -> bool:
    """Whether a match kept names somewhere else to go: a procedure or facility, or, in place of
    one taken back, a matter for staff heard exactly."""
    if m.target == STAFF_ONLY:
        return taken_back and m.score == 100
    return not m.target.startswith("clarify:")


def _for_a_paper(m: _Match, rest: str) -> bool:
    procedure = _FOR_A_PROCEDURE.match(rest) or (m.text.endswith("手続き") and rest.startswith("de"))
    return bool(procedure) and _PAPER_NEEDED.search(rest) is not None


def _qualified(ask: _Match, matches: list[_Match], procedures: Iterable[str]) -> _Match:
    """A question's words qualified by a procedure said right before them (展出証明書がほしい, a
    recogniser's 転出証明書) are that procedure; the longest such (介護保険の, not its 保険)."""
    qualifiers = [
        m for m in matches
        if m.target in procedures and m.score == 100 and 0 <= ask.start - m.end <= _QUALIFIER_GAP
    ]  # fmt: skip
    return min(qualifiers, key=lambda m: m.start, default=ask)


def _exact_beside(near: _Match, ranked: list[tuple[float, float, str, _Match]]) -> _Match:
    """A near miss of a matter for staff (相談したい heard as 相談所) or of a question's words
    (koushin ni kimashita heard as 越してきました) is not one: what was said word for word
    elsewhere goes first. Words inside the near miss do not (保険料 通知 is still 保険料の通知)."""
    exact = (r[3] for r in ranked if r[2] != near.target and r[3].score == 100 and not _overlap(r[3], near))
    return next(exact, near)


def _overlap(a: _Match, b: _Match) -> bool:
    return a.start < b.end and b.start < a.end


def _within(m: _Match, spans: list[tuple[int, int]]) -> bool:
    return any(start <= m.start and m.end <= end for start, end in spans)


# Two procedures said as alternatives the visitor cannot choose between (戸籍か住民票かわからなくて,
# "proof of income or address, I don't know which"): ask between them.
# Each か ends an alternative (not とか, which lists; not the か of わからない or 何から); an alternative may
# be English words (印鑑証明かincome certificateか).
_EITHER_JA = re.compile(
    r"(?<![と何])か[、,\s]*(?:[^\s、,。]|(?<=[a-z])\s(?=[a-z]))+?(?<!と)か(?=[、,\s。.…]|$|どっち|どちら|わから|分から|忘れ|聞いて|聞き|知ら)"
    r"|だっけ[、,\s]*[^、,。]+?だっけ"  # 住民票だっけ戸籍だっけ (a recogniser may space its words)
    r"|と[^\s、,。]+?[、,\s]*(?=どっち|どちら)"  # 住民票と戸籍謄本、どっちが要るのか
    r"|(?<![と何])か[、,\s]*[^\s、,。]+?[、,\s]*(?=どっち|どちら)"  # 印鑑証明か住民票、どっちか
)
_EITHER_EN = re.compile(r"\bor\b")
_UNSURE = re.compile(
    r"わから|分から|忘れ|どっち|どちらか|聞いてな|聞いてこな|知らな|だっけ|はっきり(?:言わ|しな)|思い出せ|覚えて(?:い)?(?:な|ませ)|覚えておりませ|だったか"
    r"|\bwhich\b|not sure|don't know|no idea|forgot|forget"
)


def _alternatives(
    ranked: list[tuple[float, float, str, _Match]], heard: _Heard, procedures: Iterable[str]
) -> tuple[str, ...]:
    named = [r[2] for r in ranked if r[2] in procedures and r[3].score >= _NAMED_SCORE]
    either = _EITHER_JA if heard.japanese else _EITHER_EN
    if len(named) < 2 or not either.search(heard.surface) or not _UNSURE.search(heard.surface):
        return ()
    return tuple(named[:4])


# "Where is it", said right after a facility: the visitor asks for that place, whatever else the
# sentence mentions (介護保険の窓口は四階って…エレベーターってどっちですか). English says it just before
# ("…for my residence certificate, could you tell me where the toilets are?").
_WHERE = re.compile(r"doko|dochi|dochira|where|whichway")
_WHERE_BEFORE = re.compile(r"(where|whichway)(is|are|s)?(the|a|an)?$")


def _following(m: _Match, heard: _Heard) -> str:
    return heard.key[m.end : m.end + _FOLLOWING]


def _singled_out(
    ranked: list[tuple[float, float, str, _Match]],
    heard: _Heard,
    after: re.Pattern[str],
    among: Iterable[str],
    before: re.Pattern[str] | None = None,
) -> _Match | None:
    """A target other than the best, heard exactly, that the words after it (or, in English, just
    before it) single out as what is asked: a facility beside a where-word, a procedure followed by
    "when I hand it in". Exactly, since a near miss beside a where-word is too often another word
    (窓口どこ is not 出口)."""
    targets = frozenset(among)
    for _, _, target, m in ranked[1:]:
        if target in targets and m.score == 100 and _asked(m, heard, after, before):
            return m
    return None


def _asked(m: _Match, heard: _Heard, after: re.Pattern[str], before: re.Pattern[str] | None) -> bool:
    preceding = heard.key[max(0, m.start - _FOLLOWING) : m.start]
    return bool(after.search(_following(m, heard)) or (before and before.search(preceding)))


@dataclass
class IntentMatcher:
    knowledge: Knowledge
    _phrases: list[_Phrase] = field(init=False, default_factory=list)
    _answers: dict[tuple[str, ...], list[_Phrase]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        places: dict[str, Place] = {**self.knowledge.procedures, **self.knowledge.facilities}
        for target, place in places.items():
            for text in (place.name.ja, place.name.en, *place.phrases.ja, *place.phrases.en):
                self._add(text, target)
        for text in (*self.knowledge.staff_only.ja, *self.knowledge.staff_only.en):
            self._add(text, STAFF_ONLY)
        for i, rule in enumerate(self.knowledge.clarify):
            for text in (*rule.when.ja, *rule.when.en):
                self._add(text, f"clarify:{i}")
            for target, texts in rule.answers.items():
                for text in (*texts.ja, *texts.en):
                    self._add(text, target, self._answers.setdefault(tuple(rule.candidates), []))

    def _add(self, text: str, target: str, into: list[_Phrase] | None = None) -> None:
        phrase = _phrase(text, target)
        if phrase is not None:
            (self._phrases if into is None else into).append(phrase)

    def _matches(self, utterance: str, phrases: Iterable[_Phrase]) -> list[_Match]:
        return _found(self._hear(utterance), phrases)

    def _hear(self, utterance: str) -> _Heard:
        """The utterance with the places it names said as 市外 or 海外 (normalize.py), so that the
        site's phrases need not list every city a visitor may come from."""
        if is_japanese(utterance):
            utterance = places_generalised(utterance, frozenset(self.knowledge.home))
        return _hear(utterance)

    def match(self, utterance: str) -> Intent:
        heard = self._hear(utterance)
        matches = _in_passing_dropped(_found(heard, self._phrases), heard)
        ranked = _ranked(matches)
        if not ranked:
            return Intent()
        alternatives = _alternatives(ranked, heard, self.knowledge.procedures)
        if alternatives:
            return Intent(candidates=alternatives, score=100.0, phrase="/".join(alternatives), either=True)
        best = (
            _singled_out(ranked, heard, _WHERE, _FACILITIES, _WHERE_BEFORE)
            or _singled_out(ranked, heard, _TOPIC, self.knowledge.procedures)
            or ranked[0][3]
        )
        if best.target == self.knowledge.information_desk:
            # "年金のことってどこで聞けばいい？" asks where the pension is, not for a person.
            best = next(
                (r[3] for r in ranked if r[2] in self.knowledge.procedures and r[3].score == 100), best
            )
        if best.target.startswith("clarify:") or best.target == self.knowledge.information_desk:
            # A matter for staff, heard exactly, outranks a question ("離婚届を出したい" is not
            # which 届 to ask about) and the information desk (a complaint about staff is for staff).
            best = next((r[3] for r in ranked if r[2] == STAFF_ONLY and r[3].score == 100), best)
        if best.target.startswith("clarify:"):
            best = _qualified(best, matches, self.knowledge.procedures)
        if (best.target == STAFF_ONLY or best.target.startswith("clarify:")) and best.score < 100:
            best = _exact_beside(best, ranked)
        if best.target == STAFF_ONLY:
            return Intent(score=best.score, phrase=best.text)
        if best.target.startswith("clarify:"):
            rule = self.knowledge.clarify[int(best.target.split(":")[1])]
            named = self._named(heard, matches, best, tuple(rule.candidates))
            if named is None:
                return Intent(candidates=tuple(rule.candidates), score=best.score, phrase=best.text)
            best = named
        if best.target in self.knowledge.procedures:
            return Intent(procedure=best.target, score=best.score, phrase=best.text)
        return Intent(destination=best.target, score=best.score, phrase=best.text)

    def _named(
        self, heard: _Heard, matches: list[_Match], ask: _Match, candidates: tuple[str, ...]
    ) -> _Match | None:
        """The candidate the utterance names beyond the words that raised the question
        ("同じ市の中で引っ越した", 婚姻届を出したい), by its phrases or the question's short answers."""
        answers = _found(heard, self._answers.get(candidates, []))
        outside = [
            m for m in (*matches, *answers)
            if m.target in candidates and m.score >= _NAMED_SCORE and (m.start < ask.start or ask.end < m.end)
        ]  # fmt: skip
        ranked = _ranked(outside)
        return ranked[0][3] if ranked else None

    def choose(self, utterance: str, candidates: tuple[str, ...]) -> Intent:
        """The answer to a clarifying question: the candidate the reply names (with the question's
        short answers listened for too), else whatever else it asks for."""
        phrases = [p for p in (*self._answers.get(candidates, []), *self._phrases) if p.target in candidates]
        ranked = _ranked(self._matches(utterance, phrases))
        if ranked:
            best = ranked[0][3]
            return Intent(procedure=best.target, score=best.score, phrase=best.text)
        return self.match(utterance)
