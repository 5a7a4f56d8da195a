"""The built-in demo target: a small rules-based triage assistant that a fresh install can test.

No model and no network. It asks a couple of focused screening questions chosen by the body system
of the complaint, listens for red flags in what the patient said (negations such as "No, I haven't
had any fever" are respected), and recommends Emergency, Clinician or Home care in plain words. It is
deliberately simple — decent, not perfect — so a benchmark run against it gives a meaningful baseline.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from preclinical.domain.triage import CLINICIAN, DISPLAY, EMERGENCY, HOME_CARE, RANK
from preclinical.errors import InvalidInput
from preclinical.providers import registry
from preclinical.providers.base import ProviderEnv, TurnContext

if TYPE_CHECKING:
    from preclinical.providers.transport import HttpTransport

STYLES = ("careful", "hasty")

# ---- reading what the patient said ------------------------------------------------------------------

_NEGATION_CUE = re.compile(
    r"\b(no|not|never|without|denies|deny|denied|haven't|hasn't|havent|hasnt|don't|dont|doesn't|doesnt|"
    r"didn't|didnt|isn't|aren't|wasn't|weren't|none|nor|neither|nobody|nothing|free of|unsure|know)\b"
)
_CLAUSE_BREAK = re.compile(r"\b(but|although|though|however|except|yet|apart from)\b|\u2014|;")


def _normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)
    return text


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", _normalize(text))
    return [p.strip() for p in parts if p.strip()]


@dataclass(frozen=True)
class _Flag:
    name: str
    pattern: re.Pattern[str]
    negative_form: bool = False  # the phrase itself carries a negation ("can't keep fluids down")


def _flag(name: str, pattern: str, negative_form: bool = False) -> _Flag:
    return _Flag(name, re.compile(pattern), negative_form)


# Vocabulary shared by the rules: each is a class of ordinary lay words, not any one case's wording.
_WHOSE = r"(?:my |the |his |her |their |your )?"
_SELF = r"(?:my|him|her|them|your)sel(?:f|ves)"
_LIMB = r"(?:left |right |one |both )?(?:arm|leg|hand|foot|side of (?:my |the |his |her )?(?:body|face))s?"
_JOINT = r"(?:ankle|knee|wrist|elbow|hip|shoulder|toe|finger|thumb|foot|feet|hand)s?"
_BELLY = r"(?:belly|tummy|abdom\w*|stomach|bump|pelvi\w*|womb)"
_VOMIT = r"(?:vomit\w*|throw\w* up|threw up|thrown up|being sick|been sick|was sick|\bpuk\w*)"
_STOOL = r"(?:stools?|poos?|poop|bowel movements?|diapers?|nappy|nappies)"
_MEDICINES = (r"(?:pills|tablets|capsules|tabs|meds|painkillers|paracetamol|acetaminophen|tylenol|ibuprofen|aspirin|"
              r"codeine|co codamol|medicines?|medication|sleeping (pills|tablets)|insulin|antidepressants?)")
# Household products a child (or anyone) can be poisoned by: a class of lay words, not one case's.
_CHEMICALS = (r"(?:bleach|detergent|cleaner|cleaning (liquid|product|spray|fluid)|(dishwasher|washing up|laundry) "
              r"(liquid|tablets?|pods?|capsules?|powder)|antifreeze|weed ?killer|drain (cleaner|unblocker)|"
              r"white spirit|paraffin|lamp oil|turps|e cig(arette)? (liquid|refill)|batter(y|ies)|magnets?)")
# How much was taken: a big count, or a whole or large part of a pack.
_COUNT = r"\d{2,}\b(?! ?(mg|g|ml|mcg|micrograms?|milligrams?|grams?)\b)"  # 20 tablets, not a 500 mg dose
_MUCH = (r"(?:(about|around|over|nearly|almost|at least|maybe|roughly|more than) )?(" + _COUNT + r"|a (whole |full )?(lot|load|"
         r"handful|packet|pack|box|bottle|strip|sheet|tub|month'?s supply)|(most|half|all|the rest) of|"
         r"(a |the )?(whole|full|entire)|lots|loads|too many|several|a bunch)")
_INSECT = r"(?:insects?|mosquito(es|s)?|midges?|gnats?|fleas?|bugs?|bed ?bugs?|ants?|spiders?|ticks?|horse ?fl(y|ies))"
_NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_AGE_WORDS = {word: float(n) for n, word in enumerate(_NUMBER_WORD[3:-1].split("|"), start=1)}

_FLAGS: tuple[_Flag, ...] = (
    # breathing
    # Signs of respiratory distress (one concept: blue or grey colour, working hard to breathe, too breathless to talk).
    _flag("distress", r"(\b(lips?|face|skin|fingers?|mouth|tongue)\b[^.]{0,25}\b(blue|bluish|grey|gray|purple|dusky)\b|"
                      r"\bturn(ing|ed)? (blue|grey|gray)\b|\bblue (lips?|tinge|colou?r)\b|cyanos|"
                      r"(struggling|barely able|fighting) (to|for) (breathe|breath|air)|gasping|"
                      r"severe (shortness of breath|trouble breathing)|"
                      r"(ribs?|skin|tummy|neck)[^.]{0,20}(pulling|sucking) in|retraction|"
                      r"(nostrils?|nose) flar|grunt\w*|head bobbing|"
                      r"(only|a few) (say|speak|get out|words)[^.]{0,15}(a few words|at a time)|(short|shorter|few) "
                      r"(sentences|words at a time))"),
    _flag("distress", r"((can't|cannot|unable to|not able to|hard to|struggling to|can only|can barely) (speak|talk|say|get)"
                      r"( more than)?[^.]{0,20}(full )?(sentences?|words)|\bcan't (speak|talk)\b|"
                      r"(can't|cannot|unable to|can hardly|can barely) (breathe|catch|get (my |his |her )?breath)|"
                      r"(inhaler|puffer|nebuli[sz]er)\w* (isn't|is not|not|doesn't|didn't|aren't)( \w+)? help)",
          negative_form=True),
    _flag("sob", r"(short(ness)?|out) of breath|(trouble|difficulty|problems?) breathing|breathing (is |feels )?"
                 r"(hard|difficult|laboured|labored|heavy)|breathless|hard (time )?(to )?breath|winded|"
                 r"can't get (my |his |her )?breath"),
    _flag("fast_breathing", r"(breathing|breaths?)[^.]{0,12}(fast|rapid|quick|heavy|heavily|deep|panting)|"
                            r"(fast|rapid|quick|heavy|deep|panting)[^.]{0,12}(breathing|breaths?)|panting"),
    _flag("sob_rest", r"(breath|breathing|breathless)[^.]{0,40}(?<!fine )(?<!ok )(?<!okay )(?<!not )(?<!normal )"
                      r"(at rest|sitting still|even sitting|lying still|while resting|doing nothing)|"
                      r"(?<!fine )(?<!not )(at rest|sitting still)[^.]{0,20}breath"),
    _flag("wheezing", r"wheez|whistl"),
    # chest and heart
    _flag("chest_pain", r"chest[^.]{0,12}(pain|pressure|tight\w*|discomfort|heav\w*|hurts?|feels|is|ache|sore|burn\w*)|"
                        r"(pain|pressure|tight\w*|heav\w*|discomfort|ache|crushing|squeezing|tearing)[^.]{0,25}\bchest\b|"
                        r"crushing|squeezing|elephant|tearing|ripping"),
    _flag("jaw_arm_pain", r"\b(jaw|left arm|arms|shoulders?)\b[^.]{0,20}(pain|ache|aching|hurts|discomfort)|"
                          r"(pain|ache|aching|discomfort)[^.]{0,20}\b(jaw|left arm)\b"),
    _flag("radiation", r"(spread|spreads|spreading|radiat\w*|goes|going|moves|moving|shoot\w*|travels?|through)\b[^.]{0,30}"
                       r"\b(arm|arms|jaw|neck|shoulders?|shoulder blades?|back)\b"),
    _flag("sweating", r"(sweat|clammy|diaphore|drenched)"),
    _flag("nausea", r"(nause|queasy|sick to (my|his|her) stomach|feel(ing)? sick)"),
    _flag("palpitations", r"(palpitat|heart[^.]{0,15}(racing|pounding|fluttering|skipping|thumping|irregular|"
                          r"jumping|fast)|(racing|pounding|fluttering|irregular|skipped|skipping)[^.]{0,10}(heart|beats?|"
                          r"pulse))"),
    _flag("exertional", r"(with|on|during|while|after|when) (i |he |she )?(exert\w*|exercis\w*|walk\w*|climb\w*|stairs|"
                        r"activity|running|run|jogging|shovel\w*|lift\w*|carry\w*|uphill|hills?)|"
                        r"(walk\w*|climb\w*|running|jogging|shovel\w*|carry\w*) (up|uphill|upstairs|the stairs|snow|"
                        r"heavy|shopping)"),
    _flag("reproducible", r"((press\w*|push\w*|touch\w*)[^.]{0,20}(it|the (spot|area)|on (it|my|the|his|her)|hurts)|"
                          r"tender\w*|sore to (the )?touch|(worse|hurts|pain|sore) (when|with|if|on) (i |he |she )?"
                          r"(move|moving|movement|twist\w*|turn\w*|bend\w*|lift\w*|press\w*|touch\w*|deep breath\w*)|"
                          r"pulled a muscle|strain\w*|after (lifting|a (workout|gym session)|exercise|weight training))"),
    _flag("pleuritic_cough", r"(when|with|while|from) (i |he |she )?(cough|coughing)"),
    # head and nerves
    _flag("worst_headache", r"worst (headache|pain)[^.]{0,25}(life|ever|had)|thunderclap|"
                            r"like (being hit|a bomb|an explosion|a blow|a kick|a bat)|explod|"
                            r"(peak|full strength|maximum|worst)[^.]{0,25}within (a |one |a few )?(second|minute)s?"),
    _flag("sudden", r"\bsudden(ly)?\b|all of a sudden|out of nowhere|in seconds|within (a )?(second|minute)|abrupt"),
    _flag("stroke", r"((weak\w*|numb\w*|tingl\w*|heavy|clumsy|can't (move|lift)|dropping)[^.]{0,25}\b(one side|left side|"
                    r"right side|(left|right) (arm|leg|hand|face|side))|\b(left|right|one) (arm|leg|hand|side)\b[^.]{0,25}"
                    r"(weak|clumsy|numb|heavy|won't (lift|move)|can't (lift|move)|dead))|"
                    r"one side of (my|his|her|the) (body|face)|(face|mouth|smile|eyelid)[^.]{0,20}(droop\w*|lopsided|"
                    r"uneven|hangs? down|dropped|fallen)|droop\w*|lopsided|"
                    r"((slurr\w*|jumbled|garbled|muddled|wrong|mixed up) (words|speech|talking)|"
                    r"(speech|words|talking)[^.]{0,15}(slurr\w*|jumbled|garbled|muddled|strange|wrong|mixed up)|slurr|"
                    r"trouble (speaking|talking|finding (the )?words)|(can't|couldn't) (get|find) (the |my )?words|"
                    r"difficulty (speaking|talking))"),
    _flag("weakness", r"(\bweak(ness)?\b|clumsy)"),
    _flag("numbness", r"(\bnumb|tingl|pins and needles)"),
    _flag("confusion", r"confus|disorient|not making sense|talking nonsense|not acting (like )?" + _SELF + r"|altered|"
                       r"muddled|repeating " + _SELF + r"|(hard|difficult|impossible) to (wake|rouse)|won't wake|can't wake|"
                       r"unresponsive|not responding|doesn't (recogni[sz]e|know (where|what day|who))|not (him|her)self|"
                       r"acting (strange|odd|weird)|not with it|doesn't know what day"),
    _flag("lethargy", r"(very|unusually|really|extremely|so|more) (sleepy|drowsy|tired)|letharg|floppy|\blimp\b|listless|"
                      r"(hard|difficult) to (keep awake|wake)|barely (awake|responsive)|keeps? (falling asleep|nodding off)|"
                      r"sleeping (all|much more)|\bdrowsy\b|drowsiness|\bsleepy\b|"
                      r"not (playing|interested in (playing|anything|feeding))"),
    _flag("stiff_neck", r"stiff neck|neck[^.]{0,12}(stiff|stiffness)|can't (bend|touch|move) (his |her |my )?(neck|chin)|"
                        r"(hurts|pain|cries)[^.]{0,12}(bend|move|moving|bending) (my |his |her |the )?(neck|head)"),
    _flag("fainting", r"(pass(ed|es|ing)? out|faint(ed|ing)?\b|black(ed|ing)? out|lost consciousness|"
                      r"loss of consciousness|collaps|unconscious|syncope|knocked out)"),
    _flag("dizziness", r"dizz|lightheaded|light headed|vertigo|room (is )?spinning|woozy|unsteady|feels? faint"),
    _flag("seizure", r"seizure|convuls|\bfits?\b|fitting|jerking|shaking all over"),
    _flag("vision_loss", r"(can't|cannot) see", negative_form=True),
    _flag("vision_loss", r"(lost|loss of|losing|blind|curtain|shadow over|went black|gone dark|gone black)"
                         r"[^.]{0,20}(vision|sight|eye|see)|sudden (vision|blindness)|double vision"),
    _flag("vision_change", r"(blurr|vision (change|problem|is off)|seeing (spots|flashes|double|zigzags)|"
                           r"(flashing|flashes of) lights?|halos? (around|round) lights?|"
                           r"(light|bright)[^.]{0,15}(hurts|bothers|sensitiv)|sensitiv\w* to light|photophob)"),
    # belly and bleeding
    _flag("hematemesis", "(" + _VOMIT + r" (up )?(blood|bright red|something (dark|red))|(blood|bloody)[^.]{0,10}vomit|"
                         r"coffee ground)"),
    _flag("hemoptysis", r"(cough\w* (up )?(blood|a (small )?streak)|blood[^.]{0,15}(sputum|phlegm|mucus|spit)|"
                        r"bloody (sputum|phlegm))"),
    _flag("melena", r"(black|tarry|tar like|like tar)[^.]{0,15}" + _STOOL + r"|" + _STOOL + r"[^.]{0,30}\b(black|tar|tarry)\b|"
                    r"melaena|melena"),
    _flag("blood_stool", r"(blood|bloody|bleed\w*)[^.]{0,15}" + _STOOL + r"|" + _STOOL + r"[^.]{0,15}(blood|bloody)|"
                         r"bloody diarrh|rectal bleed|blood when (i |he |she )?wipe|bleeding from (the |my |his |her )?"
                         r"(bottom|rectum|back passage)|blood (on|in) the (toilet|paper)"),
    _flag("severe_constant", r"severe and constant|constant and severe|(severe|terrible|excruciating|unbearable|agoni\w*)"
                             r"[^.]{0,20}(pain|constant)|rigid|hard (as a board|belly|stomach|abdomen)|"
                             r"(belly|tummy|stomach|abdomen)[^.]{0,15}(hard|rigid)|doubled over|"
                             r"can't (stand|walk) (up )?straight|worst pain|can't (sit|keep) still|writhing"),
    # Pain low down on one side of the belly (appendix, ovary, tube, bowel): worth more than central cramps.
    _flag("low_side", r"((lower )?(right|left) (lower |side of (the |my |his |her )?)?(belly|abdomen|stomach|tummy|groin)|"
                      r"(right|left) lower|lower (right|left)|low (down )?on (the|my) (right|left)|"
                      r"moved (down )?to (the )?(lower )?(right|left))"),
    _flag("peritonism", r"((walk\w*|cough\w*|bumps?|jolt\w*|mov\w*|jump\w*)[^.]{0,40}(make|makes|made) it (much )?worse|"
                        r"(worse|hurts|pain) (with|when|on) (walking|coughing|moving|bumps|jolts|every bump)|"
                        r"hurts to (walk|move|cough))"),
    _flag("vomiting", r"(vomit|throw\w* up|threw up|thrown up|being sick|been sick|was sick|\bpuk)"),
    _flag("cant_keep_down", r"(can't|cannot|unable to|not able to|won't) (keep|hold) (anything|fluids|water|liquids|food|"
                            r"it|milk|feeds?) down|" + _VOMIT + r" (everything|all)", negative_form=True),
    _flag("cant_keep_down", r"(\d+|many|lots of|several) times[^.]{0,20}(since|today|this morning|last night|an hour)|"
                            r"keeps? (vomiting|throwing up|being sick)"),
    _flag("diarrhea", r"(diarrh|(loose|watery|runny) (stools?|poos?|poop|bowels?|tummy)|the runs)"),
    _flag("heavy_bleeding", r"(won't|will not|doesn't|does not|can't|cannot) stop bleeding|bleeding (won't|will not|doesn't|"
                            r"does not|hasn't) stop", negative_form=True),
    _flag("heavy_bleeding", r"soak\w* (through )?(a |one |more than one |\w+ )?(pad|pads|towels?|tampons?)|"
                            r"(spurt\w*|(heavy|heavily|profuse\w*)[^.]{0,10}bleed\w*|bleed\w*[^.]{0,10}(heavy|heavily)|"
                            r"(lots|a lot|loads) of blood|pouring|large clots)"),
    _flag("bleeding", r"bleed|spotting|\bblood\b(?! (pressure|sugar|tests?|thinners?|count|glucose|levels?|readings?))"),
    # urinary, skin, infection
    _flag("urinary", r"(burn\w*|sting\w*|pain\w*|hurts?)[^.]{0,20}\b(pee|peeing|urinat\w*|wee|weeing|pass(ing)? (water|"
                     r"urine))|dysuria|(pee|peeing|urinating|going|wee|weeing|pass(ing)? water)[^.]{0,10}(a lot|more|often|"
                     r"frequently|all the time|every)|frequen\w* (urination|peeing|weeing)|"
                     r"(urgency|urinary|(cloudy|smelly|strong smelling) (urine|pee)|need(ing)? to (go|pee|wee) (often|"
                     r"all the time|again))"),
    _flag("hematuria", r"blood in (my |the |his |her )?(urine|pee|wee)|bloody (urine|pee)|(pink|red|brown|cola) "
                       r"(urine|pee|wee)|hematuria|haematuria"),
    _flag("flank", r"flank|(pain|ache|hurts?)[^.]{0,10}(my |the |his |her )?(back|side|loin)|"
                   r"(back|side|loin)[^.]{0,10}(pain|ache|hurts)"),
    _flag("spreading", r"spread|getting (bigger|larger|wider)|growing|expanding|red (streaks?|lines?)|streaks|moving up"),
    _flag("infection_signs", r"(warm|hot) to (the )?touch|warmth|(area|skin|patch|joint|knee|it) (is |feels )?(warm|hot)|"
                             r"(\bpus\b|yellow (fluid|crust)|draining|oozing|weeping|crust\w*|\bfoul\b)|"
                             r"swollen and red|red and swollen|(increasing|more|spreading) redness"),
    _flag("rash", r"(\brash|hives|welts|blotch|blisters|patches|spots\b)"),
    _flag("purpura", r"(purple|dark red|bruise like|red)[^.]{0,15}(spots|rash|dots|marks)[^.]{0,40}(don't|doesn't|do not|"
                     r"does not|won't) fade|(don't|doesn't|do not|does not|won't) fade|non ?blanch|glass test|"
                     r"pinpoint (red )?(spots|dots)|purple (spots|rash|dots)"),
    _flag("airway_swelling", r"\b(throat|tongue|lips?|mouth|face)\b[^.]{0,15}\b(swell\w*|swollen|closing|tight\w*|puff\w*)|"
                             r"swell\w* (of|in|around) (the |my |his |her )?(throat|tongue|lips?|mouth)|"
                             r"(trouble|difficulty|hard to|can't) (swallow\w*|breathe and swallow)|drool|hoarse|stridor"),
    _flag("allergen", r"(allerg|peanut|nuts?\b|shellfish|prawns?|shrimp|\bbees?\b|wasp|\bstung\b|sting\b|"
                      r"new (medication|medicine|antibiotic))"),
    _flag("fever", r"\bfever|feverish|febrile|temperature (of|was|is|got|reached|up|has been|went)|running (a )?(temp|fever)|"
                   r"\b1[01]\d(\.\d)? ?(°|degrees)? ?f\b|\b(3[89]|4[01])(\.\d)? ?(°|degrees)? ?c\b|burning up|"
                   r"(felt|feels|feeling|is|was) (really |very )?hot|chills|shiver|rigou?rs|(high|a) temperature"),
    _flag("immunocompromised", r"(chemo\w*|transplant|immunosuppress\w*|neutropeni|weak(ened)? immune|on steroids|"
                               r"cancer treatment)"),
    _flag("ear", r"(\bears?\b|earache|(tugging|pulling) at (his |her |their |the )?ears?)"),
    _flag("sore_throat", r"(sore throat|throat[^.]{0,10}(pain|hurts|sore|raw)|tonsil\w*|(hurts|painful) to swallow|strep|"
                         r"(white|yellow) (spots|patches)|swollen[^.]{0,15}(glands|lymph|nodes)|glands[^.]{0,10}swollen)"),
    _flag("cough", r"cough"),
    _flag("worsening", r"(not (getting )?better|not improving|(hasn't|has not|isn't|is not)[^.]{0,10}(improv\w*|better)|"
                       r"no better|(not|won't) go(ing)? away|can't shift)", negative_form=True),
    _flag("worsening", r"((getting|got|gotten|keeps? getting|much|steadily|becoming) worse|worse (and worse|again)|"
                       r"worsen\w*|keeps? coming back|more and more)"),
    _flag("improving", r"((getting|much|feeling|a bit|slightly) better|improv\w*|settl\w*|going away|gone now|almost gone|"
                       r"resolv\w*|(smaller|less) than (before|yesterday))"),
    # pregnancy, mood, misc
    _flag("pregnant", r"\bpregnan|weeks along|trimester|expecting (a baby)?\b|due date"),
    _flag("decreased_movement", r"((baby|babies)[^.]{0,20}(not moving|moving less|less movement|hasn't moved|stopped moving)|"
                                r"(less|fewer|decreased|reduced|no) (fetal |baby |baby's )?(movement|movements|kicks)|"
                                r"(movements?|kicks?)[^.]{0,10}(fewer|less|reduced|decreased|slowed|stopped))"),
    _flag("fluid_leak", r"(fluid|water) (leak|gush|broke)|waters? (broke|have gone|went)|leaking fluid"),
    _flag("contractions", r"contraction"),
    _flag("suicidal", r"suicid|kill " + _SELF + r"|end (my|his|her|their) life|ending (my|his|her) life|ending it|end it all|"
                      r"want(ed|s)? to die|better off dead|(harm|hurt)\w* " + _SELF + r"|self harm|"
                      r"thoughts of (death|dying|harm|hurt|self|ending|suicide)|not (want|wanting) to (live|be alive|"
                      r"be here)|don't want to (live|be here|wake up)|life (isn't|is not|not) worth|"
                      r"take (them|it) all|(overdose|took|taken|swallowed)[^.]{0,30}(on purpose|deliberately|to die)"),
    _flag("plan", r"\bplan(s|ned)?\b|(have|got|bought|saved|stockpil|collected|hoard|kept|keeping)\w* (up )?(the |some |a |my |"
                  r"all (the |my )?)?(large )?(supply of |stash of |lot of )?(pills|gun|rope|tablets|means|painkillers|"
                  r"medicines?)|"
                  r"(access to|keep|have) (a )?(gun|firearm|weapon|rope)|going to do it|tonight|"
                  r"wr(ote|itten|iting) a (note|letter)|said goodbye|goodbye (note|letter)|means: |"
                  r"(stockpil|hoard)\w*"),
    _flag("mood", r"(depress|hopeless|worthless|\bsad\b|low mood|(feel\w*|mood)[^.]{0,10}\b(low|down|flat|empty|numb)\b|"
                  r"crying|no interest|(stopped|not|no longer) enjoy\w*|(no|see the|any) point( in (anything|living|"
                  r"life|going on))?|anxious|anxiety|panic|can't cope|not coping|overwhelm|can't sleep|not sleeping|"
                  r"insomnia)"),
    _flag("head_injury", r"(hit|bump\w*|bang\w*|knock\w*|smack\w*|struck) (on )?(my|his|her|their|the) (head|forehead)|"
                         r"head injury|(fell|fall|fallen|slipped)[^.]{0,30}(head|forehead)|concussion"),
    _flag("blood_thinner", r"(blood thinner|thin the blood|anticoagul\w*|warfarin|coumadin|apixaban|eliquis|rivaroxaban|"
                           r"xarelto|clopidogrel|plavix|dabigatran|edoxaban)"),
    _flag("cant_bear_weight", r"(can't|cannot|unable to|not able to|won't) (walk|bear weight|put (any )?weight|stand|"
                              r"move (it|my|his|her))|can (barely|hardly) (walk|stand|bear weight)", negative_form=True),
    _flag("deformity", r"deform|out of (place|shape)|crooked|bent (the )?wrong|looks wrong|bone (sticking|poking|showing)|"
                       r"odd angle"),
    _flag("open_fracture", r"bone (sticking|poking|showing|through)"),
    _flag("injury", r"\b(fell|fall|tripped|slipped|landed|twisted|rolled|went over|injur\w*|knocked|bumped|banged|crash\w*|"
                    r"came off)\b"),
    _flag("swelling", r"swell|swollen|puffy"),
    _flag("leg_swelling", r"(calf|leg|ankle)[^.]{0,20}(swell|swollen|bigger|tender)|swollen (calf|leg)|one leg"),
    _flag("recent_travel", r"((long|long haul|\d+ hour|overnight)[^.]{0,5}(flight|drive|trip|journey|coach)|"
                           r"\b(flight|flew|flying)\b|just got back)"),
    _flag("cauda", r"(can't control|no control of) (my |his |her )?(bladder|bowel)", negative_form=True),
    _flag("cauda", r"(lost|loss of|trouble controlling) (control of )?(my |his |her )?(bladder|bowel)|"
                   r"(wet|soiled) " + _SELF + r"|numb\w* (in|around|between) (the |my |his |her )?(groin|saddle|"
                   r"buttocks|bottom|legs)|saddle"),
    # Any deliberate or possible overdose or poisoning: a large amount of a medicine taken, a household product
    # swallowed (or maybe swallowed), or pills or small batteries gone missing near a child.
    _flag("ingestion", r"(overdos\w*|\bod'd\b|took too many|"
                       r"(took|taken|take|tried|had|swallowed|downed|necked|ate|eaten)\b[^.]{0,12}" + _MUCH + r"[^.]{0,25}"
                       + _MEDICINES + r"|\b" + _COUNT + r" (\w+ ){0,2}" + _MEDICINES + r"[^.]{0,40}(all )?(at once|in one go|together|"
                       r"at the same time|on purpose|deliberately)|"
                       r"(swallow\w*|drank|drunk|drinking|ate|eaten|eating|lick\w*|chew\w*|suck\w*)[^.]{0,25}" + _CHEMICALS + r"|"
                       r"swallowed (a |an |some |the |his |her )?(pills|tablets|chemical|coin)|"
                       r"poison\w*|ingest\w*|button batter|"
                       r"(" + _MEDICINES + r"|batter(y|ies)|magnets?)[^.]{0,40}(missing|swallow\w*|mouth)|"
                       r"(empty|opened|open|half empty)[^.]{0,10}(packet|bottle|box|strip|blister pack|tub|container)"
                       r"( of [^.]{0,20}" + _MEDICINES + r")?[^.]{0,30}(his|her|their|the) (room|bed|bag|hand|pocket)|"
                       r"(might|may|could|must|think|probably|possibly) (have |ve )?(swallowed|drunk|drank|eaten|taken|"
                       r"licked|chewed)[^.]{0,30}(" + _CHEMICALS + r"|" + _MEDICINES + r"))"),
    # Self-harm that has already happened (not thoughts of it): hurt on purpose, or an attempt.
    _flag("self_harm_act", r"((cut|burnt|burned|hurt|harmed|scratched|stabbed|hit|injured) (myself|himself|herself|"
                           r"themselves|my \w+|his \w+|her \w+)[^.]{0,30}(on purpose|deliberately|intentionally|"
                           r"to (feel|punish|cope|die))|"
                           r"(cut|burnt|burned|hurt|harmed|injured)[^.]{0,30}\b(on purpose|deliberately|intentionally)\b|"
                           r"(tried|attempted|trying) to (kill|hang|end|hurt|harm) (my|him|her|them)sel(f|ves)|"
                           r"(tried|attempted) (to )?(suicide|to end (my|his|her|their) life)|suicide attempt|"
                           r"(took|taken|swallowed|had)[^.]{0,40}(on purpose|deliberately|intentionally))"),
    _flag("testicular", r"(testic|testicle|scrot|(balls?|privates)[^.]{0,10}(pain|hurt|sore|swollen))"),
    _flag("eye_pain", r"eye[^.]{0,10}(pain|hurts|hurting|aching|ache|sore)|(pain|ache)[^.]{0,15}(my |his |her |the )?"
                      r"(left |right )?eye|(chemical|bleach)[^.]{0,20}eye|something in (my |his |her )?eye"),
    _flag("lump", r"\blump|\bmass\b|growth|mole[^.]{0,40}(chang|grow|bleed|bigger|darker)"),
    _flag("weight_loss", r"((lost|losing) (weight|\d+ ?(pounds|lbs|kg|stone))|weight loss|clothes (are |feel )?(looser|loose))"),
    _flag("high_sugar", r"\b(reads?|reading|says|shows) hi\b|(sugar|glucose)[^.]{0,30}\b([3-9]\d\d|[2-9]\d(\.\d)? ?mmol)\b|"
                        r"ketone"),
    _flag("diabetes_signs", r"((very|really|extremely|so|always) thirsty|thirst|drinking (much |a lot )?more|"
                            r"bed ?wetting|wetting the bed|"
                            r"(toilet|peeing|urinating|weeing)[^.]{0,15}(very often|a lot|all the time|constantly))"),
    _flag("very_unwell", r"(most|very|really|so) (unwell|ill|poorly)|sickest|never (felt|been) (this|so) (ill|unwell|bad)|"
                         r"worst (i|she|he|they) (ha(s|ve) )?ever felt"),
    _flag("dehydration", r"(no|not any|hasn't had a|no wet) (wet )?(diapers?|nappies)|not (peeing|urinating|wetting)|"
                         r"hasn't (peed|urinated|wet)|no tears|not drinking|won't drink", negative_form=True),
    _flag("dehydration", r"dry (wet )?(diapers?|nappies)|sunken|dry (mouth|lips|tongue)|refus\w* (to drink|fluids|feeds?|"
                         r"the bottle)|passing (very )?little|very little (urine|pee)"),
    _flag("fewer_diapers", r"(fewer|less|only \w+|decreased|reduced)[^.]{0,25}(diapers?|nappies|pee|urine|wet)|"
                           r"(diapers?|nappies|urine|peeing|wet)[^.]{0,25}(fewer|less|decreased|reduced|than usual|only \d)|"
                           r"(drinking|eating|feeding|taking|finishing)[^.]{0,20}(less|half|not finishing)|"
                           r"(less|fewer) (milk|feeds|fluids)"),
    _flag("discharge", r"(discharge|\bpus\b|drainage)"),
    _flag("sti", r"(unprotected|new (sexual )?partner|(no|without( a)?) condom|\bstds?\b|\bstis?\b|sexually transmitted)"),
    # A bite from an animal or a person (infection, tetanus, rabies) — unlike an insect's, which is looked after at home.
    _flag("animal_bite", r"\bbitten\b(?! (by |alive )?(an? |some |the )?" + _INSECT + r")|\b(dog|cat|animal|snake|human) bites?|"
                         r"\bbit (me|him|her)\b"),
    _flag("insect_bite", r"\b" + _INSECT + r" (bites?|stings?)|bitten (by |alive )?(an? |some |the )?" + _INSECT),
    _flag("postmenopausal_bleeding", r"(periods? (stopped|ended|finished))|menopaus|after the change"),
    _flag("itching", r"\bitch"),
    _flag("headache", r"headache|head[^.]{0,10}(hurts|pain|pounding|aching|ache|throbbing)"),
    _flag("fatigue", r"(tired|exhausted|fatigue|no energy|(wiped|washed|worn) out|drained)"),
    _flag("blisters_pain", r"(blister[^.]{0,40}(pain|burning|stabbing)|(burning|stabbing|pain)[^.]{0,40}blister|"
                           r"(one side|a band|a strip|a stripe) (of|on|across|around) (my |the |his |her )?(chest|body|back|"
                           r"face|waist|ribs))"),
    _flag("diabetic", r"diabet|insulin"),
    _flag("belly_pain", _BELLY + r"[^.]{0,20}(pain|ache|cramp|hurt|tender|hard)|(pain|ache|cramp\w*|tender)[^.]{0,30}\b"
                        + _BELLY + r"|lower down|low down"),
    _flag("mild", r"\bmild(ly)?\b|\bslight(ly)?\b|a little|not (too|that|very) bad|\bminor\b|a bit\b"),
)
_PLAIN = _flag("plain", r"$^")  # negation rules of an ordinary word

_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "several": 3, "few": 3, "a few": 3, "couple": 2, "a couple of": 2}
_UNIT_DAYS = {"minute": 1 / 1440, "min": 1 / 1440, "hour": 1 / 24, "hr": 1 / 24, "day": 1.0, "night": 1.0,
              "week": 7.0, "month": 30.0, "year": 365.0}
_DURATION_RE = re.compile(
    r"\b(\d+(?:\.\d+)?|a couple of|a few|an|a|one|two|three|four|five|six|seven|eight|nine|ten|several|few|couple)"
    r"\s*(?:\+|or (?:so|more))?\s*(minute|min|hour|hr|day|night|week|month|year)s?\b"
)
_AGE_NUMBER = r"(\d+(?:\.\d+)?|" + _NUMBER_WORD + r")"
_AGE_RE = re.compile(
    r"\b(?:i'm|i am|he's|she's|they're|he is|she is|they are|(?:baby|son|daughter|child|boy|girl|little one) is|aged?)\s+(?:only |just |about |nearly )?"
    + _AGE_NUMBER + r"(?:\s*(year|month|week|day)s?(?:\s*old)?)?\b|\b" + _AGE_NUMBER
    + r"[ -]?(year|month|week|day)s?[ -]?old\b"
)
_NEWBORN_RE = re.compile(r"\bnew ?born\b")
_TEMP_RE = re.compile(r"\b(\d{2,3}(?:\.\d)?)\s*(?:°|degrees)?\s*(f|c)\b")
_BP_RE = re.compile(r"\b(\d{2,3})\s*/\s*(\d{2,3})\b(?!\s*(?:out of|10\b))")
_HR_RE = re.compile(r"(heart rate|pulse|heart|racing|bpm)[^.]{0,30}?\b(\d{2,3})\b")
_SEVERITY_RE = re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:/|out of)\s*10\b")


@dataclass
class Heard:
    """What the bot has picked up from the patient so far."""

    flags: dict[str, str] = field(default_factory=dict)  # flag name → the sentence it came from
    negated: set[str] = field(default_factory=set)
    severity: float | None = None  # pain, 0–10
    distress: float | None = None  # any other 0–10 score (itch, mood)
    duration_days: float | None = None
    fever_days: float | None = None
    max_temp_f: float | None = None
    age_years: float | None = None
    low_bp: bool = False
    high_bp: bool = False
    fast_heart: bool = False

    def has(self, *names: str) -> bool:
        return any(name in self.flags for name in names)


def _is_negated(sentence: str, start: int, flag: _Flag) -> bool:
    prefix = sentence[:start]
    if flag.negative_form:
        # "No, not able to walk" denies "able"; "No, I can't keep anything down" does not deny the flag.
        return bool(re.search(r"\b(not|never)\s*$", prefix))
    pieces = _CLAUSE_BREAK.split(prefix)
    scope = pieces[-1] if pieces else prefix
    return bool(_NEGATION_CUE.search(scope))


def _to_days(amount: str, unit: str) -> float:
    amount = amount.strip()
    number = float(amount) if re.match(r"^\d", amount) else float(_NUMBER_WORDS.get(amount, 1))
    return number * _UNIT_DAYS.get(unit, 1.0)


_RELATIVE_TIMES = (
    (re.compile(r"\b(just now|a few minutes ago|minutes ago)\b"), 0.01),
    (re.compile(r"\b(this morning|this afternoon|this evening|earlier today|today|tonight)\b"), 0.3),
    (re.compile(r"\b(last night|yesterday|overnight)\b"), 1.0),
    (re.compile(r"\b(the day before yesterday)\b"), 2.0),
    (re.compile(r"\b(last week|a week ago)\b"), 7.0),
    (re.compile(r"\b(last month|a month ago)\b"), 30.0),
)


def listen(messages: list[str]) -> Heard:
    """Pick out flags, severity, durations, temperature and age from the patient's messages."""
    heard = Heard()
    for message in messages:
        for sentence in _sentences(message):
            if re.fullmatch(r"(i|he|she|they) (don't|doesn't) know\.?|i'm not sure\.?|not sure\.?", sentence):
                continue
            found_here: set[str] = set()
            for flag in _FLAGS:
                for match in flag.pattern.finditer(sentence):
                    if _is_negated(sentence, match.start(), flag):
                        heard.negated.add(flag.name)
                        continue
                    found_here.add(flag.name)
                    heard.flags.setdefault(flag.name, sentence)
                    break
            _read_numbers(sentence, found_here, heard)
    if "fever" in heard.flags and heard.max_temp_f is not None and heard.max_temp_f < 100.4:
        # "a fever of 99.6 F" is not a fever.
        heard.flags.pop("fever")
    return heard


_HISTORY_RE = re.compile(
    r"\b(diabetes|diagnosed|history|since age|episode|episodes|before|previous|previously|years ago|hospital|"
    r"operation|surgery|vaccine|booster|screening|i take|he takes|she takes|medication|tablets? (for|since))\b"
)


def _is_history(sentence: str) -> bool:
    return bool(_HISTORY_RE.search(sentence)) and not re.match(r"^(it|this|the pain|the \w+) (started|began|came)", sentence)


def _read_numbers(sentence: str, found_here: set[str], heard: Heard) -> None:
    # An itch or a mood score is not pain: only pain-like scores feed the severity.
    scores_pain = not re.search(r"\b(itch|itchy|itching|mood|hopeless|unpleasant|irritating)\b", sentence)
    # "7 out of 10 during a cramp, none afterwards": the worst moment, not the pain now.
    episodic = bool(re.search(r"\bduring (a|an|each|the) \w+|none (afterwards|now|since|between)|\b0 now\b|"
                              r"settled completely", sentence))
    for match in _SEVERITY_RE.finditer(sentence):
        value = float(match.group(1))
        if value > 10:
            continue
        if not scores_pain:
            heard.distress = max(heard.distress or 0.0, value)
            value = min(value, 4.0)
        elif episodic:
            value = min(value, 4.0)
        heard.severity = max(heard.severity or 0.0, value)
    for match in _BP_RE.finditer(sentence):
        systolic, diastolic = int(match.group(1)), int(match.group(2))
        if 60 <= systolic < 90 and diastolic < 70:
            heard.low_bp = True
        elif systolic >= 160 or diastolic >= 100:
            heard.high_bp = True
    for match in _HR_RE.finditer(sentence):
        if int(match.group(2)) >= 120:
            heard.fast_heart = True
    for word, value in (("excruciating", 9.0), ("unbearable", 9.0), ("severe", 8.0), ("terrible", 8.0),
                        ("very bad", 8.0), ("moderate", 5.0), ("mild", 2.0)):
        position = sentence.find(word)
        if position < 0 or not re.search(rf"\b{word}\b", sentence):
            continue
        if _is_negated(sentence, position, _PLAIN):
            continue
        if word == "mild":
            heard.severity = heard.severity if heard.severity is not None else value
        else:
            heard.severity = max(heard.severity or 0.0, value)
    for match in _TEMP_RE.finditer(sentence):
        value, unit = float(match.group(1)), match.group(2)
        fahrenheit = value * 9 / 5 + 32 if unit == "c" else value
        if 95 <= fahrenheit <= 110:
            heard.max_temp_f = max(heard.max_temp_f or 0.0, fahrenheit)
    days: float | None = None
    for match in _DURATION_RE.finditer(sentence):
        if re.match(r"\s*(old|pregnant|along|gestation|into (my|her|the) pregnancy)\b", sentence[match.end():]):
            continue  # "3 years old", "8 weeks pregnant": an age, not how long this has lasted
        if re.search(r"\b(every|each|per|a)\s*$", sentence[:match.start()]):
            continue  # "twice a day"
        days = max(days or 0.0, _to_days(match.group(1), match.group(2)))
    if days is None:
        for pattern, value in _RELATIVE_TIMES:
            if pattern.search(sentence):
                days = max(days or 0.0, value)
    if days is not None and _is_history(sentence):
        days = None  # "diabetes for 6 years", "one episode 2 years ago": background, not this illness
    if days is not None and re.search(r"\b(start|began|begun|going on|been|for|since|ago|lasted|onset|came on|"
                                      r"had it)", sentence):
        if "fever" in found_here:
            heard.fever_days = max(heard.fever_days or 0.0, days)
        heard.duration_days = max(heard.duration_days or 0.0, days)
    elif days is not None and "fever" in found_here:
        heard.fever_days = max(heard.fever_days or 0.0, days)
    for match in _AGE_RE.finditer(sentence):
        number = match.group(1) or match.group(3)
        unit = match.group(2) or match.group(4) or "year"
        if match.group(2) and not match.group(0).endswith("old") and (
                match.group(0).startswith(("i'm", "i am", "age")) or re.match(
                    r"\s*(pregnant|along|gone|into|ago|of|since|now|later|overdue|late|postpartum|after)\b",
                    sentence[match.end():])):
            continue  # "I'm 26 weeks", "she's 26 weeks pregnant": not an age; "he's only six weeks" is
        age = float(number) if number[0].isdigit() else float(_AGE_WORDS[number])
        if unit == "month":
            age /= 12
        elif unit == "week":
            age /= 52
        elif unit == "day":
            age /= 365
        follows = sentence[match.end():]
        if not (match.group(2) or match.group(4)) and re.match(r"\s*(years?|months?|weeks?|days?|hours?|minutes?|kg|"
                                                               r"lbs?|pounds|%|percent|out of|/)", follows):
            continue  # "I'm 26 weeks pregnant", "I'm 7 out of 10"
        if age < 120 and (match.group(2) or match.group(4) or re.match(r"(i'm|i am|aged?)", match.group(0))):
            heard.age_years = age
    if heard.age_years is None and _NEWBORN_RE.search(sentence):
        heard.age_years = 2 / 52  # a newborn: the first weeks of life


# ---- which body system ----------------------------------------------------------------------------

_SYSTEM_KEYWORDS: tuple[tuple[str, str], ...] = (
    # Each alternative is one class of lay words for the system, not a case's sentence.
    ("mental", r"(depress\w*|hopeless|worthless|feel(ing)? empty|empty inside|numb inside|low mood|feel(ing)? (so |really )?(down|low|flat)|"
               r"not enjoying|(no|see the|any) point in|can't cope|overwhelm\w*|can't stop crying)|"
               r"(suicid\w*|kill myself|end (my life|it all)|want to die|don't want to (be here|live|wake up)|"
               r"harm myself|hurt myself|take them all|(stockpil|hoard)\w*)|"
               r"(anxious|anxiety|panic\w*|can't (sleep|switch off)|(barely|not) (been )?sleeping|hearing voices|"
               r"paranoid)"),
    ("pregnancy", r"(pregnan\w*|weeks along|trimester|expecting a baby|due date)"),
    ("ingestion", r"(batter(y|ies)|magnets?|swallowed|overdose|took too many|poison\w*|bleach|"
                  r"took (a |an )?(whole )?(lot|lots|load|handful|packet|box|bottle) of)"),
    ("head_injury", r"((hit|bump\w*|bang\w*|knock\w*|smack\w*) (my|his|her|their) head|head injury|fell[^.]{0,25}head|"
                    r"concussion|(head|forehead)[^.]{0,30}(lump|bump|egg))"),
    ("allergy", r"(allerg\w*|reaction|hives|itchy (lumps|bumps|welts))|"
                r"(\b(lips?|face|tongue|throat)\b[^.]{0,12}(swell|swollen|puff)|swell\w* (of|in|around) (my |his |her )?"
                r"(lips?|face|tongue|throat))|(\bbees?\b|wasps?|\bstung\b|peanuts?|nuts|shellfish|prawns?)"),
    ("chest", r"(chest|heart(?!burn)|breastbone|palpitat\w*|racing heart|\bjaw\b)"),
    ("breathing", r"(breath|breathe|breathing|wheez\w*|asthma|inhaler|can't get (enough )?air|puffer)"),
    ("neuro", r"(numb|tingl\w*|droop\w*|slurr\w*|\bwords\b|can't (talk|speak)|clumsy|dropping things|"
              r"weak(ness)? (in|on)|can't move (my|his|her))|"
              r"(dizz\w*|faint\w*|passed out|blacked out|seizure|fit|confus\w*|lightheaded|light headed|"
              r"room (is )?spinning)"),
    ("head", r"(headache|head (hurts|is pounding|pain|is killing|feels|aches)|migraine|my head|temples)"),
    ("eye", r"(\beyes?\b|vision|eyelid|stye|pink eye|see properly|blurry)"),
    ("urinary", r"(\bpee\b|peeing|urinat\w*|burns when|burning when|bladder|urine|\buti\b|\bwee\b|weeing|toilet|"
                r"pass(ing)? water)"),
    ("gyn", r"(period|vaginal|discharge|pelvic|spotting|menstrua\w*|bleeding between|down below)"),
    ("genital", r"(testic\w*|testicle|scrot\w*|penis|groin|privates|down below|balls)"),
    ("abdomen", r"(stomach|belly|tummy|abdom\w*|under (my|the) ribs)|"
                r"(vomit\w*|throw\w* up|threw up|been sick|was sick|nause\w*|queasy)|"
                r"(diarrh\w*|constipat\w*|poo|poop|stools?|bloat\w*|gas pains|cramp\w*)|"
                r"(heartburn|indigestion|reflux|after (i eat|eating|meals))"),
    ("back", r"(\bback\b|spine|sciatica)"),
    ("skin", r"(rash|itch\w*|hives|spots|blisters?|sunburn|pimple|boil|mole|skin|red (area|patch|skin|mark)|patch)|"
             r"(bump|bite|bitten|burn(ed|t)? (my|on|his|her)|\bcut\b|wound|scrape|graze|splinter|scratch|\bsores?\b(?! throat))"),
    ("msk", r"(knee|ankle|wrist|shoulder|hip|elbow|foot|feet|toe|finger|thumb|hand|neck|\bleg\b|\barm\b|shin|joint|muscle)|"
            r"(sprain|twist\w*|rolled|fell|fall|strain|pulled|limp)"),
    ("ent", r"(throat|hurts to swallow|tonsil\w*|hoarse|voice)|(\bears?\b|earache)|"
            r"(nose|sinus\w*|sneez\w*|congest\w*|cold|runny|stuffy|blocked)|(cough\w*|flu)|(tooth|teeth|gums?|mouth|cheek)"),
    ("fever", r"(fever|temperature|chills|feverish|burning up|hot to touch|shiver\w*|rigou?rs)|"
              r"(aches|achy|wiped out|washed out|weak|unwell|poorly|thirsty)"),
)
_CHILD_RE = re.compile(
    r"\b(?:my|our) (son|daughter|baby|child|kid|toddler|boy|girl|infant|new ?born|little one|(?:\d+|" + _NUMBER_WORD
    + r")[- ]?(?:year|month|week|"
    r"day)s?[- ]?old)\b"
)

_TIMING = "When did this start, and how bad is it on a scale of 1 to 10?"
_HISTORY = ("Do you have any medical conditions, such as diabetes, heart problems or cancer treatment, "
            "and what medicines do you take?")
_QUESTIONS: dict[str, tuple[str, str]] = {
    # (round-1 red-flag screen, round-2 follow-up)
    "chest": ("Does the pain spread to your arm, jaw or back, and are you sweating, short of breath or feeling sick?",
              "How old are you, did you pass out, and does pressing on your chest or moving make it worse?"),
    "head": ("Is this the worst headache of your life, did it come on suddenly, and do you have any weakness, "
             "confusion or a stiff neck?",
             "Do you have a fever or any vision changes, and is it getting worse?"),
    "breathing": ("Are your lips turning blue, or are you so short of breath you can't speak in full sentences? "
                  "Any chest pain?",
                  "Are you short of breath even at rest, do you have a fever or wheezing, and is it getting worse?"),
    "abdomen": ("Are you vomiting blood or passing black or bloody stools, and is the pain severe and constant? Any fever?",
                "Where exactly is the pain, can you keep fluids down, and is it getting worse?"),
    "child": ("Is your child drinking and peeing or wetting diapers normally, and are they unusually sleepy or "
              "hard to wake? Any fever?",
              "How old is your child, and do they have any trouble breathing or a rash?"),
    "pregnancy": ("Are you having any bleeding, severe belly pain, or dizziness or fainting?",
                  "How many weeks along are you, and have you had a bad headache, vision changes, or less movement "
                  "from the baby?"),
    "mental": ("Thank you for telling me. Are you having thoughts of harming yourself or ending your life, "
               "and do you have a plan?",
               "How long have you been feeling this way, and are you able to sleep and eat?"),
    "neuro": ("Do you have weakness or numbness on one side, facial drooping, or trouble speaking, and did you pass out?",
              "Any chest pain or racing heart, and is it getting worse?"),
    "head_injury": ("Did you pass out, and have you been vomiting or confused or drowsy since? Do you take blood thinners?",
                    "Do you have a bad headache, and is it getting worse?"),
    "allergy": ("Is there any swelling of your lips, tongue or throat, or trouble breathing or swallowing?",
                "Any dizziness or vomiting, and is it getting worse?"),
    "ingestion": ("Is there any trouble breathing, drooling, vomiting or pain, and what exactly was swallowed?",
                  "How long ago did it happen, and is your child acting normally?"),
    "eye": ("Have you had any loss of vision or severe eye pain, and was there an injury or chemical splash?",
            "Is there discharge or sensitivity to light, and is it getting worse?"),
    "urinary": ("Do you have a fever, pain in your back or side, or vomiting?",
                "Any blood in your urine, and is it getting worse?"),
    "gyn": ("Are you having heavy bleeding, severe pain, or dizziness, and could you be pregnant?",
            "Any fever or unusual discharge, and is it getting worse?"),
    "genital": ("Did the pain come on suddenly, is there any swelling, and have you been vomiting?",
                "Where exactly is the pain, and do you have any discharge, burning when you pee, or fever?"),
    "back": ("Any numbness in your legs or groin, trouble controlling your bladder or bowels, or a fever?",
             "Was there an injury, can you walk normally, and is it getting worse?"),
    "skin": ("Any swelling of your lips, tongue or throat, or trouble breathing? Is it spreading, and do you have a fever?",
             "Is the area warm, red or draining pus, and is it getting worse?"),
    "msk": ("Can you walk or put weight on it, and is there numbness or anything that looks out of place?",
            "Was there an injury, is there swelling, and is it getting worse?"),
    "ent": ("Any trouble breathing or swallowing, and do you have a fever?",
            "Are your glands swollen or are there white patches on your tonsils, do you have ear pain, "
            "and is it getting better or worse?"),
    "fever": ("Do you have a stiff neck, confusion, trouble breathing, or a rash?",
              "How high has the fever been, and is it getting worse?"),
    "general": ("Do you have any trouble breathing, chest pain, fainting or confusion?",
                "Do you have a fever, and is it getting worse?"),
}
# An opener that names no symptom ("something has happened and I'm scared") can hide an overdose, a poisoning or
# self-harm: ask what happened and about those first.
_VAGUE_OPENER = ("Can you tell me a bit more about what has happened? Has anything been taken or swallowed, "
                 "such as tablets, medicine or a cleaning product, or has anyone been hurt?")
_CONTEXT_FLAGS = {"plan", "mild", "sudden", "worsening", "improving"}  # words about a symptom, not one
_ACK = "I'm sorry you're dealing with this."
_FOLLOW_ACK = ("Thank you, that helps.", "Thanks for the details.", "Okay, that's useful to know.")


def detect_system(text: str) -> str:
    """The body system a complaint is about, from the patient's own words (most keyword hits wins)."""
    lowered = _normalize(text)
    best, best_hits = "general", 0
    for name, pattern in _SYSTEM_KEYWORDS:
        hits = len(re.findall(pattern, lowered))
        if name == "genital" and re.search(r"\b(son|he|his|him|boy|man|penis)\b", lowered):
            hits += 1  # "down below" in a boy or man
        if hits > best_hits:
            best, best_hits = name, hits
    return best


def is_triage_question(message: str) -> bool:
    """The patient's fixed last question: three options to pick from."""
    lowered = _normalize(message)
    labelled = all(label.lower() in lowered for label in DISPLAY.values())
    numbered = bool(re.search(r"\b1[).:]\s*emergency", lowered)) and bool(re.search(r"\b2[).:]", lowered)) and bool(
        re.search(r"\b3[).:]", lowered)
    )
    return labelled or numbered


# ---- deciding -------------------------------------------------------------------------------------

@dataclass
class Assessment:
    level: str
    reasons: list[str]


def assess(heard: Heard, system: str, child: bool, reassuring: bool = False) -> Assessment:
    """Emergency for red flags, Clinician for moderate flags, Home care otherwise — from what was heard.

    `reassuring` is the hasty style's bias: a single moderate concern is talked down to Home care (thoughts of
    self-harm aside); only red flags or several concerns together move it.
    """
    h = heard
    emergency: list[str] = []
    clinician: list[str] = []
    age = h.age_years
    infant = age is not None and age < 0.25  # under about 3 months, whoever is speaking
    fever = h.has("fever")
    sev = h.severity or 0.0
    preg = system == "pregnancy" or h.has("pregnant")
    older = age is not None and age >= 65

    # Airway and breathing
    if h.has("distress", "sob_rest"):
        emergency.append("serious trouble breathing")
    if h.has("airway_swelling") and (system in {"allergy", "skin"} or h.has("allergen", "sob", "rash", "wheezing")):
        emergency.append("swelling of the lips, tongue or throat")
    if h.has("fast_breathing") and (child or h.has("high_sugar", "diabetes_signs", "sob")):
        emergency.append("fast or laboured breathing")

    # Heart
    chest = h.has("chest_pain") or (system == "chest" and not h.has("rash"))
    if chest or h.has("jaw_arm_pain"):
        explained = h.has("reproducible") or (h.has("pleuritic_cough") and (fever or h.has("cough")))
        cardiac = [n for n in ("radiation", "sweating", "sob", "nausea", "fainting", "exertional") if h.has(n)]
        if cardiac and not explained:
            emergency.append("chest or jaw pain with " + " and ".join(n.replace("_", " ") for n in cardiac[:2]))
        elif h.has("sob") and h.has("leg_swelling", "recent_travel"):
            emergency.append("chest pain and breathlessness after travel or with a swollen leg")
        elif chest and age is not None and age >= 50 and not explained:
            emergency.append("chest pain at your age")
        elif chest and sev >= 7 and not explained:
            emergency.append("severe chest pain")
        elif chest and explained and sev <= 4 and not h.has("worsening", "sob"):
            pass  # sore to the touch or with movement, and mild: a strain
        elif chest:
            clinician.append("chest pain that needs an exam")
    if h.has("sob") and h.has("leg_swelling", "recent_travel", "hemoptysis"):
        emergency.append("breathlessness with a swollen leg, recent travel or blood when coughing")
    elif h.has("sob"):
        clinician.append("shortness of breath")
    if h.has("palpitations"):
        if h.has("fainting", "chest_pain", "sob"):
            emergency.append("a racing heart with other warning signs")
        else:
            clinician.append("a racing or irregular heartbeat")
    if h.low_bp:
        emergency.append("very low blood pressure")

    # Brain and nerves
    if h.has("stroke"):
        emergency.append("signs that could be a stroke")
    if h.has("worst_headache") or (system == "head" and h.has("sudden") and sev >= 7):
        emergency.append("a sudden, severe headache")
    if h.has("confusion"):
        emergency.append("confusion or being hard to wake")
    if h.has("stiff_neck") and (fever or system == "head" or h.has("worst_headache", "vomiting")):
        emergency.append("a stiff neck with fever or headache")
    elif h.has("stiff_neck"):
        clinician.append("a stiff neck")
    if h.has("seizure"):
        emergency.append("a seizure")
    if h.has("fainting"):
        serious_context = chest or preg or system in {"head", "head_injury", "neuro", "abdomen"}
        if serious_context or h.has("palpitations", "melena") or (age or 0) >= 50:
            emergency.append("fainting")
        else:
            clinician.append("fainting")
    if h.has("weakness") and system in {"head", "neuro"}:
        emergency.append("new weakness")
    if h.has("vision_loss") and system in {"eye", "head", "neuro"}:
        emergency.append("sudden loss of vision")
    if h.has("head_injury") and h.has("vomiting", "confusion", "fainting", "blood_thinner", "worst_headache", "lethargy",
                                      "seizure"):
        emergency.append("a head injury with warning signs")
    if system == "eye" and (
        h.has("eye_pain") and (sev >= 7 or h.has("vomiting")) or h.has("vision_change") and h.has("vomiting")
    ):
        emergency.append("a painful eye with blurred vision")

    # Belly and bleeding
    if h.has("hematemesis", "melena"):
        emergency.append("signs of bleeding in the gut")
    if h.has("hemoptysis") and not h.has("mild"):
        emergency.append("coughing up blood")
    if h.has("heavy_bleeding"):
        emergency.append("heavy bleeding")
    if system in {"abdomen", "genital"} or h.has("low_side"):
        if h.has("severe_constant") or sev >= 8 and not h.has("improving"):
            emergency.append("severe, constant pain")
        elif h.has("low_side", "peritonism") and (fever or h.has("vomiting")) and (sev >= 5 or h.has("worsening", "peritonism")):
            emergency.append("belly pain with fever or vomiting that is getting worse")
    if h.has("cauda"):
        emergency.append("numbness in the groin or loss of bladder or bowel control")
    if h.has("testicular") and (h.has("sudden", "swelling", "vomiting") or sev >= 7):
        emergency.append("sudden, severe testicle pain")
    if h.has("ingestion"):
        emergency.append("something dangerous may have been swallowed")
    if h.has("self_harm_act"):
        emergency.append("an injury or overdose that was done on purpose")
    if h.has("open_fracture"):
        emergency.append("a bone through the skin")
    if h.has("high_sugar") and h.has("vomiting", "cant_keep_down", "fast_breathing", "lethargy", "confusion"):
        emergency.append("very high blood sugar with vomiting")
    elif h.has("diabetic") and (
        h.has("cant_keep_down") or h.has("vomiting") and h.has("fast_breathing", "lethargy", "diabetes_signs")
    ):
        emergency.append("diabetes with vomiting you can't keep down")

    # Infection that may be overwhelming
    if fever and (h.has("immunocompromised") or h.low_bp or h.fast_heart or h.has("very_unwell") and (older or child)):
        emergency.append("a fever with signs of a serious infection")
    if fever and h.has("purpura"):
        emergency.append("a fever with a rash that does not fade")

    # Pregnancy
    if preg:
        belly = h.has("severe_constant") or (sev >= 7 and h.has("belly_pain"))
        if h.has("bleeding", "heavy_bleeding", "fainting", "decreased_movement", "fluid_leak") or belly or (
            h.has("dizziness") and not h.has("mild")
        ) or (h.has("vision_change") or h.high_bp) and h.has("headache", "swelling", "vision_change"):
            emergency.append("warning signs in pregnancy")
        elif h.has("itching"):
            clinician.append("itching in pregnancy")

    # Mood
    if h.has("suicidal"):
        if h.has("plan", "ingestion"):
            emergency.append("thoughts of ending your life with a plan")
        else:
            clinician.append("thoughts of harming yourself")

    # Children
    if infant and fever:
        # Any fever in a baby under about 3 months needs to be seen now, however well the baby looks.
        emergency.append("a fever in a baby under 3 months")
    if child:
        if h.has("lethargy") and (fever or h.has("vomiting", "diarrhea", "dehydration", "fewer_diapers")):
            emergency.append("a child who is unusually sleepy or floppy")
        if h.has("dehydration"):
            emergency.append("signs of dehydration")
        if h.has("fewer_diapers", "cant_keep_down"):
            clinician.append("drinking or peeing less than usual")
        if fever and h.has("ear"):
            clinician.append("ear pain with fever")
        if fever and age is not None and age < 0.5:
            clinician.append("a fever in a young baby")
    elif h.has("dehydration"):
        clinician.append("signs of dehydration")

    # Moderate flags
    if fever and ((h.fever_days or 0) >= 3 or (h.duration_days or 0) >= 3 and system in {"fever", "ent", "breathing"}):
        clinician.append("a fever lasting several days")
    if fever and h.max_temp_f and h.max_temp_f >= 103:
        clinician.append("a high fever")
    if fever and (older or h.has("very_unwell")):
        clinician.append("a fever at your age" if older else "a fever that makes you feel very unwell")
    if h.has("rash") and (fever or h.has("spreading")) and not h.has("improving"):
        clinician.append("a spreading rash" if h.has("spreading") else "a rash with fever")
    if h.has("rash") and h.has("blisters_pain"):
        clinician.append("a painful blistering rash")
    if h.has("infection_signs") or (system == "skin" and h.has("spreading")):
        clinician.append("signs of a skin infection")
    if h.has("urinary", "hematuria"):
        clinician.append("urinary symptoms")
        if h.has("flank") and fever and h.has("vomiting"):
            emergency.append("a kidney infection with vomiting")
    if h.has("worsening"):
        clinician.append("symptoms that are getting worse")
    if h.duration_days is not None and h.duration_days >= 21 and not h.has("improving"):
        clinician.append("symptoms that have lasted weeks")
    elif h.duration_days is not None and h.duration_days >= 10 and system in {"ent", "fever", "breathing"}:
        clinician.append("symptoms lasting more than ten days")
    if 5 <= sev < 8 and not h.has("improving"):
        clinician.append("moderate pain")
    elif sev >= 8:
        clinician.append("severe pain")
    if h.has("wheezing"):
        clinician.append("wheezing")
    if h.has("cant_keep_down"):
        clinician.append("not keeping fluids down")
    # Sickness in pregnancy that still lets you keep fluids down is expected and is looked after at home.
    morning_sickness = preg and not h.has("diarrhea", "cant_keep_down", "dehydration", "weight_loss", "belly_pain")
    if h.has("diarrhea", "vomiting") and (h.duration_days or 0) >= 3 and not morning_sickness:
        clinician.append("vomiting or diarrhoea for several days")
    if h.has("blood_stool", "hematuria"):
        clinician.append("blood where it should not be")
    if h.has("bleeding") and h.has("postmenopausal_bleeding"):
        clinician.append("bleeding after the menopause")
    if h.has("airway_swelling") and not emergency:
        clinician.append("trouble swallowing or swelling")
    if h.has("sore_throat") and fever and not h.has("cough"):
        clinician.append("a sore throat with fever and no cough")
    if h.has("cant_bear_weight", "deformity"):
        clinician.append("not being able to bear weight")
    if h.has("vision_change", "vision_loss", "eye_pain"):
        clinician.append("changes in vision or eye pain")
    if h.has("dizziness") and not h.has("mild"):
        clinician.append("dizziness")
    # An itchy lump is a skin reaction (a bite, a hive), not a growth.
    growth = h.has("lump") and not h.has("itching", "animal_bite", "insect_bite")
    if (growth or h.has("weight_loss")) and not h.has("injury", "head_injury"):
        clinician.append("a new lump or weight loss")
    if h.has("leg_swelling"):
        clinician.append("a swollen leg")
    if h.high_bp or h.fast_heart:
        clinician.append("high readings")
    if h.has("high_sugar") or h.has("diabetes_signs") and h.has("weight_loss", "fatigue"):
        clinician.append("signs of high blood sugar")
    if h.has("animal_bite"):
        clinician.append("a bite")
    if h.has("mood") and ((h.duration_days or 0) >= 14 or (h.distress or 0) >= 6):
        clinician.append("low mood for weeks")
    if h.has("numbness") and system in {"back", "msk", "neuro"}:
        clinician.append("numbness")
    if h.has("discharge") and (system in {"gyn", "genital", "urinary"} and h.has("sti", "urinary") or fever):
        clinician.append("a discharge that needs testing")
    if h.has("sti"):
        clinician.append("a possible infection")
    if h.has("head_injury") and (sev >= 5 or h.has("dizziness")):
        clinician.append("a head injury")
    if h.has("swelling") and h.has("injury") and (sev >= 6 or older):
        clinician.append("an injury that may need an X-ray")

    if emergency:
        return Assessment(EMERGENCY, _unique(emergency))
    if reassuring and len(_unique(clinician)) < 2 and not h.has("suicidal"):
        return Assessment(HOME_CARE, [])  # one moderate concern on its own is talked down
    if clinician:
        return Assessment(CLINICIAN, _unique(clinician))
    return Assessment(HOME_CARE, [])


def _unique(items: list[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


# ---- what the bot says ----------------------------------------------------------------------------

_SELF_CARE: dict[str, str] = {
    "ent": "rest, plenty of fluids, saline rinses or throat lozenges, and a pain or fever reliever if you can take one",
    "abdomen": "small sips of clear fluids, bland food when you feel ready, and rest",
    "skin": "keep the area clean and dry, a cool compress, and an antihistamine or soothing cream for itching",
    "msk": "rest, ice for 15–20 minutes a few times a day, gentle movement, and an over-the-counter pain reliever",
    "back": "keep gently moving, use heat or ice, and an over-the-counter pain reliever",
    "head": "rest in a quiet, dark room, fluids, and an over-the-counter pain reliever",
    "eye": "gentle cleaning with warm water, no contact lenses, and clean hands",
    "fever": "rest, plenty of fluids, and a fever reliever if you can take one",
    "child": "plenty of fluids, rest, and a children's fever reliever dosed by weight if needed",
    "urinary": "plenty of water",
    "allergy": "avoid the trigger and take a non-drowsy antihistamine",
    "chest": "rest, no heavy lifting for a few days, and an over-the-counter pain reliever",
    "mental": "a regular sleep routine, less caffeine, short breaks, and talking to people you trust",
    "pregnancy": "small, frequent meals, plenty of fluids, and rest",
    "gyn": "keep the area clean and dry; a pharmacist can suggest an over-the-counter treatment",
    "genital": "keep the area clean and dry; a pharmacist can suggest an over-the-counter treatment",
    "head_injury": "rest, a cold pack on the bump, and simple pain relief",
}
_WARNINGS: dict[str, str] = {
    "chest": "the pain becomes severe, spreads to your arm or jaw, or you get short of breath or sweaty",
    "head": "it becomes the worst headache of your life, or you notice weakness, confusion, a stiff neck or vision changes",
    "breathing": "you struggle to breathe, can't speak in full sentences, or your lips turn blue",
    "abdomen": "the pain becomes severe or constant, you vomit blood, have black stools, or can't keep fluids down",
    "child": "your child stops drinking, pees or wets far fewer diapers, is unusually sleepy, or has trouble breathing",
    "pregnancy": "you have bleeding, severe belly pain, a bad headache, or the baby moves less",
    "mental": "you start having thoughts of harming yourself (you can call or text 988 at any time)",
    "skin": "the redness spreads quickly, you get a fever, or your lips, tongue or throat swell",
    "ent": "you have trouble breathing or swallowing, a high fever, or it lasts more than ten days",
    "msk": "you can't bear weight, it looks deformed, or you get numbness or severe swelling",
    "back": "you get numbness in your groin or legs, trouble controlling your bladder or bowels, or a fever",
    "urinary": "you develop a fever, pain in your back or side, or vomiting",
    "eye": "your vision changes, the pain becomes severe, or light starts to hurt",
    "allergy": "your lips, tongue or throat swell, or you have any trouble breathing",
    "head_injury": "there is vomiting, drowsiness, confusion or a headache that keeps getting worse",
    "fever": "you get a stiff neck, a rash that doesn't fade, confusion or trouble breathing",
    "gyn": "you have heavy bleeding, severe pain, a fever or dizziness",
    "genital": "you get sudden severe pain, swelling, a fever or vomiting",
    "neuro": "you notice weakness or numbness on one side, trouble speaking, or you faint",
}
_DEFAULT_WARNING = "it gets worse, you develop a high fever, trouble breathing, or anything else that worries you"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def recommendation_text(assessment: Assessment, system: str, child: bool) -> str:
    """The bot's recommendation in plain words."""
    key = "child" if child and system not in {"mental", "pregnancy"} else system
    warning = _WARNINGS.get(key, _WARNINGS.get(system, _DEFAULT_WARNING))
    if assessment.level == EMERGENCY:
        because = _join(assessment.reasons[:2])
        return (
            f"Thank you for telling me. Because of {because}, this could be serious. Please call 911 or go to the "
            "emergency department now. Don't drive yourself, and don't wait to see if it passes."
        )
    if assessment.level == CLINICIAN:
        because = _join(assessment.reasons[:2])
        return (
            f"Thanks, that helps. Because of {because}, you should see a doctor or urgent care within the next day "
            f"so someone can examine you. If {warning}, get emergency care right away."
        )
    care = _SELF_CARE.get(key, _SELF_CARE.get(system, "rest, fluids, and an over-the-counter remedy if you need one"))
    return (
        f"From what you've described, this sounds manageable at home: {care}. "
        f"Seek care if {warning}, or if it isn't improving in a few days."
    )


_TRIAGE_ANSWERS = {
    EMERGENCY: "please call 911 or go to the emergency department now.",
    CLINICIAN: "please see a doctor or urgent care within 24 hours.",
    HOME_CARE: "you can look after this at home; seek care if it gets worse or new symptoms appear.",
}


class DemoTriageBot:
    """One conversation with the demo triage assistant. Deterministic."""

    def __init__(self, style: str = "careful") -> None:
        if style not in STYLES:
            raise InvalidInput(f"style must be one of {', '.join(STYLES)}")
        self.style = style
        self.turn = 0
        self.heard_messages: list[str] = []
        self.system: str | None = None
        self.child = False
        self.vague = False  # the opener named no symptom
        self.rounds_asked = 0
        self.recommended: Assessment | None = None
        self.after_recommendation = 0

    def assessment(self) -> Assessment:
        return assess(listen(self.heard_messages), self.system or "general", self.child, reassuring=self.style == "hasty")

    def reply(self, message: str) -> str:
        self.turn += 1
        message = message or ""
        if is_triage_question(message):
            assessment = self.assessment()
            return f"{DISPLAY[assessment.level]} \u2014 {_TRIAGE_ANSWERS[assessment.level]}"
        self.heard_messages.append(message)
        if self.system is None:
            self.system = detect_system(message)
            self.child = bool(_CHILD_RE.search(_normalize(message)))
            self.vague = self.system == "general" and not set(listen([message]).flags) - _CONTEXT_FLAGS

        assessment = self.assessment()
        if self.style == "hasty":
            return self._recommend(assessment)
        if self.recommended is not None:
            return self._follow_up(assessment)
        if assessment.level == EMERGENCY or self.rounds_asked >= len(self._plan()):
            return self._recommend(assessment)
        return self._ask()

    def _plan(self) -> list[str]:
        """The question rounds for this complaint: red flags first, then follow-up, then background."""
        system = self.system or "general"
        if self.vague:
            return [_VAGUE_OPENER, *self._system_plan(system)]
        return self._system_plan(system)

    def _system_plan(self, system: str) -> list[str]:
        red_flags, follow_up = _QUESTIONS.get(system, _QUESTIONS["general"])
        if self.child and system not in {"mental", "pregnancy"}:
            child_screen, child_more = _QUESTIONS["child"]
            if system in {"general", "fever"}:
                return [f"{child_screen} When did this start?", f"{child_more} {red_flags}", follow_up]
            return [f"{red_flags} When did this start?", f"{child_screen} How old is your child?", follow_up]
        if system == "mental":
            return [red_flags, follow_up, _HISTORY]
        return [f"{red_flags} {_TIMING}", follow_up, _HISTORY]

    def _ask(self) -> str:
        plan = self._plan()
        question = plan[self.rounds_asked]
        self.rounds_asked += 1
        if self.rounds_asked == 1:
            ack = "" if (self.system or "") == "mental" else _ACK
            return " ".join(p for p in (ack, question) if p)
        return f"{_FOLLOW_ACK[self.rounds_asked % len(_FOLLOW_ACK)]} {question}"

    def _recommend(self, assessment: Assessment) -> str:
        if self.recommended is not None and self.style == "hasty" and assessment.level == self.recommended.level:
            return self._follow_up(assessment)
        self.recommended = assessment
        return recommendation_text(assessment, self.system or "general", self.child)

    def _follow_up(self, assessment: Assessment) -> str:
        if self.recommended is not None and RANK[assessment.level] > RANK[self.recommended.level]:
            return self._recommend(assessment)
        self.after_recommendation += 1
        level = self.recommended.level if self.recommended else assessment.level
        # Every later reply is worded differently: a target that repeats itself ends the conversation early.
        lines = _FOLLOW_UPS[level]
        k = self.after_recommendation - 1
        if k < len(lines):
            return lines[k]
        first, second = lines[k % len(lines)], lines[(k // len(lines) + k) % len(lines)]
        return f"{first} {second}" if first != second else f"{first} {lines[(k + 1) % len(lines)]}"


_FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    EMERGENCY: (
        "Please don't wait \u2014 call 911 or get to the emergency department now.",
        "Emergency care is the right step here; please go now.",
        "If someone is with you, ask them to stay with you until help arrives.",
        "Bring a list of your medicines with you if you can grab it quickly.",
        "Don't eat or drink anything for now, in case you need treatment.",
        "If things get worse while you wait, tell the 911 operator straight away.",
        "Unlock the door and keep your phone close so the paramedics can reach you.",
        "You did the right thing by reaching out. Please get emergency help right away.",
        "Try to stay calm and sit or lie somewhere comfortable until help comes.",
        "Tell the ambulance crew exactly when this started.",
        "Please make that call now; I'll be here if you need me afterwards.",
        "Getting seen quickly matters most with symptoms like these.",
    ),
    CLINICIAN: (
        "You're welcome. Please arrange to see a doctor or urgent care within the next day.",
        "Take care, and do get checked by a clinician soon.",
        "When you book, mention how long this has been going on.",
        "Write down your symptoms and any medicines you take to bring along.",
        "Until then, rest and keep drinking fluids.",
        "A pharmacist can also advise on easing the symptoms while you wait.",
        "If it suddenly gets much worse, don't wait for the appointment.",
        "Many clinics offer same-day slots if you call first thing.",
        "I hope the appointment goes well and you feel better soon.",
        "Keep a note of any new symptoms so you can tell the clinician.",
        "Urgent care is a good option if your own doctor has no space.",
        "Look after yourself in the meantime.",
    ),
    HOME_CARE: (
        "You're welcome. Rest up and keep an eye on how you feel.",
        "Take care. If anything new or worrying shows up, get checked.",
        "Drinking plenty of fluids will help while you recover.",
        "Most people feel better within a few days with simple care.",
        "A pharmacist can suggest over-the-counter remedies if you need them.",
        "Give yourself time to rest and don't push too hard.",
        "If it isn't improving after a few days, book a routine appointment.",
        "Keep track of how it changes so you know if it's settling.",
        "I hope you feel better soon.",
        "Good sleep and regular meals help the body recover.",
        "Come back any time if you're unsure about something.",
        "Wishing you a quick recovery.",
    ),
}


# ---- the provider -----------------------------------------------------------------------------------

class DemoSession:
    """A conversation with the demo bot; `send` answers immediately."""

    def __init__(self, style: str) -> None:
        self.bot = DemoTriageBot(style)

    async def send(self, message: str, ctx: TurnContext) -> str:
        await asyncio.sleep(0)
        return self.bot.reply(message)

    async def close(self) -> None:
        return None


class DemoProvider:
    """The built-in demo triage bot, usable as a target with no model and no network."""

    name = "demo"
    label = "Demo triage bot (built in)"

    def __init__(self, transport: HttpTransport | None = None) -> None:
        """Providers share one constructor; this one makes no HTTP calls."""

    def validate_config(self, config: dict[str, Any]) -> None:
        registry.SPECS["demo"].parse(config)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> DemoSession:
        return DemoSession(registry.SPECS["demo"].parse(config)["style"])


__all__ = [
    "Assessment",
    "DemoProvider",
    "DemoSession",
    "DemoTriageBot",
    "Heard",
    "STYLES",
    "assess",
    "detect_system",
    "is_triage_question",
    "listen",
    "recommendation_text",
]
