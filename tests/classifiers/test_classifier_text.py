import pytest

from classifiers import mask_personal_data, normalise_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３４５", "ABC12345"),
        ("电话：１３８", "电话:138"),
        ("  小区   停水\n\t三天 ", "小区 停水 三天"),
        ("醫院門診電話", "医院门诊电话"),
        ("臺灣同胞來電", "台湾同胞来电"),
        ("简体字不变", "简体字不变"),
    ],
)
def test_normalise_folds_width_traditional_and_whitespace(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


def test_normalise_is_idempotent() -> None:
    once = normalise_text("ＡＢＣ  電話 １２")
    assert normalise_text(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("我的电话13812345678请回电", "我的电话138****5678请回电"),
        ("电话 138 1234 5678", "电话 138****5678"),
        ("号码+8613812345678", "号码138****5678"),
        ("座机0731-84561234", "座机0731-****1234"),
        ("座机010 12345678", "座机010-****5678"),
        ("身份证110101199003071234", "身份证110***********1234"),
        ("身份证11010119900307123X", "身份证110***********123X"),
        ("身份证11010119900307123x。", "身份证110***********123x。"),
        ("银行卡6222021234567890123", "银行卡6222***********0123"),
        ("卡号 6222 0212 3456 7890", "卡号 6222********7890"),
        ("邮箱zhangsan@example.com联系", "邮箱z***@example.com联系"),
    ],
)
def test_mask_hides_personal_numbers(raw: str, expected: str) -> None:
    assert mask_personal_data(raw) == expected


@pytest.mark.parametrize(
    "text",
    ["小区3栋12号", "2020年1月6日", "金额12345元", "12345热线", "编号1234567"],
)
def test_mask_leaves_ordinary_numbers_alone(text: str) -> None:
    assert mask_personal_data(text) == text


def test_mask_does_not_find_a_phone_inside_an_id_card() -> None:
    masked = mask_personal_data("证件号码110101138123456781")
    assert masked == "证件号码110***********6781"
