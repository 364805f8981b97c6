"""Messages written for these tests: three categories, several phrasings each."""

from __future__ import annotations

import itertools

from classifiers.dataset import LabelledMessages

PLACES = ["东城小区", "河西街道", "新华路", "南湖社区", "北站片区", "龙山镇"]
OPENINGS = ["您好，", "我想反映一下，", "请相关部门关注：", ""]
ISSUES = {
    "城乡建设": [
        "物业公司乱收物业费，电梯长期坏了没人修",
        "小区道路破损，路灯不亮，井盖松动",
        "开发商延期交房，房屋质量有问题",
        "违章建筑占用公共绿地，物业不管",
    ],
    "教育文体": [
        "学校违规补课，老师向学生收取资料费",
        "幼儿园学位不够，孩子上学难",
        "学校食堂饭菜质量差，学生家长意见大",
        "培训机构退费难，学生课时费不退",
    ],
    "卫生计生": [
        "医院看病排队太久，医生态度差",
        "社区卫生服务中心疫苗断货，孩子打不上疫苗",
        "诊所无证行医，药品价格虚高",
        "医院收费不合理，医保报销比例低",
    ],
}


def written_messages() -> LabelledMessages:
    messages = LabelledMessages()
    for label, issues in ISSUES.items():
        combos = itertools.product(issues, PLACES, OPENINGS)
        for index, (issue, place, opening) in enumerate(combos):
            if index % 2:  # half the combinations are enough and keep training fast
                continue
            messages.texts.append(f"{opening}{place}{issue}，希望尽快解决。")
            messages.labels.append(label)
            messages.groups.append(f"{label}-{issue}-{place}")
    return messages
