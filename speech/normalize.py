"""One spelling for what was said: a phonetic key that kanji, kana, romaji and English all reduce to.

A recogniser that hears 住民票 may write 順民票, じゅうみんひょう or "juuminhyou"; a visitor may type
any of them. Japanese text is read as kana by pyopenjtalk's dictionary (so wrong kanji with the
right sound still match), kana become romaji, and the romaji are simplified the way listeners
forgive: long vowels and doubled consonants are collapsed, spaces and punctuation dropped.
English goes through the same simplification, so both sides of a comparison always agree.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence

_KANA = {
    "キャ": "kya", "キュ": "kyu", "キョ": "kyo", "シャ": "sha", "シュ": "shu", "ショ": "sho",
    "チャ": "cha", "チュ": "chu", "チョ": "cho", "ニャ": "nya", "ニュ": "nyu", "ニョ": "nyo",
    "ヒャ": "hya", "ヒュ": "hyu", "ヒョ": "hyo", "ミャ": "mya", "ミュ": "myu", "ミョ": "myo",
    "リャ": "rya", "リュ": "ryu", "リョ": "ryo", "ギャ": "gya", "ギュ": "gyu", "ギョ": "gyo",
    "ジャ": "ja", "ジュ": "ju", "ジョ": "jo", "ヂャ": "ja", "ヂュ": "ju", "ヂョ": "jo",
    "ビャ": "bya", "ビュ": "byu", "ビョ": "byo", "ピャ": "pya", "ピュ": "pyu", "ピョ": "pyo",
    "シェ": "she", "ジェ": "je", "チェ": "che", "ティ": "ti", "ディ": "di", "ファ": "fa",
    "フィ": "fi", "フェ": "fe", "フォ": "fo", "ウィ": "wi", "ウェ": "we", "ウォ": "wo",
    "ヴァ": "ba", "ヴィ": "bi", "ヴェ": "be", "ヴォ": "bo", "トゥ": "tu", "ドゥ": "du",
    "ア": "a", "イ": "i", "ウ": "u", "エ": "e", "オ": "o",
    "カ": "ka", "キ": "ki", "ク": "ku", "ケ": "ke", "コ": "ko",
    "サ": "sa", "シ": "shi", "ス": "su", "セ": "se", "ソ": "so",
    "タ": "ta", "チ": "chi", "ツ": "tsu", "テ": "te", "ト": "to",
    "ナ": "na", "ニ": "ni", "ヌ": "nu", "ネ": "ne", "ノ": "no",
    "ハ": "ha", "ヒ": "hi", "フ": "fu", "ヘ": "he", "ホ": "ho",
    "マ": "ma", "ミ": "mi", "ム": "mu", "メ": "me", "モ": "mo",
    "ヤ": "ya", "ユ": "yu", "ヨ": "yo",
    "ラ": "ra", "リ": "ri", "ル": "ru", "レ": "re", "ロ": "ro",
    "ワ": "wa", "ヰ": "i", "ヱ": "e", "ヲ": "o", "ン": "n",
    "ガ": "ga", "ギ": "gi", "グ": "gu", "ゲ": "ge", "ゴ": "go",
    "ザ": "za", "ジ": "ji", "ズ": "zu", "ゼ": "ze", "ゾ": "zo",
    "ダ": "da", "ヂ": "ji", "ヅ": "zu", "デ": "de", "ド": "do",
    "バ": "ba", "ビ": "bi", "ブ": "bu", "ベ": "be", "ボ": "bo",
    "パ": "pa", "ピ": "pi", "プ": "pu", "ペ": "pe", "ポ": "po", "ヴ": "bu",
    "ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o", "ャ": "ya", "ュ": "yu", "ョ": "yo",
}  # fmt: skip

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヵヶ]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# What a listener does not hear as different: long vowels, doubled consonants, "nn" before a vowel.
_COLLAPSE = [
    (re.compile(r"wo"), "o"), (re.compile(r"ou|oo"), "o"), (re.compile(r"uu"), "u"), (re.compile(r"aa"), "a"),
    (re.compile(r"ii"), "i"), (re.compile(r"ee|ei"), "e"), (re.compile(r"([bcdfghjklmnpqrstvwxyz])\1+"), r"\1"),
    (re.compile(r"tch"), "ch"),
]  # fmt: skip


def kana_to_romaji(kana: str) -> str:
    """Katakana (hiragana is converted first) to Hepburn-like romaji; ッ doubles the next consonant."""
    text = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in kana)
    out: list[str] = []
    i, double = 0, False
    while i < len(text):
        pair, one = text[i : i + 2], text[i]
        if one == "ッ":
            double, i = True, i + 1
            continue
        if one == "ー":
            out.append(out[-1][-1] if out and out[-1] else "")
            i += 1
            continue
        if pair in _KANA and len(pair) == 2:
            syllable, i = _KANA[pair], i + 2
        else:
            syllable, i = _KANA.get(one, one), i + 1
        if double and syllable:
            syllable = syllable[0] + syllable
        double = False
        out.append(syllable)
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def reading(japanese: str) -> str:
    """Katakana reading of Japanese text (pyopenjtalk's dictionary; unknown words spelled as is)."""
    import pyopenjtalk  # loaded on first use: the dictionary costs a fraction of a second

    return str(pyopenjtalk.g2p(japanese, kana=True))


@functools.lru_cache(maxsize=4096)
def phonetic_key(text: str) -> str:
    """The comparable spelling of `text`, whatever script it is in."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _JAPANESE.sub(lambda m: " " + kana_to_romaji(reading(m.group())) + " ", text)
    key = _NOT_ALNUM.sub("", text)
    for pattern, replacement in _COLLAPSE:
        key = pattern.sub(replacement, key)
    return key


def is_japanese(text: str) -> bool:
    """True when the text has any kana or kanji (for picking the answer's language)."""
    return _JAPANESE.search(text) is not None


# Suffixes that make a place name a municipality or prefecture (三鷹市, 鹿児島県); 東京駅 is not one.
_MUNICIPAL_SUFFIXES = frozenset("市県区町村府都州")
_COUNTRY, _ELSEWHERE = "海外", "市外"
_WARD_TO_WARD = re.compile(r"[一-龥ぁ-んァ-ヶー]{1,6}区から[一-龥ぁ-んァ-ヶー]{1,6}区(へ|に)")
_FLOOR = re.compile(r"階|^[0-9０-９一二三四五六七八九十]+$")  # 二階 is a place name to the dictionary


def places_generalised(japanese: str, home: frozenset[str] = frozenset()) -> str:
    """The text with each named place the visitor comes from or goes to said as 市外 (another
    city) or 海外 (a country), so that 名古屋から越してきた reads like 市外から越してきた whatever
    the city. Places are pyopenjtalk's proper nouns of region (地域) followed by から, に or へ, by
    を離れ (仙台を離れて → 市外を離れて), or by の, one word and one of those (福岡の支店に → 市外に);
    `home` names this city (and 日本 is home too), which is never elsewhere. From one ward to another
    (北区から南区へ) is within the city: 市内で."""
    import pyopenjtalk

    japanese = _WARD_TO_WARD.sub("市内で", japanese)  # 北区から南区へ移りました: a move between wards
    japanese = _LATIN_PLACE.sub(_COUNTRY + r"\1", japanese)  # Canada から引っ越してきた
    nodes = pyopenjtalk.run_frontend(japanese)
    words = [(str(n["string"]), _place_kind(n, home)) for n in nodes]
    following = [w for w, _ in words]
    for i, (word, kind) in enumerate(words):
        suffix = following[i + 1] if i + 1 < len(words) and following[i + 1] in _MUNICIPAL_SUFFIXES else ""
        after = following[i + 1 + bool(suffix) :][:3]
        if kind and after[:1] and after[0] in _DIRECTIONS:  # 名古屋から, 札幌に
            said, direction = after[0], after[0]
        elif kind and after[1:] and after[0] == "を" and after[1].startswith("離"):  # 仙台を離れて
            said, direction = "を", "を"
        elif kind and after[2:] and after[0] == "の" and after[2] in _DIRECTIONS:  # 福岡の支店に
            said, direction = "".join(after), after[2]
        elif kind and i >= 2 and following[i - 1] in ("は", "が") and following[i - 2].endswith("先"):
            said, direction = "", ""  # 引っ越し先は札幌です → 引っ越し先は市外です
        elif kind and after[:1] and after[0] in _COPULAS and _from_a_time(nodes, i):
            said, direction = "", "へ"  # 来月から仙台なんです → 来月から市外へなんです (there from then)
        else:
            continue
        # In the text as written: pyopenjtalk's words have Latin letters made full-width.
        japanese = japanese.replace(word + suffix + said, kind + direction, 1)  # 福岡の支店に → 市外に
    return japanese


_DIRECTIONS = ("から", "に", "へ")
_COPULAS = ("な", "です", "だ")


def _from_a_time(nodes: Sequence[Mapping[str, object]], i: int) -> bool:
    """Whether the word before nodes[i] is から after a time (来月から, 四月から)."""
    return i >= 2 and nodes[i - 1]["string"] == "から" and nodes[i - 2]["pos_group1"] == "副詞可能"


# A place named in Latin letters in a Japanese sentence: from it (Canada から), or to it when a
# move follows (London に帰ります). Capitalised, so that "address に" is not one.
_LATIN_PLACE = re.compile(
    r"(?<![A-Za-z])[A-Z][a-z]+(?: [A-Z][a-z]+)?\s*(から|(?:に|へ)(?=\s*(?:引っ越|引越|帰|移|行|戻)))"
)


def _place_kind(node: Mapping[str, object], home: frozenset[str]) -> str:
    """市外 or 海外 for a place name that is not home, else ''."""
    word = str(node["string"])
    if node["pos_group1"] != "固有名詞" or node["pos_group2"] != "地域" or _FLOOR.search(word):
        return ""
    if word in home or word == "日本":
        return ""
    return _COUNTRY if node["pos_group3"] == "国" else _ELSEWHERE
