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
