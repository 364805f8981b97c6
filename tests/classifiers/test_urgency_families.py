"""Each emergency family reaches its line, each confuser family stays home.

The examples are written here, apart from the evaluation files under tests/data, and go
through the shipped rules with the shipped danger model behind them, as intake runs them.
"""

from __future__ import annotations

import pytest

from classifiers import DangerModel, Urgency, UrgencyRules


@pytest.fixture(scope="module")
def grader() -> UrgencyRules:
    return UrgencyRules.load().with_model(DangerModel.load())


EMERGENCY_FAMILIES = [
    ("fire", "119", "仓库里着火了，火苗往外窜"),
    ("smoke", "119", "楼道里全是烟，呛得喘不过气，不知道哪家着了"),
    ("explosion", "119", "楼下饭店刚才爆炸了，玻璃全碎了"),
    ("gas-leak", "119", "一进门就闻到很浓的煤气味"),
    ("trapped-lift", "119", "我被困在电梯里了，电梯停在两层中间"),
    # someone in the water needs rescue (119) and an ambulance (120): either line is right
    ("water-rescue", "119|120", "有个小孩落水了，还在水里扑腾"),
    ("choking", "120", "孩子吃果冻噎住了，脸都憋紫了"),
    ("injury", "120", "工人从脚手架上摔下来了，头破了流了很多血"),
    ("sudden-illness", "120", "我爸突然晕倒了，怎么叫都叫不醒"),
    ("stroke", "120", "奶奶突然嘴歪了，说不出话，半边身子动不了"),
    ("poisoning", "120", "孩子把农药当饮料喝了"),
    ("violence", "110", "楼下有人拿刀砍人"),
    ("theft", "110", "有人正在撬我家隔壁的门"),
    ("fraud", "110", "有人冒充公安让我妈往安全账户转账，她正在银行"),
    ("missing-child", "110", "孩子在商场走丢了，找了半小时没找到"),
    ("self-harm", "110", "有个人站在楼顶边上说要跳下去"),
    ("confinement", "110", "我被人关在屋里不让我走"),
    ("road-accident", "122", "十字路口两辆车撞了，堵在路中间"),
    ("road-accident-injury", "122", "我被一辆车撞了，腿在流血，司机跑了"),
]


@pytest.mark.parametrize(("family", "line", "text"), EMERGENCY_FAMILIES,
                         ids=[family for family, _line, _text in EMERGENCY_FAMILIES])
def test_each_emergency_family_is_transferred_to_its_line(
        grader: UrgencyRules, family: str, line: str, text: str) -> None:
    assessment = grader.assess(text)
    assert assessment.urgency is Urgency.EMERGENCY, (family, assessment)
    assert assessment.emergency_service in line.split("|"), (family, assessment)
    assert assessment.matched_rule
    assert assessment.matched_terms


CONFUSERS = [
    ("stove-will-not-light", "灶台打不着火，想问燃气公司能不能上门"),
    ("lighter-will-not-light", "燃气灶点不着火了"),
    ("negated-fire", "没有着火，就是楼道里有股焦味"),
    ("negated-injury", "两车蹭了一下，没有人受伤，想问保险怎么报"),
    ("negated-not-is", "不是火灾，是邻居在烧烤"),
    ("past", "去年小区发生过火灾，想问消防通道谁来管"),
    ("hearsay", "听说那个路口经常出车祸，建议装红绿灯"),
    ("habit", "那个路口经常出车祸，建议装个红绿灯"),
    ("resolved", "家里的煤气味已经散了，想问换软管多少钱"),
    ("heatiness", "最近上火，嗓子疼，想问社区医院几点开门"),
    ("temper", "窗口工作人员对我发火，态度很差"),
    ("train", "火车站出租车拒载"),
    ("hotpot", "楼下火锅店油烟太大"),
    ("first-aid-course", "想报名急救培训课程"),
    ("ambulance-bill", "投诉救护车收费太高"),
    ("fire-drill", "小区搞消防演练太吵了"),
    ("fraud-poster", "社区门口的防诈骗海报写错了电话"),
    ("job-hopping", "想跳槽，问劳动合同怎么解除"),
]


@pytest.mark.parametrize(("family", "text"), CONFUSERS,
                         ids=[family for family, _text in CONFUSERS])
def test_confusers_are_never_transferred(grader: UrgencyRules, family: str, text: str) -> None:
    assessment = grader.assess(text)
    assert assessment.emergency_service is None, (family, assessment)
    assert assessment.urgency is not Urgency.EMERGENCY


@pytest.mark.parametrize(("text", "line"), [
    ("樓下著火了，濃煙很大，有人被困", "119"),
    ("我爸突然暈倒了，叫不醒", "120"),
    ("有人在搶劫，拿著刀", "110"),
    ("十字路口兩輛車撞了", "122"),
])
def test_traditional_characters_are_read_as_simplified(grader: UrgencyRules, text: str,
                                                       line: str) -> None:
    assert grader.assess(text).emergency_service == line


@pytest.mark.parametrize("text", [
    "暖气一点都不热", "暖氣片冰涼的", "家里停水两天了", "整栋楼停电了", "燃气表锁了交了钱也不通气",
])
def test_heat_water_power_and_gas_in_many_phrasings_get_24_hours(grader: UrgencyRules,
                                                                 text: str) -> None:
    assert grader.assess(text).urgency is Urgency.TWENTY_FOUR_HOURS


def test_a_danger_no_rule_names_becomes_a_possible_emergency(grader: UrgencyRules) -> None:
    assessment = grader.assess("快来人啊，我家老人不对劲了，救命")
    assert assessment.urgency is Urgency.TWO_HOURS
    assert assessment.emergency_service is None
    assert assessment.danger_signals
    assert assessment.matched_rule == "possible-emergency"


def test_an_ordinary_demand_raises_no_danger(grader: UrgencyRules) -> None:
    assessment = grader.assess("小区物业费涨价了，想问是否合理")
    assert assessment.urgency is Urgency.GENERAL
    assert assessment.danger_signals == ()


def test_the_assessment_says_what_blocked_a_term(grader: UrgencyRules) -> None:
    assessment = grader.assess("灶台打不着火")
    assert any("着火" in reason and "不" in reason for reason in assessment.blocked)


def test_the_danger_model_transfers_what_no_rule_names_when_it_is_sure(
        grader: UrgencyRules) -> None:
    text = "娃娃嘴里吐白沫手脚直抽"
    assert UrgencyRules.load().assess(text).emergency_service is None  # no rule knows it
    assessment = grader.assess(text)
    assert (assessment.urgency, assessment.emergency_service) == (Urgency.EMERGENCY, "120")
    assert assessment.matched_rule == "danger-model"
    assert assessment.matched_terms  # the character pairs that weighed most
    assert assessment.line_note is not None
    assert "danger model" in assessment.line_note


def test_a_term_the_rules_set_aside_keeps_the_model_from_transferring(
        grader: UrgencyRules) -> None:
    assessment = grader.assess("孩子刚才吞了纽扣，已经吐出来了，问还要不要去医院")
    assert assessment.emergency_service is None
    assert any("吐出来了" in reason for reason in assessment.blocked)
