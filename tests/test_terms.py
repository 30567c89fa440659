"""The town's words (``/work/shared/seed/terms.md``, README "Translations"): the zh_CN
interface says one thing one way. The compiled catalogue, the templates (mails included)
and the Chinese texts in the code (robots, feeds, the demo town) never use a word the
town would not.
"""

import io
import tokenize
from pathlib import Path

from babel.messages.mofile import read_mo

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "tracker/translations/zh_Hans_CN/LC_MESSAGES/messages.mo"

#: avoided word -> what to say instead.
AVOID = {
    "具体责任人": "单位填报人 / 单位联络员 (具体责任人 is the seed's word for the other 班子成员)",
    "单位领导（只读）": "只读用户",
    "协调员": "镇党委宣传办; the role: 管理员 / 考核组",
    "机关部门": "机关科室",
    "企事业单位": "镇属企业 / 镇属事业单位",
    "已完成": "审核通过",
    "已通过": "审核通过",
    "未完成": "待填报",
    "待完成": "待填报",
    "自查": "自评 / 自评分 (自查 is rubric 4-1's own work)",
    "暂定": "未定稿",
    "评分行": "考核指标 / 评分项",
    "结转": "沿用生成 … 方案草稿",
    "收件箱": "消息通知",
    "举行日期": "召开（开展）日期",
    "参加人数": "实到人数",
    "按佐证材料": "未开始考核（按材料预评）",
    "工作方案规定的日期": "系统安排日期为…（本系统设定）",
    "方案原文：": "原文：…。本系统安排：…",
}
#: (avoided word, a text it may stand in): where the seed itself uses the word, quoted.
ALLOWED = {
    ("自查", "上半年意识形态工作自查"),  # duty 4-1's title, as the seed names it
}


def offences(where: str, text: str) -> list[str]:
    """The avoided words in ``text``, unless the seed's own words hold them."""
    found = []
    for word, instead in AVOID.items():
        if word in text and not any(w == word and quote in text for w, quote in ALLOWED):
            found.append(f"{where}: {word!r} (say {instead}) in {text[:80]!r}")
    return found


def test_the_catalogue_uses_the_towns_words():
    with CATALOGUE.open("rb") as f:
        catalogue = read_mo(f)
    found = []
    for message in catalogue:
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        for string in strings:
            found += offences(f"msgid {message.id!r}", string or "")
    assert found == []


def test_templates_use_the_towns_words():
    found = []
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.is_file() and path.suffix in {".html", ".txt", ".ics", ".js"}:
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                found += offences(f"{path.relative_to(ROOT)}:{number}", line)
    assert found == []


def _texts(path: Path):
    """The string literals of a module, docstrings left out (they are for its readers)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text("utf-8")).readline)
    previous = tokenize.NEWLINE
    for token in tokens:
        if token.type == tokenize.STRING and previous not in (
                tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.NL):
            yield token.start[0], token.string
        if token.type not in (tokenize.COMMENT, tokenize.NL) or previous == tokenize.NEWLINE:
            previous = token.type if token.type != tokenize.NL else previous


def test_texts_in_the_code_use_the_towns_words():
    found = []
    for path in sorted((ROOT / "tracker").rglob("*.py")):
        for number, text in _texts(path):
            found += offences(f"{path.relative_to(ROOT)}:{number}", text)
    assert found == []


def test_the_check_finds_an_avoided_word():
    assert offences("x", "本单位的具体责任人")
    assert not offences("x", "本单位的单位填报人")
    assert not offences("x", "上半年意识形态工作自查")
