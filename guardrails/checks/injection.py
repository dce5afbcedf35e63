"""Prompt injection: text that tries to instruct the model instead of informing it.

Two scorers, and a text's score is the higher of the two:

* rules: patterns for the classic phrasings (ignore/forget the previous instructions, "you
  are now DAN", developer mode, system prompt extraction, forged ``SYSTEM:`` and chat-template
  role markers, notes addressed to "AI assistants" reading a document, instructions to call a
  tool, run a command or send data somewhere, the same override in German, French, Spanish,
  Portuguese, Italian, Russian, Chinese, Japanese, Korean, Arabic and Hindi), each with a
  fixed score. Texts that only *discuss* such phrases
  (a security article quoting "ignore previous instructions") get a fraction of it.
* a linear classifier over hashed word 1-2 grams (``guardrails/data/injection.npz``, trained
  by ``evals/guardrails/train_injection.py``; numbers, not a pickle).

Long texts are scored by overlapping windows of about ``WINDOW`` characters and the highest
window counts, so one planted sentence in a long tool result or document is not diluted by
the benign rest. Structured texts are cut into ``units`` first: a JSON result into its
strings, an HTML page into its visible text, its comments and its text-bearing attributes;
windows never span two units, so a planted field is scored as the sentence it is.

Tool, retrieval and memory text (``Source.indirect``) is held to a stricter standard than a
user's message: a user may legitimately tell the assistant what to do, a web page or an email
may not."""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import HashingVectorizer  # type: ignore[import-untyped]
from sklearn.utils import murmurhash3_32  # type: ignore[import-untyped]

from guardrails.lazy import Once
from guardrails.types import Finding, Source

DEFAULT_THRESHOLD = 0.5  # the guard's default: a score at or above it acts
MIN_SCORE = 0.05  # below this no finding is returned at all
WINDOW = 480  # characters per scored window (two segments)
SEGMENT = WINDOW // 2  # windows overlap by one segment, so a sentence up to this long is whole
ARTIFACT = "injection.npz"
DOMAINS = ("user", "indirect")

# ---------------------------------------------------------------------------------------------
# normalization: undo the cheap disguises before rules and features see the text

# Cyrillic and Greek letters that look Latin ("іgnоrе" with Cyrillic і, о, е)
_HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁһӏАВЕКМНОРСТХІЈЅαεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlABEKMHOPCTXIJSaeikvoptuxABEHIKMNOPTYX",
)
_SPACED = re.compile(r"\b(?:[A-Za-z] ){3,}[A-Za-z]\b")  # "i g n o r e" -> "ignore"
_SPACED_HINT = re.compile(r" [A-Za-z] [A-Za-z] [A-Za-z]\b")  # starts with a literal: fast
# words that mix letters with digits used as letters ("1gn0re", "prev1ous")
_LEET = re.compile(
    r"\b(?=[A-Za-z]*[013457][A-Za-z013457]*\b)(?=[0-9]*[A-Za-z])[A-Za-z013457]{4,}\b"
)
_UNLEET = str.maketrans("013457", "oieast")
_LEET_HINT = re.compile(r"[A-Za-z][013457]|[013457][A-Za-z]")
_ZW_RE = re.compile("[\u00ad\u200b-\u200f\u2060\u2061\ufeff]")
_HOMO_RE = re.compile("[аеорсухіјѕԁһӏАВЕКМНОРСТХІЈЅαεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ]")
# a word with a look-alike letter in it; it is mapped to Latin only when it also has a Latin
# letter ("іgnоrе", mixed scripts): a word all in Cyrillic or Greek is Russian or Greek
_HOMO_WORD = re.compile(rf"\w*{_HOMO_RE.pattern}\w*")
_LATIN = re.compile("[A-Za-z]")


def _unmix(match: re.Match[str]) -> str:
    word = match.group(0)
    return word.translate(_HOMOGLYPHS) if _LATIN.search(word) else word


SHORT = 4000  # spaced-out and digit-for-letter disguises are undone only in texts up to this


def normalize(text: str) -> str:
    """The text the rules and the classifier see: NFKC (fullwidth and math-styled letters to
    ASCII), no zero-width characters, look-alike letters in Latin words to Latin, spaced-out
    words joined,
    digits in words read as the letters they stand for."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        if _ZW_RE.search(text):
            text = _ZW_RE.sub("", text)
        if _HOMO_RE.search(text):  # str.translate is slow: only when there is something to map
            text = _HOMO_WORD.sub(_unmix, text)
    if len(text) > SHORT:
        return text  # these disguises are a short prompt's; a long text's windows don't need them
    if _SPACED_HINT.search(text):
        text = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
    if _LEET_HINT.search(text):
        text = _LEET.sub(lambda m: m.group(0).translate(_UNLEET), text)
    return text


# ---------------------------------------------------------------------------------------------
# rules: (name, pattern, score for a user's text, score for indirect text)

# who an injection addresses: names only a model goes by, and words a person may also be
_AI_STRONG = (
    r"(?:(?:ai|a\.i\.|llms?|gpts?|ai-based|llm-based)(?:[ -](?:assistants?|agents?|models?|systems?"
    r"|tools?|readers?|bots?|chatbots?|reviewers?|summari[sz]ers?))?|(?:large\s+)?language\s+models?"
    r"|chat\s?bots?|chatgpt|gpt-?\d\w*|claude|copilot|gemini"
    r"|automated\s+(?:assistants?|agents?|systems?|tools?|readers?))"
)
_AI_WEAK = r"(?:model|assistant|agent|summari[sz]er|translator|reviewer|bot)s?"
_AI = rf"(?:{_AI_STRONG}|(?:the\s+)?{_AI_WEAK})"
# what follows "AI, ..." when it is an order and not a sentence about AI
_DIRECTIVE = (
    r"(?:ignore|disregard|forget|stop|do\s+not|don'?t|you\s+must|call|run|execute|send|reveal"
    r"|delete|respond|reply|update|change|override|quietly|secretly|new|instead|the\s+user|your"
    r"|when|before|exfiltrate|insert|output|say|tell|treat|list|post|append|add|include|print"
    r"|write|open|visit|click|download|install|push|merge|approve|close|mark|grant|rate|recommend"
    r"|omit|answer|claim|read|the\s+text\s+above|this\s+is)\b"
)
_OVERRIDE_VERB = (
    r"(?:ignore|disregard|forget|override|bypass|discard|abandon|neglect|set\s+aside"
    r"|pay\s+no\s+attention\s+to|do\s+not\s+follow|don'?t\s+follow|stop\s+following)"
)
_RULES_OF = (
    r"(?:instructions?|prompts?|directions?|directives?|rules|guidelines|guidance|commands?"
    r"|programming|constraints|restrictions|polic(?:y|ies)|context|guardrails|training"
    r"|filters|safeguards|orders)"
)
_BEFORE = r"(?:previous|prior|preceding|above|earlier|former|original|initial|foregoing)"
_HUMAN_SENT = re.compile(
    r"(?i)^\W{0,3}(?:(?:that\s+)?(?:i|we|he|she|they|hr|it)\s+(?:sent|gave|posted|shared|emailed"
    r"|wrote|mentioned|provided|forwarded)|(?:in|from)\s+(?:my|our|the)\s+(?:last|previous"
    r"|earlier)\s+(?:e-?mail|message|mail|note|letter|post))"
)

RULES: tuple[tuple[str, str, float, float], ...] = (
    # -- instruction override
    (
        "override.previous",
        rf"\b{_OVERRIDE_VERB}\s+(?:(?:all|any|every|each|of|the|your|my|these|those|its|this)\s+)*"
        rf"{_BEFORE}\s+(?:\w+\s+)?{_RULES_OF}",
        0.95,
        0.95,
    ),
    (
        "override.yours",
        rf"\b{_OVERRIDE_VERB}\s+(?:all\s+|any\s+|of\s+)*(?:the\s+system\s+(?:message|prompt)\b|(?:your"
        r"|the\s+system'?s?|the\s+developer'?s?)"
        rf"\s+(?:own\s+|current\s+|existing\s+|safety\s+|system\s+|core\s+|ethical\s+|content\s+)*"
        r"(?:instructions?|prompt|rules|guidelines|programming|constraints|restrictions"
        r"|polic(?:y|ies)|guardrails|training|filters|safeguards|directives|system\s+prompt))",
        0.9,
        0.9,
    ),
    (
        "override.everything",
        r"\b(?:ignore|disregard|forget)\s+(?:all|everything|anything)\s+(?:(?:that\s+)?(?:was\s+)?"
        r"(?:above|before|prior|said\s+before|you\s+(?:were|have\s+been)\s+told|you\s+know)"
        r"|(?:in|from)\s+(?:the\s+)?(?:system|previous|prior))",
        0.9,
        0.9,
    ),
    (
        "override.received",
        rf"\b{_OVERRIDE_VERB}\s+(?:all\s+)?(?:the\s+|any\s+)?(?:instructions|rules|guidelines"
        r"|prompts?|directions)\s+(?:you\s+(?:received|were\s+given|got|have\s+been\s+given"
        r"|were\s+told)|(?:given|provided)\s+(?:to\s+you\s+)?(?:earlier|before|above|previously)"
        r"|(?:above|before|earlier|so\s+far))",
        0.9,
        0.9,
    ),
    (
        "override.the_above",
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+(?:of\s+)?)?the\s+above(?:\s+(?:instructions"
        r"|text|prompt|rules|directions|message|content))?(?=\s*(?:[.,;:!]|and\b|then\b"
        r"|instead\b|$))",
        0.85,
        0.9,
    ),
    (
        "override.disable",
        r"\b(?:disable|turn\s+off|deactivate|remove|lift|switch\s+off|bypass|circumvent)\s+"
        r"(?:all\s+)?(?:of\s+)?your\s+(?:safety\s+|content\s+|own\s+)*(?:filters|guardrails"
        r"|restrictions|safety|guidelines|rules|content\s+polic(?:y|ies)|safeguards|limitations)\b",
        0.8,
        0.9,
    ),
    (
        "override.new_colon",
        r"\bnew\s+(?:system\s+)?instructions?\s*:\s*(?:you|your|ignore|disregard|forget|reveal"
        r"|from\s+now\s+on|the\s+assistant|assistant|ai|do\s+not|don'?t|print|output|respond)\b",
        0.8,
        0.9,
    ),
    (
        "override.the_user",
        # "ignore the user's request", not "ignore the user's old address" (a note about them)
        r"\b(?:ignore|disregard|forget)\s+(?:the|this)\s+user(?:'s\s+(?:requests?|questions?"
        r"|instructions?|messages?|tasks?|prompts?|wishes|commands?|orders?|objections?)\b"
        r"|\b(?!'))",
        0.7,
        0.9,
    ),
    (
        "override.revoked",
        rf"\b(?:{_BEFORE}|your|all)\s+(?:system\s+)?(?#start)(?:instructions|rules|guidelines"
        r"|prompts?)"
        r"\s+(?:are|were|have\s+been|has\s+been|is)\s+(?:now\s+)?(?:revoked|void|null|cancell?ed"
        r"|overridden|lifted|suspended|disabled|replaced|no\s+longer\s+(?:valid|apply|in\s+effect))",
        0.85,
        0.9,
    ),
    (
        "override.changed",
        r"\byour\s+(?:instructions|rules|guidelines|system\s+prompt|programming|directives)\s+"
        r"(?:have|has)\s+(?:been\s+)?(?:changed|updated|replaced|revoked|overridden|lifted)",
        0.85,
        0.9,
    ),
    (
        "override.supersedes",
        r"\b(?:this|the\s+following)\s+(?:document|text|message|page|file|note|instruction|content"
        r"|chunk|comment|email)s?\s+(?:supersedes?|overrides?|replaces?|takes?\s+precedence\s+over)"
        r"\s+(?:your|the|all|any)\b",
        0.85,
        0.9,
    ),
    (
        "override.new_instructions",
        rf"\b(?:(?:new|updated|revised|real|actual|true|secret|hidden|additional)\s+(?:system\s+)?"
        rf"(?:instructions?|directives?|prompt|orders)\s+(?:for|to)\s+(?:the\s+|any\s+|all\s+)?"
        rf"{_AI}\b|new\s+system\s+(?:prompt|instructions?|message|directive|policy)\b)",
        0.8,
        0.9,
    ),
    (
        "override.your_new_task",
        r"\byour\s+(?:new|real|actual|true|updated|only|primary|secret)\s+(?:instructions?|task"
        r"|objective|goal|directive|role|purpose|mission|orders)\s*(?:is|are|:|now|will\s+be)",
        0.8,
        0.9,
    ),
    # -- role play and jailbreak personas
    (
        "persona.dan",
        r"\b(?:act\s+as|you\s+are(?:\s+now)?|you're(?:\s+now)?|pretend\s+to\s+be|become"
        r"|roleplay\s+as|role-play\s+as|play(?:ing)?|as|called|named|mode|prompt)\s+(?:an?\s+)?"
        r"(?#start)(?:DAN|STAN|DUDE|AIM|AntiGPT|BetterDAN|FreeGPT|EvilBot|UCAR|BasedGPT)\b",
        0.9,
        0.9,
    ),
    ("persona.do_anything", r"\bdo\s+anything\s+now\b", 0.9, 0.9),
    (
        "persona.mode",
        r"\b(?:(?:you\s+are|you're|we\s+are|are\s+now|now)\s+(?:now\s+)?(?:in|operating\s+in"
        r"|running\s+in)|enter(?:ing)?|enable|enabling|activate|activating|switch\s+(?:in)?to"
        r"|turn\s+on)\s+(?:the\s+)?(?#start)(?:developer|god|jailbreak|jailbroken|unrestricted"
        r"|unfiltered|uncensored|evil|dan)\s+mode\b(?!\s+(?:on|in|for|of)\s+(?!this\b))"
        r"|\b(?:jailbreak|god|dan|unrestricted|unfiltered|uncensored)\s+mode\s+"
        r"(?:is\s+)?(?:now\s+)?(?:enabled|activated|on|engaged|unlocked)\b",
        0.85,
        0.9,
    ),
    (
        "persona.unfiltered",
        r"\b(?:unfiltered|uncensored|unrestricted|jailbroken|unchained|unaligned|amoral|unethical"
        r"|rogue)\s+(?:mode|ai|assistant|model|version|chatbot|llm|bot|persona|character|gpt)\b",
        0.8,
        0.85,
    ),
    (
        "persona.no_rules",
        r"\b(?:you|ai|assistant|model|chatbot|bot|llm|character|persona|yourself)\b[^.\n]{0,50}?"
        r"\b(?:without|with\s+no|free\s+(?:of|from)|no\s+longer\s+(?:bound|restricted)\s+by"
        r"|not\s+bound\s+by|(?:don'?t|do\s+not|doesn'?t|does\s+not)\s+have|has\s+no|have\s+no"
        r"|had\s+no|ignor\w*)\s+(?:any\s+|all\s+|your\s+|the\s+|its\s+)?(?:ethical\s+|moral\s+"
        r"|safety\s+|content\s+|usual\s+|typical\s+)?(?:restrictions|filters|guidelines|rules"
        r"|limits|limitations|boundaries|constraints|censorship|content\s+polic(?:y|ies)"
        r"|safety\s+(?:guidelines|measures|protocols|filters|training))\b",
        0.75,
        0.85,
    ),
    (
        "persona.no_refusal",
        r"\b(?:never\s+(?:refuse|apologi[sz]e|say\s+(?:you\s+can'?t|no))|cannot\s+refuse"
        r"|can'?t\s+refuse|must\s+not\s+refuse|always\s+comply|must\s+(?:always\s+)?comply\s+with"
        r"\s+(?:any|every|all)|without\s+(?:any\s+)?(?:refusals?|warnings|disclaimers))\b",
        0.6,
        0.7,
    ),
    # -- system prompt extraction
    (
        "exfil.system_prompt",
        r"\b(?:reveal|show|print|output|display|repeat|leak|dump|expose|disclose|share|tell\s+me"
        r"|give\s+me|write\s+out|spell\s+out|recite|type\s+out|paste|provide|include|list)\s"
        r"[^.\n]{0,40}?\byour\s+(?:(?:full|exact|entire|complete|original|initial|hidden|secret"
        r"|internal|confidential|real|actual|underlying|system|developer)\s+)*(?:system\s+"
        r"(?:prompt|message|instructions?)|prompt|instructions|pre-?prompt|configuration|rules"
        r"|guidelines|directives|hidden\s+(?:rules|parameters)|tool\s+definitions)\b",
        0.8,
        0.85,
    ),
    (
        "exfil.the_system_prompt",
        r"\b(?:reveal|show|print|output|display|repeat|leak|dump|expose|disclose|recite|spell\s+out"
        r")\s[^.\n]{0,40}?\bthe\s+(?:(?:full|exact|entire|complete|original|initial|internal)\s+)*"
        r"(?:hidden|secret|confidential)\s+(?:system\s+(?:prompt|message)|instructions?|prompt"
        r"|rules)\b",
        0.6,
        0.8,
    ),
    (
        # docs say "print the system prompt" too: alone, this is not enough
        "exfil.plain_system_prompt",
        r"\b(?:reveal|show|print|output|display|repeat|leak|dump|expose|disclose|recite|spell\s+out"
        r")\s[^.\n]{0,40}?\bthe\s+(?:(?:full|exact|entire|complete|original|initial)\s+)*"
        r"(?:system\s+(?:prompt|message)|initial\s+(?:prompt|instructions))\b",
        0.35,
        0.45,
    ),
    (
        "exfil.what_instructions",
        r"\bwhat\s+(?:are|were|is)\s+your\s+(?:\w+\s+)?(?:system\s+prompt|initial\s+prompt"
        r"|(?:exact|initial|original|hidden|secret|system)\s+(?:instructions|rules|guidelines))\b",
        0.7,
        0.8,
    ),
    (
        "exfil.repeat_above",
        r"\b(?:repeat|print|output|recite|copy|echo)\s+(?:back\s+)?(?:the\s+|all\s+(?:the\s+)?"
        r"|everything\s+|every\s+)?(?:words?\s+|text\s+|lines?\s+|messages?\s+|content\s+"
        r"|instructions\s+|prompt\s+)?(?:above|before\s+this|preceding|prior\s+to\s+this)",
        0.75,
        0.85,
    ),
    # -- data and actions addressed to the assistant
    (
        "exfil.send_data",
        r"\b(?:send|forward|e-?mail|mail|post|upload|transmit|exfiltrate|leak|copy|submit|deliver"
        r"|report|share)\b(?:\s+\S+){0,8}?\s+(?:the\s+|this\s+|all\s+|your\s+|my\s+|their\s+|its\s+"
        r"|any\s+)?(?:entire\s+|full\s+|whole\s+|complete\s+)?(?:conversation|chat(?:\s+history"
        r"|\s+log)?|message\s+history|transcript|system\s+prompt|api[\s_-]?keys?|credentials"
        r"|passwords?|secrets?|(?:session\s+|access\s+|auth\s+)?tokens?|env(?:ironment)?"
        r"(?:\s+variables)?|\.env|ssh\s+keys?|private\s+keys?|user'?s?\s+(?:data|files|e-?mails?"
        r"|contacts|address|messages|password|location)|personal\s+(?:data|information)|contacts"
        r"|address\s+book|context)\b[^\n]{0,100}?(?:\w@\w|https?://|www\.)",
        0.7,
        0.9,
    ),
    (
        "exfil.image_url",
        r"!\[[^\]]{0,60}\]\(\s*https?://[^)\s]*[?&][\w-]+=(?:\{|\$|%7b|<|\[)",
        0.7,
        0.85,
    ),
    (
        "action.tool_danger",
        r"(?:call|calling|run|running|invoke|invoking|use|using|execute|executing|trigger)\s+"
        r"(?:the\s+)?(?:tool\s+)?[`'\"(]?[a-z][a-z0-9]*(?#start)__[a-z][a-z0-9_]*[a-z0-9]\b"
        r"[^\n]{0,160}?(?:rm\s+-\w*[rf]|\bdelete\b|\bremove\b"
        r"|rmtree|os\.remove|os\.system|drop\s+table|shutdown|/etc/(?:passwd|shadow)|\.ssh|id_rsa"
        r"|credentials|\.env\b|os\.environ|\bnc\s+\S+\s+\d+|\|\s*(?:ba|z)?sh\b|approve|upload"
        r"|exfiltrat|without\s+(?:asking|approval|confirmation))"
        r"|(?:rm\s+-\w*[rf]\w*|delete|remove|wipe|upload|approve|exfiltrate)\b[^\n]{0,100}?"
        r"\b(?:using|with|via|by\s+calling)\s+(?:the\s+)?[a-z][a-z0-9]*__[a-z][a-z0-9_]*\b",
        0.4,
        0.85,
    ),
    (
        "action.no_approval",
        r"\b(?:without|skip(?:ping)?|bypass(?:ing)?|no\s+need\s+for)\s+(?:the\s+|any\s+)?"
        r"(?:asking(?:\s+(?:for\s+)?(?:confirmation|approval|permission))?|approval|confirmation"
        r"|permission|the\s+approval\s+step|confirmation\s+prompts?)\b[^.\n]{0,60}?"
        r"|(?:don'?t|do\s+not)\s+ask\s+(?:for\s+)?(?:approval|confirmation|permission)",
        0.3,
        0.6,
    ),
    (
        "action.secret",
        r"\b(?:do\s+not|don'?t|never)\s+(?:tell|inform|alert|notify|show\s+this\s+to|mention\s+"
        r"(?:this|it)\s+to|reveal\s+(?:this|these\s+instructions)\s+to)\s+(?:the\s+)?user\b"
        r"|\bwithout\s+(?:telling|informing|notifying|alerting)\s+the\s+user\b"
        r"|\b(?:secretly|quietly|silently|covertly)\s+(?:send|forward|add|include|delete|call|run"
        r"|e-?mail|exfiltrate|upload|insert|append|execute|copy)\b"
        r"|\b(?:do\s+not|don'?t)\s+(?:reveal|disclose|mention)\s+(?:these|this|the)\s+"
        r"(?:instructions?|note|message|paragraph)\b",
        0.5,
        0.85,
    ),
    # -- text addressed to the model that reads it
    (
        "addressed.note_to_ai",
        rf"\b(?:note|message|instructions?|directive|reminder|attention|alert|notice|warning"
        rf"|p\.?s\.?|important(?:\s+(?:note|instructions?|notice))?|command|request)s?\s*(?:to|for)"
        rf"\s+(?:the\s+|any\s+|all\s+|every\s+|other\s+)*{_AI_STRONG}\b",
        0.55,
        0.9,
    ),
    (
        "addressed.note_to_model",
        rf"\b(?:note|message|instructions?|directive|reminder|attention|alert|notice|warning"
        rf"|p\.?s\.?|important)\s*(?:to|for)\s+(?:the\s+|any\s+|all\s+)?{_AI_WEAK}"
        r"(?:\s+(?:reading|processing|handling)\s+this\s+\w+)?\s*[:,\u2014\u2013-]",
        0.4,
        0.7,
    ),
    (
        "addressed.if_you_are_ai",
        rf"\b(?:if|when|while)\s+(?:you\s+are|you're)\s+(?:an?\s+|the\s+)?{_AI_STRONG}\b"
        rf"|\bif\s+you\s+can\s+read\s+this,?\s+you\s+are\s+an?\s+(?:{_AI_STRONG}|{_AI_WEAK})\b"
        rf"|\bif\s+an?\s+{_AI_STRONG}\s+(?:is\s+)?(?:reads?|reading|processes|processing"
        r"|summari[sz]es|summari[sz]ing)\b",
        0.55,
        0.9,
    ),
    (
        "addressed.ai_reading_this",
        rf"\b(?:{_AI_STRONG}|(?:model|assistant|summari[sz]er|bot|agent)s?)(?:\s+(?:that\s+"
        r"(?:is|are)|who\s+(?:is|are)))?"
        r"\s+(?#start)(?:reading|processing|summari[sz]ing|parsing|seeing|viewing|browsing|analy[sz]ing"
        r"|evaluating|reviewing|handling|ingesting|scanning)\s+(?:this|these|the\s+following)\b"
        # people's agents handle tickets and orders; a model's handle pages and results
        r"(?!\s+(?:ticket|case|call|claim|request|order|complaint|customer|account|caller))",
        0.5,
        0.9,
    ),
    (
        "addressed.vocative",
        rf"\b(?:hey|hi|hello|dear|attention|ok|okay|yo)\s*,?\s+(?:{_AI_STRONG}|{_AI_WEAK})\b"
        r"\s*[,:!.\u2014\u2013]?\s*(?:please\s+)?(?:ignore|disregard|forget|stop|do\s+not|don'?t"
        r"|you\s+must|call|run|execute|send|reveal|delete|respond|reply|read|update|change|override"
        r"|quietly|secretly|before|when|this\s+is|your\s+new|new\s+task|the\s+user|pretend|you\s+are"
        r"|you\s+have)\b"
        rf"|(?:^|[\n.!?>\]*#/:(\"\[-]\s*)(?:please\s*,\s*)?(?:{_AI_STRONG}|{_AI_WEAK})\s*(?#start),\s*"
        r"(?:please\s+)?"
        rf"{_DIRECTIVE}"
        rf"|(?:^|[\n.!?>\]*#/:(\"\[-]\s*)(?:please\s*,\s*)?{_AI_STRONG}\s*(?#start)[:!\u2014\u2013]\s*"
        r"(?:please\s+)?"
        rf"{_DIRECTIVE}"
        rf"|(?:^|[\n.!?>\]*#/:(\"\[-]\s*){_AI_WEAK}\s*(?#start)[:!\u2014\u2013]\s*(?:please\s+)?(?:ignore"
        r"|disregard"
        r"|forget|override|reveal|instead\s+of|do\s+not\s+(?:summari[sz]e|tell|translate|answer)"
        r"|stop\s+(?:what|following|summari[sz]ing))\b",
        0.45,
        0.85,
    ),
    (
        "addressed.for_ai",
        rf"\bfor\s+(?:the\s+)?{_AI_STRONG}(?:\s+only)?\s*[:!]|\b(?:is|are)\s+(?:meant\s+|only\s+)?"
        rf"for\s+(?:the\s+)?{_AI_STRONG}(?:\s+only)?\s*[:.!]"
        rf"|(?:^|[\n.!?]\s*)(?#start)to\s+(?:the|any|all|every)\s+(?:{_AI_STRONG}|{_AI_WEAK})"
        r"[^:\n]{0,40}:",
        0.5,
        0.85,
    ),
    (
        "addressed.label",
        r"\[\s*(?:ai|assistant|model|llm|agent|system)\s+(?:instructions?|note|directive|command"
        r"|prompt)s?\s*\]|(?:^|\n|[.!?]\s|<!--\s*|[#/*]\s*)\W{0,3}(?#start)(?:ai|assistant|model|llm"
        r"|agent)"
        r"\s+(?:instructions?|directives?|commands?|notes?)\s*:",
        0.6,
        0.85,
    ),
    (
        # a text that speaks of its own retrieval: only a model's pipeline retrieves it
        "addressed.self_processing",
        r"\b(?:when(?:ever)?|if|once|as\s+soon\s+as)\s+(?:this|the\s+present)\s+(?:text|page"
        r"|document|message|e-?mail|mail|note|content|file|chunk|passage|snippet|entry|record"
        r"|memory|section|paragraph|result)\s+(?:is|gets|has\s+been|was)\s+(?:being\s+)?"
        r"(?:retrieved|summari[sz]ed|ingested|surfaced|recalled|embedded|indexed"
        r"|(?:read|processed|seen|parsed)\s+by\s+(?:an?\s+|the\s+|any\s+)?(?:ai|llm|language\s+model"
        r"|model|assistant|agent|chatbot|bot))\b",
        0.5,
        0.85,
    ),
    (
        # "the assistant must now ...": a document telling its reader's model what to do next
        "addressed.the_ai_now",
        r"\b(?:the|any|an?|every|each)\s+(?:ai\s+)?(?:assistant|agent|model|llm|ai|chatbot|bot)s?"
        r"\s+(?:must|should|shall|needs?\s+to|has\s+to|is\s+to|will)\s+(?:now|immediately|first"
        r"|secretly|quietly|silently|henceforth)\b",
        0.4,
        0.85,
    ),
    (
        # a credential file or a secret put into what the model writes or sends
        "exfil.sensitive_file",
        # (no "cat" or "read": a shell transcript of the command is what a tool returns)
        r"\b(?:include|add|append|attach|paste|output|reveal|send|upload|post|insert|quote|forward"
        r"|leak|share|disclose|exfiltrate)\b[^\n.]{0,60}?(?:~/\.ssh|\bid_(?:rsa"
        r"|ed25519|ecdsa|dsa)\b|/etc/(?:passwd|shadow)\b|\.aws/credentials|\.netrc\b|\.pgpass\b"
        r"|\.kube/config|\.docker/config\.json|\.git-credentials)"
        r"|\b(?:include|add|append|attach|paste|put|insert|embed|quote)\b[^\n.]{0,30}?\b(?:the\s+"
        r"|your\s+|their\s+|its\s+|any\s+|all\s+)?(?:user'?s\s+)?(?:passwords?|api[\s_-]?keys?"
        r"|credentials|secrets?|(?:access|session|auth|bearer)\s+tokens?|private\s+keys?"
        r"|environment\s+variables|env\s+vars?|ssh\s+keys?)\s+(?:in|into|at\s+the\s+end\s+of"
        r"|to)\s+(?:your\s+|the\s+|every\s+|each\s+|all\s+)?(?:repl(?:y|ies)|answers?"
        r"|responses?|outputs?|summar(?:y|ies)|messages?|translations?)\b",
        0.5,
        0.85,
    ),
    # -- forged roles and chat-template markers
    (
        "role.template",
        r"<\|im_start\|>\s*(?:system|assistant)|<\|start_header_id\|>\s*system|<\|system\|>"
        r"|<<\s*sys\s*>>|\[/?inst\]|<\|endoftext\|>|<\|im_end\|>",
        0.85,
        0.9,
    ),
    (
        "role.system_line",
        r"(?:^|\n)\s*(?:[\[(<#*]+\s*)?(?:(?:important|urgent|critical|new|priority)\s+)?"
        r"(?#start)(?:system|sys|admin(?:istrator)?|developer)(?:\s+(?:message|prompt|override|instructions?"
        r"|notice|note|alert|directive|command|update|policy))?\s*(?:\([^)\n]{0,30}\))?\s*[\])>*]*"
        r"\s*:[^\n]{0,200}?\b(?:ignore|disregard|override|reveal|you\s+are|you\s+must|new\s+"
        r"(?:instructions?|policy|directive)|assistants?\s+must|the\s+assistant|from\s+now\s+on"
        r"|execute|unrestricted|no\s+restrictions|forward|exfiltrate|disabled|lifted|revoked"
        r"|authori[sz]ed|granted)\b",
        0.8,
        0.9,
    ),
    (
        "role.override",
        r"\b(?:system|admin|developer)\s+override\b|\bbegin\s+system\s+"
        r"(?:instructions|prompt|message)\b|\bend\s+of\s+(?:system\s+)?(?:prompt|instructions)\b",
        0.8,
        0.9,
    ),
    # -- the override in other languages
    (
        "override.de",
        r"\b(?:ignorier(?:e|en|t)?|vergiss|vergessen\s+sie|missachte|übergehe|verwirf)\s+(?:bitte"
        r"\s+)?(?:(?:alle|die|deine|ihre|sämtliche|jegliche|alles)\s+)*(?:(?:vorherigen|vorigen"
        r"|bisherigen|obigen|vorangegangenen|früheren|ursprünglichen|vorhergehenden|alten)\s+)?"
        r"(?:anweisungen|instruktionen|befehle|regeln|vorgaben|anordnungen|richtlinien|prompts?)"
        r"|\bignorier(?:e|en)?\s+(?:die\s+|den\s+)?(?:anfrage|frage|bitte|auftrag|aufgabe)\s+des\s+"
        r"(?:nutzers|benutzers|anwenders)|\bignorier(?:e|en)?\s+den\s+(?:nutzer|benutzer)",
        0.9,
        0.9,
    ),
    (
        "override.fr",
        r"\b(?:ignore[zr]?|oublie[zr]?|ne\s+tiens\s+pas\s+compte\s+des|ne\s+tenez\s+pas\s+compte"
        r"\s+des|fais\s+abstraction\s+des|faites\s+abstraction\s+des)\s+(?:toutes\s+)?(?:les|tes"
        r"|vos)\s+(?:instructions|consignes|directives|règles)(?:\s+(?:précédentes|antérieures"
        r"|ci-dessus|d'avant|données))?|\bignore[zr]?\s+(?:la\s+demande|la\s+question|la\s+requête)\s+de"
        r"\s+l'utilisateur|\bignore[zr]?\s+l'utilisateur",
        0.9,
        0.9,
    ),
    (
        "override.es",
        r"\b(?:ignora|ignore|ignorar|olvida|olvide|olvidar|omite|descarta)\s+(?:todas\s+)?(?:las"
        r"|tus|sus)\s+(?:instrucciones|indicaciones|órdenes|reglas|directrices)(?:\s+(?:anteriores"
        r"|previas|de\s+arriba))?|\bignora\s+(?:la\s+petición|la\s+solicitud|la\s+pregunta)\s+del"
        r"\s+usuario|\bignora\s+al\s+usuario",
        0.9,
        0.9,
    ),
    (
        "override.pt",
        r"\b(?:ignore|ignora|ignorar|esqueça|esqueca|esquece|desconsidere|desconsidera)\s+"
        r"(?:todas\s+)?(?:as|suas|tuas)\s+(?:instruções|instrucoes|orientações|regras|diretrizes"
        r"|ordens)(?:\s+(?:anteriores|prévias|acima))?|\bignor[ea]\s+(?:o\s+pedido|a\s+pergunta"
        r"|a\s+solicitação)\s+do\s+usuário|\bignor[ea]\s+o\s+usuário",
        0.9,
        0.9,
    ),
    (
        "override.it",
        r"\b(?:ignora|dimentica|ignorate|dimenticate)\s+(?:tutte\s+)?le\s+(?:istruzioni"
        r"|indicazioni|regole)(?:\s+precedenti)?",
        0.9,
        0.9,
    ),
    # the same in scripts that are not Latin: the override verb, then (within a few words) the
    # previous instructions or rules; CJK has no spaces, so no word boundaries there
    (
        "override.ru",
        r"(?:\b(?:про)?игнорир\w*|\bзабудь\w*|\bзабуд\w+|\bне\s+обращай\w*\s+внимания\s+на"
        r"|\bотбрось\w*)\s+(?:\w+\s+){0,3}?(?:инструкци\w*|указани\w*|правил\w*|команд\w*"
        r"|установк\w*|промпт\w*)",
        0.9,
        0.9,
    ),
    (
        "override.zh",
        r"(?:忽略|无视|忽视|忘记|忘掉|不要理会|不要遵守|放弃)[^。！？\n]{0,12}?(?:之前|以前|先前|上面|上述"
        r"|前面|所有|全部|原来|原有)[^。！？\n]{0,8}?(?:指令|指示|说明|规则|设定|提示|要求)",
        0.9,
        0.9,
    ),
    (
        "override.ja",
        r"(?:これまで|以前|前|上記|先ほど|最初)の[^。！？\n]{0,10}?(?:指示|命令|ルール|設定|プロンプト"
        r"|指令)[^。！？\n]{0,10}?(?:無視|忘れ)",
        0.9,
        0.9,
    ),
    (
        "override.ko",
        r"(?:이전|앞|위|기존|모든)[^.!?\n]{0,10}?(?:지시|명령|지침|규칙|설정|프롬프트)[^.!?\n]{0,10}?"
        r"(?:무시|잊어)",
        0.9,
        0.9,
    ),
    (
        "override.ar",
        r"(?:تجاهل|انس|إنس|تناس)\w*\s+(?:\w+\s+){0,2}?(?:ال)?(?:تعليمات|أوامر|اوامر|قواعد|توجيهات)",
        0.9,
        0.9,
    ),
    (
        "override.hi",
        r"(?:पिछले|पहले\s+के|सभी|पूर्व)\s+(?:\S+\s+){0,2}?(?:निर्देशों|निर्देश|नियमों|आदेशों)\s+"
        r"(?:\S+\s+){0,2}?(?:को\s+)?(?:अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल)",
        0.9,
        0.9,
    ),
)

# Words of a text that discusses attacks rather than making one. Strong: vocabulary of the
# attacks themselves. Weak: words that introduce an example ("such as", "phrases like"), which
# count only right before a quoted match (technical prose says "for example" all the time).
_META = re.compile(
    r"(?<![\w@./-])(?:prompt[- ]injections?|injection\s+(?:attacks?|attempts?)|jailbreaks\b"
    r"|attacks?|jailbreak\s+(?:prompts?|attacks?|techniques?|attempts?)|attackers?|adversarial"
    r"|red[- ]team\w*|payloads?|malicious|owasp|phishing|ctf|so-called|known\s+as"
    r"|attack\s+(?:strings?|patterns?|phrases?|prompts?|examples?|families|techniques?))(?![\w@/-]|\.\w)"
)
_INTRO = re.compile(
    r"(?:such\s+as|e\.g\.|for\s+example|for\s+instance|like|phrases?|strings?|words|text|line"
    r"|examples?|saying|says|said|wrote|writes|contain(?:s|ed|ing)?|called|reads?|quoted?|markers?"
    r"|tokens?|typ(?:e|es|ed|ing)|enter(?:s|ed|ing)?|past(?:e|es|ed|ing)|for|returns?|tests?"
    r"|inputs?|flag(?:s|ged)?|catch(?:es)?|match(?:es|ed)?|detect(?:s|ed)?|block(?:s|ed)?)\W{0,3}$"
)
# a third person's attempt, told: "attempts to ignore", "asks the model to reveal"
_TOLD = re.compile(
    r"(?:attempts?|attempting|tries|try|trying|tried|asks?|asking|asked|tells?|telling|told"
    r"|instructs?|instructing|instructed|convinc\w+|trick\w*|gets?|getting|persuad\w+|makes?"
    r"|making)\s+(?:(?:the|a|an|its|their)\s+)?(?:model|assistant|ai|llm|agent|bot|chatbot"
    r"|system)?\s*to\s*$"
)
# what follows a quoted phrase that is being named, not said: "'ignore previous ...' attacks"
_NAMED = re.compile(
    r"\W{0,3}\s*(?:attacks?|jailbreaks?|prompts?|phrases?|injections?|strings?|payloads?"
    r"|examples?|style|tricks?|techniques?|patterns?|became|is\s+an?\s+(?:classic|common|known))\b"
)
_QUOTES = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb"
DISCUSSED = 0.4  # the share of a rule's score a text keeps when it talks about the phrase


# Words a rule cannot match without (each group: at least one of its words must occur). A
# substring test is far cheaper than a regex scan, and most texts trip few rules' words.


def _any(words: str) -> tuple[str, ...]:
    return tuple(words.split("|"))


_V = _any(
    "ignor|disregard|forget|overrid|bypass|discard|abandon|neglect|set aside|no attention|follow"
)
_SOON = _any("previous|prior|preceding|above|earlier|former|original|initial|foregoing")
_STRONG = _any("ai|a.i.|llm|gpt|language model|chatbot|chat bot|claude|copilot|gemini|automated")
_WEAK = _any("model|assistant|agent|summari|translator|reviewer|bot")
_NOTE = _any(
    "note|message|instruction|directive|reminder|attention|alert|notice|warning|p.s|ps|important|command|request"
)
NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "override.previous": (_V, _SOON),
    "override.yours": (_V, _any("your|system|developer")),
    "override.everything": (_any("ignor|disregard|forget"), _any("all|everything|anything")),
    "override.received": (_V, _any("instruction|rule|guideline|prompt|direction")),
    "override.the_above": (_any("ignor|disregard|forget"), _any("above")),
    "override.disable": (
        _any("disable|turn off|deactivate|remove|lift|switch off|bypass|circumvent"),
        _any("your"),
    ),
    "override.new_colon": (_any("new"), _any("instruction")),
    "override.the_user": (_any("ignor|disregard|forget"), _any("user")),
    "override.revoked": (
        _any("instruction|rule|guideline|prompt"),
        _any("revoked|void|null|cancel|overridden|lifted|suspended|disabled|replaced|no longer"),
    ),
    "override.changed": (_any("your"), _any("changed|updated|replaced|revoked|overridden|lifted")),
    "override.supersedes": (_any("supersede|override|replace|precedence"),),
    "override.new_instructions": (
        _any("new|updated|revised|real|actual|true|secret|hidden|additional"),
        _any("instruction|directive|prompt|order|system"),
    ),
    "override.your_new_task": (
        _any("your"),
        _any("new|real|actual|true|updated|only|primary|secret"),
    ),
    "persona.dan": (_any("dan|stan|dude|aim|antigpt|freegpt|evilbot|ucar|basedgpt"),),
    "persona.do_anything": (_any("do anything now"),),
    "persona.mode": (_any("mode"),),
    "persona.unfiltered": (
        _any(
            "unfiltered|uncensored|unrestricted|jailbroken|unchained|unaligned|amoral|unethical|rogue"
        ),
    ),
    "persona.no_rules": (
        _any("restriction|filter|guideline|rule|limit|boundar|constraint|censorship|polic|safety"),
        _any("without|with no|free of|free from|no longer|not bound|have|has no|had no|ignor"),
    ),
    "persona.no_refusal": (_any("refus|apologi|say no|say you can|comply|warnings|disclaimer"),),
    "exfil.system_prompt": (
        _any("your"),
        _any(
            "prompt|instruction|configuration|rules|guidelines|directive|parameter|tool definition"
        ),
    ),
    "exfil.the_system_prompt": (_any("hidden|secret|confidential"),),
    "exfil.plain_system_prompt": (_any("prompt|instruction|system message"),),
    "exfil.what_instructions": (_any("what"), _any("your")),
    "exfil.repeat_above": (
        _any("repeat|print|output|recite|copy|echo"),
        _any("above|before this|preceding|prior to this"),
    ),
    "exfil.send_data": (
        _any(
            "send|forward|mail|post|upload|transmit|exfiltrat|leak|copy|submit|deliver|report|share"
        ),
        _any("@|http|www."),
    ),
    "exfil.image_url": (_any("!["),),
    "action.tool_danger": (_any("__"),),
    "action.no_approval": (
        _any("without|skip|bypass|no need for|ask"),
        _any("approval|confirmation|permission|asking"),
    ),
    "action.secret": (
        _any("user|secretly|quietly|silently|covertly|instruction|note|message|paragraph"),
        _any("not|n't|never|without|secretly|quietly|silently|covertly"),
    ),
    "addressed.note_to_ai": (_NOTE, _STRONG),
    "addressed.note_to_model": (_NOTE, _WEAK),
    "addressed.if_you_are_ai": (_any("if|when|while"), _STRONG),
    "addressed.ai_reading_this": (
        _any(
            "reading|processing|summari|parsing|seeing|viewing|browsing|analy|evaluating|reviewing|handling|ingesting|scanning"
        ),
        _any("this|these|the following"),
    ),
    "addressed.vocative": (_STRONG + _WEAK,),
    "addressed.for_ai": (_any("for|to "), _STRONG + _WEAK),
    "addressed.label": (
        _any("instruction|note|directive|command|prompt"),
        _any("ai|assistant|model|llm|agent|system"),
    ),
    "addressed.self_processing": (
        _any("when|if|once|as soon"),
        _any("retriev|summari|ingest|surfac|recall|embedd|index| by "),
    ),
    "addressed.the_ai_now": (
        _STRONG + _WEAK,
        _any("now|immediately|first|secretly|quietly|silently|henceforth"),
    ),
    "exfil.sensitive_file": (
        _any(
            "~/.ssh|id_rsa|id_ed25519|id_ecdsa|id_dsa|/etc/passwd|/etc/shadow|.aws/credentials|"
            ".netrc|.pgpass|.kube/config|.docker/config|.git-credentials|password|api|credential|"
            "secret|token|private key|environment variable|env var|ssh key"
        ),
    ),
    "role.template": (_any("<||<<|[inst]|[/inst]"),),
    "role.system_line": (_any("system|sys|admin|developer"), _any(":")),
    "role.override": (_any("override|begin system|end of"),),
    "override.de": (_any("ignorier|vergiss|vergessen|missachte|übergehe|verwirf"),),
    "override.fr": (_any("ignore|oublie|tiens pas compte|tenez pas compte|abstraction"),),
    "override.es": (_any("ignor|olvid|omite|descarta"),),
    "override.pt": (_any("ignor|esque|desconsider"),),
    "override.it": (_any("ignora|dimentica"),),
    "override.ru": (_any("игнорир|забуд|забудь|не обращай|отбрось"),),
    "override.zh": (_any("忽略|无视|忽视|忘记|忘掉|不要理会|不要遵守|放弃"),),
    "override.ja": (_any("無視|忘れ"),),
    "override.ko": (_any("무시|잊어"),),
    "override.ar": (_any("تجاهل|انس|إنس|تناس"),),
    "override.hi": (_any("अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल"),),
}
CASED = {"persona.dan"}  # matched against the text as written (DAN, not "Dan" the name)


@dataclass(frozen=True)
class _Branch:
    pattern: re.Pattern[str]
    before: re.Pattern[str] | None  # what the text just before a match must end with
    boundary: bool  # the branch began with \b: checked by hand, which keeps scans fast


@dataclass(frozen=True)
class _Rule:
    name: str
    branches: tuple[_Branch, ...]
    user: float
    indirect: float
    needs: tuple[frozenset[str], ...]
    cased: bool


def _top_level(pattern: str) -> list[str]:
    """The branches of a pattern's outermost alternation."""
    out, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    out.append(pattern[start:])
    return out


def _compile(name: str, pattern: str, user: float, indirect: float) -> _Rule:
    # Rules run on the lowercased text without IGNORECASE, one branch at a time, each branch
    # starting with a word: a leading \b, an alternation of anchors or IGNORECASE defeat the
    # regex engine's skip to a possible first character (5-10x slower scans). What a branch
    # needs before it ("(?#start)" marks the cut) is checked on the few characters before a
    # match instead.
    cased = name in CASED
    branches = []
    for branch in _top_level(pattern):
        before = None
        if "(?#start)" in branch:
            head, branch = branch.split("(?#start)")
            before = re.compile(f"(?:{head})$", re.IGNORECASE if cased else 0)
        boundary = branch.startswith(r"\b")
        if boundary:
            branch = branch[2:]
        branches.append(_Branch(re.compile(branch), before, boundary))
    needs = tuple(frozenset(group) for group in NEEDS[name])
    return _Rule(name, tuple(branches), user, indirect, needs, cased)


_COMPILED = tuple(_compile(*rule) for rule in RULES)
_WORDS = sorted({word for rule in _COMPILED for group in rule.needs for word in group})


def _discussed(text: str, start: int, end: int) -> bool:
    """Whether the match sits in text about attacks: attack vocabulary in the same paragraph
    close by, or the match quoted right after a word that introduces an example (or after a
    list of quoted examples that such a word introduces), or quoted in a question."""
    lo, hi = max(0, start - 400), min(len(text), end + 100)
    gap = text.rfind("\n\n", lo, start)
    lo = gap if gap >= 0 else lo
    gap = text.find("\n\n", end, hi)
    hi = gap if gap >= 0 else hi
    if _META.search(text, lo, hi):
        return True
    before = text[max(0, start - 40) : start].rsplit("\n", 1)[-1]
    if _TOLD.search(before):
        return True
    quote = max(before.rfind(q) for q in _QUOTES)
    after = text[end : end + 80]
    close = min((i for i in (after.find(q) for q in _QUOTES) if i >= 0), default=-1)
    if quote < 0 or close < 0:
        return False
    if _INTRO.search(before[:quote].rstrip()) or _NAMED.match(after, close + 1):
        return True
    at = start - len(before) + quote  # the opening quote, in text
    head = _LISTED.sub("", text[max(0, at - 240) : at].rstrip())
    if head and _INTRO.search(head.rstrip()):
        return True
    # a quoted phrase in a question is asked about: "is 'ignore all previous …' still a test?"
    stop = _SENTENCE_END.search(text, end + close + 1, end + close + 240)
    return stop is not None and stop.group() == "?"


_SENTENCE_END = re.compile(r"[.!?\n]")
# quoted examples listed before the match: "strings like 'a', 'b' or " (the match is the last)
_LISTED = re.compile(
    "(?:[\"'`\u201c\u2018][^\"'`\u201c\u201d\u2018\u2019\n]{1,120}[\"'`\u201d\u2019]\\s*(?:,|\\bor\\b"
    "|\\band\\b)\\s*)+$"
)
# "can never override the system prompt", "must not ignore its rules": a constraint described
_NEGATED = re.compile(
    r"(?:\bnot|n't|\bnever|\bno\s+longer|\bcannot|\bunable\s+to|\bprevents?|\bavoid(?:s|ing)?)"
    r"\s+(?:\w+\s+){0,2}$"
)
# ... but "do not follow your rules" is the attack itself
_NEGATION_KEEPS = ("follow", "obey", "heed", "comply", "listen", "adhere", "abide", "respect")


def _negated(low: str, start: int) -> bool:
    return bool(_NEGATED.search(low, max(0, start - 40), start)) and not low.startswith(
        _NEGATION_KEEPS, start
    )


def _matches(rule: _Rule, subject: str) -> Iterator[tuple[int, int]]:
    for branch in rule.branches:
        for m in branch.pattern.finditer(subject):
            at = m.start()
            if branch.boundary and at and subject[at - 1].isalnum() and subject[at].isalnum():
                continue
            if branch.before is not None:
                # a sentinel stands for "more text" so that ^ means the text's start
                head = subject[max(0, at - 48) : at]
                if not branch.before.search(head if at <= 48 else "\x00" + head):
                    continue
            yield at, m.end()


def rule_score(text: str, source: Source) -> tuple[float, str | None]:
    """The best rule's score on ``text`` (already normalized) and its name."""
    indirect = source.indirect
    low = text.lower()
    present = {word for word in _WORDS if word in low}  # each word tested once
    best, name = 0.0, None
    for rule in _COMPILED:
        score = rule.indirect if indirect else rule.user
        if score <= best or any(group.isdisjoint(present) for group in rule.needs):
            continue
        for start, end in _matches(rule, text if rule.cased else low):
            s = score
            if rule.name == "override.previous" and _HUMAN_SENT.match(low, end):
                s *= DISCUSSED  # "ignore the previous instructions I sent": a mail between people
            elif _discussed(low, start, end) or (
                rule.name.startswith(("override.", "exfil.")) and _negated(low, start)
            ):
                s *= DISCUSSED
            if s > best:
                best, name = s, rule.name
            if s == score:
                break
    return best, name


# ---------------------------------------------------------------------------------------------
# the classifier


# a JSON object or array (one that starts like one: a tool result cut at a size limit is still
# read), and its string literals; escapes are decoded only in the literals that have one
_JSON_START = re.compile(r'\s*(?:\{\s*"|\[\s*[{"\[])')
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
UNIT = 40  # a JSON string at least this long is scored as a text of its own
# HTML or XML: a tag (its attributes' quoted values may hold ">"), or a comment
_TAG = re.compile(
    r"<!--(.*?)(?:-->|$)|<(/?)([A-Za-z][\w:-]*)((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)/?>", re.S
)
MARKUP_TAGS = 3  # this many tags make a text markup
# the attributes whose values are text a reader (or a model) sees: alt text, titles, labels
_ATTR = re.compile(
    r"""(?<![\w-])(?:alt|title|content|aria-label|aria-description|placeholder|value|label"""
    r"""|summary|data-[\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""",
    re.I,
)
_BLOCK = frozenset(
    {
        *("p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5"),
        *("h6", "section", "article", "header", "footer", "nav", "main", "aside", "table"),
        *("blockquote", "pre", "title", "body", "head", "html", "form"),
    }
)


def units(text: str) -> list[str]:
    """The texts inside ``text`` that are scored apart:

    * JSON: each string value of at least ``UNIT`` characters, and the shorter strings
      (keys, names, dates) joined into one more;
    * HTML or XML: the text a browser shows (tags gone, entities decoded), and each comment
      and each text-bearing attribute (``alt``, ``title``, ``content``, ``aria-label``, …),
      the long ones apart and the short ones joined;
    * anything else: one unit, itself.

    A planted sentence in a JSON field or an ``alt`` text shares its window with the quotes,
    keys and tags around it, which outnumber its words and drown them (a window's counts are
    normalized together), and the rules would read the field's quotes as a quotation. Read
    as the string it is, the field is scored as the sentence it is."""
    if _JSON_START.match(text):
        return _split(_json_strings(text)) or [text]
    if "<" in text:
        tags = _TAG.findall(text, 0, 4000)
        if len(tags) >= MARKUP_TAGS:
            return _markup_units(text)
    return [text]


def _split(values: Iterable[str]) -> list[str]:
    """The long values one by one, then the short ones joined."""
    long: list[str] = []
    short: list[str] = []
    for value in values:
        if value.strip():
            (long if len(value) >= UNIT else short).append(value)
    if short:
        long.append(" ".join(short))
    return long


def _json_strings(text: str) -> Iterator[str]:
    for match in _STRING.finditer(text):
        value = match.group(1)
        if "\\" in value:
            with contextlib.suppress(ValueError):  # a bad escape: the literal as written
                value = json.loads(f'"{value}"')
        yield value


def _markup_units(text: str) -> list[str]:
    shown: list[str] = []
    hidden: list[str] = []  # comments and attribute values
    at = 0
    for match in _TAG.finditer(text):
        shown.append(text[at : match.start()])
        at = match.end()
        comment, _, name, attrs = match.groups()
        if comment is not None:
            hidden.append(comment)
            continue
        shown.append("\n" if name.lower() in _BLOCK else " ")
        if attrs:
            hidden.extend(a or b for a, b in _ATTR.findall(attrs))
    shown.append(text[at:])
    body = html.unescape(re.sub(r"[ \t]*\n\s*", "\n", "".join(shown))).strip()
    out = _split(html.unescape(value) for value in hidden)
    return [body, *out] if body else out or [text]


def windows(text: str) -> list[str]:
    """The texts of ``text``'s windows, in the order ``Model.window_scores`` scores them: per
    unit, each pair of consecutive segments (one segment, when the unit has only one)."""
    out: list[str] = []
    for unit in units(text):
        segs = segments(unit)
        out.extend(segs if len(segs) == 1 else [a + b for a, b in itertools.pairwise(segs)])
    return out


def segments(text: str) -> list[str]:
    """``text`` cut into pieces of about ``SEGMENT`` characters, at a line or sentence end when
    one is near, else at a space. Texts up to ``WINDOW`` characters stay whole."""
    if len(text) <= WINDOW:
        return [text]
    out: list[str] = []
    start, n = 0, len(text)
    while n - start > SEGMENT + SEGMENT // 4:
        limit = start + SEGMENT
        lo = start + SEGMENT * 2 // 3
        cut = text.rfind("\n", lo, limit)
        if cut < 0:
            cut = text.rfind(". ", lo, limit)
            cut = cut + 1 if cut >= 0 else text.rfind(" ", lo, limit)
        if cut <= start:
            cut = limit
        out.append(text[start:cut])
        start = cut
    out.append(text[start:])
    return out


class Model:
    """The trained weights and the hashing parameters they were trained with. There are two
    weight vectors: one for a user's own text and one for indirect text (tool results,
    retrieved chunks, memory), trained together with shared and per-source parts, so that
    "you", "the user" and imperatives count for less where they are ordinary (documents)."""

    def __init__(
        self,
        params: dict[str, Any],
        coef: dict[str, npt.NDArray[np.float32]],
        intercept: dict[str, float],
    ) -> None:
        self.params = params
        # JSON has no tuples; sklearn wants one for the n-gram range
        self.vectorizer = HashingVectorizer(
            **{**params, "ngram_range": tuple(params["ngram_range"])}
        )
        self.coef = coef  # by domain: "user", "indirect"
        self.intercept = intercept
        self.width = int(params["n_features"])
        self._analyze = self.vectorizer.build_analyzer()

    def hashed(self, texts: list[str]) -> npt.NDArray[np.int64]:
        """Each token of each text as ``row * width + feature``: the vectorizer's own
        analyzer (lowercase, token pattern, 1-2-grams) and its hash (signed MurmurHash3 of
        the UTF-8 token, seed 0, index ``|h| % width``). Equal to the columns of
        ``self.vectorizer.transform(texts)`` (tested), without its fixed cost of a quarter of
        a millisecond a call, which dominates on short texts (on long ones the two cost the
        same: a Python step a token either way)."""
        width = self.width
        out: list[int] = []
        for row, text in enumerate(texts):
            base = row * width
            for token in self._analyze(text):
                h = murmurhash3_32(token, 0)
                out.append(
                    base + (2147483647 - (width - 1) if h == -2147483648 else abs(h)) % width
                )
        return np.asarray(out, dtype=np.int64)

    @staticmethod
    def domain(source: Source) -> str:
        return "indirect" if source.indirect else "user"

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Model:
        """From the npz: arrays and a JSON string, read with ``allow_pickle=False``."""
        if path is None:
            with resources.as_file(resources.files("guardrails") / "data" / ARTIFACT) as file:
                return cls.load(file)
        with np.load(path, allow_pickle=False) as data:
            params = json.loads(str(data["params"]))
            coef, intercept = {}, {}
            for domain in DOMAINS:
                weights = np.zeros(int(params["n_features"]), dtype=np.float32)
                weights[data["index"]] = data[f"coef_{domain}"].astype(np.float32)
                coef[domain] = weights
                intercept[domain] = float(data[f"intercept_{domain}"])
            return cls(params, coef, intercept)

    def save(self, path: str | os.PathLike[str]) -> None:
        """The weights where either domain has one, as float16, with their int32 indices."""
        index = np.flatnonzero(np.any([self.coef[d] != 0 for d in DOMAINS], axis=0))
        arrays: dict[str, Any] = {
            "params": np.array(json.dumps(self.params, sort_keys=True)),
            "index": index.astype(np.int32),
        }
        for domain in DOMAINS:
            arrays[f"coef_{domain}"] = self.coef[domain][index].astype(np.float16)
            arrays[f"intercept_{domain}"] = np.array(self.intercept[domain], dtype=np.float64)
        np.savez_compressed(path, **arrays)

    def window_scores(self, text: str, source: Source) -> npt.NDArray[np.float64]:
        """The classifier's probability for each window of ``text`` (already normalized),
        in the order of ``windows(text)``."""
        return self.unit_scores(units(text), source)

    def unit_scores(self, parts: list[str], source: Source) -> npt.NDArray[np.float64]:
        """``window_scores`` of a text already cut into ``parts`` (its ``units``).

        The same numbers as ``window_matrix`` rows times the weights, without building that
        matrix (scipy's sparse products cost milliseconds per call at this width, and the
        vectorizer's own ``transform`` a quarter of a millisecond on a short text): a window
        is two segments' counts summed, so its dot product is the segments' summed and its
        squared norm theirs plus twice their overlap. Windows never pair segments of two
        units."""
        domain = self.domain(source)
        weights = self.coef[domain]
        segs: list[str] = []
        left: list[int] = []  # each window's first segment, and its second (-1: none)
        right: list[int] = []
        for unit in parts:
            at = len(segs)
            pieces = segments(unit)
            segs.extend(pieces)
            if len(pieces) == 1:
                left.append(at)
                right.append(-1)
            else:
                left.extend(range(at, at + len(pieces) - 1))
                right.extend(range(at + 1, at + len(pieces)))
        width = self.width
        keys = self.hashed(segs)  # row * width + feature, one per token (repeats included)
        if not keys.size:
            return np.full(len(left), 1.0 / (1.0 + np.exp(-self.intercept[domain])))
        keys, counts = np.unique(keys, return_counts=True)  # sorted, as CSR rows would be
        row, indices, data = keys // width, keys % width, counts.astype(np.float64)
        dots = np.bincount(row, weights=data * weights[indices], minlength=len(segs))
        squares = np.bincount(row, weights=data * data, minlength=len(segs))
        first, second = np.asarray(left), np.asarray(right)
        paired = second >= 0
        if paired.any():
            # the features segment i shares with segment i + 1, for every i at once: a shared
            # one is a key whose value plus width is a key too
            nxt = np.minimum(np.searchsorted(keys, keys + width), keys.size - 1)
            shared = keys[nxt] == keys + width
            cross = np.bincount(
                row[shared], weights=data[shared] * data[nxt[shared]], minlength=len(dots)
            )
            other = np.where(paired, second, 0)
            dots = dots[first] + np.where(paired, dots[other], 0.0)
            squares = squares[first] + np.where(paired, squares[other] + 2.0 * cross[first], 0.0)
        else:
            dots, squares = dots[first], squares[first]
        norms = np.sqrt(squares)
        norms[norms == 0] = 1.0
        logits = dots / norms + self.intercept[domain]
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)

    def score(self, text: str, source: Source) -> float:
        """The highest window's probability."""
        return float(self.window_scores(text, source).max())


def window_matrix(vectorizer: HashingVectorizer, texts: list[str]) -> tuple[Any, list[int]]:
    """The windows of every text (``windows(text)``) as L2-normalized rows (a CSR matrix),
    and each text's number of rows. A window is two consecutive segments of a unit: their
    counts are summed, so every segment is hashed once however much the windows overlap."""
    pieces: list[str] = []
    sizes: list[list[int]] = []  # per text, its units' numbers of segments
    for text in texts:
        per: list[int] = []
        for unit in units(text):
            segs = segments(unit)
            pieces.extend(segs)
            per.append(len(segs))
        sizes.append(per)
    counts = vectorizer.transform(pieces).tocsr()
    blocks = []
    rows: list[int] = []
    at = 0
    for per in sizes:
        n = 0
        for size in per:
            block = counts[at : at + size]
            if size > 1:
                block = block[:-1] + block[1:]
            blocks.append(block)
            n += block.shape[0]
            at += size
        rows.append(n)
    matrix = (blocks[0] if len(blocks) == 1 else sparse.vstack(blocks)).tocsr()
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    matrix.data /= np.repeat(norms, np.diff(matrix.indptr)).astype(matrix.data.dtype)
    return matrix, rows


# the shipped model, loaded once (the first caller loads it, the rest wait for it)
model = Once(Model.load)


SHORT_CHARS = 48
SHORT_CAP = 0.45
_WORD = re.compile(r"\w+")


class InjectionCheck:
    """Scores a text for prompt injection: the higher of the rules and the classifier."""

    name = "injection"

    def __init__(self, classifier: Model | None = None) -> None:
        self._classifier = classifier  # None: the shipped one (the training script passes its own)

    def score(self, text: str, source: Source) -> tuple[float, str]:
        """The score and what gave it (a rule's name, or ``classifier``)."""
        if not text.strip():
            return 0.0, "none"
        norm = normalize(text)
        best, rule = rule_score(norm, source)
        parts = units(norm)
        if parts != [norm]:
            # the rules also read a JSON text's strings without their quotes (a field is no
            # quotation) and a page's attributes and comments as the text they are
            inner, name = rule_score("\n\n".join(parts), source)
            if inner > best:
                best, rule = inner, name
        clf = float((self._classifier or model()).unit_scores(parts, source).max())
        words = _WORD.findall(norm)
        if len(words) >= 20 and len(set(words)) < len(words) * 0.2:
            # one word over and over ("word word word …", a filler) is no instruction
            clf = min(clf, SHORT_CAP)
        if len(norm) < SHORT_CHARS:
            # a few words give character n-grams too little to go on ("Hello!" scored 0.76),
            # and carry no injection the rules do not know: there the classifier only warns
            clf = min(clf, SHORT_CAP)
        return (best, rule or "rules") if best >= clf else (clf, "classifier")

    def scan(self, text: str, source: Source) -> list[Finding]:
        score, _ = self.score(text, source)
        if score < MIN_SCORE:
            return []
        return [Finding(self.name, "injection", round(min(1.0, score), 4))]
