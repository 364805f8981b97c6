from pathlib import Path

import pytest

from classifiers import Urgency, UrgencyConfigError, UrgencyRules


@pytest.fixture(scope="module")
def rules() -> UrgencyRules:
    return UrgencyRules.load()


EMERGENCIES = [
    ("楼下餐馆着火了，浓烟很大，快来人", "119", "fire"),
    ("隔壁仓库突然爆炸了", "119", "fire"),
    ("我家厨房冒烟了", "119", "smoke"),
    ("楼道里闻到煤气味，很浓", "119", "gas-leak"),
    ("家里燃气泄漏了，怎么办", "119", "gas-leak"),
    ("我被困电梯里了，电梯停在五楼", "119", "trapped"),
    ("有个小孩落水了", "119", "trapped"),
    ("我爸突然晕倒了，叫不醒", "120", "medical"),
    ("老人在公园昏迷不醒", "120", "medical"),
    ("邻居好像心脏病发作了", "120", "medical"),
    ("工地上有人受伤了，流血不止", "120", "medical"),
    ("一家人吃了蘑菇后中毒了", "120", "medical"),
    ("楼下有人打架，拿着棍子", "110", "violence"),
    ("有人在超市门口抢劫", "110", "theft-robbery"),
    ("前夫拿刀威胁我", "110", "violence"),
    ("邻居扬言要放火报复", "110", "violence"),
    ("有人站在楼顶要跳楼", "110", "self-harm"),
    ("十字路口发生车祸，两辆车撞在一起", "122", "traffic-accident"),
    ("高速上一辆货车侧翻了", "122", "traffic-accident"),
    ("我被车撞了，司机肇事逃逸", "122", "traffic-accident"),
    ("醫院門口起火了！！", "119", "fire"),
    # spoken-style call summaries as an agent records them
    ("市民来电：公交站旁一位老人摔倒，头部流血，怎么叫都叫不醒，请立即派救护车", "120", "medical"),
    ("来电人称父亲突然胸口剧痛，喘不上气，以前有心脏病", "120", "medical"),
    ("一辆小轿车冲出路面撞上护栏翻到路边，车里好像还有人", "122", "traffic-accident"),
]


@pytest.mark.parametrize(("text", "service", "rule"), EMERGENCIES)
def test_emergencies_go_to_the_right_service(
    rules: UrgencyRules, text: str, service: str, rule: str
) -> None:
    assessment = rules.assess(text)
    assert assessment.urgency is Urgency.EMERGENCY
    assert assessment.emergency_service == service
    assert assessment.matched_rule == rule
    assert assessment.matched_terms


NOT_EMERGENCIES = [
    "不是火灾，是邻居在烧烤冒的味道",  # negation of 火灾; 冒烟 not said
    "并不是什么火灾，大家别慌",
    "去年这个路口发生过车祸，建议加装红绿灯",
    "听说上个月那边有人打架",
    "万一发生火灾，后果不堪设想，消防通道被堵",
    "小区组织消防演练，模拟着火逃生",
    "以前这里出过交通事故",
    "没有人受伤了，只是车坏了",
    "学校开展预防中毒宣传",
    "据说那家店以前失火过",
    "没有着火，只是楼道里有股焦味",
    "电视里在播火灾新闻，我想问问小区消防栓有没有水",
    "担心孩子放学路上发生交通事故，希望加装减速带",
    "曾经有人在这里打架，现在想要加装监控",
    "我想问一下急救培训在哪里报名",
    "投诉120救护车收费太高，十公里收了五百元",
]


@pytest.mark.parametrize("text", NOT_EMERGENCIES)
def test_negated_or_hearsay_emergencies_do_not_transfer(rules: UrgencyRules, text: str) -> None:
    assert rules.assess(text).urgency is not Urgency.EMERGENCY


@pytest.mark.parametrize(
    ("text", "urgency", "rule"),
    [
        ("楼上经常高空抛物，很危险", Urgency.TWO_HOURS, "danger-to-life-or-property"),
        ("路边井盖缺失，晚上看不见", Urgency.TWO_HOURS, "danger-to-life-or-property"),
        ("老楼外墙摇摇欲坠", Urgency.TWO_HOURS, "danger-to-life-or-property"),
        ("小区燃气管道老化，有泄漏隐患", Urgency.TWO_HOURS, "danger-to-life-or-property"),
        ("小区停水两天了", Urgency.TWENTY_FOUR_HOURS, "utility-outage"),
        ("整栋楼停电，冰箱都停了", Urgency.TWENTY_FOUR_HOURS, "utility-outage"),
        ("家里暖气不热，室内只有十度", Urgency.TWENTY_FOUR_HOURS, "utility-outage"),
        ("今年小区一直不供暖", Urgency.TWENTY_FOUR_HOURS, "utility-outage"),
        ("这个问题涉及多个部门，相互推诿", Urgency.COMPLEX, "multi-unit"),
        ("历史遗留的产权问题一直没人解决", Urgency.COMPLEX, "multi-unit"),
    ],
)
def test_risks_outages_and_complex_matters(
    rules: UrgencyRules, text: str, urgency: Urgency, rule: str
) -> None:
    assessment = rules.assess(text)
    assert (assessment.urgency, assessment.matched_rule) == (urgency, rule)
    assert assessment.emergency_service is None


@pytest.mark.parametrize(
    "text", ["", "学校食堂饭菜难吃", "咨询一下社保怎么转移", "不是停水，是水压有点问题吗？我想咨询"]
)
def test_ordinary_demands_are_general(rules: UrgencyRules, text: str) -> None:
    assessment = rules.assess(text)
    assert assessment.urgency is Urgency.GENERAL
    assert assessment.matched_rule is None
    assert assessment.matched_terms == ()


def test_a_negated_term_does_not_hide_a_real_one_later(rules: UrgencyRules) -> None:
    assessment = rules.assess("不是火灾。现在有人在楼下打架！")
    assert (assessment.emergency_service, assessment.matched_rule) == ("110", "violence")


def test_the_first_rule_in_file_order_wins(rules: UrgencyRules) -> None:
    # a fire that also cut the power is still a fire
    assert rules.assess("配电房着火了，整栋楼停电").matched_rule == "fire"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "urgency.toml"
    path.write_text(text, encoding="utf-8")
    return path


CUES = '[cues]\nnegation_window = 4\nnegation = ["不是"]\nnot_current = ["去年"]\n'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("version = 2\n" + CUES, "version"),
        ("version = 1\n", "[cues]"),
        ("version = 1\n" + CUES, "rule"),
        (
            "version = 1\n" + CUES + '[[rule]]\nid = "x"\nurgency = "soon"\nterms = ["火"]\n',
            "rule[0].urgency",
        ),
        (
            "version = 1\n" + CUES + '[[rule]]\nid = "x"\nurgency = "emergency"\nterms = ["火"]\n',
            "rule[0].service",
        ),
        (
            "version = 1\n" + CUES + '[[rule]]\nid = "x"\nurgency = "24h"\nterms = []\n',
            "rule[0].terms",
        ),
        (
            "version = 1\n"
            + CUES
            + '[[rule]]\nid = "x"\nurgency = "24h"\nterms = ["a"]\nwho = 1\n',
            "rule[0]",
        ),
        ("version = 1\n[cues\n", "invalid TOML"),
    ],
)
def test_invalid_config_names_file_and_field(tmp_path: Path, body: str, field: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(UrgencyConfigError) as raised:
        UrgencyRules.load(path)
    assert str(path) in str(raised.value)
    assert field in str(raised.value)


def test_missing_config_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(UrgencyConfigError, match=r"absent\.toml"):
        UrgencyRules.load(tmp_path / "absent.toml")


def test_a_gap_pattern_finds_words_said_apart_within_a_clause(tmp_path: Path) -> None:
    rules = UrgencyRules.load(_write(tmp_path, "version = 1\n" + CUES + (
        '[[rule]]\nid = "heat"\nurgency = "24h"\nterms = ["暖气…不热"]\n')))
    assert rules.assess("家里暖气一点都不热").matched_rule == "heat"
    assert rules.assess("暖气费交了，家里不热").matched_rule is None  # another clause


@pytest.mark.parametrize("term", ['"…热"', '"暖气…"'])
def test_a_gap_must_stand_between_two_phrases(tmp_path: Path, term: str) -> None:
    path = _write(tmp_path, "version = 1\n" + CUES + (
        f'[[rule]]\nid = "heat"\nurgency = "24h"\nterms = [{term}]\n'))
    with pytest.raises(UrgencyConfigError, match="between two phrases"):
        UrgencyRules.load(path)


def test_a_present_cue_after_a_past_one_keeps_the_term(rules: UrgencyRules) -> None:
    assert rules.assess("孩子昨天开始发烧，现在抽搐了").emergency_service == "120"
    assert rules.assess("孩子昨天抽搐了一次").emergency_service is None
