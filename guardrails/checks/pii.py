"""Personal data: email addresses, payment cards, IBANs, US social security numbers, phone
numbers and public IP addresses.

Candidates are found by pattern and kept only when a validator accepts them (python-stdnum:
the Luhn checksum and issuer prefixes of cards, the IBAN mod-97 check, the SSN's allowed
ranges; Google's libphonenumber for phone numbers), so order numbers, ISBNs, version strings
and other look-alikes are not redacted. Words around a number move its score: "call me at"
raises a phone number, "order no." lowers it below the default threshold."""

from __future__ import annotations

import ipaddress
import re

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

from guardrails.types import Finding, Source

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
SSN_BARE = re.compile(r"(?<!\d)\d{9}(?!\d)")
PHONE = re.compile(r"(?<![\w+#/-])(?:\+|00)?\d[\d ().-]{5,18}\d(?![\w-])")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}(?![\w:])")

# what the words just before a number say it is
PHONE_CONTEXT = re.compile(
    r"(?i)\b(phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms|text me|reach me|contact)\b"
)
NOT_PHONE_CONTEXT = re.compile(
    r"(?i)(\b(order|invoice|ticket|part|serial|sku|isbn|model|build|version|ref|tracking|"
    r"account|case|item|po|id|no)\b\.?|#)\s*:?\s*$"
)
SSN_CONTEXT = re.compile(r"(?i)\b(ssn|social security|soc\.? sec)")
DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{2,4}")
VERSION_BEFORE = re.compile(r"(?i)(\bv|version|release|build)\s*$")

# issuer prefixes of the card networks (a Luhn-valid number without one is not a card)
CARD_PREFIX = re.compile(
    r"^(4\d{12}(\d{3}){0,2}|5[1-5]\d{14}|2(2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)\d{12}|"
    r"3[47]\d{13}|6(011|5\d\d|4[4-9]\d)\d{12,15}|35(2[89]|[3-8]\d)\d{12,15}|"
    r"3(0[0-5]|[68]\d)\d{11,16})$"
)


_DIGIT = re.compile(r"\d")


def _before(text: str, start: int, width: int = 32) -> str:
    return text[max(0, start - width) : start]


class PiiCheck:
    name = "pii"

    def scan(self, text: str, source: Source) -> list[Finding]:
        found: list[Finding] = []
        taken: list[tuple[int, int]] = []

        def add(category: str, score: float, start: int, end: int) -> None:
            if any(s < end and start < e for s, e in taken):
                return  # a span already claimed (a card's digits are not also a phone)
            taken.append((start, end))
            found.append(Finding(self.name, category, score, start, end))

        if "@" in text:
            for m in EMAIL.finditer(text):
                if text[m.end() : m.end() + 1] == ":":  # git@github.com:owner/repo (ssh)
                    continue
                add("pii.email", 0.9, m.start(), m.end())
        if not _DIGIT.search(text):  # a regex finds the first digit at C speed
            return found
        for m in IBAN.finditer(text):
            if iban.is_valid(m.group(0)):
                add("pii.iban", 0.95, m.start(), m.end())
        for m in CARD.finditer(text):
            digits = re.sub(r"\D", "", m.group(0))
            if CARD_PREFIX.match(digits) and luhn.is_valid(digits):
                add("pii.card", 0.95, m.start(), m.end())
        for m in SSN.finditer(text):
            if ssn.is_valid(m.group(0)):
                context = SSN_CONTEXT.search(_before(text, m.start(), 48))
                add("pii.ssn", 0.95 if context else 0.8, m.start(), m.end())
        for m in SSN_BARE.finditer(text):
            if SSN_CONTEXT.search(_before(text, m.start(), 48)) and ssn.is_valid(m.group(0)):
                add("pii.ssn", 0.9, m.start(), m.end())
        for m in PHONE.finditer(text):
            if DATE_LIKE.search(m.group(0)) or text[m.end() : m.end() + 1] == ":":
                continue  # a date, a time
            score = self._phone(text, m.start(), m.group(0))
            if score:
                add("pii.phone", score, m.start(), m.end())
        if "." in text:
            for m in IPV4.finditer(text):
                if self._public_ip(m.group(0)) and not VERSION_BEFORE.search(
                    _before(text, m.start(), 12)
                ):
                    add("pii.ip", 0.7, m.start(), m.end())
        if ":" in text:
            for m in IPV6.finditer(text):
                if self._public_ip(m.group(0)):
                    add("pii.ip", 0.7, m.start(), m.end())
        return found

    @staticmethod
    def _phone(text: str, start: int, candidate: str) -> float:
        digits = sum(c.isdigit() for c in candidate)
        if digits < 7 or digits > 15:
            return 0.0
        before = _before(text, start)
        if NOT_PHONE_CONTEXT.search(before):
            return 0.3
        try:
            number = phonenumbers.parse(candidate, "US")
        except phonenumbers.NumberParseException:
            return 0.0
        if not phonenumbers.is_valid_number(number):
            return 0.0
        international = candidate.lstrip().startswith(("+", "00"))
        if PHONE_CONTEXT.search(before):
            return 0.9
        # a bare run of digits is as likely an id as a number to call
        formatted = any(c in candidate for c in " ().-")
        return 0.75 if international or formatted else 0.4

    @staticmethod
    def _public_ip(value: str) -> bool:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.is_global
