"""What the robot says: greet, understand, ask once when unsure, answer with the live wait, offer
to walk the visitor there, or hand off to staff.

Plain data in, plain data out: `Dialogue.respond(text, lang, statuses)` takes the visitor's words
and the queue bridge's latest status per queue and returns a `Reply`. The ROS node and the CLI only
carry words and statuses to it and speak or print what it returns. Answers are short and polite
(です・ます) in Japanese, plain in English: counter and floor first, then the wait, then what to bring.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lobby.schema import QueueStatus
from queue_bridge.i18n import wait_bounds_min
from speech.examples import ExampleClassifier, shipped_classifier
from speech.intent import Intent, IntentMatcher
from speech.knowledge import Facility, Knowledge, Procedure
from speech.normalize import is_japanese, phonetic_key

#: Said at once while the answer is prepared, so the visitor hears the robot has understood.
FILLER = {"ja": "はい。", "en": "Sure."}  # said the moment the visitor stops; the answer follows ~0.5 s later
GREETING = {
    "ja": "こんにちは。ご用件をお話しください。",
    "en": "Hello. How can I help you today?",
}
MAX_DOCUMENTS = 2  # a spoken answer stays short; the counter has the full list

# Matched on the phonetic key (normalize.py): はい → hai, 結構です → kekodesu, "no thanks" → nothanks.
_YES = re.compile(r"^(hai|un|onegai|yoroshiku|tanomu|yes|yeah|yep|sure|please|ok)")
_NO = re.compile(r"^(ie|iya|daijobu|keko|no)")


@dataclass(frozen=True)
class Reply:
    text: str
    lang: str
    procedure: str | None = None
    destination: str | None = None  # point of interest: the counter's, or the facility's
    handoff: bool = False
    clarify: tuple[str, ...] = ()  # procedures the question chooses between
    offer_escort: bool = False  # the answer ends with "shall I take you there?"
    escort: bool = False  # the visitor accepted: walk them to `destination`
    guessed: float | None = None  # no phrase matched: the examples classifier's probability


def detect_lang(text: str) -> str:
    return "ja" if is_japanese(text) else "en"


@dataclass
class Dialogue:
    """One conversation with one visitor (a new visitor gets a new Dialogue)."""

    knowledge: Knowledge
    #: Asked only when no phrase of the knowledge base matched (None: hand off at once).
    examples: ExampleClassifier | None = field(default_factory=shipped_classifier)
    matcher: IntentMatcher = field(init=False)
    _pending: tuple[str, ...] = ()  # candidates of the question just asked
    _offered: str | None = None  # destination just offered to walk to
    _offered_target: str | None = None

    def __post_init__(self) -> None:
        self.matcher = IntentMatcher(self.knowledge)

    def greet(self, lang: str = "ja") -> Reply:
        return Reply(GREETING[lang], lang)

    def respond(
        self,
        text: str,
        lang: str | None = None,
        statuses: Mapping[str, QueueStatus] = {},
        alternatives: Sequence[str] = (),
    ) -> Reply:
        """`alternatives`: the recognizer's next-best hypotheses of the same words, tried in order
        only when nothing at all, or only a clarifying question, was recognized in `text` (a
        mishearing rather than a question the robot cannot answer)."""
        lang = lang or detect_lang(text)
        if self._offered is not None:
            answer = self._escort_answer(text, lang)
            if answer is not None:
                return answer
        if self._pending:
            candidates, self._pending = self._pending, ()
            intent = self.matcher.choose(text, candidates)
            if intent.candidates:  # still unsure after one question: a person is better
                return self._handoff(lang)
        else:
            intent = self._match(text, alternatives)
        return self._reply(intent, lang, statuses)

    def _match(self, text: str, alternatives: Sequence[str]) -> Intent:
        intent = self.matcher.match(text)
        if intent.phrase is not None and not intent.candidates:  # even a matter for staff: keep it
            return intent
        # Nothing, or only a question to ask ("届けを出したい" around a misheard 転居): a next-best
        # hypothesis that names the procedure outright is the better reading.
        for alternative in alternatives:
            other = self.matcher.match(alternative)
            if not other.handoff and not (intent.candidates and other.candidates):
                return other
        if intent.phrase is None:  # no phrase at all: what did visitors who said such things want?
            return self._guess(text) or intent
        return intent

    def _guess(self, text: str) -> Intent | None:
        if self.examples is None:
            return None
        procedures, facilities = self.knowledge.procedures, self.knowledge.facilities
        guess = self.examples.place(text, procedures.keys() | facilities.keys())
        if guess is None:
            return None
        score = 100 * guess.probability
        if guess.target in procedures:
            return Intent(procedure=guess.target, score=score, guessed=True)
        return Intent(destination=guess.target, score=score, guessed=True)

    def _reply(self, intent: Intent, lang: str, statuses: Mapping[str, QueueStatus]) -> Reply:
        if intent.candidates:
            self._pending = intent.candidates
            return Reply(self._question(intent, lang), lang, clarify=intent.candidates)
        if intent.procedure is not None:
            procedure = self.knowledge.procedures[intent.procedure]
            status = statuses.get(procedure.queue) if procedure.queue else None
            self._offer(procedure.poi, intent.procedure)
            also = tuple(self.knowledge.procedures[a] for a in procedure.also)
            return Reply(
                procedure_answer(procedure, lang, status, also),
                lang,
                procedure=intent.procedure,
                destination=procedure.poi,
                offer_escort=True,
                guessed=_guessed(intent),
            )
        if intent.destination is not None:
            facility = self.knowledge.facilities[intent.destination]
            self._offer(facility.poi, intent.destination)
            return Reply(
                facility_answer(facility, lang),
                lang,
                destination=intent.destination,
                offer_escort=True,
                guessed=_guessed(intent),
            )
        return self._handoff(lang)

    def _question(self, intent: Intent, lang: str) -> str:
        """The site's question for these candidates, or one naming them when the visitor said
        them as alternatives (戸籍か住民票か…)."""
        if not intent.either:
            rule = next(r for r in self.knowledge.clarify if tuple(r.candidates) == intent.candidates)
            return rule.question.get(lang)
        names = [self.knowledge.procedures[c].name.get(lang) for c in intent.candidates]
        if lang == "ja":
            which = "どちら" if len(names) == 2 else "どれ"
            return f"{'と'.join(names) if len(names) == 2 else '、'.join(names)}の{which}でしょうか。"
        return f"Is it the {', the '.join(names[:-1])} or the {names[-1]}?"

    def _offer(self, poi: str, target: str) -> None:
        self._offered, self._offered_target = poi, target

    def _escort_answer(self, text: str, lang: str) -> Reply | None:
        """The visitor's answer to "shall I take you there?", or None if they said something else."""
        key = phonetic_key(text)
        poi, self._offered = self._offered, None
        if _YES.match(key) and self.matcher.match(text).handoff:
            words = {
                "ja": "かしこまりました。ご案内しますので、ついてきてください。",
                "en": "Certainly. Please follow me.",
            }
            is_place = self._offered_target in self.knowledge.facilities
            return Reply(
                words[lang],
                lang,
                procedure=None if is_place else self._offered_target,
                destination=poi,
                escort=True,
            )
        if _NO.match(key):
            words = {"ja": "承知しました。どうぞお気をつけて。", "en": "All right. Have a good day."}
            return Reply(words[lang], lang)
        return None

    def _handoff(self, lang: str) -> Reply:
        desk = self.knowledge.facilities.get("information_desk")
        where = {"ja": "総合案内", "en": "the information desk"}
        if desk is not None:
            where = {
                "ja": f"{desk.floor}階の{desk.name.ja}",
                "en": f"the {desk.name.en} on the {ordinal(desk.floor)} floor",
            }
        words = {
            "ja": f"申し訳ありません、そのご用件は私ではご案内できません。{where['ja']}で職員がお手伝いします。",
            "en": f"I'm sorry, I can't help with that. The staff at {where['en']} will help you.",
        }
        return Reply(words[lang], lang, handoff=True)


def _guessed(intent: Intent) -> float | None:
    return intent.score / 100 if intent.guessed else None


def ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def spoken_wait(lang: str, status: QueueStatus | None) -> str:
    """The live wait as one spoken sentence, or "" when there is no live status to quote."""
    if status is None:
        return ""
    if status.waiting == 0:
        return "今はお待ちの方はいません。" if lang == "ja" else "There is no one waiting right now."
    if status.estimate is None:
        if lang == "ja":
            return f"ただいま{status.waiting}人お待ちです。"
        return f"{status.waiting} people are waiting right now."
    lo, hi = wait_bounds_min(status.estimate)
    if lang == "ja":
        span = f"{hi}分以内" if lo == 0 else f"{lo}分から{hi}分ほど"
        return f"ただいま{status.waiting}人待ちで、待ち時間は{span}です。"
    span = f"under {hi} minutes" if lo == 0 else f"about {lo} to {hi} minutes"
    people = "1 person is" if status.waiting == 1 else f"{status.waiting} people are"
    return f"{people} waiting, {span}."


def procedure_answer(
    procedure: Procedure, lang: str, status: QueueStatus | None, also: Sequence[Procedure] = ()
) -> str:
    docs = procedure.documents.get(lang)[:MAX_DOCUMENTS]
    if lang == "ja":
        parts = [f"{procedure.name.ja}ですね。{procedure.floor}階、{procedure.counter.ja}です。"]
        parts.append(spoken_wait(lang, status))
        if docs:
            parts.append(f"{'と'.join(docs)}をお持ちください。")
        for then in also:
            parts.append(f"あわせて、{then.name.ja}は{then.floor}階、{then.counter.ja}です。")
        parts.append("窓口までご案内しましょうか。")
    else:
        # A short confirming first sentence, as in Japanese (…ですね。): it is synthesized in ~0.1 s,
        # so the answer starts sooner, and the visitor hears at once what the robot understood.
        parts = [
            f"{procedure.name.en[:1].upper()}{procedure.name.en[1:]}, right?",
            f"Please go to {procedure.counter.en} on the {ordinal(procedure.floor)} floor.",
        ]
        parts.append(spoken_wait(lang, status))
        if docs:
            parts.append(f"Please bring {' and '.join(docs)}.")
        for then in also:
            parts.append(
                f"For the {then.name.en}, please also visit {then.counter.en} on the {ordinal(then.floor)} floor."
            )
        parts.append("Shall I take you there?")
    return " ".join(p for p in parts if p) if lang == "en" else "".join(parts)


def facility_answer(facility: Facility, lang: str) -> str:
    if lang == "ja":
        return f"{facility.name.ja}は{facility.floor}階、{facility.where.ja}です。ご案内しましょうか。"
    return (
        f"The {facility.name.en} is on the {ordinal(facility.floor)} floor, {facility.where.en}. "
        "Shall I take you there?"
    )
