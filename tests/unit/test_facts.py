"""Clinical facts parse in our layout and in the reference platform's `;`-separated layout."""

from __future__ import annotations

from preclinical.domain.facts import (
    DEMOGRAPHICS,
    NEGATIVES,
    OTHER,
    POSITIVES,
    Fact,
    is_negative,
    is_positive,
    is_unknown,
    parse_facts,
)

OURS = """Demographics
 age: 61
 sex: male

Pertinent positives
 chest pressure: yes, heavy, in the middle of the chest
 onset: 40 minutes ago while shovelling snow
 pain severity: 7 out of 10

Pertinent negatives
 fever: no
 shortness of breath: none
 fainting: denies

Other
 medications: lisinopril
 recent travel: unknown
 time checked: 8:30 this morning
"""

REFERENCE = (
    "Demographics\n 32-year-old female\n \n"
    " Pertinent positives\n onset 1 day; nasal congestion present; fever max 99.6 F;\n headache mild; severity 6/10\n \n"
    " Pertinent negatives\n shortness of breath no; chest pain no; known exposure none.\n"
    "Other\n medications lisinopril and atorvastatin; radiation left shoulder and left upper arm; no vomiting; sneezing"
)


def _pairs(facts, section):
    return [(f.finding, f.value) for f in facts.sections[section]]


def test_our_layout_parses_into_sections() -> None:
    facts = parse_facts(OURS)
    assert _pairs(facts, DEMOGRAPHICS) == [("age", "61"), ("sex", "male")]
    assert _pairs(facts, POSITIVES) == [
        ("chest pressure", "yes, heavy, in the middle of the chest"),
        ("onset", "40 minutes ago while shovelling snow"),
        ("pain severity", "7 out of 10"),
    ]
    assert _pairs(facts, NEGATIVES) == [("fever", "no"), ("shortness of breath", "none"), ("fainting", "denies")]
    # Only the first colon splits: a time keeps its own colon.
    assert ("time checked", "8:30 this morning") in _pairs(facts, OTHER)
    assert len(facts.all()) == 11
    assert facts.all()[0] == Fact(DEMOGRAPHICS, "age", "61", "age: 61")


def test_reference_layout_parses_items_without_colons() -> None:
    facts = parse_facts(REFERENCE)
    assert _pairs(facts, DEMOGRAPHICS) == [("age", "32"), ("sex", "female")]
    assert facts.demographics_text() == "32-year-old female"
    assert _pairs(facts, POSITIVES) == [
        ("onset", "1 day"),
        ("nasal congestion", "present"),
        ("fever", "max 99.6 F"),
        ("headache", "mild"),
        ("severity", "6/10"),
    ]
    assert _pairs(facts, NEGATIVES) == [("shortness of breath", "no"), ("chest pain", "no"), ("known exposure", "none")]
    assert _pairs(facts, OTHER) == [
        ("medications", "lisinopril and atorvastatin"),
        ("radiation", "left shoulder and left upper arm"),
        ("vomiting", "no"),
        ("sneezing", "yes"),
    ]


def test_headers_are_case_insensitive_and_items_before_a_header_go_to_other() -> None:
    facts = parse_facts("cough: dry\nPERTINENT NEGATIVES:\n fever: no\npertinent positives: rash yes; itch yes")
    assert _pairs(facts, OTHER) == [("cough", "dry")]
    assert _pairs(facts, NEGATIVES) == [("fever", "no")]
    assert _pairs(facts, POSITIVES) == [("rash", "yes"), ("itch", "yes")]


def test_bare_item_under_negatives_is_denied() -> None:
    facts = parse_facts("Pertinent negatives\n chest pain; vomiting")
    assert all(is_negative(f) for f in facts.all())


def test_value_helpers() -> None:
    facts = parse_facts(OURS)
    by_name = {f.finding: f for f in facts.all()}
    assert is_negative(by_name["fever"]) and is_negative(by_name["shortness of breath"]) and is_negative(by_name["fainting"])
    assert not is_negative(by_name["chest pressure"]) and is_positive(by_name["chest pressure"])
    assert is_unknown(by_name["recent travel"]) and not is_negative(by_name["recent travel"])
    assert not is_negative(Fact(OTHER, "bowel movements", "normal", "bowel movements: normal"))
    assert is_unknown(Fact(OTHER, "temperature", "not checked", "temperature: not checked"))
    assert facts.get("FEVER") is by_name["fever"]


def test_empty_and_missing_text() -> None:
    assert not parse_facts(None)
    assert parse_facts("").all() == []


NESTED = """Demographics
 - sex male: yes
 - age 59: yes
- Pertinent positives:
 - heartburn: yes
   - duration: 2 months
   - severity: 4 out of 10
 - fever 38.2 C: yes
 - chest pain
    - onset 2 hours ago
 - sweating: yes
Pertinent negatives
 - vomiting blood: no
 - shortness of breath no; cough no
"""


def test_reference_nested_lists_and_flagged_items_parse() -> None:
    facts = parse_facts(NESTED)
    assert _pairs(facts, DEMOGRAPHICS) == [("sex", "male"), ("age", "59")]
    assert _pairs(facts, POSITIVES) == [
        ("heartburn", "yes"),
        ("heartburn duration", "2 months"),  # a nested item keeps its parent
        ("heartburn severity", "4 out of 10"),
        ("fever", "38.2 C"),  # `finding value: yes`
        ("chest pain", "yes"),
        ("chest pain onset", "2 hours ago"),
        ("sweating", "yes"),  # back at the outer level: no parent
    ]
    assert _pairs(facts, NEGATIVES) == [("vomiting blood", "no"), ("shortness of breath", "no"), ("cough", "no")]


def test_flagged_demographics() -> None:
    facts = parse_facts("Demographics\n female: yes\n age 7 months: yes")
    assert _pairs(facts, DEMOGRAPHICS) == [("sex", "female"), ("age", "7 months")]
    assert _pairs(parse_facts("Demographics\n - sex female: no\n - age: 40"), DEMOGRAPHICS) == [("sex", "male"), ("age", "40")]
