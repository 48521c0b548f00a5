"""What a visitor most likely meant, learnt from labelled examples of what visitors said.

The phrase matcher (intent.py) finds the names of things. Visitors often name nothing ("my mother
passed away last week", 「子どもが二人おるんやけど」) or are misheard past recognition (転居届 →
「転届届」). Labelled utterances, and what Whisper heard when our own voices said them, teach a small
classifier which letters go with which intent: character 1–3-grams of the written words and 2–4-grams
of their phonetic key, TF-IDF weighted, then a multinomial logistic regression. The dialogue asks it
only when no phrase matched at all, and takes its answer only when it names a procedure or a place
with some confidence; otherwise the visitor is handed to staff as before.

The examples are plain YAML (intent id → utterances); `bench/make_examples.py` builds the shipped
file from the test sets. A site adds its own: staff teach the robot from its unanswered questions on
the staff dashboard, the server sends them to every robot of the site (signed, retained MQTT), and
the robot learns them in addition to the shipped ones (`fit_with_site`); a robot off the network
can be given them as a file in the same format (`/staff/examples.yaml`).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from speech.normalize import phonetic_key

EXAMPLES = Path(__file__).resolve().parent / "examples.yaml"
#: Below this a guess is more often wrong than the hand-off it would replace. On set 3's odd half,
#: with a classifier that had not seen it, 0.2 gained 1–2 answers more than 0.3; but 0.2 sent 2 of 40
#: remarks that are nobody's business at a counter ("I'm just waiting for my wife" → birth) to a
#: counter, 0.3 none, and a wrong counter costs a visitor more than a word with staff.
MIN_PROBABILITY = 0.3
HANDOFF, CLARIFY = "handoff", "clarify"  # targets that are not a place to send the visitor
_SEPARATOR = "\x1f"  # between the two forms of an utterance the vectorizers read


@dataclass(frozen=True)
class Example:
    text: str
    target: str  # a procedure or facility id, HANDOFF or CLARIFY


@dataclass(frozen=True)
class Guess:
    target: str
    probability: float


class ExamplesError(ValueError):
    """An examples file that cannot be used; the message says which and why."""


def load_examples(path: Path = EXAMPLES) -> list[Example]:
    try:
        raw = yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
    except (OSError, yaml.YAMLError) as e:
        raise ExamplesError(f"cannot read the intent examples {path}: {' '.join(str(e).split())}") from e
    table = raw.get("examples") if isinstance(raw, dict) else None
    if not isinstance(table, dict) or not all(isinstance(v, list) for v in table.values()):
        raise ExamplesError(f"{path}: expected 'examples:' mapping each intent id to a list of utterances")
    return examples_of(table)


def examples_of(table: Mapping[str, Sequence[object]]) -> list[Example]:
    """The examples of a table of intent id → utterances (a file's `examples:`, or the site's taught
    examples as they come from the server)."""
    return [Example(str(text), str(target)) for target, texts in table.items() for text in texts]


def _forms(text: str) -> str:
    """The written words (NFKC, lower case) and their phonetic key, for the two vectorizers."""
    return unicodedata.normalize("NFKC", text).lower() + _SEPARATOR + phonetic_key(text)


def _written(forms: str) -> str:
    return forms.split(_SEPARATOR)[0]


def _sound(forms: str) -> str:
    return forms.split(_SEPARATOR)[1]


class ExampleClassifier:
    """Fitted from the examples at start-up, and again when staff teach: ~8 s for the 7,764 shipped
    on these 2 cores (much of it reading them phonetically; newton-cg fits this convex problem 2.5×
    faster than the default lbfgs)."""

    def __init__(self, examples: Sequence[Example]) -> None:
        if len({e.target for e in examples}) < 2:
            raise ExamplesError("the intent examples need at least two different intents")
        features = FeatureUnion([
            ("written", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, preprocessor=_written)),
            ("sound", TfidfVectorizer(analyzer="char", ngram_range=(2, 4), sublinear_tf=True, preprocessor=_sound)),
        ])  # fmt: skip
        self._model = Pipeline(
            [("features", features), ("classes", LogisticRegression(C=20, solver="newton-cg", max_iter=3000))]
        )
        self._model.fit([_forms(e.text) for e in examples], [e.target for e in examples])
        self.targets: frozenset[str] = frozenset(str(t) for t in self._model.classes_)

    def guess(self, text: str) -> Guess:
        probabilities = self._model.predict_proba([_forms(text)])[0]
        best = int(probabilities.argmax())
        return Guess(str(self._model.classes_[best]), float(probabilities[best]))

    def place(self, text: str, places: Collection[str]) -> Guess | None:
        """The procedure or facility the text most likely asks for, if it is one of `places` and
        likely enough; None when the best guess is a hand-off, a question to ask, or unsure."""
        guess = self.guess(text)
        if guess.target in places and guess.probability >= MIN_PROBABILITY:
            return guess
        return None


def shipped_classifier(path: Path = EXAMPLES) -> ExampleClassifier:
    """The classifier of the examples shipped with the robot, fitted on first use (once per file,
    however the path is given: `shipped_classifier()` and `shipped_classifier(EXAMPLES)` are one)."""
    return _fitted(Path(path).resolve())


@functools.cache
def _fitted(path: Path) -> ExampleClassifier:
    return ExampleClassifier(load_examples(path))


# -- a site's own examples ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fitted:
    """The classifier the robot answers with, and what became of the site's own examples."""

    classifier: ExampleClassifier
    site_examples: int = 0  # how many of the site's own examples it learnt
    problem: str | None = None  # why the site's examples were left out, for the log


def unknown_targets(examples: Iterable[Example], known: Collection[str]) -> list[str]:
    """The intent ids the examples name that are not `known` (sorted)."""
    return sorted({e.target for e in examples} - set(known))


def load_site_examples(path: Path, known: Collection[str]) -> list[Example]:
    """A site's own examples; ExamplesError when the file cannot be read or names an intent id
    that is not `known` (the site's procedures and facilities, HANDOFF and CLARIFY)."""
    return _checked(load_examples(path), known, str(path))


def _checked(examples: list[Example], known: Collection[str], source: str) -> list[Example]:
    unknown = unknown_targets(examples, known)
    if unknown:
        raise ExamplesError(f"{source}: intent ids this site does not have: {', '.join(unknown)}")
    return examples


def fit_with_site(
    known: Collection[str], site: Path | Sequence[Example] | None = None, shipped: Path = EXAMPLES
) -> Fitted:
    """The classifier of the shipped examples and, if given, the site's own (a file, or the examples
    themselves). Site examples that cannot be used are left out, never fatal: the shipped classifier
    (cached) answers, and `problem` says why. Shipped examples that cannot be read raise
    ExamplesError, as `shipped_classifier` does."""
    if site is None:
        return Fitted(shipped_classifier(shipped))
    source = str(site) if isinstance(site, Path) else "the taught examples"
    try:
        own = (
            load_site_examples(site, known) if isinstance(site, Path) else _checked(list(site), known, source)
        )
        if not own:
            return Fitted(shipped_classifier(shipped))
        return Fitted(ExampleClassifier([*load_examples(shipped), *own]), len(own))
    except Exception as exc:  # whatever a site's examples hold, the robot goes on answering
        why = str(exc) if isinstance(exc, ExamplesError) else f"{source}: cannot learn them: {exc}"
        return Fitted(shipped_classifier(shipped), problem=f"{why}; using the shipped examples alone")
