"""The scripted standardized patient: answers an agent's questions from the clinical facts, no model.

It opens with the scenario's first message, then answers each question only from `clinical_facts`:
questions are matched to fact items through a table of lay and clinical synonyms; anything the facts
do not cover gets "I don't know."; it never volunteers, never diagnoses, never states a preference,
and on the last turn it asks the fixed triage question. Deterministic: the same conversation always
produces the same replies.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from preclinical.domain.facts import (
    DEMOGRAPHICS,
    NEGATIVES,
    OTHER,
    POSITIVES,
    Fact,
    Facts,
    is_negative,
    is_unknown,
    parse_facts,
)
from preclinical.domain.triage import TRIAGE_QUESTION

DEFAULT_OPENING = "Hello, I need some help."
DONT_KNOW = "I don't know."
NOTHING_TO_ADD = "I'm not sure what else to say."
ACKNOWLEDGEMENTS = ("Okay.", "Okay, thank you.", "Alright.", "Okay, I understand.")
MAX_FACTS_PER_REPLY = 3  # facts beyond the first answer to each part of the question
MAX_SENTENCES = 7  # a long, many-part question still gets a reply a person would say

# ---- the synonym table ---------------------------------------------------------------------------
# Each concept lists the words a question or a finding may use for it. A trailing `*` matches any
# word ending ("vomit*" → vomits, vomiting, vomited). Words may be separated by one filler word
# (your, the, my, a, any...), so "pain in chest" also reads "pain in your chest".
# The weight says how specific the concept is: a generic word like "pain" counts for little.

_CONCEPT_TABLE: tuple[tuple[str, float, str], ...] = (
    ("breathing", 2.0, "shortness of breath|short of breath|out of breath|breathless*|breathing|breathe|breath|"
     "sob|dyspn*|winded|catch breath|air hunger|respiratory distress|breathing difficulty|respiration*"),
    ("onset", 2.0, "how long|when did|when was|when it start*|when this start*|since when|onset|duration|"
     "start*|began|begin*|how many days|how many hours|how many weeks|first notice*|come on|came on|comes on|"
     "going on for|been going on|lasted|sudden*|gradual*|all of a sudden|how quickly|timeline|timing"),
    ("severity", 2.0, "how bad|how severe|severity|severe|scale|1 to 10|one to ten|out of 10|out of ten|"
     "rate it|rate the|rate your|intensity|how strong|how intense|how much pain|how painful|mild|moderate|"
     "pain level|pain score|how much does it hurt"),
    ("worst_ever", 3.0, "worst headache|worst pain of|worst pain ever|worst ever|worst of life|thunderclap|"
     "worst of your life|worst in your life"),
    ("fever", 2.0, "fever*|temperature|temp|feverish|febrile|thermometer|running hot|hot to touch"),
    ("chills", 2.0, "chills|chilly|shiver*|rigors|shaking chills"),
    ("vomiting", 2.0, "vomit*|throw up|throwing up|threw up|thrown up|being sick|been sick|was sick|puk*|emesis|keep anything down|"
     "keep food down|keep fluids down|keep water down|keep it down|keep liquids down"),
    ("nausea", 2.0, "nausea|nauseous|nauseated|queasy|sick to stomach|feel sick|feeling sick"),
    ("medications", 2.0, "medication*|medicine*|meds|pills|prescription*|tablets|taking anything|take anything|"
     "taken anything|tried anything|try anything|given anything|give anything|over the counter|otc|"
     "ibuprofen|tylenol|acetaminophen|paracetamol|advil|motrin|aspirin|drugs you take|treatment*|"
     "self-treatment|remed*|tried for"),
    ("allergies", 2.0, "allerg*|allergic"),
    ("age", 2.0, "how old|age|years old|months old|date of birth|birthday"),
    ("sex", 2.0, "sex|gender|male|female|man or woman|boy or girl"),
    ("pregnancy", 2.5, "pregnan*|expecting|weeks along|gestation*|could you be pregnant|trimester|due date|"
     "how many weeks along|how far along|how many weeks pregnant|weeks pregnant|how far gone"),
    ("period", 2.0, "period|periods|menstrua*|lmp|last menstrual|menses|cycle"),
    ("location", 2.0, "where|location|located|which part|which side|what part|point to|localized|whereabouts"),
    ("radiation", 2.5, "spread*|radiat*|go anywhere|goes anywhere|go to|goes to|goes into|go into|move to|moves to|"
     "travel to|travels|travelling to|traveling to|shoot*|extend*"),
    ("fainting", 2.5, "pass out|passed out|passing out|faint*|black out|blacked out|blackout|"
     "lost consciousness|loss of consciousness|syncop*|collapse*|unconscious|knocked out"),
    ("dizziness", 2.0, "dizz*|lightheaded*|light headed|vertigo|spinning|woozy|unsteady|off balance"),
    ("sweating", 2.0, "sweat*|diaphore*|clammy"),
    ("chest_pain", 2.0, "chest pain|chest pressure|chest tightness|chest discomfort|chest heaviness|tight chest|"
     "heavy chest|pain in chest|pressure in chest|tightness in chest|chest hurt*|chest"),
    ("headache", 2.0, "headache*|head hurt*|head pain|migraine*|head ache|pain in head|head is pounding"),
    ("neck_stiffness", 2.5, "stiff neck|neck stiff*|bend neck|chin to chest|touch chin|neck"),
    ("confusion", 2.5, "confus*|disorient*|not making sense|altered|trouble thinking|foggy|not acting like|"
     "acting strange|not himself|not herself|mental status|alert"),
    ("weakness", 2.0, "weak*|can't move|cannot move|paralys*|one side|one-sided"),
    ("stroke_signs", 2.5, "face droop*|facial droop*|droop*|slur*|speech|trouble speaking|difficulty speaking|"
     "trouble talking|talking funny|words out|uneven smile|lopsided"),
    ("numbness", 2.0, "numb*|tingl*|pins and needles"),
    ("vision", 2.0, "vision|see|seeing|sight|blurr*|double vision|eyesight|visual"),
    ("eye", 1.5, "eye|eyes|eyelid*|pink eye"),
    ("cough", 2.0, "cough*|phlegm|sputum|mucus"),
    ("hemoptysis", 3.0, "coughing up blood|cough up blood|coughed up blood|blood when cough*|hemoptysis|"
     "blood in phlegm|blood in sputum"),
    ("hematemesis", 3.0, "vomiting blood|vomit blood|vomited blood|throwing up blood|threw up blood|"
     "blood in vomit|coffee ground*|hematemesis"),
    ("blood_stool", 3.0, "blood in stool*|bloody stool*|black stool*|black poop|tarry|melena|rectal bleed*|"
     "blood when wipe|blood in poop|bloody diarrh*|blood from bottom|bleeding from bottom"),
    ("diarrhea", 2.0, "diarrh*|loose stool*|watery stool*|runny stool*|loose bowel*|the runs"),
    ("constipation", 2.0, "constipat*|bowel movement*|stool*|poop*|bowels"),
    ("abdominal_pain", 2.0, "abdominal pain|stomach pain|belly pain|tummy pain|stomach ache|stomachache|"
     "tummy ache|belly ache|abdomen|abdominal|belly|tummy|stomach|cramp*|pelvic|pelvis"),
    ("urinary", 2.0, "urin*|pee|peeing|wee|bladder|dysuria|burning when|burns when|pain when pee|"
     "going to the bathroom|toilet|frequency|urgency"),
    ("hematuria", 3.0, "blood in urine|bloody urine|pink urine|red urine|hematuria|blood in pee"),
    ("urine_output", 2.5, "wet diaper*|diaper*|nappies|nappy|wetting|urine output|peeing less|peed|"
     "last pee|last wet"),
    ("eating", 2.0, "eating|appetite|hungry|food|solids"),
    ("intake", 2.0, "drinking|fluids|drink|drinks|feeding|feeds|feed|"
     "nursing|breastfe*|bottle*|formula|intake|milk"),
    ("lethargy", 2.5, "sleepy|letharg*|drowsy|hard to wake|difficult to wake|floppy|limp|unusually tired|"
     "listless|responsive|not responding|unresponsive|less active|activity level|playful|"
     "playing|energy"),
    ("rash", 2.0, "rash*|spots|hives|welts|blotch*|red patches|skin|bumps|blisters|lesion*|fade|fades|fading|"
     "blanch*|press a glass|glass test|roll a glass"),
    ("airway_swelling", 3.0, "throat swelling|throat closing|throat tight*|swollen throat|tongue swelling|"
     "swollen tongue|lip swelling|swollen lips|swelling of lips|swelling of tongue|swelling of face|"
     "face swelling|facial swelling|swelling in mouth|trouble swallowing|difficulty swallowing|hard to swallow"),
    ("swelling", 2.0, "swell*|swollen|puffy|edema|oedema"),
    ("sore_throat", 2.0, "sore throat|throat|swallow*|tonsil*"),
    ("ear", 2.0, "ear|ears|earache|ear pain|hearing|tugging|pulling at ear"),
    ("nasal", 2.0, "runny nose|stuffy|stuffed|congest*|sneez*|nasal|nose|sinus*|blocked nose|post nasal"),
    ("bleeding", 2.0, "bleed*|blood|spotting|hemorrhag*"),
    ("injury", 2.0, "injur*|hurt yourself|fall|fell|falling|accident|trauma|twist*|bump*|hit|knock*|"
     "bang*|landed|rolled"),
    ("family_history", 2.5, "family history|runs in the family|runs in your family|family member*|relatives|"
     "anyone in your family|in the family"),
    ("history", 2.0, "history|medical condition*|medical history|health problem*|health condition*|conditions|"
     "history of|chronic|past medical|pmh|illness*|diagnos*|any problems with|heart problem*|heart disease|"
     "health issues|medical problem*|underlying"),
    ("smoking", 2.0, "smok*|cigarette*|tobacco|vape|vaping|nicotine"),
    ("alcohol", 2.0, "alcohol|drink alcohol|beer|wine|drinking alcohol|recreational|drug use|drugs|substance*"),
    ("travel", 2.0, "travel|travelled|traveled|trip|abroad|overseas|been away|flight|flew|long drive"),
    ("sick_contacts", 2.0, "sick contacts|anyone else sick|anyone sick|around anyone|exposed|exposure|"
     "contact with|others sick|someone sick|anyone at home|family sick|daycare|school|going around"),
    ("sleep", 2.0, "sleep*|insomnia"),
    ("mood", 2.0, "mood|depress*|hopeless*|anxious|anxiety|panic*|stress*|worried|worry|sad|down lately|"
     "feeling down|coping|cope"),
    ("self_harm", 3.0, "harm yourself|harming yourself|hurt yourself|hurting yourself|suicid*|kill yourself|"
     "end your life|ending your life|ending it|better off dead|self harm|self-harm|want to die|wish you were dead|"
     "thoughts of death|take your life|taking your life"),
    ("plan", 2.5, "a plan|plan|plans|how you would|means|access to"),
    ("palpitations", 2.5, "palpitat*|heart racing|racing heart|pounding heart|heart pounding|fluttering|"
     "skipping beats|skipped beats|heartbeat|heart beat|pulse|heart rate|racing"),
    ("leg", 1.5, "leg|legs|calf|calves|thigh*"),
    ("arm", 1.5, "arm|arms"),
    ("jaw", 1.5, "jaw"),
    ("shoulder", 1.5, "shoulder*"),
    ("back", 1.5, "back|flank|side"),
    ("joint", 1.5, "joint*|knee*|ankle*|wrist*|elbow*|hip|hips|foot|feet|hand|hands|finger*|toe|toes"),
    ("mobility", 2.0, "walk|walking|bear weight|put weight|weight on|move it|moving it|stand|standing|use it|limp*"),
    ("wheezing", 2.5, "wheez*|whistl*|inhaler*|puffer*|nebuli*"),
    ("cyanosis", 3.0, "blue|bluish|turning blue|grey|gray|cyanos*|pale|colour|color"),
    ("speaking", 2.0, "full sentences|speak|talk|talking|words"),
    ("course", 2.0, "getting worse|worse|worsening|getting better|better|improv*|changing|progress*|"
     "same|staying the same|any change|changed"),
    ("modifiers", 2.0, "makes it worse|makes it better|make it worse|make it better|worse when|worse with|"
     "better when|better with|relieve*|trigger*|aggravat*|alleviat*|brings it on|brought on|exertion|"
     "activity|exercise|press*|touch*|movement|moving|deep breath*|lying down|lie down|position*|eat|meals"),
    ("quality", 2.0, "what does it feel like|feel like|describe the pain|describe it|sharp|dull|stabbing|throbbing|"
     "crushing|squeez*|character|kind of pain|type of pain|burning|aching|cramping|pressure|tight*|heavy|heaviness"),
    ("pattern", 2.0, "constant|come and go|comes and goes|intermittent|all the time|on and off|off and on|"
     "continuous|steady|frequency|how often|times a day"),
    ("weight", 2.0, "weight loss|lost weight|weight|weigh"),
    ("discharge", 2.0, "discharge|pus|drainage|draining|oozing|leaking"),
    ("wound", 2.0, "cut|wound|laceration|scrape|bite*|bitten|sting*|stung|puncture|burn|burned|burnt|scratch"),
    ("redness", 2.0, "red|redness|warm|warmth|hot|streak*|inflamed"),
    ("vaccination", 2.0, "vaccin*|immuni*|shots|jabs|up to date"),
    ("aches", 1.5, "body ache*|aches|achy|muscle ache*|muscle pain|myalgia"),
    ("fatigue", 2.0, "tired*|fatigue*|exhausted|worn out|run down|energy"),
    ("blood_sugar", 2.0, "blood sugar|sugar|glucose|diabet*|insulin"),
    ("blood_pressure", 2.0, "blood pressure|bp|hypertension"),
    ("seizure", 3.0, "seiz*|convuls*|fit|fits|jerking|fitting"),
    ("itch", 2.0, "itch*|scratch*"),
    ("contraception", 2.0, "contracept*|birth control|condom*|protection|sexual*|sexually active|partner*"),
    ("heartburn", 2.0, "heartburn|reflux|acid|indigestion|sour taste"),
    ("speaker_info", 1.0, "who am i speaking|who is speaking|relationship|are you the parent|are you his|are you her"),
    ("pain", 0.6, "pain|pains|painful|hurt|hurts|hurting|ache|aching|sore|soreness|tender*|discomfort"),
)

# A specific concept also answers for its broader ones ("blood in urine" is about urine and about bleeding).
_PARENTS: dict[str, tuple[str, ...]] = {
    "hematuria": ("urinary", "bleeding"),
    "blood_stool": ("bleeding", "constipation"),
    "hematemesis": ("vomiting", "bleeding"),
    "hemoptysis": ("cough", "bleeding"),
    "worst_ever": ("headache", "severity"),
    "airway_swelling": ("swelling",),
    "urine_output": ("urinary",),
    "chest_pain": ("pain",),
    "headache": ("pain",),
    "abdominal_pain": ("pain",),
    "sore_throat": ("pain",),
    "self_harm": ("mood",),
    "family_history": ("history",),
}


def expand(concepts: set[str]) -> dict[str, float]:
    """Concepts with their broader parents; a parent counts for half."""
    weights: dict[str, float] = {}
    for concept in concepts:
        weights[concept] = max(weights.get(concept, 0.0), 1.0)
        for parent in _PARENTS.get(concept, ()):
            weights[parent] = max(weights.get(parent, 0.0), 0.5)
    return weights


_FILLER = r"(?:\s+(?:your|the|my|his|her|their|a|an|any|this|that|of|in|on|to))?"


def _compile_trigger(trigger: str) -> re.Pattern[str]:
    parts = []
    for word in trigger.split():
        if word.endswith("*"):
            parts.append(re.escape(word[:-1]) + r"[\w']*")
        else:
            parts.append(re.escape(word))
    body = (_FILLER + r"\s+").join(parts)
    return re.compile(r"(?<![\w'])" + body + r"(?![\w'])")


@dataclass(frozen=True)
class _Trigger:
    concept: str
    pattern: re.Pattern[str]
    size: int
    key: str  # the first word's literal text: a cheap substring test before the regex runs


_WEIGHTS: dict[str, float] = {name: weight for name, weight, _ in _CONCEPT_TABLE}
_TRIGGERS: list[_Trigger] = [
    _Trigger(name, _compile_trigger(trigger.strip()), len(trigger.strip()), trigger.split()[0].rstrip("*"))
    for name, _, triggers in _CONCEPT_TABLE
    for trigger in triggers.split("|")
    if trigger.strip()
]

CONCEPT_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _CONCEPT_TABLE)


@dataclass(frozen=True)
class Mention:
    """A concept found in a piece of text, with where and how it was said."""

    concept: str
    start: int
    end: int
    said: str


def normalize(text: str) -> str:
    """Lower-case, straighten quotes, read `1-10` as `1 to 10` and `light-headed` as `light headed`."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"(\d)\s*-\s*(\d)", r"\1 to \2", text)
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)
    text = text.replace("can not", "cannot")
    text = re.sub(r"\b(blood|pain|burning|swelling) in (?:your |the |his |her |my )?(\w+) or (?:in )?(?:your |the |his |her |my )?"
                  r"(\w+)\b", r"\1 in \2 or \1 in \3", text)
    # "black or bloody stools" asks about black stools and about bloody stools
    text = re.sub(r"\b(\w+) or (\w+) (stools?|poos?|poop|urine|pee|vomit|sputum|phlegm|discharge|patches|spots)\b",
                  r"\1 \3 or \2 \3", text)
    return text


def find_concepts(text: str) -> list[Mention]:
    """Concepts mentioned in `text`, longest phrases first, without overlaps, in reading order."""
    return list(_find_concepts(text))


@functools.lru_cache(maxsize=8192)
def _find_concepts(text: str) -> tuple[Mention, ...]:
    # Cached: fact lines are matched against every question of every turn, and ~800 patterns are not free.
    norm = normalize(text)
    candidates: list[tuple[int, int, str, str]] = []
    for trig in _TRIGGERS:
        if trig.key not in norm:
            continue
        for match in trig.pattern.finditer(norm):
            candidates.append((match.start(), match.end(), trig.concept, match.group(0)))
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0]))
    taken: list[tuple[int, int]] = []
    chosen: list[Mention] = []
    for start, end, concept, said in candidates:
        if any(start < t_end and end > t_start for t_start, t_end in taken):
            continue
        taken.append((start, end))
        chosen.append(Mention(concept, start, end, said))
    chosen.sort(key=lambda m: m.start)
    return tuple(chosen)


# ---- content words (the fallback when no concept matches) -----------------------------------------

_STOPWORDS = set(
    """
    a an the and or but if of to in on at for with from by about as into over under after before than then
    so too very just also still ever even really quite much many more most some any all each every no not
    nor none is are was were be been being am do does did doing done have has had having can could will
    would shall should may might must i me my mine you your yours he him his she her they them their we us
    our it its this that these those there here what which who whom whose when where why how whether
    okay ok please thanks thank sorry hear hello hi yes yeah well let know tell say said ask like feel
    feeling felt get getting got notice noticed noticing experience experiencing experienced symptom
    symptoms today now currently recently lately right other else thing things something anything
    everything go going see seem seems seemed time times day days week weeks hour hours minute minutes
    month months year years ago since until while other others one two three lot bit kind sort sure
    think want need make made take taking taken having had has been does going anyone someone describe
    last first
    """.split()
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ness", "ed", "es", "s", "y"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z][a-z']+", normalize(text))
    return {_stem(w) for w in words if w not in _STOPWORDS and len(w) >= 3}


# ---- splitting an agent message into questions ------------------------------------------------------

_QUESTION_START = re.compile(
    r"^(?:and |also |so |now |next |lastly |finally |first |okay |ok |alright |great |thanks |"
    r"just to check |one more thing |quickly )?"
    r"(?:do|does|did|are|is|was|were|have|has|had|any|can|could|would|will|how|what|when|where|which|who|"
    r"why|tell me|please tell|please describe|describe|rate|on a scale|roughly how)\b"
)
_NOT_QUESTION_START = re.compile(r"^(?:do not|don't|any time|anytime|have a |do try|is important|when you|"
                                 r"when (?:he|she|they)|once you|if you|whenever you)\b")
_OPEN_QUESTION = re.compile(
    r"\b(anything else|something else|any other (?:symptoms?|concerns?|questions?|issues?|problems?)|"
    r"tell me more|say more|more about|what else|elaborate|go on|other symptoms|anything more|"
    r"anything you(?:'d| would) like to add|anything to add)\b"
)
_COMPLAINT_QUESTION = re.compile(
    r"\b(what brings you|how can i help|how may i help|what can i do for you|what(?:'s| is) going on|"
    r"what seems to be|what(?:'s| is) (?:wrong|the problem|bothering you|happening)|what happened|"
    r"what symptoms are you|what(?:'s| is) your (?:main )?(?:concern|problem|complaint))\b"
)


def split_questions(message: str) -> list[str]:
    """The questions in an agent message: sentences ending in `?` and `Do you… / Any…` clauses."""
    text = " ".join(message.replace("\n", " . ").split())
    sentences = re.split(r"(?<=[?!])\s+|(?<=\.)\s+(?=[A-Za-z(\"'])|\s+[-\u2022*]\s+|\s+\d\)\s+|\s+\d\.\s+(?=[A-Z])", text)
    questions: list[str] = []
    for sentence in sentences:
        sentence = sentence.strip(" .")
        if not sentence:
            continue
        if sentence.endswith("?"):
            questions.append(sentence)
            continue
        lowered = sentence.lower().lstrip("(\"' ")
        # A clause after a dash or colon may carry the question ("Sorry to hear that — any fever").
        clauses = [lowered] + [c.strip() for c in re.split(r"\s[\u2014\u2013-]\s|:\s", lowered)[1:]]
        for clause in clauses:
            if _QUESTION_START.match(clause) and not _NOT_QUESTION_START.match(clause):
                questions.append(sentence)
                break
    return questions


_CLAUSE_SPLIT = re.compile(
    r"\s*;\s*|,?\s+(?:and|or|but|also|plus|then)\s+(?=(?:have|has|had|did|do|does|is|are|was|were|any|how|what|when|"
    r"where|which|who|can|could|would|will|has)\b)|,\s+(?=(?:have|has|had|did|do|does|is|are|was|were|how|what|when|"
    r"where|which|who|can|could)\b)",
    re.IGNORECASE,
)


def split_clauses(question: str) -> list[str]:
    """The parts of a compound question: "When did it start and have you taken anything?" → two parts."""
    parts = [part.strip(" ,?") for part in _CLAUSE_SPLIT.split(question)]
    return [part for part in parts if part]


# ---- who is speaking -------------------------------------------------------------------------------

_RELATIVE_RE = re.compile(
    r"\bmy (\d+[- ]?(?:year|month|week|day)s?[- ]?old|son|daughter|baby|child|kid|toddler|boy|girl|infant|"
    r"newborn|little one|mom|mother|mum|dad|father|husband|wife|partner|grandmother|grandma|grandfather|"
    r"grandpa|grandad|granddad|gran|granny|nan|nana|brother|sister)\b"
)
# "My mum has...", "my dad's been...", "My baby won't...": the relative is the one with the symptoms. "After a row
# with my mum" is not. A relative at the start of a sentence, or followed by a verb or a body part, counts.
_RELATIVE_SUBJECT = re.compile(
    r"^(?:'s\b|\s+(?:\d+[- ]?(?:year|month|week|day)s?[- ]?old\s+)?(?:son|daughter|boy|girl)?\s*"
    r"(?:has|is|was|had|have|keeps|kept|can't|cannot|won't|fell|got|woke|seems|hasn't|isn't|feels|felt|says|said|"
    r"took|swallowed|started|just|been|looks|looked|face|head|arm|leg|eye|ear|skin|chest|tummy|belly|breathing|"
    r"temperature|does|did|doesn't|didn't|keeps|complains|threw|vomited|collapsed|passed)\b)"
)
_MALE_WORDS = {"male", "man", "boy", "son", "he", "him", "his", "dad", "father", "husband", "grandfather", "grandpa",
               "grandad", "granddad", "brother", "m"}
_FEMALE_WORDS = {"female", "woman", "girl", "daughter", "she", "her", "mom", "mother", "mum", "wife", "grandmother",
                 "grandma", "gran", "granny", "nan", "nana", "sister", "f"}
_SPEAKER_FINDINGS = {"speaker", "informant", "reporter", "history from", "reported by", "caller", "history given by",
                     "source", "historian", "person speaking", "speaking", "who is speaking", "who's speaking"}
_CAREGIVER_WORDS = re.compile(r"\b(parent|mother|mom|mum|father|dad|caregiver|carer|guardian|grand\w*|spouse|wife|"
                              r"husband|partner|daughter|son|relative|family)\b")


@dataclass(frozen=True)
class Voice:
    """How the patient refers to the person with the symptoms: themself, or a child or relative."""

    person: str = "first"  # "first" or "third"
    gender: str = "unknown"  # "male", "female" or "unknown"

    @property
    def third(self) -> bool:
        return self.person == "third"

    def words(self) -> dict[str, str]:
        if not self.third:
            return {"I": "I", "my": "my", "me": "me", "Ive": "I've", "havent": "I haven't", "Im": "I'm",
                    "dont": "I don't", "have": "I have", "take": "I take", "was": "was", "myself": "myself"}
        subject, obj, poss, refl = {
            "male": ("he", "him", "his", "himself"),
            "female": ("she", "her", "her", "herself"),
        }.get(self.gender, ("they", "them", "their", "themselves"))
        plural = subject == "they"
        return {
            "I": subject,
            "my": poss,
            "me": obj,
            "Ive": f"{subject}'ve" if plural else f"{subject}'s",
            "havent": f"{subject} haven't" if plural else f"{subject} hasn't",
            "Im": f"{subject}'re" if plural else f"{subject}'s",
            "dont": f"{subject} don't" if plural else f"{subject} doesn't",
            "have": f"{subject} have" if plural else f"{subject} has",
            "take": f"{subject} take" if plural else f"{subject} takes",
            "was": "were" if plural else "was",
            "myself": refl,
        }


def detect_voice(facts: Facts, content: dict[str, Any]) -> Voice:
    """First person by default; a parent or relative speaks about 'he/she' when the case says so."""
    opening = str(content.get("initial_message") or "").lower()
    demographics = content.get("demographics")
    if isinstance(demographics, dict):
        demo_text = " ".join(str(v) for v in demographics.values())
    else:
        demo_text = str(demographics or "")
    demo_text = (demo_text + " " + facts.demographics_text()).lower()

    third: bool | None = None
    relation = ""
    for fact in facts.all():
        if fact.finding.strip().lower() in _SPEAKER_FINDINGS:
            value = fact.value.lower()
            if re.search(r"\b(self|patient|himself|herself|themself|"
                         r"the patient)\b", value) and not _CAREGIVER_WORDS.search(value):
                third = False
            elif _CAREGIVER_WORDS.search(value):
                third = True
    match = next((m for m in _RELATIVE_RE.finditer(opening)
                  if _RELATIVE_SUBJECT.match(opening[m.end():]) or re.search(r"(^|[.!?]\s*|^\W*(hi|hello|hey)\W+)$",
                                                                            opening[:m.start()])), None)
    if match:
        relation = match.group(1)
        if third is None:
            third = True
    if third is None:
        age = _age_in_years(facts, demo_text)
        third = age is not None and age < 12
    gender = "unknown"
    for fact in facts.sections.get(DEMOGRAPHICS, []):
        if fact.finding.lower() in {"sex", "gender"}:
            words = fact.value.lower().split()
            if words and words[0] in _MALE_WORDS:
                gender = "male"
            elif words and words[0] in _FEMALE_WORDS:
                gender = "female"
    if gender == "unknown":
        for word in re.findall(r"[a-z]+", (relation + " " + demo_text) if third else demo_text):
            if word in _MALE_WORDS:
                gender = "male"
                break
            if word in _FEMALE_WORDS:
                gender = "female"
                break
    if not third:
        return Voice("first", gender)
    if gender == "unknown":
        for word in re.findall(r"[a-z]+", opening):
            if word in {"he", "him", "his"}:
                gender = "male"
                break
            if word in {"she", "her", "hers"}:
                gender = "female"
                break
    return Voice("third", gender)


def _age_in_years(facts: Facts, demo_text: str) -> float | None:
    texts = [f.value for f in facts.sections.get(DEMOGRAPHICS, []) if f.finding.lower() == "age"] + [demo_text]
    for text in texts:
        match = re.search(r"(\d+(?:\.\d+)?)\s*[- ]?\s*(year|yr|month|mo|week|wk|day)?", text.lower())
        if not match:
            continue
        number = float(match.group(1))
        unit = match.group(2) or "year"
        if unit.startswith(("month", "mo")):
            return number / 12
        if unit.startswith(("week", "wk")):
            return number / 52
        if unit.startswith("day"):
            return number / 365
        return number
    return None


# ---- rendering a fact as something a patient would say -------------------------------------------

_NON_NOUN_STARTS = (
    "able ", "unable ", "can ", "can't ", "cannot ", "could ", "worse ", "better ", "worsening", "improving",
    "eating", "drinking", "taking", "using", "feeling", "tolerating", "keeping", "passing", "making",
    "waking", "walking", "moving", "sleeping", "pain worse", "pain better", "pain with", "pain on", "increased",
    "decreased", "reduced", "playing", "acting", "behaving", "responds", "responding", "alert", "awake",
    "up to date", "recently ", "worse", "relieved", "triggered", "started", "occurs", "seeing a", "taken any",
    "missed ", "heard ", "cried", "alone",
)
_ADJECTIVE_FINDINGS = {
    "sleepy", "drowsy", "tired", "dizzy", "lightheaded", "light-headed", "confused", "nauseous", "nauseated",
    "feverish", "irritable", "fussy", "lethargic", "pale", "weak", "itchy", "bloated", "constipated", "dehydrated",
    "thirsty", "anxious", "depressed", "sad", "hopeless", "restless", "agitated", "sweaty", "clammy", "flushed",
    "jaundiced", "breathless", "short of breath", "unwell", "alone", "pregnant", "faint",
}
_CONDITIONS = {
    "diabetes", "asthma", "cancer", "high blood pressure", "heart disease", "heart problems", "epilepsy", "copd",
    "kidney disease", "liver disease", "hiv", "arthritis", "osteoporosis", "eczema", "allergies", "anemia", "anaemia",
    "thyroid problems", "history of cancer", "lung disease", "migraines", "depression", "anxiety",
}
_COUNT_NOUNS = {
    "cough", "fever", "headache", "rash", "sore throat", "runny nose", "stuffy nose", "blocked nose",
    "stiff neck", "seizure", "lump", "nosebleed", "fall", "cold", "blister", "wound", "cut", "bruise",
    "earache", "migraine", "bump", "stomach ache", "stomachache", "toothache", "sore", "plan",
}
_MEASURE_WORDS = (
    "temperature", "heart rate", "pulse", "blood pressure", "blood sugar", "glucose", "weight",
    "oxygen", "oxygen level", "saturation", "last period", "last menstrual period", "lmp", "due date", "last meal",
    "last bowel movement", "last wet diaper", "last void", "reading", "peak flow", "ketones",
)
_ADJECTIVE_STARTS = {
    "fewer", "less", "more", "normal", "decreased", "increased", "reduced", "same", "usual", "lower", "higher",
    "swollen", "red", "black", "dark", "dry", "wet", "sharp", "dull", "mild", "moderate", "severe", "pink", "puffy",
    "thick", "thin", "hot", "cold", "warm", "very", "slightly", "light", "constant", "clear", "cloudy", "yellow",
    "green", "white", "brown", "blue", "purple", "grey", "gray", "raised", "tender", "sore", "painful", "itchy",
    "stiff", "tight", "deep", "fast", "slow", "shallow", "rough", "crusty", "sticky", "runny", "watery", "loose",
    "hard", "soft", "pale", "bright", "heavy", "weak", "numb", "scratchy", "tickly", "bloody", "golden", "small",
    "large", "big", "huge", "tiny", "shiny", "irritating", "unpleasant", "grumpy", "poor", "good", "fine", "ok",
    "okay", "worse", "better", "much", "quite", "rather", "extremely", "really", "a bit", "somewhat",
}
_VERB_STARTS = {
    "feels", "feel", "looks", "look", "sounds", "seems", "is", "was", "are", "has", "have", "keeps", "gets", "got",
    "comes", "goes", "went", "came", "hurts", "started", "reached", "spread", "spreads", "settles", "settled",
    "eases", "eased", "stopped", "helps", "helped", "lasts", "lasted", "woke", "wakes", "can", "could", "cannot",
    "can't", "won't", "will", "does", "did", "doesn't", "didn't", "bends", "stays", "happens", "happened",
    "becomes", "became", "turns", "turned",
}
_PREPOSITIONS = ("in ", "on ", "at ", "around ", "over ", "under ", "behind ", "across ", "all ", "inside ",
                 "below ", "above ", "between ", "near ", "along ", "through ", "both ", "everywhere", "down ",
                 "into ", "up ", "from ")
_PRESENCE_WORDS = {"yes", "present", "positive", "confirms", "confirmed", "y"}
_TIME_START = re.compile(
    r"^(\d+|about|around|roughly|approximately|almost|nearly|over|under|just|this|last(?= (?:night|week|month|year|"
    r"weekend|\w+day|evening|morning|time|few|couple|\d))|yesterday|today|tonight|"
    r"since|in the|on|at|a few|a couple|an? (hour|day|week|month|minute|year|few|couple)|one|two|three|four|five|"
    r"six|seven|eight|nine|ten|several|sudden|gradual|abrupt|slowly|quickly|earlier|overnight|early|late|after|"
    r"before|when|while|during|for|within|first|two|woke|started|began|came|come|built|noticed|the past|the last|"
    r"the day|the night|the morning|the evening|the afternoon|weeks|days|hours|months|minutes)\b"
)
_FIRST_PERSON_SKIP = {"was", "sometimes", "always", "perhaps", "also", "thus", "less", "unless", "seriously", "nevertheless",
                      "is", "has", "does", "usually", "occasionally", "obviously", "previously", "various"}


def _cap(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def _sentence(text: str) -> str:
    text = _cap(" ".join(text.split()))
    if text and text[-1] not in ".!?":
        text += "."
    return text


def _strip_presence(value: str) -> str:
    """`yes, heavy, mid-chest` → `heavy, mid-chest`; `present` → ``."""
    v = value.strip()
    match = re.match(r"^(yes|present|positive|confirmed?)\b[\s,;:\u2014\u2013-]*", v, re.IGNORECASE)
    return v[match.end():].strip() if match else v


def _strip_negation(value: str) -> str:
    """`no, not since Tuesday` → `not since Tuesday`; `none` → ``."""
    v = value.strip()
    match = re.match(r"^(no|none|denies|denied|negative|never|nil|nothing|absent)\b[\s,;:\u2014\u2013-]*", v, re.IGNORECASE)
    return v[match.end():].strip() if match else v


def to_first_person(text: str, sex: str) -> str:
    """Facts are often written about the patient ("when he stands up"); a patient says "when I stand up"."""
    if sex not in {"male", "female"}:
        return text
    if sex == "male":
        text = re.sub(r"\bhe's been\b", "I've been", text, flags=re.IGNORECASE)
        text = re.sub(r"\bhe's\b", "I'm", text, flags=re.IGNORECASE)
        text = re.sub(r"\bhimself\b", "myself", text, flags=re.IGNORECASE)
        text = re.sub(r"\bhim\b", "me", text, flags=re.IGNORECASE)
        text = re.sub(r"\bhis\b", "my", text, flags=re.IGNORECASE)
        text = re.sub(r"\bhe\b", "I", text, flags=re.IGNORECASE)
    else:
        text = re.sub(r"\bshe's been\b", "I've been", text, flags=re.IGNORECASE)
        text = re.sub(r"\bshe's\b", "I'm", text, flags=re.IGNORECASE)
        text = re.sub(r"\bherself\b", "myself", text, flags=re.IGNORECASE)
        text = re.sub(r"\bhers\b", "mine", text, flags=re.IGNORECASE)
        text = re.sub(r"\bher(?=\s+(?:own\s+)?[a-z])(?!\s+(?:and|or|to|in|on|at|for|with|up|down|out|off|back|again|"
                      r"that|when|if|but|because|so|as|awake|asleep|feel|feeling|sleep|now|today|yet|still|much|a|the|"
                      r"more|less|from|about|into|over|through|alone|well|better|worse|go|going|get|getting)\b)",
                      "my", text, flags=re.IGNORECASE)
        text = re.sub(r"\bher\b", "me", text, flags=re.IGNORECASE)
        text = re.sub(r"\bshe\b", "I", text, flags=re.IGNORECASE)
    fixes = {"has": "have", "is": "am", "does": "do", "doesn't": "don't", "hasn't": "haven't", "isn't": "am not",
             "was": "was", "wasn't": "wasn't", "i's": "I'm"}

    def agree(match: re.Match[str]) -> str:
        verb = match.group(1)
        low = verb.lower()
        if low in fixes:
            return "I " + fixes[low]
        if low in _FIRST_PERSON_SKIP or len(low) <= 3 or low.endswith(("ss", "us", "is", "ous")):
            return match.group(0)
        if low.endswith("ies"):
            return "I " + verb[:-3] + "y"
        if re.search(r"(sh|ch|x|z|o)es$", low):
            return "I " + verb[:-2]
        if low.endswith("s"):
            return "I " + verb[:-1]
        return match.group(0)

    return re.sub(r"\bI ([A-Za-z']+)\b", agree, text)


def _article(finding: str) -> str:
    return "a " if finding.lower() in _COUNT_NOUNS else ""


def _is_adjective_finding(finding: str) -> bool:
    low = finding.lower().strip()
    return low in _ADJECTIVE_FINDINGS or bool(re.match(r"^(unusually|very|more|less|abnormally|excessively|"
                                                       r"extremely)\s", low))


def _is_noun_like(finding: str) -> bool:
    lowered = finding.lower().strip()
    if lowered.startswith(_NON_NOUN_STARTS) or _is_adjective_finding(lowered):
        return False
    return not re.search(r"\b(worse|better|with|when|after|while|to)\b", lowered) or lowered.startswith(
        ("pain radiating", "shortness of breath", "difficulty", "trouble", "thoughts of", "pain in", "swelling of",
         "blood in", "pain when", "burning with", "burning when", "pain with", "sensitivity to", "pain on", "pain spreading")
    )


def _is_plural(finding: str) -> bool:
    last = finding.lower().split()[-1] if finding.split() else ""
    return last.endswith("s") and not last.endswith(("ss", "us", "is", "ness", "sis"))


_ATTRIBUTE_CONCEPTS = ("severity", "onset", "location", "radiation", "quality", "pattern", "course", "modifiers",
                       "medications", "allergies")


def _primary_concept(fact: Fact) -> str | None:
    mentions = find_concepts(fact.finding)
    if not mentions:
        return None
    attributes = [m for m in mentions if m.concept in _ATTRIBUTE_CONCEPTS]
    if attributes and len(mentions) > 1:
        return attributes[-1].concept
    return max(mentions, key=lambda m: (_WEIGHTS.get(m.concept, 1.0), -m.start)).concept


def _number_out_of_ten(value: str) -> str | None:
    match = re.search(r"(\d+(?:\.\d+)?)\s*(?:/|out of|of)\s*10\b", value)
    if match:
        return match.group(1)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*", value)
    if match and float(match.group(1)) <= 10:
        return match.group(1)
    return None


@dataclass(frozen=True)
class Rendered:
    kind: str  # "pos", "neg" or "unk"
    sentence: str
    neg_item: str | None = None  # a noun phrase when this negative can join a combined "No, ... any A, B or C."


# ---- lay words: a patient does not say "lethargy" ------------------------------------------------------
# Clinical words that facts are often written in, and what a patient or parent would say instead. General, not per
# case: any fact line is read through this table before the patient says it.
_LAY_TERMS: tuple[tuple[str, str], ...] = (
    (r"altered mental status|altered consciousness", "not acting normally"),
    (r"loss of consciousness|\bloc\b|syncopal episodes?|syncope", "fainting"),
    (r"pre-?syncope|near[- ]syncope", "nearly fainting"),
    (r"dyspn(?:o)?ea|\bsob\b", "shortness of breath"),
    (r"orthopn(?:o)?ea", "breathlessness lying flat"),
    (r"tachypn(?:o)?ea", "fast breathing"),
    (r"tachypn(?:o)?eic", "breathing fast"),
    (r"tachycardi(?:a|c)", "a racing heart"),
    (r"diaphoresis", "sweating"),
    (r"diaphoretic", "sweaty"),
    (r"ha?ematemesis", "vomiting blood"),
    (r"ha?emoptysis", "coughing up blood"),
    (r"ha?ematuria", "blood in the pee"),
    (r"ha?ematochezia|rectal bleeding", "blood in the poo"),
    (r"mela?ena", "black, tarry poo"),
    (r"epistaxis", "a nosebleed"),
    (r"emesis", "vomiting"),
    (r"dysuria", "burning when peeing"),
    (r"polyuria", "peeing a lot"),
    (r"polydipsia", "being very thirsty"),
    (r"nocturia", "getting up at night to pee"),
    (r"micturition", "peeing"),
    (r"pyrexia", "fever"),
    (r"afebrile", "no fever"),
    (r"febrile", "feverish"),
    (r"photophobia", "light hurting my eyes"),
    (r"phonophobia", "noise bothering me"),
    (r"rhinorrh(?:o)?ea", "a runny nose"),
    (r"myalgias?", "aching muscles"),
    (r"arthralgias?", "sore joints"),
    (r"pruritus", "itching"),
    (r"pruritic", "itchy"),
    (r"erythematous", "red"),
    (r"erythema", "redness"),
    (r"angio-?o?edema", "swelling of the lips or face"),
    (r"o?edematous", "swollen"),
    (r"o?edema", "swelling"),
    (r"para?esthesias?", "pins and needles"),
    (r"vertigo", "the room spinning"),
    (r"otalgia", "earache"),
    (r"odynophagia", "pain when swallowing"),
    (r"dysphagia", "trouble swallowing"),
    (r"anorexia", "not wanting to eat"),
    (r"cyanosis", "going blue"),
    (r"cyanotic", "blue"),
    (r"urticaria", "hives"),
    (r"diplopia", "double vision"),
    (r"dysarthria", "slurred speech"),
    (r"aphasia", "trouble getting words out"),
    (r"hemiparesis|hemiplegia", "weakness down one side"),
    (r"ataxia", "being unsteady on my feet"),
    (r"nuchal rigidity|meningismus", "a stiff neck"),
    (r"lymphadenopathy", "swollen glands"),
    (r"rigou?rs", "shaking chills"),
    (r"dyspepsia", "indigestion"),
    (r"dysmenorrh(?:o)?ea", "painful periods"),
    (r"menorrhagia", "very heavy periods"),
    (r"amenorrh(?:o)?ea", "no periods"),
    (r"\blmp\b", "last period"),
    (r"fetal movements?", "the baby's movements"),
    (r"somnolen(?:t|ce)", "very sleepy"),
    (r"obtunded", "very hard to wake"),
    (r"photopsia", "flashing lights"),
    (r"scotoma", "a blind spot"),
    (r"tinnitus", "ringing in the ears"),
    (r"epigastri(?:um|c)", "upper tummy"),
    (r"periumbilical", "around the belly button"),
    (r"suprapubic", "low down in the tummy"),
    (r"\brlq\b|right lower quadrant", "lower right side of the tummy"),
    (r"\bruq\b|right upper quadrant", "upper right side of the tummy"),
    (r"\bllq\b|left lower quadrant", "lower left side of the tummy"),
    (r"\bluq\b|left upper quadrant", "upper left side of the tummy"),
    (r"retrosternal|substernal", "behind the breastbone"),
    (r"precordial", "across the chest"),
    (r"occipital", "at the back of the head"),
    (r"pleuritic", "worse when breathing in"),
    (r"exertional", "when exerting myself"),
    (r"productive cough", "cough with phlegm"),
    (r"non-?productive cough", "dry cough"),
    (r"sputum", "phlegm"),
    (r"\bpo intake\b|oral intake", "eating and drinking"),
    (r"bilateral(?:ly)?", "on both sides"),
    (r"unilateral(?:ly)?", "on one side"),
    (r"intermittent(?:ly)?", "on and off"),
    (r"hypertension", "high blood pressure"),
    (r"hyperlipid(?:a)?emia|hypercholesterol(?:a)?emia|dyslipid(?:a)?emia", "high cholesterol"),
    (r"anhedonia", "not enjoying things"),
    (r"suicidal ideation", "thoughts of suicide"),
    (r"ideation", "thoughts"),
    (r"intercostal recession|subcostal recession|recession|retractions?", "the skin sucking in around the ribs"),
    (r"apn(?:o)?eas?", "pauses in breathing"),
    (r"immuni[sz]ations", "vaccinations"),
    (r"psychotic symptoms", "hearing or seeing things that aren't there"),
    (r"abdominal", "tummy"),
    (r"abdomen", "tummy"),
    (r"\bhx\b", "history"),
    (r"\bw/", "with "),
)
_LAY_COMPILED = tuple((re.compile(r"(?<![\w-])(?:" + pattern + r")(?![\w-])", re.IGNORECASE), lay)
                      for pattern, lay in _LAY_TERMS)
# Clinical states a patient would describe rather than name: (when present, when denied), said after "been".
_LAY_STATES: dict[str, tuple[str, str]] = {
    "lethargy": ("really floppy and sleepy", "unusually floppy or sleepy"),
    "lethargic": ("really floppy and sleepy", "unusually floppy or sleepy"),
    "listless": ("really floppy and sleepy", "unusually floppy or sleepy"),
    "listlessness": ("really floppy and sleepy", "unusually floppy or sleepy"),
    "hypotonia": ("really floppy", "floppy"),
    "drowsiness": ("really drowsy", "unusually drowsy"),
    "somnolence": ("very sleepy", "unusually sleepy"),
    "malaise": ("feeling generally unwell", "feeling generally unwell"),
    "fatigue": ("really tired", "unusually tired"),
    "irritability": ("really irritable and unsettled", "unusually irritable"),
    "diaphoresis": ("really sweaty", "sweaty"),
    "tachypnea": ("breathing fast", "breathing fast"),
    "tachypnoea": ("breathing fast", "breathing fast"),
    "confusion": ("confused", "confused"),
}


def lay_words(text: str) -> str:
    """Clinical words in `text` replaced by what a patient would say ("dyspnea on exertion" → "shortness of breath...")."""
    for pattern, lay in _LAY_COMPILED:
        text = pattern.sub(lay, text)
    return text


# Findings that are something the patient has been doing ("I've been vomiting"), not something they have had.
_DOING = {"vomiting", "sweating", "coughing", "wheezing", "bleeding", "sneezing", "shaking", "shivering", "itching",
          "spotting", "throwing", "crying", "drooling", "grunting", "scratching", "limping", "snoring"}


def render_fact(fact: Fact, voice: Voice) -> Rendered:
    """Say one fact in the patient's voice: confirm, deny or admit not knowing, in lay words."""
    w = voice.words()
    state = _LAY_STATES.get(fact.finding.strip().lower())
    if state and not is_unknown(fact):
        detail = _strip_negation(_strip_presence(lay_words(fact.value.strip())))
        if is_negative(fact):
            return Rendered("neg", _sentence(f"no, {w['havent']} been {state[1]}"))
        tail = f" \u2014 {detail}" if detail and detail.lower() not in _PRESENCE_WORDS else ""
        return Rendered("pos", _sentence(f"yes, {w['Ive']} been {state[0]}{tail}"))
    fact = Fact(fact.section, _attribute_tail(lay_words(fact.finding.strip())), lay_words(fact.value.strip()), fact.text)
    finding = fact.finding.strip()
    low_finding = finding.lower()
    value = fact.value.strip()
    if not voice.third:
        value = to_first_person(value, voice.gender)
    low_value = value.lower()
    concept = _primary_concept(fact)

    if is_unknown(fact):
        return Rendered("unk", DONT_KNOW)
    if low_value in {"nkda", "nka", "no known allergies", "no known drug allergies"}:
        return Rendered("neg", _sentence(f"no, {w['dont']} have any allergies"))
    if low_finding == "age" or (fact.section == DEMOGRAPHICS and concept == "age"):
        return Rendered("pos", _render_age(value, voice))
    if low_finding in {"sex", "gender"}:
        if voice.third:
            kid = {"male": "a boy", "female": "a girl"}.get(low_value.split()[0] if low_value else "", low_value)
            return Rendered("pos", _sentence(f"{w['Im']} {kid}"))
        return Rendered("pos", _sentence(f"I'm {low_value}"))
    if is_negative(fact):
        return _render_negative(finding, concept, value, voice)
    return _render_positive(finding, concept, value, voice)


_ATTRIBUTE_TAILS = ("onset", "duration", "severity", "location", "radiation", "quality", "character", "timing",
                    "frequency", "pattern", "course", "progression")


def _attribute_tail(finding: str) -> str:
    """`heartburn duration` (a nested list item) is said as its `duration`: the question named the subject."""
    words = finding.split()
    if len(words) >= 2 and words[-1].lower() in _ATTRIBUTE_TAILS:
        return words[-1].lower()
    return finding


def _render_age(value: str, voice: Voice) -> str:
    w = voice.words()
    number = re.search(r"\d+(?:\.\d+)?", value)
    if not number:
        return _sentence(f"{w['Im']} {value}")
    unit = re.search(r"(month|week|day|year)s?", value.lower())
    if unit and unit.group(1) != "year":
        n = number.group(0)
        u = unit.group(1) + ("" if n == "1" else "s")
        return _sentence(f"{w['Im']} {n} {u} old")
    if voice.third:
        return _sentence(f"{w['Im']} {number.group(0)} years old")
    return _sentence(f"I'm {number.group(0)}")


def _render_negative(finding: str, concept: str | None, value: str, voice: Voice) -> Rendered:
    w = voice.words()
    low = finding.lower()
    if re.match(r"^not\b", value.strip(), re.IGNORECASE):
        return Rendered("neg", _sentence(f"no \u2014 {value}"))
    rest = _strip_negation(value)
    tail = f" \u2014 {rest}" if rest and len(rest.split()) > 1 else ""
    templates = {
        "medications": f"no, {w['dont']} take any medications",
        "allergies": f"no, {w['dont']} have any allergies",
        "history": f"no, {w['dont']} have any medical conditions",
        "pregnancy": f"no, {w['Im']} not pregnant",
        "smoking": f"no, {w['dont']} smoke",
        "alcohol": f"no, {w['dont']} drink alcohol or use drugs",
        "travel": f"no, {w['havent']} travelled recently",
        "sick_contacts": f"no, nobody around {w['me']} has been sick",
        "radiation": "no, it doesn't spread anywhere",
        "fever": f"no, {w['havent']} had any fever",
        "injury": "no, there wasn't any injury",
        "vaccination": f"no, {w['Im']} not up to date on vaccines",
    }
    exact = {
        "radiation": {"radiation", "radiating", "spread"},
        "fever": {"fever", "temperature", "feverish", "fevers"},
        "injury": {"injury", "trauma", "recent injury", "injury or trauma", "falls", "fall"},
        "history": {"history", "medical history", "past medical history", "pmh", "medical conditions", "conditions"},
        "medications": {"medications", "medication", "medicines", "meds", "regular medications"},
        "allergies": {"allergies", "allergy", "drug allergies"},
        "pregnancy": {"pregnant", "pregnancy", "could be pregnant", "possibility of pregnancy"},
    }
    if concept in templates and (concept not in exact or low in exact[concept]):
        joinable = "fever" if concept == "fever" and not tail else None
        return Rendered("neg", _sentence(templates[concept] + tail), joinable)
    if low.startswith("able to "):
        return Rendered("neg", _sentence(f"no, {w['Im']} not {finding}" + tail))
    if low.startswith("unable to "):
        return Rendered("neg", _sentence(f"no, {w['I']} can {finding[len('unable to '):]}" + tail))
    for prefix in ("can't ", "cannot ", "can not "):
        if low.startswith(prefix):
            return Rendered("neg", _sentence(f"no, {w['I']} can {finding[len(prefix):]}" + tail))
    if _is_adjective_finding(finding):
        return Rendered("neg", _sentence(f"no, {w['Im']} not {finding}" + tail))
    if low in _CONDITIONS:
        return Rendered("neg", _sentence(f"no, {w['dont']} have {finding}" + tail))
    if _is_noun_like(finding):
        if low.split()[0] in _DOING and len(low.split()) > 1:  # "vomiting blood"; a bare "vomiting" joins a list
            return Rendered("neg", _sentence(f"no, {w['havent']} been {finding}" + tail))
        sentence = _sentence(f"no, {w['havent']} had any {finding}" + tail)
        return Rendered("neg", sentence, None if tail else finding)
    return Rendered("neg", _sentence(f"no, not {finding}" + tail))


def _render_positive(finding: str, concept: str | None, value: str, voice: Voice) -> Rendered:
    w = voice.words()
    low = finding.lower()
    detail = _strip_presence(value)
    bare_yes = value.strip().lower() in _PRESENCE_WORDS or not detail
    say = lambda text: Rendered("pos", _sentence(text))  # noqa: E731

    if concept == "onset" and not bare_yes and low in {"onset", "duration", "timing", "started", "start", "began",
                                                       "when it started", "time of onset", "how long"}:
        return say(_onset_sentence(detail))
    if concept == "severity" and not bare_yes:
        score = _number_out_of_ten(detail.lower())
        subject = re.sub(r"\s*(severity|score|level|intensity)$", "", low).strip()
        if subject in {"", "pain"}:
            subject = ""
        if score:
            rest = re.sub(r"\d+(?:\.\d+)?\s*(?:/|out of|of)\s*10\b", "", detail)
            rest = ", ".join(part.strip() for part in re.split(r"\s*,\s*", rest) if part.strip(" ,;:"))
            lead = f"I'd say the {subject} is about {score} out of 10" if subject else f"I'd say about {score} out of 10"
            return say(lead + (f", {rest}" if rest else ""))
        if len(detail.split()) <= 3:
            return say(f"the {subject} is {detail}" if subject else f"it's {detail}")
        return say(detail)
    if concept == "medications" and not bare_yes:
        if re.search(r"\b(tried|taken|given|for this|so far|treatment|self|relief)\b", low):
            return say(f"{w['Ive']} tried {detail}")
        if re.search(r"\b(this morning|last night|yesterday|earlier|ago|at \d|today|tonight)\b", detail.lower()):
            return say(f"{w['I']} had {detail}")
        return say(f"{w['take']} {detail}")
    if concept == "allergies" and not bare_yes:
        detail = re.sub(r"^(allergic to|allergy to)\s+", "", detail, flags=re.IGNORECASE)
        detail = re.sub(r"[,\s]+(suspected|possible|probably|maybe)$", ", I think", detail, flags=re.IGNORECASE)
        return say(f"{w['Im']} allergic to {detail}")
    if concept == "history" and not bare_yes and low in {"history", "medical history", "past medical history", "pmh",
                                                         "medical conditions", "conditions", "past history"}:
        first = detail.lower().split()[0] if detail.split() else ""
        if re.match(r"^(no|none)\b", detail, re.I):
            return say(detail)
        if first in {"born", "diagnosed", "treated"}:
            return say(f"{w['I']} {w['was']} {detail}")
        if first in {"had", "been"}:
            return say(f"{w['Ive']} {detail}")
        if first in {"healthy", "well", "fit"}:
            return say(f"{w['Im']} {detail}")
        if first in {"ex-smoker", "non-smoker", "smoker"}:
            return say(f"{w['Im']} an {detail}" if first[0] in "aeiou" else f"{w['Im']} a {detail}")
        return say(f"{w['have']} {detail}")
    if concept == "pregnancy" and low in {"pregnant", "pregnancy"}:
        return say(f"yes, {w['Im']} pregnant" + (f" \u2014 {detail}" if not bare_yes else ""))
    if concept == "location" and not bare_yes and low in {"location", "site", "where", "pain location"}:
        where = detail if detail.lower().startswith(_PREPOSITIONS) else f"in the {detail}"
        return say(f"it's {where}")
    if concept == "radiation" and low in {"radiation", "radiating", "spread", "spreading"}:
        if bare_yes:
            return say("yes, it spreads")
        target = re.sub(r"^(to|into|towards?)\s+", "", detail, flags=re.IGNORECASE)
        way = re.match(r"^(down|up|through|across|round|around|along)\s+(?:the\s+)?", target, re.IGNORECASE)
        if way:
            rest = target[way.end():]
            if re.match(r"^(left|right|both|upper|lower|inner|outer|arm|arms|jaw|neck|back|shoulder|leg|groin)\b", rest, re.I):
                rest = f"{w['my']} {rest}"
            return say(f"it spreads {way.group(1).lower()} {rest}")
        if re.match(r"^(left|right|both|upper|lower|inner|outer|arm|arms|jaw|neck|back|shoulder|leg|groin)\b", target, re.I):
            target = f"{w['my']} {target}"
        return say(f"it spreads to {target}" if not target.lower().startswith(("from", "it")) else target)
    if concept == "quality" and not bare_yes and low in {"quality", "character", "description", "type", "pain quality"}:
        return say(f"it feels {detail}")
    if concept == "pattern" and not bare_yes and low in {"pattern", "timing", "frequency", "constancy"}:
        return say(f"it {detail}" if detail.lower().startswith(("comes", "come")) else f"it's {detail}")
    if concept == "course" and not bare_yes and low in {"course", "progression", "trend", "change", "trajectory"}:
        return say(f"it's been {detail}")
    if concept == "smoking" and low in {"smoking", "smoker", "smokes", "tobacco"}:
        verb = "smokes" if voice.third and w["I"] != "they" else "smoke"
        if re.search(r"\b(quit|former|ex|used to|stopped)\b", detail.lower()):
            return say(f"{w['I']} used to smoke \u2014 {detail}")
        return say(f"yes, {w['I']} {verb}" + ("" if bare_yes else f" \u2014 {detail}"))

    if any(low == m or low.startswith(m + " ") for m in _MEASURE_WORDS):
        if bare_yes:
            return say(f"yes, {w['my']} {finding} was checked")
        return say(f"{w['my']} {finding} {w['was']} {detail}")
    if low.startswith(("able to ", "unable to ")):
        return say(f"yes, {w['Im']} {finding}" + (f" \u2014 {detail}" if not bare_yes else ""))
    if _is_adjective_finding(finding):
        return say(f"yes, {w['Im']} {finding}" + (f" \u2014 {detail}" if not bare_yes else ""))
    if low.startswith("blood in "):
        return say(f"yes, there's been {finding}" + ("" if bare_yes else f" \u2014 {detail}"))
    if not bare_yes and low.split()[0] in _DOING and (value.lower().startswith(("yes", "present", "positive")) or
                                                     re.match(r"^(\d+|once|twice|a few|several|many)\b", detail.lower())):
        return say(f"yes, {w['Ive']} been {finding} \u2014 {detail}")
    if not bare_yes and value.lower().startswith(("yes", "present", "positive")):
        if _is_noun_like(finding):
            return say(f"yes, {w['Ive']} had {_article(finding)}{finding} \u2014 {detail}")
        return say(f"yes \u2014 {finding}, {detail}")
    if bare_yes:
        if low.split()[0] in _DOING:
            return say(f"yes, {w['Ive']} been {finding}")
        if _is_noun_like(finding):
            return say(f"yes, {w['Ive']} had {_article(finding)}{finding}")
        return say(f"yes \u2014 {finding}")
    return say(_describe(finding, detail, voice))


def _describe(finding: str, detail: str, voice: Voice) -> str:
    """`lips: swollen and tingling` → "My lips are swollen and tingling."; `stool: like tar` → "Stool — like tar."."""
    w = voice.words()
    low_detail = detail.lower()
    first = low_detail.split()[0].strip(",") if low_detail.split() else ""
    head = finding.lower().split()[0] if finding.split() else ""
    if len(finding.split()) == 1 and head.endswith("ing") and re.fullmatch(
        r"(normally|well|fine|okay|ok|poorly|badly|as usual|less( than usual)?|more( than usual)?|\w+ly)", low_detail
    ):
        return f"{w['Im']} {finding} {detail}"
    if head and low_detail.startswith(head):
        # `drinking: drinking normally`, `sleep: sleeping badly` — the value already says it.
        return f"{w['Im']} {detail}" if first.endswith("ing") else detail
    if first.endswith("ing") and first not in {"nothing", "something", "everything", "morning", "evening"}:
        return f"{w['Im']} {detail}"
    if first in {"can", "could", "cannot", "can't", "won't"}:
        return f"{w['I']} {detail}"
    possessive = f"{w['my']} {finding}" if _is_noun_like(finding) else finding
    if first in _ADJECTIVE_STARTS and _is_noun_like(finding):
        verb = "are" if _is_plural(finding) else "is"
        return f"{possessive} {verb} {detail}"
    if first in _VERB_STARTS and _is_noun_like(finding):
        return f"{possessive} {detail}"
    return f"{_cap(finding)} \u2014 {detail}"


def _onset_sentence(detail: str) -> str:
    detail = re.sub(r"^(sudden|gradual|abrupt)(?=,|\s|$)", lambda m: m.group(1) + "ly", detail.strip(), flags=re.IGNORECASE)
    low = detail.lower()
    if low.startswith("since "):
        return f"it's been going on {detail}"
    if re.match(r"^(worse|better|getting)\b", low):
        return f"it's got {detail}" if not low.startswith("getting") else f"it's been {detail}"
    if re.match(r"^(for|about|around|roughly|approximately|over|nearly|almost|the past|the last)\s+"
                r"(\d|a |an |one|two|three|four|five|six|seven|eight|nine|ten|several|a few|few|half|the past|the last)",
                low) and not re.search(r"\bago\b", low):
        return f"it's been going on {detail}"
    if re.match(r"^\d+(\.\d+)?\s*(\+\s*)?(minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s*$", low):
        return f"it's been going on for {detail}"
    if re.match(r"^(a|an|one|two|three|four|five|six|seven|several|a few|few)\s+(minutes?|hours?|days?|weeks?|months?|"
                r"years?)\s*$", low):
        return f"it's been going on for {detail}"
    if re.match(r"^(sudden|gradual|abrupt|slow|quick)", low):
        return f"it came on {detail}"
    if re.match(r"^(started|began|came|come|woke|built|noticed|first)\b", low):
        return f"it {detail}" if not low.startswith(("woke", "noticed", "first")) else detail
    if _TIME_START.match(low):
        return f"it started {detail}"
    return detail


# ---- the patient ---------------------------------------------------------------------------------

_BODY_PLACE = re.compile(
    r"\b(?:in|on|at|around|behind|across|over|under|below|above|inside|along|near|into)\s+(?:the\s+|my\s+|his\s+|her\s+)?"
    r"(?:(?:left|right|upper|lower|middle|centre|center|front|back|top|bottom|inner|outer|side|sides|of|the|my|his|her|"
    r"both|whole|base|tip|edge|inside|outside|pubic|belly|collar|shoulder|breast|lower|upper|outer|inner|big|"
    r"little)\s+){0,5}(?:chest|head|forehead|temples?|belly|stomach|abdomen|tummy|side|back|arm|leg|neck|"
    r"throat|ears?|eyes?|knee|ankle|foot|hand|wrist|shoulder|hip|groin|pelvis|face|jaw|tooth|mouth|calf|thigh|"
    r"toes?|fingers?|ribs?|breastbone|sternum|flank|bladder|scalp|skull|belly button|navel|cheek|lip|"
    r"forearm|elbow|shin|heel|buttock|bottom|armpit|nose|spine|blade)s?\b",
    re.IGNORECASE,
)

# How the patient names a topic it knows nothing about ("I don't know about ...").
_TOPICS: dict[str, str] = {
    "travel": "any travel", "sick_contacts": "anyone else being sick", "smoking": "smoking",
    "alcohol": "alcohol or drugs", "vaccination": "vaccinations", "family_history": "family history",
    "history": "other conditions", "medications": "medicines", "allergies": "allergies", "weight": "my weight",
    "blood_pressure": "my blood pressure", "blood_sugar": "my blood sugar", "pregnancy": "pregnancy",
    "period": "my periods", "contraception": "that", "sleep": "sleep", "mood": "my mood",
    "sweating": "sweating", "dizziness": "dizziness", "nausea": "feeling sick", "lethargy": "being sleepy",
    "fatigue": "being tired", "confusion": "confusion", "itch": "itching", "fever": "a fever", "cyanosis": "colour",
    "breathing": "my breathing", "vomiting": "vomiting", "fainting": "fainting", "numbness": "numbness",
}

_SECTION_RANK = {POSITIVES: 0, DEMOGRAPHICS: 0, OTHER: 0, NEGATIVES: 1}
# Topics that are not the illness itself: "when" and "how long" in a question about them is not about the onset.
_BODY_PARTS = {"leg", "arm", "jaw", "shoulder", "back", "joint", "eye", "ear"}
_HAS_A_PLACE = {"pain", "chest_pain", "abdominal_pain", "headache", "sore_throat", "ear", "joint", "back", "rash",
                "swelling", "redness", "wound", "leg", "arm", "jaw", "shoulder", "itch", "numbness", "weakness", "eye"}
# Body parts and such that a question names as examples ("does it go to your arm or jaw?"), not as symptoms.
_NOT_A_TOPIC = {"pain", "speaker_info", "leg", "arm", "jaw", "shoulder", "back", "joint", "eye", "plan", "speaking",
                "mobility", "redness", "swelling", "bleeding"}
_NON_SYMPTOM_TOPICS = {"pregnancy", "period", "vaccination", "travel", "medications", "allergies", "smoking", "alcohol",
                       "history", "family_history", "weight", "blood_sugar", "blood_pressure", "age", "sick_contacts",
                       "contraception"}


@dataclass
class QuestionMatch:
    """Which facts answered one question (for debugging and for tests)."""

    question: str
    concepts: list[str]
    facts: list[Fact] = field(default_factory=list)
    kind: str = "facts"  # "facts", "unknown", "open" or "complaint"
    missing: list[str] = field(default_factory=list)  # how the question named the parts the facts do not cover


class ScriptedPatient:
    """A standardized patient that answers only from the scenario's clinical facts."""

    def __init__(self, content: dict[str, Any]) -> None:
        self.content = content or {}
        self.facts = parse_facts(self.content.get("clinical_facts"))
        self.voice = detect_voice(self.facts, self.content)
        self.last_matches: list[QuestionMatch] = []
        known = self.facts.all() + self._demographic_facts()
        self._indexed = [(fact, find_concepts(fact.finding), find_concepts(fact.value),
                          content_words(fact.finding), content_words(fact.value))
                         for fact in known
                         if fact.finding.strip().lower() not in _SPEAKER_FINDINGS]

    def opening(self) -> str:
        message = str(self.content.get("initial_message") or "").strip()
        return message or DEFAULT_OPENING

    def _complaint(self) -> str:
        """What brings the patient: their own opening words, else the chief complaint."""
        message = str(self.content.get("initial_message") or "").strip()
        if message:
            return message
        complaint = str(self.content.get("chief_complaint") or "").strip().rstrip(".")
        if complaint:
            return _sentence(f"it's {complaint[:1].lower()}{complaint[1:]}")
        return DONT_KNOW

    def reply(self, agent_message: str, turn: int, max_turns: int) -> str:
        """The patient's message for `turn`: the triage question on the last turn, else an answer."""
        if turn >= max_turns:
            self.last_matches = []
            return TRIAGE_QUESTION
        return self.answer(agent_message or "", turn)

    def answer(self, agent_message: str, turn: int = 0) -> str:
        """Answer an agent message from the facts (no triage question here)."""
        questions = [clause for question in split_questions(agent_message) for clause in split_clauses(question)]
        self.last_matches = []
        if not questions:
            return ACKNOWLEDGEMENTS[turn % len(ACKNOWLEDGEMENTS)]

        chosen: list[tuple[int, int, Fact]] = []  # (question index, position, fact)
        unanswered: list[QuestionMatch] = []
        saw_open = saw_complaint = False
        for q_index, question in enumerate(questions):
            match = self._match_question(question)
            self.last_matches.append(match)
            if match.kind == "open":
                saw_open = True
            elif match.kind == "complaint":
                saw_complaint = True
            elif match.kind == "unknown":
                unanswered.append(match)
            for position, fact in enumerate(match.facts):
                if all(fact is not f for _, _, f in chosen):
                    chosen.append((q_index, position, fact))

        if not chosen:
            if saw_complaint:
                return self._complaint()
            if saw_open and not unanswered:
                return NOTHING_TO_ADD
            return DONT_KNOW

        # Every part of the question gets its first fact before any part gets a second one.
        firsts = [item for item in chosen if item[1] == 0]
        extras = [item for item in chosen if item[1] > 0]
        kept = (firsts + extras[:MAX_FACTS_PER_REPLY])[:MAX_SENTENCES]
        kept.sort(key=lambda item: (self._rank(item[2]), item[0], item[1]))
        sentences = self._compose([fact for _, _, fact in kept])
        topics: list[str] = []
        for match in unanswered:
            topics.append(self._topic(match))
        for match in self.last_matches:
            topics.extend(match.missing)
        said_dont_know = DONT_KNOW in sentences
        for topic in dict.fromkeys(topics):
            if len(sentences) >= MAX_SENTENCES:
                break
            if topic:
                sentences.append(f"I don't know about {topic}.")
            elif not said_dont_know:
                sentences.append(DONT_KNOW)
                said_dont_know = True
        return " ".join(sentences)

    # -- matching ------------------------------------------------------------------------------

    def _match_question(self, question: str) -> QuestionMatch:
        mentions = find_concepts(question)
        if any(m.concept in _NON_SYMPTOM_TOPICS for m in mentions):
            # "When was your last period?", "How many weeks along are you?": about that, not when the illness began.
            mentions = [m for m in mentions if m.concept not in {"onset", "course"}]
        concepts = [m.concept for m in mentions]
        lowered = normalize(question)
        specific = [m for m in mentions if m.concept not in {"pain", "speaker_info"}]
        if _COMPLAINT_QUESTION.search(lowered) and not specific:
            return QuestionMatch(question, concepts, kind="complaint")
        is_open = bool(_OPEN_QUESTION.search(lowered))

        covered = set()
        for m in mentions:
            covered |= content_words(m.said)
        all_words = content_words(question)
        words = all_words - covered
        asked_weights = expand(set(concepts))
        asked = set(asked_weights)

        scored: list[tuple[float, int, Fact, set[str], set[str]]] = []
        for order, (fact, f_mentions, v_mentions, f_words, v_words) in enumerate(self._indexed):
            f_weights = expand({m.concept for m in f_mentions})
            f_concepts = set(f_weights)
            v_concepts = {m.concept for m in v_mentions} - f_concepts
            shared = asked & f_concepts
            via_value = (set(concepts) & v_concepts) - shared
            score = sum(_WEIGHTS.get(c, 1.0) * min(asked_weights[c], f_weights[c]) for c in shared)
            score += 0.75 * sum(1 for c in via_value if _WEIGHTS.get(c, 1.0) >= 1.5)
            word_hits = words & f_words
            score += 1.2 * len(word_hits) + 0.3 * len((all_words & f_words) - word_hits)
            score += 0.3 * len(words & v_words)
            score -= 0.25 * len({m.concept for m in f_mentions} - asked)
            if score >= 1.0 and (shared or via_value or word_hits):
                scored.append((score, order, fact, shared | via_value, word_hits))
        scored.sort(key=lambda s: (-s[0], s[1]))

        picked: list[Fact] = []
        missing: list[Mention] = []
        places = {m.concept for m in mentions} & _BODY_PARTS
        examples = re.search(r"\b(such as|like|for example|e\.g\.|including)\b", normalize(question))
        for mention in mentions:
            for score, _, fact, hit_concepts, _ in scored:
                if mention.concept in _HAS_A_PLACE and places and mention.concept not in _BODY_PARTS and not places & {
                        m.concept for m in find_concepts(fact.finding + " " + fact.value)}:
                    continue  # "swelling in your legs" is not answered by a swollen belly
                if mention.concept in hit_concepts:
                    if all(fact is not p for p in picked):
                        picked.append(fact)
                    break
            else:
                if mention.concept not in _ATTRIBUTE_CONCEPTS and mention.concept not in _NOT_A_TOPIC and not (
                        examples is not None and mention.start > examples.start()):
                    missing.append(mention)
        for score, _, fact, hit_concepts, word_hits in scored:
            if word_hits and not hit_concepts and score >= 1.2 and all(fact is not p for p in picked):
                picked.append(fact)
        if "location" in asked and not any(_primary_concept(f) == "location" for f in picked):
            where = self._location_from_values()
            if where is not None:
                picked.insert(0, where)

        # A generic "pain" mention alone (e.g. "tell me about the pain") should not pull in facts
        # that only share that weak concept with a low score.
        if picked:
            covered = {c for f in picked for c in expand({m.concept for m in find_concepts(f.finding)})}
            unknown = [self._said(m) for m in missing if m.concept not in covered]
            return QuestionMatch(question, concepts, picked, kind="facts", missing=[u for u in unknown if u])
        if is_open:
            return QuestionMatch(question, concepts, kind="open")
        if _COMPLAINT_QUESTION.search(lowered):
            return QuestionMatch(question, concepts, kind="complaint")
        return QuestionMatch(question, concepts, kind="unknown")

    def _demographic_facts(self) -> list[Fact]:
        """Age and sex from `content.demographics` when the facts themselves leave them out."""
        have = {f.finding.lower() for f in self.facts.sections.get(DEMOGRAPHICS, [])}
        demographics = self.content.get("demographics")
        if isinstance(demographics, dict):
            phrase = " ".join(str(demographics.get(k) or "") for k in ("age", "gender", "sex")).strip()
            if demographics.get("age") and re.fullmatch(r"\d+", str(demographics["age"]).strip()):
                phrase = f"{demographics['age']}-year-old {demographics.get('gender') or demographics.get('sex') or ''}"
        else:
            phrase = str(demographics or "")
        extra = parse_facts("Demographics\n " + phrase.replace(";", ",")).sections[DEMOGRAPHICS] if phrase else []
        return [f for f in extra if f.finding in {"age", "sex"} and f.finding not in have]

    def _location_from_values(self) -> Fact | None:
        """`chest pressure: yes, heavy, in the middle of the chest` also tells where it is."""
        for fact, *_ in self._indexed:
            if fact.section == NEGATIVES or is_negative(fact) or is_unknown(fact):
                continue
            # Only a pain, a rash or a swelling has a "where"; not a breathing sign, a temperature or where it spreads.
            if _primary_concept(fact) not in _HAS_A_PLACE or any(
                    fact.finding.lower().startswith(m) for m in _MEASURE_WORDS):
                continue
            match = _BODY_PLACE.search(fact.value)
            if match:
                return Fact(fact.section, "location", match.group(0).strip(), fact.text)
        return None

    def _said(self, mention: Mention) -> str:
        """How the question named a topic, in the patient's words ("your cough" → "my cough")."""
        if mention.concept in _TOPICS:
            return _TOPICS[mention.concept].replace("my ", self.voice.words()["my"] + " ")
        said = re.sub(r"\byour\b", self.voice.words()["my"], mention.said)
        return re.sub(r"^(any|a|an|the)\s+", "", said)

    def _rank(self, fact: Fact) -> int:
        if is_unknown(fact):
            return 2
        if is_negative(fact):
            return 1
        return _SECTION_RANK.get(fact.section, 0)

    def _topic(self, match: QuestionMatch) -> str:
        mentions = [m for m in find_concepts(match.question) if m.concept != "pain"]
        if len([m for m in mentions if m.concept not in _ATTRIBUTE_CONCEPTS and m.concept not in _NOT_A_TOPIC]) > 1:
            return ""  # "Any trouble breathing, chest pain or fainting?" with none of them known: "I don't know."
        if mentions:
            if mentions[0].concept in _TOPICS:
                return self._said(mentions[0])
            if mentions[0].concept in _ATTRIBUTE_CONCEPTS or mentions[0].concept in {"mobility", "speaking", "plan"}:
                return ""
            return self._said(mentions[0])
        words = [w for w in re.findall(r"[a-z][a-z']+", normalize(match.question)) if w not in _STOPWORDS]
        return " ".join(words[:3])

    # -- composing -----------------------------------------------------------------------------

    def _compose(self, facts: list[Fact]) -> list[str]:
        rendered = [render_fact(fact, self.voice) for fact in facts]
        sentences: list[str] = []
        unknown_said = False
        joinable = [r for r in rendered if r.kind == "neg" and r.neg_item]
        joined_done = False
        for item in rendered:
            if item.kind == "unk":
                if not unknown_said:
                    sentences.append(DONT_KNOW)
                    unknown_said = True
                continue
            if item.kind == "neg" and item.neg_item and len(joinable) > 1:
                if not joined_done:
                    names = [r.neg_item for r in joinable if r.neg_item]
                    listed = ", ".join(names[:-1]) + " or " + names[-1]
                    sentences.append(_sentence(f"no, {self.voice.words()['havent']} had any {listed}"))
                    joined_done = True
                continue
            sentences.append(item.sentence)
        return sentences


__all__ = [
    "ACKNOWLEDGEMENTS",
    "CONCEPT_NAMES",
    "DEFAULT_OPENING",
    "DONT_KNOW",
    "NOTHING_TO_ADD",
    "Mention",
    "QuestionMatch",
    "Rendered",
    "ScriptedPatient",
    "Voice",
    "content_words",
    "detect_voice",
    "find_concepts",
    "normalize",
    "render_fact",
    "split_questions",
]
