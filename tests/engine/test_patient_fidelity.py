"""Fidelity of the scripted patient: every statement it makes is backed by a fact line, or says it does not know.

A battery of ordinary clinician questions (single, compound and listed) is put to the patient of every bundled
case, every held-out vignette (tests/data/heldout_triage.json) and a set of fact sheets written only for this
test (tests/data/patient_factsets.json: clinical jargon, the reference's `;` layout and nested lists). Each
sentence of each reply is checked word by word: a content word must come from the case's own fact lines (or
its opening), from the lay translation of a clinical word in those lines, or from the patient's fixed sentence
frames ("Yes, I've had ...", "It started ..."). A word from anywhere else is an unbacked statement.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from preclinical.engine.scripted_patient import (
    _LAY_STATES,
    _TOPICS,
    ACKNOWLEDGEMENTS,
    DONT_KNOW,
    NOTHING_TO_ADD,
    ScriptedPatient,
    lay_words,
)
from tests.triage_harness import held_out_cases, library_cases

FACTSETS = Path(__file__).parent.parent / "data" / "patient_factsets.json"
# Written after the patient was reworked and measured once before any change (see the commit that added it).
FRESH_FACTSETS = Path(__file__).parent.parent / "data" / "patient_factsets_fresh.json"

_ONSET = r"onset|duration|start|began|timing|how long|since|time taken|when"
_MEDS = (r"medic|meds|drug|treat|tried|taken|pills|tablets|remed|paracetamol|acetaminophen|ibuprofen|insulin|inhaler|"
         r"anticoag|thinner|sumatriptan|self|contracept")
_HISTORY = (r"histor|pmh|condition|diagnos|diabet|asthma|hypertens|illness|problem|born|disease|cancer|depress|"
            r"arthritis|surgery|operation|previous|episodes|before")

# Each question with what a fact that answers each of its parts is about (a pattern on the fact's finding).
# None: an open question, a complaint question or a pleasantry, with no parts to check.
BATTERY: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("What brings you in today?", None),
    ("When did it start and have you taken anything for it?", (_ONSET, _MEDS)),
    ("How long has this been going on?", (_ONSET + r"|course|progress",)),
    ("How old are you?", (r"\bage\b|born",)),
    ("Any fever?", (r"fever|temp|febrile|pyrex|chills|rigor",)),
    ("How bad is the pain on a scale of 1 to 10?",
     (r"sever|pain|intens|score|scale|ache|hurt|pressure|discomfort|tender|tight|burn|sore",)),
    ("Where exactly is it?", (r"locat|site|where|pain|ache|rash|swell|erythema|lump|patch|red|tender|pressure|bite|cut|"
                              r"wound|mole|sore|itch|numb|weak|sting|burn",)),
    ("Does it spread anywhere, like your arm or jaw?", (r"radiat|spread|arm|jaw|neck|back|shoulder|move|travel|goes",)),
    ("Is it getting better or worse?", (r"course|progress|worse|better|trend|improv|chang|sever|since",)),
    ("What makes it better or worse?", None),
    ("Do you have any medical conditions, and what medicines do you take?", (_HISTORY, _MEDS)),
    ("Any allergies?", (r"allerg|nkda",)),
    ("How many weeks along are you?", (r"pregnan|gestation|weeks|lmp|period|trimester|due",)),
    ("When was your last period?", (r"period|lmp|menstr|pregnan",)),
    ("Have you been vomiting or had diarrhoea?", (r"vomit|emesis|sick|throw", r"diarr|stool|bowel|runs|poo")),
    ("Is he drinking normally, and how many wet nappies today?",
     (r"drink|fluid|intake|feed|bottle|milk|breast|thirst", r"napp|diaper|wet|urin|pee|wee|output|void")),
    ("Is she unusually sleepy or floppy?", (r"sleep|letharg|drows|flopp|wake|alert|listless|tired|energy|respons|activ|"
                                           r"playing|somnol|conscious|limp",)),
    ("Any trouble breathing or wheezing?", (r"breath|dyspn|\bsob\b|respir|tachypn|recession|retraction|air|inhaler",
                                            r"wheez|inhaler")),
    ("Any chest pain, and are you sweaty or clammy?", (r"chest|pressure|tight", r"sweat|diaphor|clammy")),
    ("Any rash, and does it fade when you press a glass on it?",
     (r"rash|spots|hives|purpur|petech|erythema|blotch|welts|skin|urticaria|blister|sore",
      r"fade|blanch|glass|rash|spots")),
    ("Any headache or stiff neck?", (r"headache|head pain|migraine|head hurt", r"neck|nuchal|mening")),
    ("Any weakness, numbness or trouble speaking?",
     (r"weak|paresis|plegia|clumsy|droop", r"numb|tingl|paresth|pins", r"speak|speech|words|aphasia|dysarthria|slurr|talk")),
    ("Have you fainted or felt dizzy?", (r"faint|syncop|pass|black|conscious|collapse|\bloc\b",
                                         r"dizz|lighthead|light-head|vertigo|spinning|faint")),
    ("Any blood in your stool or urine?", (r"stool|mela|hematochezia|haematochezia|rectal|bowel|poo|tar|black",
                                           r"urin|hematuria|haematuria|pee|wee")),
    ("Have you had thoughts of harming yourself, and do you have a plan?",
     (r"suicid|harm|self|kill|die|death|life|ideation|thought", r"plan|means|intent|pills|tablets|gun|rope")),
    ("Have you travelled recently? Any sick contacts?", (r"travel|flight|trip|abroad|flew",
                                                         r"contact|sick|exposure|ill|daycare|school|household|others")),
    ("Do you smoke or drink alcohol?", (r"smok|tobacco|cigar|vap|pack", r"alcohol|drink|beer|wine|pint|unit")),
    ("Are you eating okay?", (r"eat|appetite|food|intake|feed|hungry|meal|solids|oral",)),
    ("Could you be pregnant?", (r"pregnan|lmp|period|contracep|sexual|test",)),
    ("Any swelling in your legs?", (r"swell|edema|oedema|puff|leg|calf|ankle",)),
    ("Is there anything else you'd like to tell me?", None),
    ("Okay, thank you.", None),
)

# The words of the patient's own sentence frames (render_fact and the reply composer), and pronouns.
FRAME = set("""
yes no i i'm i've i'd my me myself mine he she they his her hers their them him himself herself themselves
he's she's they're they've he'd she'd it it's its been had have has haven't hasn't don't doesn't do does not
take takes took tried spreads spread going on for since started start came come about say out of the a an any
and or but to in at with is was were am are allergic pregnant smoke smokes smoker used drink alcohol use drugs
medications medicine medicines medical conditions allergies travelled recently nobody around sick up date
vaccines injury there wasn't fever i think got feels feel like checked years year old months month weeks week
days day boy girl one been what else sure know just can cannot can't able unable won't well very really that
this than more less much also on off when then now down through across along round into onto
""".split())

_DONT_KNOW_ABOUT = re.compile(r"^I don't know about (.+)\.$")


def _stem(word: str) -> str:
    word = word.strip("'")
    for suffix in ("ing", "ness", "ies", "ied", "ed", "es", "s", "ly", "y", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> set[str]:
    text = text.lower().replace("\u2019", "'").replace("\u2014", " ")
    return {_stem(w) for w in re.findall(r"[a-z][a-z']*[a-z]|[a-z]|\d+(?:\.\d+)?", text)}


def allowed_words(case: dict[str, Any], patient: ScriptedPatient) -> set[str]:
    content = case["content"]
    sources = [str(content.get(k) or "") for k in ("initial_message", "chief_complaint", "demographics", "clinical_facts")]
    facts = str(content.get("clinical_facts") or "")
    sources.append(lay_words(facts))
    for finding, (present, absent) in _LAY_STATES.items():
        if re.search(rf"\b{finding}\b", facts, re.IGNORECASE):
            sources += [present, absent]
    sources += list(_TOPICS.values())
    allowed = set()
    for text in sources:
        allowed |= _words(text)
    return allowed | {_stem(w) for w in FRAME}


def sentences_of(reply: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", reply) if s.strip()]


def check_case(case: dict[str, Any]) -> tuple[int, list[tuple[str, str, str, set[str]]]]:
    """(statements checked, unbacked [(question, reply, sentence, unknown words)]) for one case."""
    patient = ScriptedPatient(case["content"])
    allowed = allowed_words(case, patient)
    fixed = {DONT_KNOW, NOTHING_TO_ADD, *ACKNOWLEDGEMENTS, patient.opening()}
    checked, unbacked = 0, []
    for turn, (question, _) in enumerate(BATTERY, start=2):
        reply = patient.reply(question, turn, 99)
        if reply in fixed:
            checked += 1
            continue
        for sentence in sentences_of(reply):
            checked += 1
            if sentence in fixed:
                continue
            about = _DONT_KNOW_ABOUT.match(sentence)
            if about:
                extra = _words(about.group(1)) - _words(question) - allowed
            else:
                extra = _words(sentence) - allowed
            if extra:
                unbacked.append((question, reply, sentence, extra))
    return checked, unbacked


def fact_sheets() -> list[dict[str, Any]]:
    return [case for path in (FACTSETS, FRESH_FACTSETS) for case in json.loads(path.read_text(encoding="utf-8"))]


def all_cases() -> list[dict[str, Any]]:
    return library_cases() + held_out_cases() + fact_sheets()


def test_every_statement_is_backed_by_a_fact_line() -> None:
    total, problems = 0, []
    for case in all_cases():
        checked, unbacked = check_case(case)
        total += checked
        problems += [(case["key"], *item) for item in unbacked]
    assert total > 3000
    assert not problems, "\n".join(f"{key}: {q!r} -> {s!r} {sorted(extra)}" for key, q, _, s, extra in problems[:40])


def test_the_check_catches_an_invented_statement(monkeypatch: pytest.MonkeyPatch) -> None:
    # A patient that makes something up is caught.
    case = held_out_cases()[0]
    original = ScriptedPatient.reply
    monkeypatch.setattr(ScriptedPatient, "reply",
                        lambda self, message, turn, max_turns: original(self, message, turn, max_turns)
                        + " I also had a nosebleed on Tuesday.")
    _, unbacked = check_case(case)
    assert unbacked and {"noseble", "tuesda"} <= {w for *_, extra in unbacked for w in extra}  # stems


# ---- answering the question that was asked: intent, every part, nothing volunteered, lay words ---------------

JARGON = re.compile(
    r"\b(letharg\w*|dyspn\w*|syncop\w*|diaphore\w*|ha?ematemesis|ha?emoptysis|ha?ematuria|ha?ematochezia|mela?ena|"
    r"epistaxis|emesis|dysuria|polyuria|polydipsia|pyrexia|febrile|afebrile|photophobia|rhinorrh\w*|myalgia\w*|"
    r"arthralgia\w*|prurit\w*|erythem\w*|o?edema\w*|para?esthesia\w*|otalgia|odynophagia|dysphagia|cyano\w*|"
    r"tachycard\w*|tachypn\w*|urticaria|diplopia|dysarthria|aphasia|hemipar\w*|ataxia|nuchal|lymphadenopathy|rigou?rs|"
    r"dyspepsia|anhedonia|suprapubic|epigastric|periumbilical|exertional|pleuritic|sputum|ideation|intercostal|"
    r"recession|apn(o)?ea|somnolen\w*|malaise|pmh|lmp|nkda|immunizations|hyperlipidemia)\b",
    re.IGNORECASE,
)


def said_facts(patient: ScriptedPatient, reply: str) -> list[Any]:
    """The fact lines the reply actually says (what the patient matched and then put into words)."""
    from preclinical.engine.scripted_patient import render_fact

    said = []
    for match in patient.last_matches:
        for fact in match.facts:
            rendered = render_fact(fact, patient.voice)
            item = getattr(rendered, "neg_item", None)
            if rendered.sentence in reply or (item and re.search(rf"\bany\b[^.]*\b{re.escape(item)}\b", reply)):
                said.append(fact)
    return said


def intent_report(case: dict[str, Any]) -> dict[str, list]:
    """Answers about something not asked, parts of a question left out, and clinical words in the patient's mouth."""
    patient = ScriptedPatient(case["content"])
    findings = [f.finding.lower() for f in patient.facts.all() if f.value.strip()]
    report: dict[str, list] = {"mismatched": [], "dropped": [], "jargon": [], "answers": []}
    for turn, (question, parts) in enumerate(BATTERY, start=2):
        reply = patient.reply(question, turn, 99)
        for sentence in sentences_of(reply):
            if JARGON.search(sentence):
                report["jargon"].append((question, sentence))
        if parts is None:
            continue
        report["answers"].append(question)
        said = said_facts(patient, reply)
        for fact in said:
            if not any(re.search(part, f"{fact.finding} {fact.value}".lower()) for part in parts):
                report["mismatched"].append((question, reply, fact.text))
        for part in parts:
            has_fact = any(re.search(part, finding) for finding in findings)
            answered = any(re.search(part, f"{fact.finding} {fact.value}".lower()) for fact in said)
            if has_fact and not answered and "don't know" not in reply:
                report["dropped"].append((question, reply, part))
    return report


def intent_totals(cases: list[dict[str, Any]]) -> dict[str, int]:
    totals = {"answers": 0, "mismatched": 0, "dropped": 0, "jargon": 0}
    for case in cases:
        report = intent_report(case)
        for key in totals:
            totals[key] += len(report[key])
    return totals


@pytest.mark.parametrize("group", ["library", "held-out", "factsets"])
def test_answers_what_was_asked_in_lay_words(group: str) -> None:
    cases = {"library": library_cases, "held-out": held_out_cases,
             "factsets": fact_sheets}[group]()
    problems = []
    for case in cases:
        report = intent_report(case)
        problems += [(case["key"], kind, item) for kind in ("mismatched", "dropped", "jargon") for item in report[kind]]
    assert not problems, "\n".join(f"{key} {kind}: {item}" for key, kind, item in problems[:40])


def test_intent_questions_get_the_right_fact() -> None:
    pregnant = ScriptedPatient({"clinical_facts": "Pertinent positives\n onset: 2 weeks ago\n pregnancy: 24 weeks\n"
                                                  " last menstrual period: unknown"})
    assert pregnant.reply("How many weeks along are you?", 2, 10) == "Yes, I'm pregnant \u2014 24 weeks."
    assert pregnant.reply("When did this start?", 3, 10) == "It started 2 weeks ago."
    headache = ScriptedPatient({"clinical_facts": "Pertinent positives\n headache: yes\nPertinent negatives\n"
                                                  " head injury: no\nOther\n appetite: reduced"})
    assert headache.reply("Any headache or stiff neck?", 2, 10) == "Yes, I've had a headache. I don't know about stiff neck."
    assert headache.reply("Is she drinking okay?", 3, 10) == "I don't know."
    feverish = ScriptedPatient({"clinical_facts": "Pertinent positives\n fever: 38.4 C under the arm"})
    assert feverish.reply("Where exactly is it?", 2, 10) == "I don't know."


def test_every_part_of_a_compound_question_is_answered() -> None:
    patient = ScriptedPatient({"clinical_facts": "Pertinent positives\n onset: yesterday\n vomiting: yes, 3 times\n"
                                                 "Other\n treatment tried: paracetamol at 8 am"})
    assert patient.reply("When did it start and have you taken anything for it?", 2, 10) == (
        "It started yesterday. I've tried paracetamol at 8 am.")
    assert patient.reply("Have you been vomiting, and any diarrhoea?", 3, 10) == (
        "Yes, I've been vomiting \u2014 3 times. I don't know about diarrhoea.")


def test_clinical_words_are_said_in_lay_terms() -> None:
    child = ScriptedPatient({"initial_message": "My son is not himself.",
                             "clinical_facts": "Demographics\n age: 2\n sex: male\nPertinent positives\n lethargy: yes\n"
                                               " dyspnea: yes\n emesis: twice\nPertinent negatives\n hematuria: no"})
    assert child.reply("Is he unusually sleepy?", 2, 10) == "Yes, he's been really floppy and sleepy."
    assert child.reply("Any trouble breathing?", 3, 10) == "Yes, he's had shortness of breath."
    assert child.reply("Has he been sick?", 4, 10) == "Yes, he's been vomiting \u2014 twice."
    assert child.reply("Any blood in his pee?", 5, 10) == "No, he hasn't had any blood in the pee."
