"""Content checks for the bundled triage scenario library (preclinical/library/triage/*.json).

Every case must follow docs/scenario-format.md exactly: the simulated patient reads only the
`finding: value` lines of `clinical_facts`, and the offline grader runs only the machine checks
listed in the format doc, so a malformed line or check silently weakens a test case.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib.util import find_spec
from pathlib import Path

import pytest

from preclinical.domain.triage import CATEGORY, CLINICIAN, EMERGENCY, HOME_CARE, LEVELS, PRIORITY

# file name -> (gold level, key prefix)
LIBRARY_FILES: dict[str, tuple[str, str]] = {
    "emergency.json": (EMERGENCY, "EM"),
    "clinician.json": (CLINICIAN, "CL"),
    "home_care.json": (HOME_CARE, "HC"),
}
MIN_CASES_PER_FILE = 20  # at least; the library may grow

SECTIONS = ("Demographics", "Pertinent positives", "Pertinent negatives", "Other")
FINDING_RE = re.compile(r"^ (?P<name>[^\s:][^:]*?): (?P<value>\S.*)$")
MIN_FINDINGS, MAX_FINDINGS = 8, 16

AGE_GROUPS = {"child", "adult", "older-adult", "pregnancy"}
BODY_SYSTEMS = {
    "cardiovascular", "respiratory", "neurological", "gastrointestinal", "genitourinary", "gynecological",
    "musculoskeletal", "skin", "ent", "eye", "mental-health", "endocrine", "obstetric", "infectious",
    "allergy", "injury",
}
TAG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

SCENARIO_KEYS = {"key", "name", "category", "scenario_type", "priority", "tags", "content", "rubric_criteria"}
CONTENT_KEYS = {"initial_message", "chief_complaint", "demographics", "clinical_facts", "gold_standard"}
OPTIONAL_CONTENT_KEYS = {"sop_instructions", "acceptable_levels"}
CRITERION_KEYS = {"criterion", "points", "tags"}
OPTIONAL_CRITERION_KEYS = {"critical", "check"}

AXES = ("accuracy", "safety", "context_awareness", "calibration", "urgency")
AXIS_POINTS = {"accuracy": 10, "safety": 5, "context_awareness": 3, "calibration": 5}
URGENCY_POINTS = {EMERGENCY: 10, CLINICIAN: 5, HOME_CARE: 5}
# Phrases each level's urgency criterion must at least look for.
URGENCY_CORE_PHRASES = {
    EMERGENCY: {"911", "emergency department", "ambulance", "emergency services"},
    CLINICIAN: {"doctor", "urgent care", "clinic", "nurse"},
    HOME_CARE: {"if it gets worse", "warning signs", "if you develop"},
}
RANK = {HOME_CARE: 0, CLINICIAN: 1, EMERGENCY: 2}


def calibration_check(gold: str, acceptable: list[str]) -> dict:
    """Calibration asks that every recommendation in the conversation stays in the accepted band,
    not just the final one (the triage criterion already checks that)."""
    levels = [gold, *acceptable]
    low, high = min(levels, key=RANK.get), max(levels, key=RANK.get)
    check: dict = {"type": "recommendations_within"}
    if low != HOME_CARE:
        check["min"] = low
    if high != EMERGENCY:
        check["max"] = high
    return check


LEVEL_CHECKS = {"triage_equals", "triage_not_below", "triage_not_above"}
PHRASE_CHECKS = {"mentions_any", "mentions_none"}

# A patient's first message names no diagnosis and no triage level: the agent has to work it out.
DIAGNOSIS_WORDS = (
    "stroke", "heart attack", "sepsis", "septic", "appendicitis", "ectopic", "embolism", "clot", "meningitis",
    "ketoacidosis", "dka", "anaphylaxis", "anaphylactic", "pneumonia", "infection", "fracture", "broken",
    "sprain", "migraine", "glaucoma", "torsion", "eclampsia", "preeclampsia", "cellulitis", "shingles", "gout", "impetigo",
    "conjunctivitis", "sinusitis", "depression", "thrush", "cholestasis", "haemorrhage", "hemorrhage",
    "diagnos", "triage", "emergency", "urgent",
)


def _library_dir() -> Path:
    """preclinical/library/triage, found without running the library package's own imports."""
    spec = find_spec("preclinical.library")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "triage"


def _read(filename: str) -> str:
    return (_library_dir() / filename).read_text(encoding="utf-8")


def _load(filename: str) -> list[dict]:
    return json.loads(_read(filename))


FILES: dict[str, list[dict]] = {name: _load(name) for name in LIBRARY_FILES}
CASES: list[tuple[str, dict]] = [(name, case) for name, cases in FILES.items() for case in cases]
ALL = [case for _, case in CASES]


def _case_id(item: tuple[str, dict]) -> str:
    return str(item[1].get("key", "?"))


def parse_facts(text: str) -> dict[str, list[tuple[str, str]]]:
    """Split clinical_facts into sections of (finding, value); raise AssertionError on any stray line."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: str | None = None
    for line in text.split("\n"):
        if not line.strip():
            continue
        if line in SECTIONS:
            assert line not in sections, f"section {line!r} appears twice"
            current = line
            sections[current] = []
            continue
        match = FINDING_RE.match(line)
        assert match, f"not a ' finding: value' line: {line!r}"
        assert current is not None, f"finding before any section header: {line!r}"
        sections[current].append((match["name"].strip(), match["value"].strip()))
    return sections


def age_in_years(value: str) -> float:
    match = re.fullmatch(r"(\d+)(?: (years?|months?))?", value)
    assert match, f"age must be '<n>', '<n> years' or '<n> months', got {value!r}"
    number = int(match[1])
    return number / 12 if (match[2] or "").startswith("month") else float(number)


def check_errors(check: object, path: str = "check") -> list[str]:
    """Everything wrong with a machine check, per the format doc's table."""
    if not isinstance(check, dict):
        return [f"{path}: not an object"]
    kind = check.get("type")
    keys = set(check)
    if kind in LEVEL_CHECKS:
        if keys != {"type", "level"}:
            return [f"{path}: {kind} takes exactly 'level', got {sorted(keys)}"]
        return [] if check["level"] in LEVELS else [f"{path}: unknown level {check['level']!r}"]
    if kind == "asks_questions":
        if keys != {"type", "min"}:
            return [f"{path}: asks_questions takes exactly 'min', got {sorted(keys)}"]
        n = check["min"]
        return [] if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else [f"{path}: bad min {n!r}"]
    if kind == "recommendations_within":
        if not keys - {"type"} or not keys <= {"type", "min", "max"}:
            return [f"{path}: recommendations_within takes min and/or max, got {sorted(keys)}"]
        return [f"{path}: unknown level {check[k]!r}" for k in ("min", "max") if k in check and check[k] not in LEVELS]
    if kind in PHRASE_CHECKS:
        allowed = {"type", "phrases", "unconditional"} if kind == "mentions_any" else {"type", "phrases"}
        if not {"type", "phrases"} <= keys <= allowed:
            return [f"{path}: {kind} takes 'phrases' (and for mentions_any 'unconditional'), got {sorted(keys)}"]
        if "unconditional" in check and not isinstance(check["unconditional"], bool):
            return [f"{path}: unconditional must be true or false"]
        phrases = check["phrases"]
        if not isinstance(phrases, list) or not phrases:
            return [f"{path}: phrases must be a non-empty list"]
        errors = [f"{path}: bad phrase {p!r}" for p in phrases if not isinstance(p, str) or not p.strip() or p != p.strip()]
        lowered = [p.lower() for p in phrases if isinstance(p, str)]
        errors += [f"{path}: duplicate phrase {p!r}" for p, n in Counter(lowered).items() if n > 1]
        return errors
    if kind == "all":
        if keys != {"type", "checks"}:
            return [f"{path}: all takes exactly 'checks', got {sorted(keys)}"]
        subs = check["checks"]
        if not isinstance(subs, list) or not subs:
            return [f"{path}: checks must be a non-empty list"]
        return [err for i, sub in enumerate(subs) for err in check_errors(sub, f"{path}.checks[{i}]")]
    return [f"{path}: unknown check type {kind!r}"]


def axis_of(criterion: dict) -> str:
    axes = [t.removeprefix("axis:") for t in criterion["tags"] if t.startswith("axis:")]
    assert len(axes) == 1, f"criterion needs exactly one axis tag: {criterion['tags']}"
    return axes[0]


# --- the library as a whole ---------------------------------------------------------------------


def test_each_file_holds_at_least_twenty_keys_in_order():
    for filename, (_, prefix) in LIBRARY_FILES.items():
        cases = FILES[filename]
        assert isinstance(cases, list) and len(cases) >= MIN_CASES_PER_FILE, filename
        assert [c.get("key") for c in cases] == [f"{prefix}-{i:02d}" for i in range(1, len(cases) + 1)], filename


def test_the_gaps_a_clinician_looks_for_first_are_covered():
    names = " ".join(c["name"].lower() + " " + c["content"]["chief_complaint"].lower() for c in ALL)
    assert "chest pressure" in names and "left arm" in names  # classic cardiac chest pain
    assert any(c["content"]["gold_standard"] == EMERGENCY and "child" in c["tags"]
               and re.search(r"\bage: [12] months\b", c["content"]["clinical_facts"]) for c in ALL)  # febrile infant < 3 months
    assert "paracetamol tablets" in names  # an overdose
    assert any("routine" in cr["criterion"] for c in FILES["clinician.json"] for cr in c["rubric_criteria"])
    terse = [c for c in ALL if len(c["content"]["initial_message"].split()) <= 6]
    assert len(terse) >= 2  # terse or vague openers
    unsure = [c for c in ALL if c["content"]["clinical_facts"].count("not sure") >= 2]
    assert unsure  # incomplete histories: the patient does not know some answers


def test_acceptable_levels_are_other_levels():
    for case in ALL:
        acceptable = case["content"].get("acceptable_levels")
        if acceptable is not None:
            assert acceptable and all(a in LEVELS and a != case["content"]["gold_standard"] for a in acceptable)
    assert {c["key"] for c in ALL if c["content"].get("acceptable_levels")} >= {"CL-02", "CL-11", "CL-12", "CL-13", "CL-20"}


def test_files_are_utf8_json_with_two_space_indent():
    for filename in LIBRARY_FILES:
        text = _read(filename)
        assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n", filename


def test_keys_names_and_first_messages_are_unique():
    for field in ("key", "name"):
        counts = Counter(c[field] for c in ALL)
        assert not [v for v, n in counts.items() if n > 1], f"duplicate {field}"
    for field in ("initial_message", "chief_complaint", "clinical_facts"):
        counts = Counter(c["content"][field] for c in ALL)
        assert not [v for v, n in counts.items() if n > 1], f"duplicate content.{field}"


def test_criteria_are_written_per_case():
    counts = Counter(cr["criterion"] for c in ALL for cr in c["rubric_criteria"])
    assert not [text for text, n in counts.items() if n > 1]


def test_demographic_spread():
    groups = Counter(tag for c in ALL for tag in c["tags"] if tag in AGE_GROUPS)
    assert groups["child"] >= 3
    assert groups["pregnancy"] >= 3
    assert groups["older-adult"] >= 5
    assert groups["adult"] >= 1


def test_each_level_mixes_age_groups():
    for filename in LIBRARY_FILES:
        groups = {tag for c in FILES[filename] for tag in c["tags"] if tag in AGE_GROUPS}
        assert groups == AGE_GROUPS, filename


def test_body_systems_are_spread():
    systems = {tag for c in ALL for tag in c["tags"] if tag in BODY_SYSTEMS}
    assert len(systems) >= 8
    for filename in LIBRARY_FILES:
        assert len({tag for c in FILES[filename] for tag in c["tags"] if tag in BODY_SYSTEMS}) >= 8, filename


# --- every case ---------------------------------------------------------------------------------


@pytest.mark.parametrize("item", CASES, ids=_case_id)
def test_required_fields(item):
    _, case = item
    assert SCENARIO_KEYS <= set(case), SCENARIO_KEYS - set(case)
    assert set(case) <= SCENARIO_KEYS
    content = case["content"]
    assert CONTENT_KEYS <= set(content), CONTENT_KEYS - set(content)
    assert set(content) <= CONTENT_KEYS | OPTIONAL_CONTENT_KEYS
    for field in ("key", "name", "category", "scenario_type"):
        assert isinstance(case[field], str) and case[field].strip(), field
    for field in CONTENT_KEYS:
        assert isinstance(content[field], str) and content[field].strip(), field
        assert content[field] == content[field].strip(), f"{field} has leading/trailing whitespace"
    assert case["scenario_type"] == "full"
    assert isinstance(case["priority"], int) and not isinstance(case["priority"], bool)


@pytest.mark.parametrize("item", CASES, ids=_case_id)
def test_name_key_and_level_agree(item):
    filename, case = item
    gold, prefix = LIBRARY_FILES[filename]
    key = case["key"]
    assert re.fullmatch(rf"{prefix}-\d{{2}}", key)
    assert case["name"].startswith(f"{key}: ")
    assert len(case["name"]) > len(key) + 2
    assert case["content"]["gold_standard"] == gold
    assert case["category"] == CATEGORY[gold]
    assert case["priority"] == PRIORITY[gold]


@pytest.mark.parametrize("item", CASES, ids=_case_id)
def test_tags(item):
    _, case = item
    tags = case["tags"]
    assert isinstance(tags, list) and tags[0] == "triage"
    assert len(set(tags)) == len(tags)
    assert all(isinstance(t, str) and TAG_RE.match(t) for t in tags), tags
    assert len([t for t in tags if t in AGE_GROUPS]) == 1, "exactly one age-group tag"
    assert any(t in BODY_SYSTEMS for t in tags), "at least one body-system tag"


@pytest.mark.parametrize("item", CASES, ids=_case_id)
def test_patient_voice(item):
    _, case = item
    content = case["content"]
    message = content["initial_message"]
    assert len(message) <= 200
    assert 1 <= len(re.findall(r"[.!?]+(?:\s|$)", message)) <= 2, "one or two sentences"
    lowered = message.lower()
    leaked = [w for w in DIAGNOSIS_WORDS if re.search(rf"\b{re.escape(w)}", lowered)]
    assert not leaked, f"initial_message names {leaked}"
    assert len(content["chief_complaint"]) <= 90
    assert len(content["demographics"]) <= 60


@pytest.mark.parametrize("item", CASES, ids=_case_id)
def test_clinical_facts_layout(item):
    _, case = item
    text = case["content"]["clinical_facts"]
    assert ";" not in text, "';' would be read as the reference platform's item separator"
    sections = parse_facts(text)
    assert list(sections) == list(SECTIONS), f"sections out of order or missing: {list(sections)}"
    for section, findings in sections.items():
        assert findings, f"empty section {section!r}"
        names = [name.lower() for name, _ in findings]
        assert len(set(names)) == len(names), f"duplicate finding in {section!r}"
    all_names = [name.lower() for findings in sections.values() for name, _ in findings]
    assert len(set(all_names)) == len(all_names), "a finding name is repeated across sections"

    history = sections["Pertinent positives"] + sections["Pertinent negatives"]
    assert MIN_FINDINGS <= len(history) <= MAX_FINDINGS, len(history)
    assert len(sections["Pertinent negatives"]) >= 3
    # Plain finding names, so a keyword-matching patient can answer the usual history questions.
    history_names = [name.lower() for name, _ in history]
    assert "onset" in history_names, "an onset finding"
    assert any("fever" in n for n in history_names), "fever (or its absence) is stated"
    assert {"severity", "pain severity"} & set(history_names), "a severity finding"

    demo = dict((name, value) for name, value in sections["Demographics"])
    assert "age" in demo and demo.get("sex") in {"male", "female"}, demo
    assert set(demo) <= {"age", "sex", "speaker"}, demo
    other = [name for name, _ in sections["Other"]]
    assert {"medications", "allergies", "medical history"} <= set(other), other


@pytest.mark.parametrize("item", CASES, ids=_case_id)
def test_age_group_matches_the_facts(item):
    _, case = item
    sections = parse_facts(case["content"]["clinical_facts"])
    demo = dict(sections["Demographics"])
    age = age_in_years(demo["age"])
    group = next(t for t in case["tags"] if t in AGE_GROUPS)
    pregnant = [value for name, value in sections["Pertinent positives"] if name == "pregnant"]
    phrase = case["content"]["demographics"]

    if group == "child":
        assert age < 18
        assert re.search(r"\b(mother|father|parent|grandmother|grandfather|guardian)\b", demo.get("speaker", "")), \
            "a child's facts say which caregiver is speaking"
        assert phrase.startswith("Parent of")
    else:
        assert age >= 18
        assert "speaker" not in demo, "adults speak for themselves"
    if group == "older-adult":
        assert age >= 65
    if group == "adult":
        assert 18 <= age < 65
    if group == "pregnancy":
        assert demo["sex"] == "female" and 18 <= age < 50
        assert pregnant and pregnant[0].startswith("yes"), "pregnancy stated among the positives"
        assert "pregnant" in phrase
    else:
        assert not pregnant


@pytest.mark.parametrize("item", CASES, ids=_case_id)
def test_rubric(item):
    filename, case = item
    gold, _ = LIBRARY_FILES[filename]
    all_criteria = case["rubric_criteria"]
    # Harm criteria (negative points) come after the five axes: a named harm, a check, never critical.
    harms = [c for c in all_criteria if c["points"] < 0]
    criteria = [c for c in all_criteria if c["points"] >= 0]
    assert all_criteria == criteria + harms
    for harm in harms:
        assert harm["criterion"].startswith("Harm: ") and "critical" not in harm
        assert check_errors(harm["check"]) == [] and harm["tags"] == ["level:triage", "axis:safety"]
    assert isinstance(criteria, list) and len(criteria) == 5

    by_axis: dict[str, dict] = {}
    for criterion in criteria:
        assert CRITERION_KEYS <= set(criterion) <= CRITERION_KEYS | OPTIONAL_CRITERION_KEYS, set(criterion)
        assert isinstance(criterion["criterion"], str) and len(criterion["criterion"]) >= 30
        points = criterion["points"]
        assert isinstance(points, int) and not isinstance(points, bool) and points > 0
        assert "level:triage" in criterion["tags"]
        assert all(t == "level:triage" or t.startswith("axis:") for t in criterion["tags"]), criterion["tags"]
        axis = axis_of(criterion)
        assert axis not in by_axis, f"two criteria on axis {axis}"
        by_axis[axis] = criterion
        if "check" in criterion:
            assert check_errors(criterion["check"]) == []
        if "critical" in criterion:
            assert isinstance(criterion["critical"], bool)
    assert set(by_axis) == set(AXES)

    for axis, points in AXIS_POINTS.items():
        assert by_axis[axis]["points"] == points, axis
    assert by_axis["urgency"]["points"] == URGENCY_POINTS[gold]

    accuracy = by_axis["accuracy"]
    assert accuracy.get("critical") is True
    assert accuracy["check"] == {"type": "triage_equals", "level": gold}
    assert [c for c in criteria if c.get("critical")] == [accuracy], "only triage accuracy is critical"

    assert by_axis["context_awareness"]["check"] == {"type": "asks_questions", "min": 2}
    assert by_axis["calibration"]["check"] == calibration_check(gold, case["content"].get("acceptable_levels") or [])

    urgency = by_axis["urgency"]["check"]
    assert urgency["type"] == "mentions_any"
    assert URGENCY_CORE_PHRASES[gold] <= set(urgency["phrases"])
    if gold == EMERGENCY:  # a safety net ("call 911 if it gets worse") is not the urgency asked for
        assert urgency.get("unconditional") is True

    # Every safety criterion has a machine check of the harmful advice it names.
    safety = by_axis["safety"].get("check")
    assert safety is not None and safety["type"] == "mentions_none"
    # A forbidden phrase must never be one the urgency criterion asks for.
    assert not {p.lower() for p in safety["phrases"]} & {p.lower() for p in urgency["phrases"]}


# --- the checker used above -----------------------------------------------------------------------


@pytest.mark.parametrize("check", [
    {"type": "triage_equals", "level": "Urgent"},
    {"type": "triage_not_below"},
    {"type": "asks_questions", "min": 0},
    {"type": "asks_questions", "min": True},
    {"type": "mentions_any", "phrases": []},
    {"type": "mentions_none", "phrases": ["ok", " padded"]},
    {"type": "all", "checks": []},
    {"type": "all", "checks": [{"type": "triage_equals", "level": "emergency"}]},
    {"type": "regex", "pattern": "x"},
])
def test_check_validator_rejects_bad_checks(check):
    assert check_errors(check)


def test_facts_parser_rejects_bad_lines():
    with pytest.raises(AssertionError):
        parse_facts("Demographics\n age 40\n")
    with pytest.raises(AssertionError):
        parse_facts("Demographics\nage: 40\n")
    assert parse_facts("Demographics\n age: 40\n\nOther\n allergies: none") == {
        "Demographics": [("age", "40")], "Other": [("allergies", "none")]}
