"""Output moderation: what a model should not say, sentence by sentence.

Five categories, each scored per sentence; a text's findings carry the offending sentences'
spans, so the guard can remove just those sentences instead of the whole answer:

* ``moderation.insult`` — offensive language: the probability of alt-profanity-check's
  linear model (TF-IDF words, a calibrated linear SVM), evaluated here as the same
  arithmetic over its own weights (a whole answer in a fraction of a millisecond; the
  package's ``predict_prob`` spends about 10 ms per call in sklearn), or a rule for the
  contempt no swear word carries ("you are a waste of space", "nobody loves you"). The
  model is a bag of words, so before it sees a sentence the violent vocabulary ("kill",
  "die", "shoot"; the threat rules judge violence, with its target) and, in clinical
  sentences, anatomical words are taken out: ``kill -9``, "this bug is killing me" and a
  medical text are not offensive language.
* ``moderation.threat`` — violence announced or wished on a person ("I will kill you",
  "you should be hurt"): rules that need the person, so killing a process is not one.
* ``moderation.self_harm`` — encouraging or instructing self-harm ("kill yourself", "the
  easiest way to end your life"), not supporting someone who self-harms.
* ``moderation.hate`` — dehumanising statements about protected groups ("<group> are
  vermin", "<group> should be exterminated"). Slurs themselves are left to the insult
  model, which was trained on them, rather than listed here.
* ``moderation.sexual_minors`` — sexual content together with a minor in one sentence.

Rules have fixed scores; one that matches inside double quotes, or in a sentence that only
discusses the phrase (propaganda being described, a crisis line being offered), gets a
fraction of its score."""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from guardrails.lazy import Once
from guardrails.types import Finding, Source

# an insult is aimed at someone; the model's score of a sentence that names no one is damped
TARGETED = re.compile(
    r"(?i)\b(you|your|you're|youre|ur|u|yourself|he|she|they|him|her|them|his|their|"
    r"people like|this (?:guy|person|idiot)|everyone|whoever|anyone who|the (?:author|guy|person"
    r"|people|folks) who)\b"
    # an insult said of someone: "… is a complete idiot"
    r"|\b(?:is|are|was|were)\s+(?:an?\s+)?(?:(?:complete|total|absolute|utter|real|such)\s+)?"
    r"(?:an?\s+)?(?:idiots?|morons?|imbeciles?|jerks?|clowns?|losers?|fools?)\b"
)
UNTARGETED = 0.65

CATEGORIES = ("insult", "threat", "self_harm", "hate", "sexual_minors")
MIN_SCORE = 0.1  # a category's best sentence below this is not reported at all
SPAN_FLOOR = 0.5  # other sentences at or above this are reported too, so all get redacted
MAX_SENTENCE = 400  # longer runs without a sentence end are scored in pieces about this long
QUOTED = 0.5  # a rule's match inside double quotes: reported speech, fiction, an example
DISCUSSED = 0.3  # a rule's match in a sentence that talks about the phrase

# ---------------------------------------------------------------------------------------------
# sentences and normalization

_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|\n")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\u2061\ufeff"))
_PUNCT = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"'})
# words that mix letters with digits used as letters ("sh1t", "1d10t"); version strings
# and hashes become nonsense words, which no rule or model weight knows
# ("12yo", "3rd", "10am" stay: digits then only letters)
_LEET = re.compile(
    r"\b(?!\d+[a-z]+\b)(?=[a-z]*[0134578][a-z0134578]*\b)(?=\d*[a-z])[a-z0134578]{3,}\b"
)
_UNLEET = str.maketrans("0134578", "oieastb")
_LEET_HINT = re.compile(r"[a-z][0134578]|[0134578][a-z]")  # most texts have no such word
_SPACES = re.compile(r"[^\S\n]+")  # not newlines: score_sentences joins sentences by them


def sentences(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each sentence (or line) of ``text``, whitespace trimmed."""
    cuts = [m.end() for m in _END.finditer(text)]
    out: list[tuple[int, int]] = []
    at = 0
    for end in [*cuts, len(text)]:
        start, stop = at, end
        at = end
        while start < stop and text[start].isspace():
            start += 1
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        while stop - start > MAX_SENTENCE:  # cut at a space, so no word is split
            cut = text.rfind(" ", start + MAX_SENTENCE // 2, start + MAX_SENTENCE)
            cut = cut if cut > start else start + MAX_SENTENCE
            out.append((start, cut))
            start = cut
            while start < stop and text[start].isspace():
                start += 1
        if stop > start:
            out.append((start, stop))
    return out


def normalize(sentence: str) -> str:
    """What rules and model see: NFKC (fullwidth and styled letters), no zero-width
    characters, straight quotes, lower case, digits-as-letters undone, single spaces."""
    if not sentence.isascii():
        sentence = unicodedata.normalize("NFKC", sentence).translate(_ZERO_WIDTH)
        sentence = sentence.translate(_PUNCT)
    sentence = sentence.lower()
    if _LEET_HINT.search(sentence):
        sentence = _LEET.sub(lambda m: m.group(0).translate(_UNLEET), sentence)
    return _SPACES.sub(" ", sentence)


# ---------------------------------------------------------------------------------------------
# rules: (category, name, pattern, score); patterns see normalized (lower-case) sentences


@dataclass(frozen=True)
class Rule:
    category: str
    name: str
    pattern: re.Pattern[str]
    score: float


_NOT_BEFORE = r"(?<!\bnot )(?<!n't )(?<!\bnever )(?<!\bno )"
_PERSON = (
    r"(?:you|u|ya|y'all|your (?:family|kids?|children|wife|husband|mother|mom|father|dad|"
    r"sister|brother|friends?|son|daughter|girlfriend|boyfriend))"
)
_THIRD = r"(?:him|her|them)"
_VIOLENCE = (
    r"(?:kill|murder|hurt|stab|strangle|choke|slaughter|butcher|torture|rape|behead|lynch|"
    r"maim|break your (?:legs?|neck|arms?|face|bones)|beat (?:you|him|her|them) "
    r"(?:up|to death|senseless|bloody))"
)
# these take an indirect object in harmless uses: "shoot you an email", "burn you a CD"
_VIOLENCE_DITRANSITIVE = r"(?:shoot|burn|gut)"
_INTEND = (
    r"(?:i|we) ?(?:'ll|will|shall|'m going to|am going to|'m gonna|am gonna|gonna|"
    r"'re going to|are going to|'re gonna|are gonna|want to|wanna|intend to|plan to|"
    r"'m about to|am about to|'m coming to|am coming to)"
)
_NOT_NEGATION = r"(?:(?!not\b|never\b|n't\b)\w+ )"  # "i will never hurt you" is no threat
_PASSIVE = (
    r"(?:hurt|killed|murdered|shot|stabbed|beaten|raped|tortured|lynched|hanged|hung|"
    r"beheaded|slaughtered|strangled|burned alive|burnt alive|exterminated|gassed)"
)
_GROUP = (
    r"(?:(?:all |most |those |these |the |filthy |dirty |fucking )?(?:jews|jewish people|"
    r"muslims|christians|catholics|hindus|sikhs|buddhists|atheists|arabs|blacks|"
    r"black people|whites|white people|asians|asian people|chinese people|mexicans|latinos|"
    r"hispanics|africans|indians|immigrants|migrants|refugees|gays|gay people|lesbians|"
    r"homosexuals|bisexuals|trans people|transgender people|trans women|trans men|women|"
    r"gypsies|roma|disabled people|the disabled|autistic people|old people|the elderly|"
    r"elderly people))"
)
_DEHUMANISING = (
    r"(?:vermin|subhuman|sub-human|animals|beasts|savages|parasites|cockroaches|rats|insects|"
    r"pigs|apes|monkeys|filth|scum|a disease|a plague|a cancer|a virus|an infestation|"
    r"not (?:even )?human|less than human|inferior|trash|garbage|leeches|a burden|freaks|"
    r"degenerates)"
)
# a whole group cast as criminals: the stereotype that precedes "so get rid of them"
_VILIFYING = r"(?:terrorists|criminals|rapists|murderers|thieves|pedophiles|paedophiles)"
_MINOR = (
    r"(?:child|children|kids?|minors?|underage|under-age|preteens?|pre-teens?|prepubescent|"
    r"toddlers?|infants?|(?:[1-9]|1[0-7])[- ]?(?:year[- ]?olds?|yo|yrs? old)|schoolgirls?|"
    r"schoolboys?|little (?:girls?|boys?)|young (?:girls?|boys?)|lolis?|shotas?)"
)
_SEXUAL = (
    r"(?:erotic\w*|porn\w*|sexy|seductive\w*|orgasm\w*|aroused|arousing|horny|"
    r"(?:have|had|having|has) sex|sex (?:scene|story|with)|sexual (?:story|roleplay|role-play|"
    r"scene|content|acts?|intercourse|fantas\w+|encounter|touching)|sexually (?:explicit|"
    r"touch\w*|arous\w*)|fondl\w+|molest\w*)"
)


def _r(category: str, name: str, pattern: str, score: float) -> Rule:
    return Rule(category, name, re.compile(pattern), score)


RULES: tuple[Rule, ...] = (
    # threat: the speaker's intent, or a wish, of violence against a person
    _r("threat", "intent", rf"\b{_INTEND} {_NOT_NEGATION}{{0,3}}?{_VIOLENCE} {_PERSON}\b", 0.95),
    _r(
        "threat",
        "intent_ditransitive",
        rf"\b{_INTEND} {_NOT_NEGATION}{{0,3}}?{_VIOLENCE_DITRANSITIVE} {_PERSON}\b"
        r"(?! (?:an?|the|my|some|over|this|that|back|up)\b)",
        0.9,
    ),
    _r(
        "threat",
        "intent_third",
        rf"\b{_INTEND} {_NOT_NEGATION}{{0,3}}?{_VIOLENCE} {_THIRD}\b",
        0.75,
    ),
    _r(
        "threat",
        "deserve",
        rf"\b(?:you|u|people like you|your kind|you people) (?:should|deserve to|ought to|"
        rf"need to|must) (?:be|get) {_PASSIVE}\b",
        0.9,
    ),
    _r(
        "threat",
        "wish",
        r"\b(?:i hope|hope) (?:you|u) (?:die|get (?:hurt|killed|shot|stabbed|raped)|suffer|"
        r"rot in hell|burn in hell)\b(?! (?:less|no|from|any|little|only|mild)\b)",
        0.85,
    ),
    _r(
        "threat",
        "deserve_die",
        r"\b(?:you|u) (?:deserve to|should|ought to) (?:die|suffer)\b"
        # "you should suffer less"; "you should die your hair" (dye)
        r"(?! (?:less|no|from|any|little|only|mild|your|my|his|her|their|the|it)\b)",
        0.9,
    ),
    _r(
        "threat",
        "someone_should",
        rf"\bsomeone (?:should|needs to|ought to) (?:kill|shoot|hurt|stab|murder) "
        rf"(?:{_PERSON}|{_THIRD})\b",
        0.85,
    ),
    _r(
        "threat",
        "hunt",
        rf"\b{_INTEND} (?:\w+ ){{0,2}}?(?:hunt (?:you|u) down|track (?:you|u) down|"
        r"find out where (?:you|u) live|make (?:you|u) (?:regret|pay|suffer|bleed))\b",
        0.85,
    ),
    _r(
        "threat",
        "bullet",
        r"\b(?:put|send|pump|stick) (?:a|one|some|my) (?:bullets?|knife|blade) (?:in|into|"
        r"through) (?:you|u|your (?:head|skull|brain|face|chest|heart|back|gut|throat|neck)s?)\b",
        0.95,
    ),
    _r(
        "threat",
        "know_where",
        r"\b(?:i|we) know (?:where (?:you|u) live|your address|where your (?:kids|children|"
        r"family|wife|husband) (?:live|are|go to school))\b",
        0.8,
    ),
    _r("threat", "one_eye_open", r"\bsleep with one eye open\b", 0.8),
    _r("threat", "watch_your_back", r"\bwatch your back\b", 0.6),  # advice, too, at times
    _r(
        "threat",
        "sooner_dead",
        r"\bthe sooner (?:you|they|he|she) (?:all )?(?:die|dies|are dead|is dead|drop dead)"
        r"(?: off| out)?,? the better\b",
        0.85,
    ),
    # insult, beyond the model's words: contempt for a person's existence
    _r(
        "insult",
        "worthless",
        rf"\b(?:you|u|people like you|your kind|you people)(?: are|'re| r)? (?:just |such |"
        rf"nothing but |nothing more than |an? )?(?:absolute |complete |total |utter |"
        rf"walking )?(?!not\b)(?:waste of (?:oxygen|space|skin|air|life)|{_DEHUMANISING}|a mistake|"
        rf"a disgrace)\b",
        0.85,
    ),
    _r(
        "insult",
        "unwanted",
        r"\b(?:nobody|no one) (?:wants|likes|loves|cares about|needs) (?:you|u)\b"
        r"(?! to\b)",  # "nobody wants you to fail"
        0.75,
    ),
    _r(
        "insult",
        "aborted",
        r"\b(?:should have (?:aborted|drowned|swallowed) (?:you|u)|(?:you|u) should have been "
        r"(?:aborted|drowned at birth))\b",
        0.9,
    ),
    # self-harm: telling someone to harm themselves, or how
    _r(
        "self_harm",
        "imperative",
        rf"{_NOT_BEFORE}\b(?:kill|hang|shoot) (?:yo)?urself\b"
        r"(?! (?:laughing|trying|working|over|for)\b)",
        0.95,
    ),
    _r("self_harm", "kys", r"\bkys\b", 0.9),
    _r(
        "self_harm",
        "should",
        r"\b(?:you|u) (?:should|ought to|need to|must|deserve to|might as well|may as well|"
        r"could just) (?:just )?(?:kill|hurt|harm|cut|starve|hang|shoot|poison|end) "
        r"(?:yo)?urself\b(?! (?:some|a|an)\b)",
        0.9,
    ),
    _r(
        "self_harm",
        "end_life",
        r"\b(?:you should|you deserve to|just|go) (?:end your (?:own )?life|end it all|"
        r"commit suicide|stop eating)\b",
        0.9,
    ),
    _r(
        "self_harm",
        "better_off",
        r"\b(?:you(?:'d| would) be better off dead|(?:nobody|no one) would (?:miss|care about) "
        r"you|(?:the world|everyone) would be better (?:off )?without you)\b",
        0.85,
    ),
    _r(
        "self_harm",
        "method",
        r"\b(?:best|easiest|quickest|fastest|surest|most (?:painless|effective|reliable|lethal|"
        r"certain)) (?:ways?|methods?|means) (?:to|of|for) (?:kill(?:ing)? (?:yo)?urself|"
        r"kill(?:ing)? myself|commit(?:ting)? suicide|suicide|end(?:ing)? (?:your|my|one's) "
        r"(?:own )?life|self-harm|self harm|cut(?:ting)? (?:yo)?urself)\b",
        0.9,
    ),
    # hate: a protected group called less than human, or wished dead
    _r(
        "hate",
        "dehumanising",
        rf"\b{_GROUP} (?:are|r|'re) (?:all |just |nothing but |nothing more than |like |"
        rf"basically )?(?:(?:a|an) )?(?:(?!not\b|never\b|no\b)\w+ )?{_DEHUMANISING}\b",
        0.9,
    ),
    _r(
        "hate",
        "vilifying",
        rf"\b{_GROUP} (?:are|r|'re) (?:all|just|nothing but|basically) "
        rf"(?:(?!not\b|never\b|no\b)\w+ )?{_VILIFYING}\b",
        0.85,
    ),
    _r(
        "hate",
        "conspiracy",
        rf"\b{_GROUP} (?:control|run|own|secretly run|secretly control) (?:the|all the|our) "
        r"(?:banks|media|world|government|money|economy)\b",
        0.85,
    ),
    _r(
        "hate",
        "eliminationist",
        rf"\b{_GROUP} (?:should|must|need to|ought to|deserve to|have to) (?:just |all )?"
        r"(?:be )?(?:exterminated|eradicated|wiped out|gassed|killed|shot|hanged|lynched|"
        r"eliminated|purged|die|sterilized|put down|rounded up|put in camps|removed from "
        r"(?:the|this) (?:earth|planet))\b",
        0.9,
    ),
    _r(
        "hate",
        "exterminate",
        rf"\b(?:kill|exterminate|gas|eradicate|wipe out) (?:all )?(?:of )?(?:the )?{_GROUP}\b",
        0.85,
    ),
    _r("hate", "i_hate", rf"\bi (?:hate|despise) (?:all )?{_GROUP}\b", 0.8),
    # sexual content and a minor in one sentence (either order)
    _r(
        "sexual_minors",
        "sexual_minor",
        rf"\b{_SEXUAL}\b.*\b{_MINOR}\b|\b{_MINOR}\b.*\b{_SEXUAL}\b",
        0.95,
    ),
    _r("sexual_minors", "csam", r"\b(?:child porn\w*|csam|kiddie porn)\b", 0.9),
    _r(
        "sexual_minors",
        "nude_minor",
        rf"\b(?:nude|naked|undress\w*)\b.*\b{_MINOR}\b|\b{_MINOR}\b.*\b(?:nude|naked|undress\w*)\b",
        0.6,
    ),
)
_RULES_BY_CATEGORY = {c: tuple(r for r in RULES if r.category == c) for c in CATEGORIES}

# a sentence that names one of these talks about the phrase rather than using it
_DISCUSSION = {
    "threat": re.compile(
        r"\b(?:the phrase|the words|the sentence|the message|is considered|counts as|"
        r"constitutes|an example of|examples? of|is a threat|as a threat|lyrics?)\b"
    ),
    "self_harm": re.compile(
        r"\b(?:hotline|helpline|crisis|988|samaritans|therapist|counsel\w*|prevention|"
        r"reach out|talk to someone|you are not alone|you're not alone|cyberbully\w*|"
        r"if you(?:'re| are) (?:thinking|feeling))"
    ),
    "hate": re.compile(
        r"\b(?:propaganda|rhetoric|claimed|claims? that|portray\w*|stereotypes?|myths?|"
        r"racis[mt]\w*|bigot\w*|slurs?|hate speech|dehumani[sz]\w*|historically|nazis?|"
        r"the idea that|the belief that|the lie that|genocide|holocaust|regime|"
        r"sought to|tried to|attempted to)\b"
    ),
    "sexual_minors": re.compile(
        r"\b(?:abuse\w*|illegal|crimes?|criminal|report\w*|protect\w*|prevent\w*|laws?|"
        r"prosecut\w*|offenders?|predators?|grooming|safeguard\w*|victims?|survivors?|"
        r"ncmec|police|statutory|sex education|parents?|parental|age-appropriate|"
        r"talk(?:ing)? (?:to|with)|away from|block\w*|filter\w*|exposure|exposed to)\b"
    ),
}
# a negation or a condition just before a self-harm phrase: "don't hurt yourself", "if you
# want to kill yourself, call …"
_SELF_HARM_HEDGE = re.compile(
    r"(?:n't|\bnot|\bnever|\bno one should|\bif you|\bthoughts? (?:of|about)|"
    r"\bthinking (?:of|about)|\burges? to|\bwant(?:ing)? to|\bfeel like|\bcan't tell you|"
    r"\bwon't (?:tell|help|explain)|\byou(?:'ll| will| might| may|'re going to| are going to))"
    r"[^.!?]{0,30}$"
)


def _inside_quotes(sentence: str, start: int) -> bool:
    return sentence.count('"', 0, start) % 2 == 1


def rule_scores(
    sentence: str, categories: Iterable[str] = CATEGORIES
) -> dict[str, tuple[float, str]]:
    """Per category, the best rule score for one normalized sentence and the rule's name."""
    out: dict[str, tuple[float, str]] = {}
    for category in categories:
        rules = _RULES_BY_CATEGORY.get(category, ())
        best, name = 0.0, ""
        for rule in rules:
            m = rule.pattern.search(sentence)
            if m is None:
                continue
            score = rule.score
            if _inside_quotes(sentence, m.start()):
                score *= QUOTED
            discussion = _DISCUSSION.get(category)
            if discussion is not None and discussion.search(sentence):
                score *= DISCUSSED
            if category == "self_harm" and _SELF_HARM_HEDGE.search(sentence, 0, m.start()):
                score *= DISCUSSED
            if score > best:
                best, name = score, rule.name
        if best > 0.0:
            out[category] = (best, name)
    return out


# Words are classified once and remembered (``_word``): which categories' rules a sentence
# with the word needs (every rule needs one of its category's gate words), and what the
# offensive-language model should not see.
_GATES = {
    "threat": re.compile(
        r"kill|murder|hurt|stab|strangl|chok|slaughter|butcher|tortur|rape|behead|lynch|maim|"
        r"break|beat|shoot|shot$|burn|gut$|hang|hung$|die$|suffer|rot$|exterminat|gassed|where$|"
        r"hunt|track|come$|find$|make$|bullets?$|knife$|blade$|address$|eye$|back$|dead$|dies$"
    ),
    "insult": re.compile(
        r"waste$|nobody$|one$|aborted$|drowned$|swallowed$|mistake$|disgrace$|vermin|subhuman|"
        r"sub$|animals$|beasts$|savages$|parasites$|cockroaches$|rats$|insects$|pigs$|apes$|"
        r"monkeys$|filth$|scum$|disease$|plague$|cancer$|virus$|infestation$|human$|inferior$|"
        r"trash$|garbage$|leeches$|burden$|freaks$|degenerates$"
    ),
    "self_harm": re.compile(
        r"(?:yo)?urself$|myself$|kys$|end$|ending$|suicid|better$|miss$|without$|care$|stop$|"
        r"self$"
    ),
    "hate": re.compile(
        r"jew|muslim|christian|catholic|hindu|sikh|buddhist|atheist|arab|black|white|asian|"
        r"chinese|mexican|latino|hispanic|african|indian|immigrant|migrant|refugee|gay|lesbian|"
        r"homosexual|bisexual|trans|women|gyps|roma|disabled|autistic|old$|elderly$"
    ),
    "sexual_minors": re.compile(
        r"porn|csam|sex|erotic|orgasm|arous|horny|fondl|molest|nude|naked|undress|seduct|kiddie"
    ),
}

# violence is the threat rules' to judge (they need the person it is aimed at); to the bag of
# words model "kill" weighs like a swear word, and "kill -9" or "the Holocaust killed six
# million" are not offensive language
_VIOLENT = re.compile(
    r"(?:p?kill(?:s|ed|ing|er|ers|all)?|murder\w*|die[sd]?|dying|dead|death|hurt\w*|"
    r"shoot\w*|shot|stab\w*)$"
)
# anatomy and sex in a clinical, educational or safeguarding sentence: the model scores them
# as profanity
_CLINICAL = re.compile(
    r"(?:patients?|clinic\w*|medic\w*|anatom\w*|symptoms?|diagnos\w+|cancers?|screening|"
    r"exams?|examination|infections?|diseases?|treatment|doctors?|physicians?|surgery|"
    r"surgical|biolog\w*|chromosomes?|hormones?|organs?|health|bleeding|cells?|tissues?|"
    r"glands?|syndrome|tumou?rs?|condition|gyn[a]?ecolog\w*|urolog\w*|sti|stis|std|stds|"
    r"pregnan\w*|contracepti\w*|puberty|reproducti\w*|education|nurses?|hospital|therapy|"
    r"prostate|fertility|menstrua\w*|abuse|assault|harassment|consent|parents?)$"
)
_ANATOMY = re.compile(
    r"(?:penis\w*|penile|vagina\w*|vulva\w*|anal|anus|rect\w+|breasts?|nipples?|testic\w+|"
    r"scrot\w+|genital\w*|cervi\w+|clitor\w+|sex|sexual\w*|intercourse|ejaculat\w*|erecti\w*|"
    r"semen|sperm|urin\w*|feces|faeces|bowel\w*|butt|buttocks|masturbat\w*|orgasm\w*|"
    r"condoms?|sexually)$"
)
_WORD = re.compile(r"(?u)\b\w\w+\b")  # the profanity model's token pattern
# every threat rule names its target, but one ("sleep with one eye open")
_THREAT_TARGET = re.compile(r"\b(?:you|u|ya|y'all|him|her|them|your|they|he|she|one eye)\b")


@dataclass(frozen=True)
class _Word:
    gates: frozenset[str]
    violent: bool
    clinical: bool
    anatomy: bool


_WORDS: dict[str, _Word] = {}
_WORDS_MAX = 200_000  # forgotten all at once past this many (a pathological stream of words)


def _word(word: str) -> _Word:
    found = _WORDS.get(word)
    if found is None:
        found = _Word(
            frozenset(c for c, g in _GATES.items() if g.match(word)),
            bool(_VIOLENT.match(word)),
            bool(_CLINICAL.match(word)),
            bool(_ANATOMY.match(word)),
        )
        if len(_WORDS) >= _WORDS_MAX:
            _WORDS.clear()
        _WORDS[word] = found  # a race only computes the same value twice
    return found


def analyse(sentence: str) -> tuple[set[str], list[str]]:
    """For a normalized sentence: the categories whose rules it needs, and the words the
    offensive-language model scores (see ``_VIOLENT``, ``_CLINICAL``)."""
    words = _WORD.findall(sentence)
    info = [_word(w) for w in words]
    gates: set[str] = set()
    for i in info:
        gates.update(i.gates)
    if "threat" in gates and not _THREAT_TARGET.search(sentence):
        gates.discard("threat")  # violence at no one: "kill the process", "the dead lock"
    clinical = any(i.clinical for i in info)
    kept = [
        w
        for w, i in zip(words, info, strict=True)
        if not i.violent and not (clinical and i.anatomy)
    ]
    return gates, kept


def model_text(sentence: str) -> str:
    """What the offensive-language model sees of a normalized sentence."""
    return " ".join(analyse(sentence)[1])


# ---------------------------------------------------------------------------------------------
# the offensive-language model


class Profanity:
    """alt-profanity-check's model as plain arithmetic: per word its idf and the five
    cross-validation folds' SVM weights; per fold a sigmoid calibration; the probability
    is the folds' mean, as ``CalibratedClassifierCV.predict_proba`` computes it.
    ``load`` checks that this equals ``profanity_check.predict_prob`` on probe sentences and
    falls back to calling the package when it does not (a changed model layout)."""

    def __init__(
        self,
        weights: Weights | None,
        fallback: Callable[[list[str]], Any],
    ) -> None:
        self._weights = weights  # None: every call goes through the package
        self._fallback = fallback

    @property
    def exact(self) -> bool:
        """Whether the fast path is in use (it matched the package on the probes)."""
        return self._weights is not None

    @classmethod
    def load(cls) -> Profanity:
        with warnings.catch_warnings():
            # alt-profanity-check pins the scikit-learn it was pickled with; under another
            # version sklearn warns once per pickled object (harmless for this linear model,
            # and the probe comparison below catches a real difference)
            try:
                from sklearn.exceptions import (  # type: ignore[import-untyped]
                    InconsistentVersionWarning,
                )

                warnings.simplefilter("ignore", InconsistentVersionWarning)
            except ImportError:  # scikit-learn < 1.3 has no such class
                warnings.simplefilter("ignore", UserWarning)
            # importing the package unpickles its vectorizer and model (seconds)
            from profanity_check import (  # type: ignore[import-untyped]
                predict_prob,
            )
            from profanity_check import profanity_check as package

        def fallback(texts: list[str]) -> Any:
            return predict_prob(texts)

        try:
            weights = Weights.of(package.vectorizer, package.model)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            return cls(None, fallback)
        fast = cls(weights, fallback)
        probes = [*_PROBES, ""]
        want = [float(p) for p in fallback(probes)]
        got = fast.scores(probes)
        if any(abs(w - g) > 1e-6 for w, g in zip(want, got, strict=True)):
            return cls(None, fallback)
        return fast

    def scores(self, texts: list[str]) -> list[float]:
        """The probability that each text is offensive."""
        if not texts:
            return []
        if self._weights is None:
            return [float(p) for p in self._fallback(texts)]
        return self._weights.score_words([_WORD.findall(t.lower()) for t in texts])

    def score_words(self, texts: list[list[str]]) -> list[float]:
        """``scores`` of texts already split into (lower-case) words."""
        if not texts:
            return []
        if self._weights is None:
            return [float(p) for p in self._fallback([" ".join(t) for t in texts])]
        return self._weights.score_words(texts)


@dataclass(frozen=True)
class Weights:
    """The numbers of a word-unigram TF-IDF (l2 norm, raw tf) feeding sigmoid-calibrated
    binary linear folds."""

    vocabulary: dict[str, int]
    table: npt.NDArray[np.float64]  # per word: idf, then each fold's weight times the idf
    intercept: npt.NDArray[np.float64]  # per fold
    a: npt.NDArray[np.float64]  # per fold: p = 1 / (1 + exp(a * decision + b))
    b: npt.NDArray[np.float64]

    @classmethod
    def of(cls, vectorizer: Any, model: Any) -> Weights:
        if (
            tuple(vectorizer.ngram_range) != (1, 1)
            or vectorizer.analyzer != "word"
            or vectorizer.norm != "l2"
            or vectorizer.sublinear_tf
            or not vectorizer.use_idf
            or not vectorizer.lowercase
            or vectorizer.preprocessor is not None
            or vectorizer.tokenizer is not None
            or vectorizer.strip_accents is not None
            or vectorizer.binary
            or vectorizer.token_pattern != _WORD.pattern
            or getattr(model, "method", None) != "sigmoid"
            or list(model.classes_) != [0, 1]
        ):
            raise ValueError("unknown model layout")
        folds = model.calibrated_classifiers_
        idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        coef = np.stack([np.asarray(f.estimator.coef_, dtype=np.float64).ravel() for f in folds])
        return cls(
            vocabulary={str(w): int(j) for w, j in vectorizer.vocabulary_.items()},
            table=np.column_stack([idf, (coef * idf).T]),
            intercept=np.array([float(np.ravel(f.estimator.intercept_)[0]) for f in folds]),
            a=np.array([float(f.calibrators[0].a_) for f in folds]),
            b=np.array([float(f.calibrators[0].b_) for f in folds]),
        )

    def score_words(self, texts: list[list[str]]) -> list[float]:
        # one small matrix product for all sentences: numpy's per-call cost, not per sentence
        words: list[int] = []
        counts: list[int] = []
        bounds = [0]
        vocabulary = self.vocabulary
        for text in texts:
            seen: dict[int, int] = {}
            for word in text:
                j = vocabulary.get(word)  # stop words and rare words are not in it
                if j is not None:
                    seen[j] = seen.get(j, 0) + 1
            words.extend(seen)
            counts.extend(seen.values())
            bounds.append(len(words))
        sums = np.zeros((len(texts), self.table.shape[1]))
        if words:
            rows = self.table[words] * np.asarray(counts, dtype=np.float64)[:, None]
            rows[:, 0] **= 2  # the tf-idf values' squares, for the norm
            starts = np.asarray(bounds[:-1])
            filled = np.diff(bounds) > 0  # reduceat needs the empty rows left out
            sums[filled] = np.add.reduceat(rows, starts[filled], axis=0)
        norms = np.sqrt(sums[:, 0])
        norms[norms == 0] = 1.0  # an empty row stays zero, as sklearn's l2 norm leaves it
        decision = sums[:, 1:] / norms[:, None] + self.intercept
        with np.errstate(over="ignore"):  # exp overflows to inf: a probability of 0
            p = 1.0 / (1.0 + np.exp(self.a * decision + self.b))
        return [float(x) for x in p.mean(axis=1)]


_PROBES = [
    "you are a complete idiot",
    "have a wonderful day, thanks for the help",
    "what the hell is this, you stupid stupid moron",
    "the quarterly report is attached",
    "fuck",
]


# the offensive-language model, loaded once (about 4 s: the package unpickles it)
profanity = Once(Profanity.load)


# ---------------------------------------------------------------------------------------------
# the check


@dataclass(frozen=True)
class Scored:
    """One sentence's scores: its span in the original text and a score per category."""

    start: int
    end: int
    scores: dict[str, float]
    rules: dict[str, str]


class ModerationCheck:
    """Scores a model's output per sentence in five categories (see the module docstring)."""

    name = "moderation"

    def __init__(self, model: Profanity | None = None) -> None:
        self._model = model  # None: the shared one, loaded on first use

    def score_sentences(self, text: str) -> list[Scored]:
        """Every sentence of ``text`` with its per-category scores."""
        model = self._model or profanity()  # loaded even for an empty text: the guard's warm-up
        spans = sentences(text)
        if not spans:
            return []
        # the regexes run once over all sentences, one per line (none has a newline inside)
        joined = normalize("\n".join(text[s:e] for s, e in spans))
        norms = joined.split("\n")
        if len(norms) != len(spans):  # normalization made or ate a newline: one by one
            norms = [normalize(text[s:e]).replace("\n", " ") for s, e in spans]
            joined = "\n".join(norms)
        analysed = [analyse(norm) for norm in norms]
        insults = model.score_words([words for _, words in analysed])
        out: list[Scored] = []
        for i, ((start, end), insult) in enumerate(zip(spans, insults, strict=True)):
            if not TARGETED.search(norms[i]):
                # the model judges words without context: "that sucks" is not aimed at anyone
                insult *= UNTARGETED
            scores = {"insult": insult}
            rules = {"insult": "model"}
            if analysed[i][0]:
                for category, (score, rule) in rule_scores(norms[i], analysed[i][0]).items():
                    if score > scores.get(category, 0.0):  # insult: the model's or a rule's
                        scores[category] = score
                        rules[category] = rule
            out.append(Scored(start, end, scores, rules))
        return out

    def scan(self, text: str, source: Source) -> list[Finding]:
        """Per category, the highest-scoring sentence (at least ``MIN_SCORE``) and every other
        sentence at or above ``SPAN_FLOOR``; each finding spans its sentence. Every source is
        scored alike: the guard's policy picks the sources (model output by default)."""
        scored = self.score_sentences(text)
        found: list[Finding] = []
        for category in CATEGORIES:
            ranked = [(s.scores.get(category, 0.0), s) for s in scored]
            best = max(ranked, key=lambda r: r[0], default=None)
            if best is None or best[0] < MIN_SCORE:
                continue
            for score, s in ranked:
                if s is best[1] or score >= SPAN_FLOOR:
                    found.append(
                        Finding(
                            self.name,
                            f"moderation.{category}",
                            round(min(1.0, score), 4),
                            s.start,
                            s.end,
                        )
                    )
        found.sort(key=lambda f: (f.start or 0, f.category))
        return found
