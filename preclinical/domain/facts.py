"""Parse a scenario's `clinical_facts` text into sections of findings the simulated patient may use.

Two layouts are read:

* ours — one ` finding: value` per line below a section header;
* the reference platform's (TriageBench) — items separated by `;` on one or more lines, written
  `finding value` without a colon (`shortness of breath no`, `fever max 99.6 F`, `onset 1 day`), with
  a bare demographic phrase (`32-year-old female`) under `Demographics`; or as (nested) lists:
  `- sex male: yes`, `- fever 39.2 C: yes`, and an indented `- duration: 2 months` under a finding
  (`- heartburn: yes`), which becomes `heartburn duration: 2 months`. Section headers may be list
  items themselves (`- Pertinent positives:`).

Pure and stdlib only: the engine, the API and the TUI all read facts through this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEMOGRAPHICS = "Demographics"
POSITIVES = "Pertinent positives"
NEGATIVES = "Pertinent negatives"
OTHER = "Other"
SECTIONS: tuple[str, ...] = (DEMOGRAPHICS, POSITIVES, NEGATIVES, OTHER)

_HEADERS: dict[str, str] = {
    "demographics": DEMOGRAPHICS,
    "demographic": DEMOGRAPHICS,
    "pertinent positives": POSITIVES,
    "pertinent positive": POSITIVES,
    "positives": POSITIVES,
    "pertinent negatives": NEGATIVES,
    "pertinent negative": NEGATIVES,
    "negatives": NEGATIVES,
    "other": OTHER,
    "other information": OTHER,
    "other facts": OTHER,
}


@dataclass(frozen=True)
class Fact:
    """One item the patient knows: `finding` (what), `value` (what about it), `text` (as written)."""

    section: str
    finding: str
    value: str
    text: str


@dataclass
class Facts:
    """Parsed clinical facts, by canonical section name (every section is present, maybe empty)."""

    sections: dict[str, list[Fact]] = field(default_factory=lambda: {name: [] for name in SECTIONS})

    def all(self) -> list[Fact]:
        """Every fact, in section order (Demographics, positives, negatives, Other)."""
        return [fact for name in SECTIONS for fact in self.sections.get(name, [])]

    def demographics_text(self) -> str:
        """The demographics as one short line (`age: 61, sex: male` or `32-year-old female`)."""
        items = self.sections.get(DEMOGRAPHICS, [])
        seen: list[str] = []
        for fact in items:
            if fact.text not in seen:
                seen.append(fact.text)
        return ", ".join(seen)

    def get(self, finding: str) -> Fact | None:
        """The first fact whose finding equals `finding` (case-insensitive)."""
        wanted = finding.strip().lower()
        for fact in self.all():
            if fact.finding.lower() == wanted:
                return fact
        return None

    def __len__(self) -> int:
        return sum(len(v) for v in self.sections.values())

    def __bool__(self) -> bool:
        return len(self) > 0


_UNKNOWN_RE = re.compile(
    r"^(unknown|unsure|not sure|not known|unclear|don'?t know|do not know|not checked|not measured|"
    r"not taken|n/?a|\?)\b"
)
_NEGATIVE_RE = re.compile(r"^(no|none|denies|denied|negative|never|not|nil|nothing|absent)\b")


def is_unknown(fact: Fact) -> bool:
    """The patient does not know this one (`unknown`, `not sure`, `not checked`...)."""
    value = fact.value.strip().lower()
    return bool(_UNKNOWN_RE.match(value))


def is_negative(fact: Fact) -> bool:
    """The value denies the finding (starts with no / none / denies / negative / not...)."""
    value = fact.value.strip().lower()
    if not value:
        return fact.section == NEGATIVES
    if is_unknown(fact):
        return False
    return bool(_NEGATIVE_RE.match(value))


def is_positive(fact: Fact) -> bool:
    """Neither negative nor unknown: the patient has it (or it is a plain descriptive value)."""
    return not is_negative(fact) and not is_unknown(fact)


def parse_facts(text: str | None) -> Facts:
    """Parse `clinical_facts` in either layout. Unparseable text yields items under `Other`."""
    facts = Facts()
    if not text:
        return facts
    section = OTHER
    parents: list[tuple[int, str]] = []  # (indent, finding) of the list items above a nested one
    for raw_line in str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ").split("\n"):
        line = raw_line.strip()
        if not line:
            continue
        indent = len(raw_line) - len(raw_line.lstrip())
        header, rest = _match_header(line.lstrip("-*\u2022 ").strip())
        if header:
            section = header
            parents = []
            if not rest:
                continue
            line = rest
        is_list_item = line[:1] in "-*\u2022"
        while parents and (not is_list_item or parents[-1][0] >= indent):
            parents.pop()
        parent = parents[-1][1] if parents else ""
        parsed: list[Fact] = []
        for item in _split_items(line):
            parsed.extend(_parse_item(item, section))
        if parent and section != DEMOGRAPHICS:
            parsed = [_nest(parent, fact) for fact in parsed]
        facts.sections[section].extend(parsed)
        if is_list_item and len(parsed) == 1:
            parents.append((indent, parsed[0].finding))
    return facts


def _nest(parent: str, fact: Fact) -> Fact:
    """`duration: 2 months` under `heartburn` → `heartburn duration: 2 months` (unless it already names it)."""
    if fact.finding.lower().startswith(parent.lower()):
        return fact
    return Fact(fact.section, f"{parent} {fact.finding}", fact.value, f"{parent} {fact.text}")


def _match_header(line: str) -> tuple[str | None, str]:
    stripped = line.strip().strip("#*").strip()
    lowered = stripped.lower().rstrip(":").strip()
    if lowered in _HEADERS:
        return _HEADERS[lowered], ""
    # "Pertinent negatives: fever no; cough no" — a header with items on the same line.
    head, sep, rest = stripped.partition(":")
    if sep and head.strip().lower() in _HEADERS and head.strip().lower() != "other":
        return _HEADERS[head.strip().lower()], rest.strip()
    return None, ""


def _split_items(line: str) -> list[str]:
    items = []
    for part in line.split(";"):
        item = part.strip().lstrip("-*•").strip()
        item = item.rstrip(".").strip()
        if not item or set(item) <= {".", "…"} or item in {"...", "…"}:
            continue
        items.append(item)
    return items


_YES_NO = {"yes": "yes", "y": "yes", "true": "yes", "present": "yes", "positive": "yes",
           "no": "no", "n": "no", "false": "no", "absent": "no", "negative": "no"}


def _parse_item(item: str, section: str) -> list[Fact]:
    if ":" in item:
        finding, _, value = item.partition(":")
        finding, value = finding.strip(), value.strip()
        if finding:
            flagged = _finding_with_value(finding, value, section, item)
            if flagged:
                return flagged
            return [Fact(section, finding, value or _default_value(section), item)]
        item = value
    if section == DEMOGRAPHICS:
        demo = _parse_demographic_phrase(item)
        if demo:
            return demo
    finding, value = _split_bare(item, section)
    return [Fact(section, finding, value, item)]


def _finding_with_value(finding: str, value: str, section: str, item: str) -> list[Fact]:
    """`sex male: yes` → sex: male; `age 59: yes` → age: 59; `fever 39.2 C: yes` → fever: 39.2 C."""
    answer = _YES_NO.get(value.strip().lower().rstrip("."))
    if answer is None:
        return []
    words = finding.split()
    head = words[0].lower() if words else ""
    if head in {"sex", "gender"} and len(words) >= 2:
        sex = _SEX_WORDS.get(words[1].lower(), words[1].lower())
        if answer == "no":  # "sex female: no" in a two-option field: male
            sex = {"male": "female", "female": "male"}.get(sex, "")
        return [Fact(section, "sex", sex, item)] if sex else []
    if len(words) == 1 and head in _SEX_WORDS and section == DEMOGRAPHICS:
        return [Fact(section, "sex", _SEX_WORDS[head], item)] if answer == "yes" else []
    if head == "age" and len(words) >= 2 and re.match(r"^\d", words[1]):
        return [Fact(section, "age", " ".join(words[1:]), item)]
    if section == DEMOGRAPHICS and answer == "yes":
        demo = _parse_demographic_phrase(finding)
        if demo:
            return demo
    if answer == "yes" and len(words) >= 2:
        bare_finding, bare_value = _split_bare(finding, POSITIVES)
        if bare_finding and bare_value not in {"yes", "no"} and bare_finding.lower() != finding.lower():
            if bare_value in _TRAILING_STATUS or bare_value in _TRAILING_PHRASES:
                return [Fact(section, bare_finding, bare_value, item)]
            if re.match(r"^[<>~]?\d", bare_value) or bare_finding.lower() in _KNOWN_FINDINGS:
                return [Fact(section, bare_finding, bare_value, item)]
    return []


def _default_value(section: str) -> str:
    return "no" if section == NEGATIVES else "yes"


# ---- the reference layout: `finding value` without a colon --------------------------------------

_AGE_RE = re.compile(
    r"\b(\d{1,3}(?:\.\d)?)[\s-]*(year|yr|month|mo|week|wk|day)s?[\s-]*old\b", re.IGNORECASE
)
_SEX_WORDS = {
    "male": "male", "man": "male", "boy": "male", "m": "male", "gentleman": "male",
    "female": "female", "woman": "female", "girl": "female", "f": "female", "lady": "female",
}
_UNIT_NAMES = {"year": "", "yr": "", "month": "months", "mo": "months", "week": "weeks", "wk": "weeks", "day": "days"}


def _parse_demographic_phrase(item: str) -> list[Fact]:
    """`32-year-old female` → age 32 and sex female (the original text kept on both)."""
    found: list[Fact] = []
    match = _AGE_RE.search(item)
    if match:
        number, unit = match.group(1), match.group(2).lower()
        suffix = _UNIT_NAMES.get(unit, "")
        found.append(Fact(DEMOGRAPHICS, "age", f"{number} {suffix}".strip(), item))
        rest = (item[: match.start()] + " " + item[match.end():]).strip()
        for word in re.findall(r"[a-zA-Z]+", rest):
            sex = _SEX_WORDS.get(word.lower())
            if sex:
                found.append(Fact(DEMOGRAPHICS, "sex", sex, item))
                break
        return found
    words = item.lower().split()
    if len(words) == 1 and words[0] in _SEX_WORDS:
        return [Fact(DEMOGRAPHICS, "sex", _SEX_WORDS[words[0]], item)]
    return []


_TRAILING_STATUS = {
    "yes", "no", "none", "unknown", "denies", "denied", "negative", "positive", "present", "absent",
    "mild", "moderate", "severe", "intermittent", "constant", "occasional", "frequent", "worsening",
    "improving", "stable", "new", "normal", "decreased", "increased", "reduced", "unsure",
}
_TRAILING_PHRASES = ("not sure", "not known", "not checked", "not measured")
_MIDDLE_STATUS = re.compile(r"^(.+?)\s+(yes|no|present|absent|denies|positive|negative)\s*[,:\u2014-]\s*(.+)$",
                            re.IGNORECASE)
_LEADING_NEGATION = re.compile(r"^(no|denies|denied|without)\s+(.+)$", re.IGNORECASE)
_NUMBER_PREFIXES = {"for", "since", "about", "around", "approximately", "approx", "max", "maximum", "up", "to", "of",
                    "at", "x", "~", "over", "under"}

# Common finding heads, longest first, so `fever max 99.6 F` splits after `fever`.
_KNOWN_FINDINGS = sorted(
    [
        "onset", "duration", "severity", "location", "radiation", "quality", "character", "timing",
        "frequency", "pattern", "course", "progression", "temperature", "temp", "fever", "medications",
        "medication", "medicines", "allergies", "allergy", "past medical history", "medical history",
        "history", "pmh", "social history", "family history", "smoking", "alcohol", "exposure",
        "known exposure", "sick contacts", "travel", "recent travel", "triggers", "trigger",
        "aggravating factors", "relieving factors", "alleviating factors", "associated symptoms",
        "headache", "cough", "sore throat", "runny nose", "nasal congestion", "congestion", "rash",
        "vomiting", "nausea", "diarrhea", "pain", "chest pain", "abdominal pain", "back pain",
        "shortness of breath", "last menstrual period", "lmp", "pregnancy", "vaccinations",
        "immunizations", "weight", "appetite", "sleep", "mood", "urine output", "wet diapers",
        "oral intake", "intake", "heart rate", "blood pressure", "blood sugar", "glucose", "oxygen",
        "self-treatment", "treatment", "treatment tried", "relief", "context", "setting", "mechanism",
        "occupation", "lives with", "speaker", "informant", "reported by", "history from",
    ],
    key=len,
    reverse=True,
)


_BACKGROUND_HEADS = ("past medical history", "medical history", "social history", "family history", "history", "pmh",
                     "medications", "medication", "medicines", "allergies", "allergy")


def _split_bare(item: str, section: str) -> tuple[str, str]:
    text = " ".join(item.split())
    lowered = text.lower()
    for head in _BACKGROUND_HEADS:  # "pmh dementia, mild": the history is "dementia, mild", not "mild"
        if lowered.startswith(head + " ") and len(text) > len(head) + 1:
            return text[: len(head)], text[len(head) + 1:].strip()
    for phrase in _TRAILING_PHRASES:
        if lowered.endswith(" " + phrase):
            return text[: -len(phrase)].strip(), phrase
    words = text.split(" ")
    if len(words) >= 2 and words[-1].lower().strip(",") in _TRAILING_STATUS:
        return " ".join(words[:-1]).strip(" ,"), words[-1].lower().strip(",")
    middle = _MIDDLE_STATUS.match(text)  # "vertigo yes, lasts under a minute"
    if middle:
        return middle.group(1).strip(), f"{middle.group(2).lower()}, {middle.group(3).strip()}"
    negated = _LEADING_NEGATION.match(text)
    if negated:
        return negated.group(2).strip(), "no"
    for head in _KNOWN_FINDINGS:
        if lowered.startswith(head + " ") and len(text) > len(head) + 1:
            return text[: len(head)], text[len(head) + 1:].strip()
    for index, word in enumerate(words):
        if index and re.match(r"^[<>~]?\d", word):
            start = index
            while start > 1 and words[start - 1].lower() in _NUMBER_PREFIXES:
                start -= 1
            return " ".join(words[:start]), " ".join(words[start:])
    return text, _default_value(section)
