"""Could the robot tell from the words that a visitor has finished, and answer before 600 ms of silence?

The endpointer waits 600 ms of silence (speech/vad.py) because Open JTalk pauses 450–560 ms at
each 、, and a shorter wait cuts those sentences in two. Spoken-dialogue systems shorten the wait
when the words so far are a finished sentence. This measures, on the written training sets, how
often that would help and how often it would cut a visitor off, taking each 、 or comma as a pause
and the words before it as what the recognizer would have heard there:

- "ended early": the whole utterance ends in a form judged final, so the robot could answer sooner;
- "cut": the words before a pause inside an utterance end in such a form, so the robot would answer
  half a question.

Two readings of "final": strict (です, ます, か, ください, ?, …) and lenient (also the soft endings
けど, が, ので, から, …, which Japanese visitors often stop on). The issue's target (first audio
<= 0.5 s at p90) needs about 90 % ended early.

    .venv/bin/python -m bench.turn_end
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bench.speech import Entry, load_training

_STRICT_JA = "か|ですか|ますか|です|ます|ください|下さい|たい|でしょう|ね|よ|の|な|いい|どこ|どちら|だ|った|ません|でした|ました"
_SOFT_JA = "けど|けれど|けども|が|ので|んで|くて|から"
_PAUSE = re.compile(r"(?<=[、,])")


@dataclass(frozen=True)
class Reading:
    name: str
    ja: re.Pattern[str]
    en: re.Pattern[str]

    def final(self, text: str, lang: str) -> bool:
        text = text.strip().rstrip("、, ")
        if lang == "en":
            return self.en.search(text) is not None
        if text.endswith(("?", "？")):
            return True
        return self.ja.search(text.rstrip("。！! ")) is not None


READINGS = (
    Reading("strict", re.compile(f"({_STRICT_JA})$"), re.compile(r"\?$")),
    Reading("lenient", re.compile(f"({_STRICT_JA}|{_SOFT_JA})$"), re.compile(r"[?.!]$")),
)


def tally(reading: Reading, entries: Sequence[Entry]) -> tuple[int, int, int]:
    """(utterances ended early, pauses inside utterances, of those cut)."""
    early = pauses = cut = 0
    for e in entries:
        early += reading.final(e.text, e.lang)
        parts = _PAUSE.split(e.text)
        for n in range(1, len(parts)):
            pauses += 1
            cut += reading.final("".join(parts[:n]), e.lang)
    return early, pauses, cut


def main() -> int:
    entries = load_training()
    print(f"{len(entries)} utterances of the training sets, written; a 、 or comma is a pause")
    for reading in READINGS:
        early, pauses, cut = tally(reading, entries)
        print(
            f"  {reading.name:8} ended early {early}/{len(entries)} ({early / len(entries):.0%}); "
            f"cut at a pause {cut}/{pauses} ({cut / pauses:.0%})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
