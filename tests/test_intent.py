"""Understanding: one phonetic key for every script, intents robust to misrecognition, the site's
knowledge base validated with errors that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from queue_bridge.site import load_site
from speech.intent import IntentMatcher, alignment, allowed_edits, substring_edits
from speech.knowledge import KnowledgeError, knowledge_of, load_knowledge
from speech.normalize import is_japanese, kana_to_romaji, phonetic_key, places_generalised

SITE, KNOWLEDGE = load_knowledge()
MATCHER = IntentMatcher(KNOWLEDGE)


def test_kanji_kana_and_romaji_reduce_to_one_key() -> None:
    keys = {
        phonetic_key(t) for t in ("住民票", "じゅうみんひょう", "ジューミンヒョー", "juuminhyou", "Juminhyo")
    }
    assert keys == {"juminhyo"}
    assert kana_to_romaji("キャッシュ") == "kyasshu" and kana_to_romaji("マイナンバー") == "mainanbaa"
    assert is_japanese("トイレ") and not is_japanese("Where is the toilet?")


def test_edits_are_counted_against_the_best_part_of_the_utterance() -> None:
    assert substring_edits("juminhyo", "junminhyokudasai") == 1
    assert substring_edits("inkan", "kyowainkantorokushitai") == 0
    assert alignment("juminhyo", "junminhyokudasai") == (1, 0, 9)  # and where: junminhyo
    assert allowed_edits("inkan") == 0 < allowed_edits("juminhyo") < allowed_edits("inkantoroku")


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("住民票がほしいです", "resident_certificate"),
        ("順民票ください", "resident_certificate"),  # a recogniser's wrong kanji, same sound
        ("juuminhyou wo kudasai", "resident_certificate"),
        ("引判等録をしたい", "seal_registration"),
        ("転入トドケを出したい", "moving_in"),
        ("名古屋から引っ越してきたんですけど", "moving_in"),  # any city: read as 市外から
        ("夫の転勤で札幌に行くことになりまして", "moving_out"),
        ("ネパールから来ました。住所の登録をしたいです", "moving_in"),  # a country: 海外から
        ("マイナンバーカードを受け取りに来ました", "my_number_card"),
        ("Where do I get a residence certificate?", "resident_certificate"),
        ("I'm moving to Yokohama next month", "moving_out"),
        ("子どもが生まれたので届けを出したい", "birth"),
        ("住民表をください", "resident_certificate"),
        ("I lost my health in shorance card", "health_insurance"),  # a word split by the recogniser
        ("父が亡くなりました", "death"),
        ("ちちが なくなりました", "death"),  # kana only: the sound is all there is to go by
    ],
)
def test_procedures_are_understood_however_they_are_said(said: str, expected: str) -> None:
    assert MATCHER.match(said).procedure == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("相続の手続きで戸籍が必要です", "family_register"),  # two cues outweigh one
        ("国保の手続きをしたい", "health_insurance"),  # 転入手続き shares only the generic 手続き
        ("I'm leaving Japan for good", "moving_out"),  # "leave Japan", in another form
        ("I'm moving to a new apartment in this city", "moving_within"),  # not just "moving to"
        ("I'm moving to this city", "moving_in"),
        ("市内で引っ越しました", "moving_within"),  # which move, said with the move: no question
        ("Can I get money for my children?", "child_allowance"),
        ("I need proof of my income", "tax_certificate"),
    ],
)
def test_indirect_requests_go_to_the_most_specific_procedure(said: str, expected: str) -> None:
    assert MATCHER.match(said).procedure == expected


def test_facilities_are_destinations_not_procedures() -> None:
    for said in ("トイレはどこですか", "Where is the toilet?"):
        intent = MATCHER.match(said)
        assert intent.destination == "restroom" and intent.procedure is None
    assert MATCHER.match("インフォメーションはどこですか").destination == "information_desk"
    # The way out asked for, though a matter for staff (parking) is named on the way.
    assert MATCHER.match("I need to get back to the parking lot. Which way is out?").destination == "exit"


@pytest.mark.parametrize(
    "said",
    [
        "犬の登録をしたい",
        "今日の天気は？",
        "駐車券の処理をお願いします",
        "What time is it?",
        "電池がなくなりました",  # なくなる, not 亡くなる: the kanji written are not 亡
        "ごみの収集日を教えて",  # しゅうしゅう is not 出生 (しゅっしょう)
        "運転免許の更新",  # 免許 is not 転居, though 転 is written
        "My residence card expires soon",  # immigration's card, not a residence record
        "Can I remain a resident here?",  # "maina" inside "remain a" is no My Number card
    ],
)
def test_anything_else_is_handed_off(said: str) -> None:
    assert MATCHER.match(said).handoff


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("名古屋から越してきました", "市外から越してきました"),
        ("三鷹市に引っ越します", "市外に引っ越します"),  # 市 goes with the name
        ("ネパールから来ました", "海外から来ました"),
        ("日本に来ました", "日本に来ました"),  # home
        ("東京駅に行くバス", "東京駅に行くバス"),  # a station is not a city to move to
        (
            "ベビーカーで二階に上がりたい",
            "ベビーカーで二階に上がりたい",
        ),  # 二階 is a place name to the dictionary
        ("大阪の住民票", "大阪の住民票"),  # not from or to
        ("四月から福岡の支店に転勤になります", "四月から市外に転勤になります"),  # one word between
        ("北区から南区へ移りました", "市内で移りました"),  # from one ward to another: within the city
        ("主人の転勤で仙台を離れて", "主人の転勤で市外を離れて"),  # left a place: came from elsewhere
        ("Canada から引っ越してきました", "海外から引っ越してきました"),  # in Latin letters
        ("London に帰ります", "海外に帰ります"),
        ("address に登録", "address に登録"),  # not capitalised: a word, not a place
        ("引っ越し先は札幌です", "引っ越し先は市外です"),  # where the move goes
        ("来月から仙台なんです", "来月から市外へなんです"),  # there from a time on: going there
        ("福岡です", "福岡です"),  # no time said: maybe where the visitor is from
    ],
)
def test_places_a_visitor_comes_from_or_goes_to_read_as_elsewhere(said: str, read: str) -> None:
    assert places_generalised(said) == read
    assert places_generalised("三鷹市に引っ越します", home=frozenset({"三鷹"})) == "三鷹市に引っ越します"
    mitaka = IntentMatcher(KNOWLEDGE.model_copy(update={"home": ["三鷹"]}))
    assert mitaka.match("三鷹市から来ました").procedure != "moving_in"  # home is not another city
    assert MATCHER.match("三鷹市から来ました").procedure == "moving_in"


@pytest.mark.parametrize(
    ("said", "candidates"),
    [
        ("引っ越してきたんですけど", ("moving_in", "moving_within")),  # from where? (the example)
        ("I just moved. What do I need to do?", ("moving_in", "moving_within")),
        ("来月引っ越すんですけど", ("moving_out", "moving_within")),  # to where?
        ("保険のことでお聞きしたいんですが", ("health_insurance", "nursing_care", "pension")),
        ("保険の手続きに来たんですが", ("health_insurance", "nursing_care", "pension")),  # which insurance?
        ("保険の窓口ってどこ？", ("health_insurance", "nursing_care", "pension")),
        ("本籍が載ってる書類ほしいんだけど", ("family_register", "resident_certificate")),
        (
            "Could I get the documents I need for my visa renewal?",
            ("resident_certificate", "tax_certificate"),
        ),
    ],
)
def test_a_move_or_a_matter_of_no_kind_in_particular_asks_which(
    said: str, candidates: tuple[str, ...]
) -> None:
    assert MATCHER.match(said).candidates == candidates


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("婚姻届を出したいんですが", "marriage"),  # named beyond the words that would ask "which 届?"
        ("大阪から越してきました", "moving_in"),  # the question's answer, given with the move
        ("来月引っ越すんですけど、同じ市内です", "moving_within"),
    ],
)
def test_a_question_is_not_asked_when_the_utterance_answers_it(said: str, expected: str) -> None:
    assert MATCHER.match(said).procedure == expected


def test_a_matter_for_staff_outranks_a_question_and_a_facility_asked_for_outranks_a_procedure() -> None:
    assert MATCHER.match("離婚届を出したいんですが").handoff  # not "which notification?"
    assert MATCHER.match("養子縁組の届けを出したいんですけど").handoff
    said = "介護保険の窓口が二階って聞いたんですけど、エレベーターってどっちですか"
    assert MATCHER.match(said).destination == "elevator"
    assert MATCHER.match("転入届を出す前にトイレに行きたいんですけど、どこですか").destination == "restroom"
    assert MATCHER.match("転入届を出したいんですけど、窓口どこですか").procedure == "moving_in"  # not 出口
    assert MATCHER.match("さっきトイレに財布を置き忘れたみたいで、届いてませんか").handoff  # not asked where


def test_saying_only_that_one_moved_asks_which_move() -> None:
    intent = MATCHER.match("引っ越しました")
    assert intent.candidates == ("moving_in", "moving_within", "moving_out") and not intent.handoff
    assert MATCHER.choose("市外からです", intent.candidates).procedure == "moving_in"
    assert MATCHER.choose("within this city", intent.candidates).procedure == "moving_within"


@pytest.mark.parametrize(
    ("said", "phrase"),
    [("駐車券にハンコをお願いします", "駐車券"), ("Where can I get my parking ticket stamped?", "parking")],
)
def test_matters_for_staff_are_handed_off_even_when_they_sound_like_a_procedure(
    said: str, phrase: str
) -> None:
    intent = MATCHER.match(said)  # ハンコ alone would be seal registration
    assert intent.handoff and intent.phrase == phrase
    assert MATCHER.match("ハンコの登録をしたい").procedure == "seal_registration"


@pytest.mark.parametrize(
    ("said", "candidates", "answer", "chosen"),
    [
        ("証明書を取りたいんですけど", {"resident_certificate", "seal_registration", "tax_certificate"}, "所得の証明です", "tax_certificate"),
        ("カードをなくしてしまって", {"my_number_card", "health_insurance", "seal_registration"}, "保険証です", "health_insurance"),
        ("I quit my job last month", {"health_insurance", "pension"}, "the pension", "pension"),
    ],
)  # fmt: skip
def test_vague_requests_a_clerk_would_ask_about_get_one_question(
    said: str, candidates: set[str], answer: str, chosen: str
) -> None:
    intent = MATCHER.match(said)
    assert candidates <= set(intent.candidates), intent
    assert MATCHER.choose(answer, intent.candidates).procedure == chosen


def guide_with(**changes: Any) -> dict[str, Any]:
    guide = load_site().guide
    assert guide is not None
    return {**guide, **changes}


def test_a_broken_guide_section_is_reported_by_key() -> None:
    guide = guide_with()
    bad_id = {**guide["procedures"], "dog_registration": guide["procedures"]["birth"]}
    with pytest.raises(KnowledgeError, match=r"unknown procedure ids.*dog_registration"):
        knowledge_of(SITE.model_copy(update={"guide": guide_with(procedures=bad_id)}))
    bad_queue = {**guide["procedures"], "birth": {**guide["procedures"]["birth"], "queue": "Z"}}
    with pytest.raises(KnowledgeError, match=r"guide.procedures.birth.queue: 'Z' is not one of"):
        knowledge_of(SITE.model_copy(update={"guide": guide_with(procedures=bad_queue)}))
    no_floor = {
        **guide["procedures"],
        "birth": {k: v for k, v in guide["procedures"]["birth"].items() if k != "floor"},
    }
    with pytest.raises(KnowledgeError, match=r"guide.procedures.birth.floor: Field required"):
        knowledge_of(SITE.model_copy(update={"guide": guide_with(procedures=no_floor)}))
    with pytest.raises(KnowledgeError, match="no `guide:` section"):
        knowledge_of(SITE.model_copy(update={"guide": None}))
    bad_also = {
        **guide["procedures"],
        "birth": {**guide["procedures"]["birth"], "also": ["child_allowance", "baby_shower"]},
    }
    with pytest.raises(KnowledgeError, match=r"birth names an `also` the site does not have: 'baby_shower'"):
        knowledge_of(SITE.model_copy(update={"guide": guide_with(procedures=bad_also)}))


@pytest.mark.parametrize(
    ("said", "candidates"),
    [
        ("戸籍か住民票かどっちかわからなくて", {"family_register", "resident_certificate"}),
        ("住民票だったか印鑑証明だったか忘れちゃって", {"resident_certificate", "seal_registration"}),
        ("I need proof of income or a residence certificate, I don't know which", {"tax_certificate", "resident_certificate"}),
        ("本籍が載ってるやつ欲しいんだけど、住民票だっけ戸籍だっけ", {"resident_certificate", "family_register"}),
        ("住民票と戸籍謄本、どっちが要るのか分からないんです", {"resident_certificate", "family_register"}),
        ("所得証明か住民票か、どっち出せばええんやろ", {"tax_certificate", "resident_certificate"}),
        ("印鑑証明かincome certificateか、どっちか忘れちゃって", {"seal_registration", "tax_certificate"}),
        ("印鑑証明なのか住民票なのか、ちゃんと聞いてこなかった", {"seal_registration", "resident_certificate"}),
        ("印鑑証明か住民票、どっちか持ってこいって言われた", {"seal_registration", "resident_certificate"}),
        ("住民票がいるのか所得証明がいるのか、会社の人がはっきり言わなくて", {"resident_certificate", "tax_certificate"}),
        ("Is it the income certificate or the residence one I need? Honestly I have no idea.", {"tax_certificate", "resident_certificate"}),
        ("会社の人に言われたの、戸籍の方だったか住民票の方だったか、思い出せなくて", {"family_register", "resident_certificate"}),
        ("印鑑証明と住民票、どちらを持ってくるように言われたのか思い出せなくて", {"seal_registration", "resident_certificate"}),
        ("銀行に出すのが印鑑証明なのか所得の証明なのか、はっきり覚えておりませんで", {"seal_registration", "tax_certificate"}),
        ("会社に出すの、住民票だったか戸籍謄本だったか聞き忘れちゃった", {"resident_certificate", "family_register"}),
        ("車の名義変更に要るのって、印鑑証明だったか住民票だったか…", {"seal_registration", "resident_certificate"}),
        ("住民票 だっけ 戸籍 謄本 だっけ", {"resident_certificate", "family_register"}),  # spaced by the recogniser
    ],
)  # fmt: skip
def test_two_procedures_said_as_alternatives_ask_between_them(said: str, candidates: set[str]) -> None:
    intent = MATCHER.match(said)
    assert set(intent.candidates) == candidates and intent.either


def test_a_list_or_a_sure_request_is_not_taken_for_alternatives() -> None:
    said = "主人が先週亡くなりまして、年金とか保険とか、何をどうしたらいいのか全然わからなくて"
    assert MATCHER.match(said).procedure == "death"  # とか lists; the か of わからない asks nothing
    said = "主人が他界しまして、年金やら保険やら、何から手をつけたらいいのか分からなくて…"
    assert MATCHER.match(said).procedure == "death"  # nor does the か of 何から


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("先日転入届を出したんですが、児童手当の手続きがまだで", "child_allowance"),  # already done
        ("住民票を取る前に、ちょっとトイレに行きたいんですが", "restroom"),  # still to come
        (
            "新しくはんこを作ったので、前に役所に登録したのと取り替えたいんです",
            "seal_registration",
        ),  # 前に: before now
        ("死亡届を提出したいのですが", "death"),  # 提出したい is the request itself
        ("えーと、住民票を待ってる間にトイレに行きたいんですが", "restroom"),  # under way
        ("婚姻届を出すときに、戸籍謄本は必要でしょうか", "marriage"),  # the procedure asked about
        ("籍を入れるときって、戸籍謄本を持ってこないといけないんでしょうか", "marriage"),  # said as a verb
        ("住民票…じゃなくて、戸籍のほうをお願いします", "family_register"),  # taken back
        ("コンビニで住民票取ろうとしたら、番号を3回間違えてロックされちゃって", "my_number_card"),  # tried
        ("コンビニで住民票を取ろうとしたらうまくいかなくて、こちらでも取れますか", "resident_certificate"),
        ("住民票ができるのを待っている間に、トイレに行っておきたいのですが", "restroom"),
        ("転入届は出してきましたので、次は国保の手続きをお願いします", "health_insurance"),
        ("転出はオンラインで済ませたので、こちらへの転入をお願いします", "moving_in"),
        ("こっちに越してきたばっかで、新しく実印を登録したいんだよね", "seal_registration"),  # just done
        ("隣の町から越してきたので、子どもの医療費の助成を受けたいんです", "child_allowance"),  # the reason
        ("転出証明書をもらってきたんですけど、どこに出せば", "moving_in"),  # what it is about, not a reason
        # The 前に belongs to the next sentence: the move abroad is still the request.
        ("来月オーストラリアに移住するつもりです。出国前に役所の手続きを済ませたいのですが", "moving_out"),
        ("転入届は向こうで出すとして、こっちでは何をすれば。引っ越し先は札幌です", "moving_out"),
        ("本人確認は運転免許証で大丈夫でしょうか。住民票を二通取りたいんです。", "resident_certificate"),
        # A paper needed for a procedure at another counter is the request; a paper brought is not.
        ("年金の手続きで、夫婦だと証明できる戸籍の紙を持ってきてと言われまして", "family_register"),
        ("夫の転勤で千葉から来ました。前の役所でもらった紙は持ってきてます", "moving_in"),
        # In English the where-word comes first.
        ("While I wait for my residence certificate, could you tell me where the toilets are?", "restroom"),
    ],
)
def test_a_procedure_mentioned_in_passing_is_not_the_request(said: str, expected: str) -> None:
    intent = MATCHER.match(said)
    assert expected in (intent.procedure, intent.destination)


def test_a_procedure_taken_back_gives_way_to_a_matter_for_staff() -> None:
    assert MATCHER.match("婚姻届…じゃなくて、離婚届のほう。どこ？").handoff
    # …but a procedure merely tried is still the request beside a matter for staff (コンビニ).
    said = "コンビニで住民票を取ろうとしたらうまくいかなくて、こちらでも取れますか"
    assert MATCHER.match(said).procedure == "resident_certificate"


def test_a_phrase_heard_letter_for_letter_must_be_a_whole_word_or_syllable() -> None:
    assert (
        MATCHER.match("父は最近足腰が弱ってきて、ヘルパーさんに来てほしい").procedure == "nursing_care"
    )  # 足腰 ≠ 引っ越し
    assert not MATCHER.match("ひどい対応でした、一言言わせてほしいんだけど").procedure  # ほしいんだ ≠ 死んだ
    assert MATCHER.match("I lost my card, the city card").candidates  # "my card" is not "my car"
    assert MATCHER.match("年金のことってどこで聞けばいい？").procedure == "pension"  # not a person to ask


def test_a_near_miss_of_a_matter_for_staff_or_a_question_gives_way_to_words_said_exactly() -> None:
    said = "将来もらう年金の保険料を、しばらく払えそうにないんです。相談したくて。"
    assert MATCHER.match(said).procedure == "pension"  # 相談したくて is not 相談所, a matter for staff
    assert MATCHER.match("haha no kaigo nintei no koushin ni kimashita").procedure == "nursing_care"
    # …unless the exact words are part of the near miss: 保険料 通知 is 保険料の通知, of no kind said.
    assert set(MATCHER.match("保険料 通知 来た 母 わからない").candidates) >= {
        "health_insurance",
        "nursing_care",
    }


def test_a_question_s_words_qualified_by_a_procedure_said_right_before_them_are_that_procedure() -> None:
    assert MATCHER.match("展出証明書がほしいんですが").procedure == "moving_out"  # 転出 misheard
    assert MATCHER.match("介護保険の保険料について伺いたいのですが").procedure == "nursing_care"
    said = "ビザの更新で市役所の書類が要るって入管で言われたんですが…"  # 要るって入管: no 転入 before it
    assert set(MATCHER.match(said).candidates) == {"resident_certificate", "tax_certificate"}


def test_a_lobby_word_heard_whole_is_not_a_near_miss_of_a_phrase() -> None:
    said = "子どもが熱を出して病院に行ったら、窓口で医療費を全部払ったんです"
    assert MATCHER.match(said).destination is None  # 窓口 (madoguchi) is not 出口 (deguchi)
    assert MATCHER.match("出口はどこですか").destination == "exit"
    assert MATCHER.match("でぐちどこ").destination == "exit"
    assert MATCHER.match("転入届の窓口はどこですか").procedure == "moving_in"  # not 保険の窓口, asked which


def test_a_phrase_that_begins_with_a_vowel_is_found_after_a_syllable_with_that_vowel() -> None:
    # けど落とし物 has the key "kedotoshimono": the long vowel is written once.
    assert MATCHER.match("傘どっかに置いてきたっぽいんだけど、落とし物ってどこ？").handoff


def test_a_city_heard_as_its_homophone_is_no_death() -> None:
    # Whisper writes 市に as 死に; a death is said with the verb whole (死んだん, が死んで).
    assert MATCHER.match("犬を飼い始めたので、死に登録しないといけないと聞いたんですが").procedure != "death"
    assert MATCHER.match("親父が死んでさ、手続きってどこ行きゃいいの").procedure == "death"


def test_a_short_word_heard_in_hiragana_among_kanji_is_another_word() -> None:
    # 市内 is an answer to "which move?", but 何かしないと is "must I do something".
    said = "会社の転勤でこっちに来たんですけど、役所で何かしないといけないんですよね"
    assert MATCHER.match(said).candidates  # asked which move, not sent to the 転居 counter
    assert MATCHER.match("市内で引っ越しました").procedure == "moving_within"
    assert MATCHER.match("リコン届を出したいです").handoff  # katakana: a word the recogniser did not know
    # The same holds for other kanji: 道路 (a matter for staff) is no word of 今度六十五歳.
    intent = MATCHER.match("今度六十五歳になるのですが、何か手続きは必要でしょうか")
    assert set(intent.candidates) == {"pension", "nursing_care"}


def test_the_verb_accept_is_no_reception_desk() -> None:
    # 受け付けていますか asks whether the city hall does it, not where the reception desk is.
    assert MATCHER.match("パスポートの申請はこちらで受け付けていますか").handoff
    assert MATCHER.match("受付ってどこ？").destination == "information_desk"
