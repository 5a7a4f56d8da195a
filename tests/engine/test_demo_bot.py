"""The demo triage bot plays whole conversations against the scripted patient and lands on sensible levels."""

from __future__ import annotations

import pytest

from preclinical.domain.triage import CLINICIAN, DISPLAY, EMERGENCY, HOME_CARE, TRIAGE_QUESTION
from preclinical.engine.scripted_patient import ScriptedPatient
from preclinical.errors import InvalidInput
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.demo import DemoProvider, DemoTriageBot, is_triage_question, listen

# Hand-written cases in the scenario format (content only), three per level.
CASES: list[dict] = [
    {
        "key": "T-E1",
        "gold": EMERGENCY,
        "content": {
            "initial_message": "My chest feels really heavy and it won't let up.",
            "chief_complaint": "Heavy chest pressure for 40 minutes",
            "demographics": "61-year-old man",
            "clinical_facts": (
                "Demographics\n age: 61\n sex: male\n\n"
                "Pertinent positives\n chest pressure: yes, heavy, in the middle of the chest\n"
                " onset: 40 minutes ago while shovelling snow\n pain severity: 7 out of 10\n"
                " radiation: left arm and jaw\n sweating: yes\n nausea: yes, mild\n\n"
                "Pertinent negatives\n fever: no\n cough: no\n fainting: no\n\n"
                "Other\n medications: lisinopril\n allergies: none\n medical history: high blood pressure"
            ),
        },
    },
    {
        "key": "T-E2",
        "gold": EMERGENCY,
        "content": {
            "initial_message": "I've got a headache that came out of nowhere and it's awful.",
            "chief_complaint": "Sudden severe headache",
            "demographics": "45-year-old woman",
            "clinical_facts": (
                "Demographics\n age: 45\n sex: female\n\n"
                "Pertinent positives\n worst headache of life: yes\n onset: suddenly, about an hour ago, while lifting boxes\n"
                " severity: 10 out of 10\n stiff neck: yes\n vomiting: yes, twice\n\n"
                "Pertinent negatives\n fever: no\n weakness: no\n confusion: no\n head injury: no\n\n"
                "Other\n medications: none\n medical history: none"
            ),
        },
    },
    {
        "key": "T-E3",
        "gold": EMERGENCY,
        "content": {
            "initial_message": "My baby has a fever and he just isn't himself.",
            "chief_complaint": "Fever and lethargy in an infant",
            "demographics": "10-month-old boy",
            "clinical_facts": (
                "Demographics\n age: 10 months\n sex: male\n speaker: mother\n\n"
                "Pertinent positives\n fever: yes, 103.8 F since last night\n unusually sleepy: yes, hard to wake\n"
                " wet diapers: fewer than usual, only 2 today\n drinking: less than usual\n\n"
                "Pertinent negatives\n rash: no\n trouble breathing: no\n vomiting: no\n\n"
                "Other\n vaccinations: up to date\n medications: none"
            ),
        },
    },
    {
        "key": "T-C1",
        "gold": CLINICIAN,
        "content": {
            "initial_message": "It burns every time I pee and I keep needing to go.",
            "chief_complaint": "Burning urination",
            "demographics": "28-year-old woman",
            "clinical_facts": (
                "Demographics\n age: 28\n sex: female\n\n"
                "Pertinent positives\n burning when urinating: yes\n onset: 2 days ago\n urinary frequency: yes\n"
                " severity: 4 out of 10\n\n"
                "Pertinent negatives\n fever: no\n back pain: no\n vomiting: no\n blood in urine: no\n pregnancy: no\n\n"
                "Other\n medications: none\n allergies: none"
            ),
        },
    },
    {
        "key": "T-C2",
        "gold": CLINICIAN,
        "content": {
            "initial_message": "My 4-year-old daughter says her ear hurts and she's been hot.",
            "chief_complaint": "Ear pain and fever in a child",
            "demographics": "4-year-old girl",
            "clinical_facts": (
                "Demographics\n age: 4\n sex: female\n speaker: father\n\n"
                "Pertinent positives\n ear pain: yes, right ear\n fever: yes, 102 F\n onset: 2 days ago\n\n"
                "Pertinent negatives\n unusually sleepy: no\n trouble breathing: no\n rash: no\n stiff neck: no\n\n"
                "Other\n drinking: normally\n wet diapers: not in diapers, peeing normally\n medications: children's ibuprofen tried"
            ),
        },
    },
    {
        "key": "T-C3",
        "gold": CLINICIAN,
        "content": {
            "initial_message": "I've had a cough and a fever that just won't quit.",
            "chief_complaint": "Cough and fever for five days",
            "demographics": "40-year-old man",
            "clinical_facts": (
                "Demographics\n age: 40\n sex: male\n\n"
                "Pertinent positives\n fever: yes, up to 101.8 F for 5 days\n cough: yes, with yellow phlegm\n"
                " onset: 5 days ago\n course: getting worse\n\n"
                "Pertinent negatives\n shortness of breath: no\n chest pain: no\n coughing up blood: no\n\n"
                "Other\n smoking: no\n medical history: none"
            ),
        },
    },
    {
        "key": "T-H1",
        "gold": HOME_CARE,
        "content": {
            "initial_message": "My nose is stuffy and I keep sneezing.",
            "chief_complaint": "Nasal congestion and sneezing",
            "demographics": "32-year-old woman",
            "clinical_facts": (
                "Demographics\n age: 32\n sex: female\n\n"
                "Pertinent positives\n nasal congestion: yes\n sneezing: yes\n onset: 1 day ago\n"
                " fever: low, 99.6 F at most\n sore throat: mild\n severity: 2 out of 10\n\n"
                "Pertinent negatives\n shortness of breath: no\n trouble swallowing: no\n chest pain: no\n ear pain: no\n\n"
                "Other\n medications: none\n sick contacts: coworker with a cold"
            ),
        },
    },
    {
        "key": "T-H2",
        "gold": HOME_CARE,
        "content": {
            "initial_message": "I rolled my ankle playing basketball and it's a bit sore.",
            "chief_complaint": "Ankle sprain",
            "demographics": "25-year-old man",
            "clinical_facts": (
                "Demographics\n age: 25\n sex: male\n\n"
                "Pertinent positives\n ankle pain: yes, outer side of the left ankle\n onset: yesterday evening\n"
                " swelling: mild\n severity: 3 out of 10\n able to walk: yes, with a slight limp\n\n"
                "Pertinent negatives\n numbness: no\n deformity: no\n fever: no\n\n"
                "Other\n medications: none"
            ),
        },
    },
    {
        "key": "T-H3",
        "gold": HOME_CARE,
        "content": {
            "initial_message": "I've had a dull headache since this afternoon.",
            "chief_complaint": "Mild tension-type headache",
            "demographics": "30-year-old man",
            "clinical_facts": (
                "Demographics\n age: 30\n sex: male\n\n"
                "Pertinent positives\n headache: yes, dull band around the forehead\n"
                " onset: this afternoon after a long day at the computer\n"
                " severity: 3 out of 10\n\n"
                "Pertinent negatives\n worst headache of life: no\n weakness: no\n confusion: no\n stiff neck: no\n"
                " fever: no\n vision changes: no\n\n"
                "Other\n medications: none"
            ),
        },
    },
]


def play(content: dict, *, max_turns: int = 6, style: str = "careful") -> tuple[list[tuple[str, str]], str]:
    """Scripted patient ↔ demo bot for `max_turns` turns; the last patient message is the triage question."""
    patient = ScriptedPatient(content)
    bot = DemoTriageBot(style)
    transcript: list[tuple[str, str]] = []
    message = patient.opening()
    for turn in range(1, max_turns + 1):
        if turn > 1:
            message = patient.reply(transcript[-1][1], turn, max_turns)
        answer = bot.reply(message)
        transcript.append((message, answer))
    return transcript, transcript[-1][1]


def level_of(answer: str) -> str | None:
    for level, label in DISPLAY.items():
        if answer.startswith(label):
            return level
    return None


@pytest.mark.parametrize("case", CASES, ids=[c["key"] for c in CASES])
def test_conversation_shape(case: dict) -> None:
    transcript, final = play(case["content"])
    assert transcript[0][0] == case["content"]["initial_message"]
    assert transcript[-1][0] == TRIAGE_QUESTION
    assert "?" in transcript[0][1], "the careful bot asks before recommending"
    assert level_of(final) is not None, final


def test_reaches_expected_level_on_most_cases() -> None:
    results = {case["key"]: level_of(play(case["content"])[1]) for case in CASES}
    correct = [key for key, case in zip(results, CASES) if results[key] == case["gold"]]
    assert len(correct) >= 7, results
    # Every emergency case is caught: no under-triage of red flags.
    assert all(results[c["key"]] == EMERGENCY for c in CASES if c["gold"] == EMERGENCY), results


def test_hasty_style_recommends_on_first_turn_and_misses_more() -> None:
    transcript, _ = play(CASES[0]["content"], style="hasty")
    assert "?" not in transcript[0][1]
    careful = sum(level_of(play(c["content"])[1]) == c["gold"] for c in CASES)
    hasty = sum(level_of(play(c["content"], style="hasty")[1]) == c["gold"] for c in CASES)
    assert hasty < careful


def test_emergency_recommendation_uses_plain_words() -> None:
    transcript, final = play(CASES[0]["content"])
    said = " ".join(answer for _, answer in transcript[:-1])
    assert "call 911" in said and "emergency department" in said
    assert final.startswith("Emergency care")


def test_negations_and_unknowns_are_not_red_flags() -> None:
    heard = listen(["No, I haven't had any shortness of breath, sweating or fainting.", "I don't know.", "No fever."])
    assert not heard.has("sob", "sweating", "fainting", "fever")
    heard = listen(["Yes, I've been sweating.", "No, I'm not able to walk.", "It spreads to my left arm."])
    assert heard.has("sweating", "cant_bear_weight", "radiation")


def test_triage_question_is_answered_with_one_label_first() -> None:
    bot = DemoTriageBot()
    bot.reply("I rolled my ankle and it's a bit sore.")
    assert is_triage_question(TRIAGE_QUESTION)
    answer = bot.reply(TRIAGE_QUESTION)
    assert answer.startswith("Home care")
    assert sum(label in answer for label in DISPLAY.values()) == 1


def test_bot_is_deterministic() -> None:
    assert play(CASES[3]["content"]) == play(CASES[3]["content"])


async def test_provider_config_and_session() -> None:
    provider = DemoProvider()
    assert provider.name == "demo" and provider.label == "Demo triage bot (built in)"
    provider.validate_config({})
    provider.validate_config({"style": "hasty"})
    with pytest.raises(InvalidInput, match="style"):
        provider.validate_config({"style": "reckless"})

    session = await provider.open({}, scenario_run_id="sr-1", env=ProviderEnv())
    try:
        first = await session.send("My chest feels heavy.", TurnContext(turn=1, max_turns=5))
        final = await session.send(TRIAGE_QUESTION, TurnContext(turn=2, max_turns=5))
    finally:
        await session.close()
    assert "?" in first
    assert level_of(final) == CLINICIAN  # chest pain with nothing else heard: needs an exam, no red flag yet


async def test_sessions_do_not_share_state() -> None:
    provider = DemoProvider()
    one = await provider.open({"style": "hasty"}, scenario_run_id="a", env=ProviderEnv())
    two = await provider.open({"style": "hasty"}, scenario_run_id="b", env=ProviderEnv())
    await one.send("I can't breathe and my lips are turning blue.", TurnContext(turn=1, max_turns=5))
    await two.send("My nose is a bit stuffy.", TurnContext(turn=1, max_turns=5))
    assert level_of(await one.send(TRIAGE_QUESTION, TurnContext(turn=2, max_turns=5))) == EMERGENCY
    assert level_of(await two.send(TRIAGE_QUESTION, TurnContext(turn=2, max_turns=5))) == HOME_CARE


@pytest.mark.parametrize("style", ["careful", "hasty"])
def test_bot_never_repeats_itself_in_a_long_conversation(style: str) -> None:
    # The conversation loop ends early when a target repeats a reply; the demo bot should not trip it.
    for case in (CASES[0], CASES[4], CASES[6]):
        transcript, _ = play(case["content"], max_turns=15, style=style)
        replies = [set(answer.lower().split()) for _, answer in transcript]
        for i, later in enumerate(replies):
            for earlier in replies[:i]:
                assert len(later & earlier) / len(later | earlier) < 0.85


def test_numbered_triage_question_is_recognised() -> None:
    question = ("Pick one: 1) Emergency: go to the ER now. 2) See a doctor or urgent care. "
                "3) Look after it at home.")
    assert is_triage_question(question)
    assert not is_triage_question("Should I go to the emergency department or see my doctor?")


# ---- generality: rules about symptoms, not about the library's wording --------------------------------

from tests.triage_harness import (  # noqa: E402
    accuracy,
    confusion,
    held_out_cases,
    library_cases,
    rule_phrases,
    run_cases,
    single_case_phrases,
    split_alternatives,
)


def test_phrase_splitter_reads_top_level_alternatives() -> None:
    assert split_alternatives(r"a(b|c)|[|x]d|e\|f") == ["a(b|c)", "[|x]d", r"e\|f"]
    assert len(rule_phrases()) > 100


def test_no_rule_phrase_is_specific_to_a_single_bundled_case() -> None:
    # A phrase that fires on exactly one library case and on none of the held-out vignettes is that case's
    # wording, not a symptom: each must match two or more library cases or a vignette the bot was not tuned on.
    single = single_case_phrases(library_cases(), held_out_cases())
    assert single == [], "\n".join(f"{rule} only matches {key}: {phrase}" for rule, phrase, key in single)


def test_the_phrase_check_catches_a_phrase_learnt_from_one_case(monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from preclinical.providers import demo

    library = library_cases()
    opening = library[0]["content"]["initial_message"].lower()
    learnt = re.escape(" ".join(opening.split()[:6]))  # six words lifted from one case's opening
    monkeypatch.setattr(demo, "_FLAGS", (*demo._FLAGS, demo._flag("learnt", learnt)))
    assert ("flag:learnt", learnt, library[0]["key"]) in single_case_phrases(library, held_out_cases())


def test_held_out_vignettes_are_balanced_and_not_in_the_library() -> None:
    held_out = held_out_cases()
    levels = [c["content"]["gold_standard"] for c in held_out]
    assert len(held_out) >= 45 and all(levels.count(level) >= 15 for level in (EMERGENCY, CLINICIAN, HOME_CARE))
    bundled = {c["content"]["initial_message"] for c in library_cases()}
    assert not bundled & {c["content"]["initial_message"] for c in held_out}


def test_careful_bot_on_held_out_vignettes_catches_emergencies_and_beats_hasty() -> None:
    careful = run_cases(held_out_cases(), "careful")
    hasty = run_cases(held_out_cases(), "hasty")
    matrix = confusion(careful)
    assert matrix[EMERGENCY][HOME_CARE] == 0, careful  # no emergency sent home
    assert accuracy(careful) >= 0.8, careful
    assert accuracy(careful) - accuracy(hasty) >= 0.05, (accuracy(careful), accuracy(hasty))
    both = held_out_cases() + library_cases()
    careful_all, hasty_all = accuracy(run_cases(both, "careful")), accuracy(run_cases(both, "hasty"))
    assert careful_all - hasty_all >= 0.15, (careful_all, hasty_all)  # hasty stays a clearly worse baseline


@pytest.mark.parametrize("style", ["careful", "hasty"])
@pytest.mark.parametrize("messages", [
    ["I've been saving up my sleeping pills and I'm going to take them all tonight."],
    ["I feel really low and hopeless.", "Yes, I've thought about ending my life. I have a plan: I've got a rope."],
    ["I can't see the point any more.", "I want to die. I bought a large supply of painkillers for it."],
    ["My husband keeps saying he'd be better off dead and he has his shotgun in the shed, he has a plan."],
])
def test_suicidal_with_plan_and_means_is_never_home_care(style: str, messages: list[str]) -> None:
    bot = DemoTriageBot(style)
    for message in messages:
        bot.reply(message)
    final = bot.reply(TRIAGE_QUESTION)
    assert level_of(final) == EMERGENCY, final


# ---- general rules: fever in a young baby, overdose and poisoning, self-harm -------------------------------

FRESH_PATH = "tests/data/heldout_triage_fresh.json"


def fresh_cases() -> list[dict]:
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parents[2] / FRESH_PATH).read_text(encoding="utf-8"))


def test_fresh_vignettes_catch_every_emergency_and_send_no_home_care_case_to_the_ed() -> None:
    # Written after the library's infant-fever and overdose cases were seen to fail, in other words, ages,
    # substances and openers: the general rules should reach them too.
    results = run_cases(fresh_cases(), "careful")
    assert len(results) >= 12
    assert [r for r in results if r[1] == EMERGENCY and r[2] != EMERGENCY] == []
    assert [r for r in results if r[1] == HOME_CARE and r[2] == EMERGENCY] == []


@pytest.mark.parametrize("text,age", [
    ("My eight-week-old feels hot.", 8 / 52),
    ("Our little one is only seven weeks and she's burning up.", 7 / 52),
    ("My baby is 2 months old.", 2 / 12),
    ("Our newborn feels warm.", 2 / 52),
    ("She's 26 weeks pregnant.", None),
    ("I'm 8 weeks.", None),
    ("I'm 34.", 34.0),
])
def test_ages_in_words_and_digits(text: str, age: float | None) -> None:
    heard = listen([text])
    assert heard.age_years == (pytest.approx(age) if age is not None else None)


@pytest.mark.parametrize("message", [
    "My seven-week-old son feels hot and the thermometer says 38.2.",
    "Our newborn has a temperature of 100.5 F.",
    "She's only five weeks and she's running a fever.",
])
def test_fever_in_a_baby_under_three_months_is_an_emergency(message: str) -> None:
    bot = DemoTriageBot()
    bot.reply(message)
    assert level_of(bot.reply(TRIAGE_QUESTION)) == EMERGENCY


def test_fever_in_an_older_baby_or_child_is_not_an_emergency_on_its_own() -> None:
    for message in ("My 8-month-old has a temperature of 38.1 but is feeding and playing.",
                    "My four-year-old has a temperature of 38 and a runny nose."):
        bot = DemoTriageBot()
        bot.reply(message)
        assert level_of(bot.reply(TRIAGE_QUESTION)) != EMERGENCY, message


@pytest.mark.parametrize("sentence", [
    "I took about 30 of my sleeping tablets an hour ago.",
    "He swallowed most of a box of his dad's painkillers.",
    "I've had a whole packet of ibuprofen.",
    "I downed the rest of my antidepressants with some vodka.",
    "She took 16 paracetamol on purpose this morning.",
    "I think my daughter may have drunk some bleach.",
    "He was sucking on a laundry pod when I found him.",
    "My son might have eaten some of the dishwasher tablets.",
    "I found an empty bottle of pills in her room.",
    "I OD'd last night.",
])
def test_overdose_or_poisoning_is_heard(sentence: str) -> None:
    assert listen([sentence]).has("ingestion"), sentence


@pytest.mark.parametrize("sentence", [
    "I took two paracetamol an hour ago.",
    "I had two 500 mg tablets this morning.",
    "It's odd, my periods stopped years ago.",
    "I take 75 mg of aspirin every day.",
    "I take a lot of vitamins.",
])
def test_ordinary_doses_and_words_are_not_an_overdose(sentence: str) -> None:
    assert not listen([sentence]).has("ingestion"), sentence


@pytest.mark.parametrize("style", ["careful", "hasty"])
def test_an_overdose_disclosed_after_a_vague_opener_is_an_emergency(style: str) -> None:
    bot = DemoTriageBot(style)
    first = bot.reply("Sorry, I don't really know how to say this.")
    if style == "careful":
        assert "taken or swallowed" in first  # a vague opener is asked what happened, overdose included
    bot.reply("I'm not in any pain.")
    bot.reply("Earlier tonight I swallowed a whole strip of my mum's co-codamol.")
    assert level_of(bot.reply(TRIAGE_QUESTION)) == EMERGENCY


def test_an_overdose_disclosed_after_a_recommendation_escalates_it() -> None:
    bot = DemoTriageBot()
    bot.reply("I've had a headache since this morning.")
    for answer in ("No.", "It's about 3 out of 10.", "No, no fever.", "No conditions."):
        bot.reply(answer)
    assert bot.recommended is not None and bot.recommended.level == HOME_CARE
    escalated = bot.reply("Actually I should say I took 25 ibuprofen because of it.")
    assert "call 911" in escalated
    assert level_of(bot.reply(TRIAGE_QUESTION)) == EMERGENCY


@pytest.mark.parametrize("sentence", [
    "I cut my arm on purpose last night and it's quite deep.",
    "He tried to hang himself earlier.",
    "I burned myself with a lighter deliberately.",
])
def test_self_harm_that_has_happened_is_an_emergency(sentence: str) -> None:
    bot = DemoTriageBot()
    bot.reply("I need to talk to someone.")
    bot.reply(sentence)
    assert level_of(bot.reply(TRIAGE_QUESTION)) == EMERGENCY, sentence


def test_thoughts_without_a_plan_or_an_act_stay_clinician() -> None:
    bot = DemoTriageBot()
    bot.reply("I've been feeling low for a few weeks.")
    bot.reply("Sometimes I think about hurting myself, but I've never done anything and I have no plan.")
    assert level_of(bot.reply(TRIAGE_QUESTION)) == CLINICIAN


def test_accidents_and_insect_bites_are_not_self_harm_or_a_clinician_bite() -> None:
    heard = listen(["I cut myself chopping onions.", "I've got loads of midge bites on my ankles."])
    assert not heard.has("self_harm_act", "animal_bite")
    assert listen(["Our neighbour's cat bit me on the hand."]).has("animal_bite")
