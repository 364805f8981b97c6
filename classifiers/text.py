"""Text clean-up before classification: width folding, cheap 繁→简, whitespace, and
masking of personal data (phone numbers, ID cards, bank cards, e-mail) for storage and logs."""

from __future__ import annotations

import re

# Common traditional characters seen in hotline text, paired with their simplified form.
# Deliberately small: a full OpenCC table is not worth a dependency for the few traditional
# messages the hotline receives; ambiguous pairs (乾/干, 著/着) are left out on purpose.
_TRADITIONAL_SIMPLIFIED_PAIRS = (
    "電电話话報报車车禍祸門门診诊醫医學学區区縣县鎮镇鄉乡處处環环護护衛卫劃划勞劳動动"
    "會会務务業业買买賣卖貨货價价錢钱網网絡络運运輸输鐵铁開开關关燈灯氣气熱热難难問问"
    "題题應应該该這这個个們们來来說说時时間间後后還还沒没讓让給给對对發发現现經经過过"
    "為为從从與与無无麼么實实際际進进選选擇择係系將将廣广東东習习樂乐書书見见長长頭头"
    "點点體体萬万億亿條条證证據据單单費费負负責责廳厅屬属園园樓楼築筑設设線线蟲虫場场"
    "館馆訴诉辦办執执罰罚違违規规範范層层級级傷伤災灾煙烟險险滅灭兩两輛辆駕驾駛驶導导"
    "爭争鬥斗搶抢竊窃殺杀暈晕臟脏燒烧傳传員员資资補补繳缴養养療疗藥药裝装飾饰廢废棄弃"
    "聲声標标準准舊旧亂乱權权產产稅税貸贷銀银紅红綠绿號号碼码郵邮視视聽听師师課课戶户"
    "遷迁歲岁兒儿孫孙婦妇嬰婴溫温貴贵請请謝谢幫帮聯联訊讯態态緊紧嚴严橋桥湧涌漲涨濟济"
    "營营歸归當当樣样裡里邊边機机構构協协議议認认識识計计總总結结紀纪錄录懷怀檢检測测"
    "驗验質质監监糧粮飯饭潔洁淨净濕湿塵尘汙污採采礦矿輪轮軌轨飛飞維维擁拥擠挤雲云風风"
    "腦脑錯错誤误談谈論论講讲讀读寫写畫画筆笔紙纸張张團团隊队數数庫库勢势組组織织黨党"
    "領领幹干歷历狀状況况較较臨临遠远週周連连續续斷断統统適适預预額额齊齐闆板傢家漿浆"
    "雜杂隨随驚惊嚇吓臺台灣湾喚唤噸吨燉炖屍尸墳坟證证礙碍髮发鬧闹聞闻滾滚鄰邻舉举辭辞職职薪薪"
)
# Full-width ASCII forms (U+FF01..U+FF5E) sit at a fixed offset from ASCII; U+3000 is the
# ideographic space. Together with 繁→简 they are the only foldings live text needs, and a
# regex that visits just those characters is several times faster than NFKC + translate.
_FOLDING: dict[str, str] = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}
_FOLDING["\u3000"] = " "
_FOLDING.update(
    (trad, simp)
    for trad, simp in zip(
        _TRADITIONAL_SIMPLIFIED_PAIRS[0::2], _TRADITIONAL_SIMPLIFIED_PAIRS[1::2], strict=True
    )
    if trad != simp
)
_FOLDABLE = re.compile("[" + "".join(re.escape(char) for char in _FOLDING) + "]")
_WHITESPACE = re.compile(r"\s+")


def _fold(match: re.Match[str]) -> str:
    return _FOLDING[match.group(0)]


# Segmentation needs only letters, digits and characters folded: punctuation and spaces end
# a word in either width and are dropped afterwards, so skipping them saves most matches.
_WORD_FOLDABLE = re.compile(
    "["
    + "".join(re.escape(char) for char in _FOLDING if char.isalnum() and not char.isascii())
    + "]"
)


def fold_for_segmentation(text: str) -> str:
    """The part of `normalise_text` that changes words: full-width letters/digits, 繁→简."""
    return _WORD_FOLDABLE.sub(_fold, text)


def normalise_text(text: str) -> str:
    """Fold full-width forms to half-width, map common 繁体 to 简体, collapse whitespace.

    "１２３４５", "ＡＢＣ" and "，" become "12345", "ABC" and ","; "電話" becomes "电话".
    """
    return _WHITESPACE.sub(" ", _FOLDABLE.sub(_fold, text)).strip()


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
