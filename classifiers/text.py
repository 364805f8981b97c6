"""Text clean-up before classification: width folding, 繁→简 by OpenCC, whitespace, and
masking of personal data (phone numbers, ID cards, bank cards, e-mail) for storage and logs."""

from __future__ import annotations

import re

import opencc

# OpenCC's Taiwan-standard table (tw2s) rather than the generic t2s: t2s leaves 著 alone
# ("著火", "睡著"), which hides a fire from the urgency rules; tw2s resolves 著/着, 乾/干 and
# the other one-to-many pairs by phrase. The converter is immutable once built, so one
# instance serves every thread.
_TO_SIMPLIFIED = opencc.OpenCC("tw2s")

# Full-width ASCII forms (U+FF01..U+FF5E) sit at a fixed offset from ASCII; U+3000 is the
# ideographic space. A regex that visits just those characters is several times faster
# than NFKC + translate.
_FULL_WIDTH: dict[str, str] = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}
_FULL_WIDTH["\u3000"] = " "
_FULL_WIDTH_FORM = re.compile("[\uff01-\uff5e\u3000]")
# Segmentation needs only letters and digits folded: punctuation and spaces end a word in
# either width and are dropped afterwards, so skipping them saves most matches.
_FULL_WIDTH_WORD = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_WHITESPACE = re.compile(r"\s+")


def _traditional_characters() -> str:
    """The ideographs OpenCC's character table (t2s) changes, plus 著, which is changed only in
    context ("著火" → "着火"); tw2s's own table is no guide, it maps a lone 么 to 幺. Found once,
    in one call with a separator between the characters (a few milliseconds)."""
    ideographs = [chr(code) for code in (*range(0x3400, 0xA000), *range(0xF900, 0xFB00))]
    converted = opencc.OpenCC("t2s").convert("\n".join(ideographs)).split("\n")
    changed = {char for char, simple in zip(ideographs, converted, strict=True) if simple != char}
    return "".join(sorted(changed | {"著"}))


# Only a text with a traditional character pays for OpenCC (about 20 µs on a 220-character
# message, against about 1.5 µs for this search); nearly all live text is simplified already.
_HAS_TRADITIONAL = re.compile(f"[{_traditional_characters()}]")


def _fold(match: re.Match[str]) -> str:
    return _FULL_WIDTH[match.group(0)]


def to_simplified(text: str) -> str:
    """Traditional characters to simplified ones, phrase-aware ("樓下著火" → "楼下着火")."""
    return _TO_SIMPLIFIED.convert(text) if _HAS_TRADITIONAL.search(text) else text


def fold_for_segmentation(text: str) -> str:
    """The part of `normalise_text` that changes words: full-width letters/digits, 繁→简."""
    return to_simplified(_FULL_WIDTH_WORD.sub(_fold, text))


def normalise_text(text: str) -> str:
    """Fold full-width forms to half-width, 繁体 to 简体, collapse whitespace.

    "１２３４５", "ＡＢＣ" and "，" become "12345", "ABC" and ","; "電話" becomes "电话".
    """
    return _WHITESPACE.sub(" ", to_simplified(_FULL_WIDTH_FORM.sub(_fold, text))).strip()


# Digit runs are bounded by lookarounds so a phone number is never found inside a longer
# number (an ID card or bank card) and vice versa; the order below matters for the same reason.
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_BANK_CARD = re.compile(r"(?<!\d)(\d{4})((?:[ -]?\d){8,11})([ -]?\d{4})(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[ -]?(\d{3,4})(\d{4})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def _mask_id_card(match: re.Match[str]) -> str:
    # 110***********1234: area prefix kept for routing by region, birth date hidden
    whole = match.group(0)
    return whole[:3] + "*" * 11 + whole[-4:]


def _mask_bank_card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def _mask_mobile(match: re.Match[str]) -> str:
    return f"{match.group(1)}****{match.group(3)}"


def _mask_landline(match: re.Match[str]) -> str:
    return f"{match.group(1)}-" + "*" * len(match.group(2)) + match.group(3)


def _mask_email(match: re.Match[str]) -> str:
    return f"{match.group(1)}***@{match.group(2)}"


def mask_personal_data(text: str) -> str:
    """Mask mobile and landline numbers, 18-digit 身份证 numbers, bank cards and e-mail.

    >>> mask_personal_data("电话13812345678")
    '电话138****5678'
    """
    text = _EMAIL.sub(_mask_email, text)
    text = _ID_CARD.sub(_mask_id_card, text)
    text = _BANK_CARD.sub(_mask_bank_card, text)
    text = _MOBILE.sub(_mask_mobile, text)
    return _LANDLINE.sub(_mask_landline, text)
