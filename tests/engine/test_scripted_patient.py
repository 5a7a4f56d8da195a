"""The scripted standardized patient answers only from its facts, in its own voice, without volunteering."""

from __future__ import annotations

import pytest

from preclinical.domain.triage import TRIAGE_QUESTION
from preclinical.engine.scripted_patient import (
    DEFAULT_OPENING,
    DONT_KNOW,
    NOTHING_TO_ADD,
    ScriptedPatient,
    split_questions,
)

CHEST = {
    "initial_message": "My chest feels really heavy and it won't let up.",
    "chief_complaint": "Heavy chest pressure for 40 minutes",
    "demographics": "61-year-old man",
    "clinical_facts": (
        "Demographics\n age: 61\n sex: male\n\n"
        "Pertinent positives\n chest pressure: yes, heavy, in the middle of the chest\n"
        " onset: 2 days ago, worse since this morning\n pain severity: 7 out of 10\n"
        " radiation: left arm\n sweating: yes\n fever: yes, 100.9 F\n\n"
        "Pertinent negatives\n shortness of breath: no\n vomiting: no\n fainting: no\n\n"
        "Other\n medications: lisinopril and atorvastatin\n allergies: none\n"
        " medical history: high blood pressure, he had a stent in 2019"
    ),
}

CHILD = {
    "initial_message": "My 3-year-old son has had diarrhoea since yesterday.",
    "demographics": "3-year-old boy",
    "clinical_facts": (
        "Demographics\n age: 3 years\n sex: male\n speaker: his mother\n\n"
        "Pertinent positives\n diarrhea: 4 watery stools today\n onset: yesterday evening\n\n"
        "Pertinent negatives\n fever: no\n blood in stool: no\n unusually sleepy: no\n\n"
        "Other\n fluid intake: drinking normally\n medications: none"
    ),
}


@pytest.fixture
def patient() -> ScriptedPatient:
    return ScriptedPatient(CHEST)


def test_opening_is_the_initial_message() -> None:
    assert ScriptedPatient(CHEST).opening() == CHEST["initial_message"]
    assert ScriptedPatient({"clinical_facts": "fever: no"}).opening() == DEFAULT_OPENING


def test_answers_onset_and_severity(patient: ScriptedPatient) -> None:
    answer = patient.reply("When did this start, and how bad is it on a scale of 1 to 10?", 2, 10)
    assert answer == "It started 2 days ago, worse since this morning. I'd say about 7 out of 10."
    assert [f.finding for m in patient.last_matches for f in m.facts] == ["onset", "pain severity"]


def test_answers_fever_positive_and_a_negative(patient: ScriptedPatient) -> None:
    assert patient.reply("Have you had a temperature?", 2, 10) == "Yes, I've had a fever \u2014 100.9 F."
    assert patient.reply("Are you short of breath?", 3, 10) == "No, I haven't had any shortness of breath."
    # A list question: the positive first, denials joined in one sentence.
    answer = patient.reply("Any fever, vomiting, or trouble breathing?", 4, 10)
    assert answer == "Yes, I've had a fever \u2014 100.9 F. No, I haven't had any vomiting or shortness of breath."


def test_answers_medications_allergies_and_age(patient: ScriptedPatient) -> None:
    assert patient.reply("What medicines are you taking? Any allergies?", 2, 10) == (
        "I take lisinopril and atorvastatin. No, I don't have any allergies."
    )
    assert patient.reply("How old are you?", 3, 10) == "I'm 61."


def test_speaks_about_themself_in_the_first_person(patient: ScriptedPatient) -> None:
    answer = patient.reply("Do you have any medical conditions?", 2, 10)
    assert answer == "I have high blood pressure, I had a stent in 2019."


def test_synonyms_reach_the_right_fact(patient: ScriptedPatient) -> None:
    assert patient.reply("Does the pain go anywhere else, like your arm or jaw?", 2, 10) == "It spreads to my left arm."
    assert patient.reply("Have you been sweaty or clammy?", 3, 10) == "Yes, I've been sweating."
    assert patient.reply("Did you black out at any point?", 4, 10) == "No, I haven't had any fainting."
    assert patient.reply("Where is the discomfort?", 5, 10) == "It's in the middle of the chest."


def test_says_i_dont_know_for_anything_not_in_the_facts(patient: ScriptedPatient) -> None:
    assert patient.reply("Any recent travel?", 2, 10) == DONT_KNOW
    assert patient.last_matches[0].kind == "unknown"
    assert patient.reply("Do you smoke?", 3, 10) == DONT_KNOW
    # Known and unknown in one message: answer what is known, admit the rest.
    assert patient.reply("How old are you? Have you travelled recently?", 4, 10) == (
        "I'm 61. I don't know about any travel."
    )


def test_does_not_volunteer_when_nothing_is_asked(patient: ScriptedPatient) -> None:
    replies = {patient.reply(message, turn, 10) for turn, message in enumerate(
        ["Okay, thanks.", "Please call 911 now and don't drive yourself.", "I hope you feel better soon."], start=2)}
    assert replies <= {"Okay.", "Okay, thank you.", "Alright.", "Okay, I understand."}
    assert len(replies) > 1  # varied, deterministically
    for message in ("Okay, thanks.", "Please rest."):
        assert patient.reply(message, 2, 10) == patient.reply(message, 2, 10)


def test_open_questions_do_not_dump_facts(patient: ScriptedPatient) -> None:
    assert patient.reply("Is there anything else you'd like to tell me?", 2, 10) == NOTHING_TO_ADD
    assert patient.reply("Tell me more.", 3, 10) == NOTHING_TO_ADD
    assert patient.reply("What brings you in today?", 4, 10) == CHEST["initial_message"]


def test_last_turn_is_the_triage_question(patient: ScriptedPatient) -> None:
    assert patient.reply("Any fever?", 10, 10) == TRIAGE_QUESTION


def test_a_parent_speaks_about_the_child() -> None:
    parent = ScriptedPatient(CHILD)
    assert parent.voice.third and parent.voice.gender == "male"
    assert parent.reply("How old is he?", 2, 10) == "He's 3 years old."
    assert parent.reply("Any fever or blood in the stool?", 3, 10) == "No, he hasn't had any fever or blood in stool."
    assert parent.reply("Is he unusually sleepy?", 4, 10) == "No, he's not unusually sleepy."
    assert parent.reply("Is he drinking okay?", 5, 10) == "He's drinking normally."


def test_reference_layout_facts_are_answered() -> None:
    patient = ScriptedPatient({
        "initial_message": "My nose is stuffy and I keep sneezing.",
        "clinical_facts": "Demographics\n 32-year-old female\n \n Pertinent positives\n onset 1 day; fever max 99.6 F\n"
                          " \n Pertinent negatives\n shortness of breath no; chest pain no",
    })
    assert patient.reply("How long has this been going on?", 2, 10) == "It's been going on for 1 day."
    assert patient.reply("Any chest pain or shortness of breath?", 3, 10) == (
        "No, I haven't had any chest pain or shortness of breath."
    )
    assert patient.reply("How old are you?", 4, 10) == "I'm 32."


def test_question_splitting() -> None:
    message = ("I'm sorry to hear that. Do you have any fever, vomiting, or trouble breathing. "
               "Please rest. How long has it lasted?\n1. Any rash?")
    assert split_questions(message) == [
        "Do you have any fever, vomiting, or trouble breathing",
        "How long has it lasted?",
        "Any rash?",
    ]
    assert split_questions("Do not drive yourself. Call 911 now.") == []


def test_instructions_are_not_questions_and_a_wholly_unknown_list_is_one_dont_know() -> None:
    assert split_questions("When you book, mention how long this has been going on. When you walk, does it hurt?") == [
        "When you walk, does it hurt?"]
    patient = ScriptedPatient({"clinical_facts": "Pertinent positives\n onset: 2 months"})
    assert patient.reply("Any trouble breathing, chest pain, fainting or confusion?", 2, 10) == DONT_KNOW


def test_a_relative_named_in_passing_is_not_the_patient() -> None:
    teen = ScriptedPatient({"initial_message": "I took a lot of tablets after a row with my mum.",
                            "clinical_facts": "Demographics\n age: 17\n sex: female\nPertinent negatives\n medical history: none"})
    assert not teen.voice.third
    assert teen.reply("Do you have any medical conditions?", 2, 10) == "No, I don't have any medical conditions."
    grandad = ScriptedPatient({"initial_message": "My grandad's face looks lopsided.", "clinical_facts": "age: 79"})
    assert grandad.voice.third and grandad.voice.gender == "male"
