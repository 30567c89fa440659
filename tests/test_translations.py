"""The Simplified Chinese catalog: complete, compiled, in step with the sources, in use.

Fails when a message is untranslated or fuzzy, when a translation drops or
invents a placeholder, when the .mo was not compiled after the .po changed,
and when the sources hold a string the .po lacks (run the extract and
``pybabel update`` commands in README.md, translate, compile).
"""

import ast
import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
#: Babel reads the app's locale "zh_CN" as zh_Hans_CN (likely subtags), and Flask-Babel
#: looks for the catalog under that name: a zh_CN/ folder would never be loaded.
CATALOG_DIR = ROOT / "tracker" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
PO_PATH = CATALOG_DIR / "messages.po"
MO_PATH = CATALOG_DIR / "messages.mo"

#: The keywords the extract command in README.md uses: babel's defaults plus the lazy ones.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

#: A printf-style conversion: ``%(name)s``, ``%(num)d``, ``%%``, ``%s`` ...
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def read_catalog():
    with PO_PATH.open("rb") as fileobj:
        return read_po(fileobj)


def messages(catalog) -> list:
    """Every message but the header."""
    return [m for m in catalog if m.id]


def label(message) -> str:
    return repr(as_tuple(message.id)[0])


def test_catalog_lies_where_flask_babel_looks_for_zh_cn():
    assert CATALOG_DIR.parent.name == str(Locale.parse("zh_CN"))
    assert PO_PATH.is_file() and MO_PATH.is_file()


def test_catalog_is_chinese_with_one_plural_form():
    catalog = read_catalog()
    assert str(catalog.locale) == "zh_Hans_CN"
    assert catalog.num_plurals == 1
    assert catalog.plural_expr == "0"
    assert messages(catalog)


def test_every_message_is_translated_and_not_fuzzy():
    catalog = read_catalog()
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    fuzzy = [label(m) for m in messages(catalog) if m.fuzzy]
    assert not fuzzy, f"fuzzy translations: {fuzzy}"
    untranslated = [label(m) for m in messages(catalog)
                    if not all(s and s.strip() for s in as_tuple(m.string))]
    assert not untranslated, f"untranslated: {untranslated}"
    plural_counts = [label(m) for m in messages(catalog)
                     if m.pluralizable and len(as_tuple(m.string)) != catalog.num_plurals]
    assert not plural_counts, f"wrong number of plural forms: {plural_counts}"


def test_placeholders_are_kept():
    catalog = read_catalog()
    wrong = []
    for m in messages(catalog):
        ids = as_tuple(m.id)
        # Chinese has one form, used for every count: it holds the tokens of both msgids.
        expected = set().union(*(placeholders(i) for i in ids))
        for form in as_tuple(m.string):
            if placeholders(form) != expected:
                wrong.append((ids[0], form))
    assert not wrong, f"placeholders differ between msgid and msgstr: {wrong}"
    assert not [(m.id, errors) for m, errors in catalog.check()]


def test_mo_is_compiled_from_the_po():
    po = {(as_tuple(m.id), m.context): as_tuple(m.string) for m in messages(read_catalog())}
    with MO_PATH.open("rb") as fileobj:
        mo_catalog = read_mo(fileobj)
    mo = {(as_tuple(m.id), m.context): as_tuple(m.string) for m in messages(mo_catalog)}
    assert mo == po, ("messages.mo is out of date: run "
                      "`pybabel compile -d tracker/translations`")


def test_every_source_string_is_in_the_catalog():
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, filename="babel.cfg")
    catalog = read_catalog()
    missing = []
    extracted = 0
    for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS):
        extracted += 1
        ids = as_tuple(message)
        entry = catalog.get(ids[0], context=context)
        if entry is None or (len(ids) > 1 and as_tuple(entry.id) != ids):
            missing.append(f"{filename}:{lineno}: {ids[0]!r}")
    assert extracted, "nothing extracted: is babel.cfg right?"
    assert not missing, ("strings missing from messages.po (extract, `pybabel update`, "
                         "translate, compile):\n" + "\n".join(missing))


@pytest.mark.parametrize("accept, present, absent", [
    ("zh-CN,zh;q=0.9", ["<h1>登录</h1>", 'lang="zh-CN"', "保持登录"], ["Sign in"]),
    (None, ["<h1>登录</h1>", 'lang="zh-CN"'], ["Sign in"]),
    ("en-US,en;q=0.9", ["<h1>Sign in</h1>", 'lang="en"', "Keep me signed in"], ["登录"]),
])
def test_login_page_speaks_the_browsers_language(client, accept, present, absent):
    # The test client sends "Accept-Language: en" by default (tests/conftest.py).
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE", None)
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get("/login", headers=headers)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in present:
        assert text in page
    for text in absent:
        assert text not in page


#: The code whose words all come from the catalogue: mails, robot messages, the inbox's
#: notices and calendar feeds (their templates are checked whole, below).
CATALOGUED = ("tracker/reminders", "tracker/calendar")
#: Han characters, CJK punctuation and full-width forms: text written in Chinese.
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff01-\uff60]")
#: Chinese that may stay in that code, none of it a text of ours: the robot vendors' own
#: names for themselves and their settings (inside English msgids, so that a reader finds
#: the setting on the vendor's Chinese page; the settings' names only in brackets after
#: their English) and words matched in the vendors' answers.
KEPT_CHINESE = ("企业微信", "政务微信", "钉钉", "飞书", "加签", "签名校验", "(自定义机器人)",
                "(群机器人)", "(消息推送)", "(机器人)", "(自定义)", "限流", "频率")


def chinese_literals(source: str) -> list[tuple[int, str]]:
    """The string constants of a module's code that hold Chinese, docstrings left out (they
    are for its readers), nor a single character (a full-width look-alike in a table)."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value,
                                                                      ast.Constant):
                docstrings.add(id(body[0].value))
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docstrings and len(node.value) > 1):
            text = node.value
            for word in KEPT_CHINESE:
                text = text.replace(word, "")
            if CHINESE.search(text):
                found.append((node.lineno, node.value))
    return found


def test_no_chinese_text_is_written_outside_the_catalogue():
    """Mails, robot messages, notices and feeds say nothing in Chinese but through the
    catalogue (the plan's own words come from the plan data): a translator edits the .po
    file only."""
    found = []
    for area in CATALOGUED:
        for path in sorted((ROOT / area).rglob("*.py")):
            found += [f"{path.relative_to(ROOT)}:{line}: {text!r}"
                      for line, text in chinese_literals(path.read_text("utf-8"))]
    for path in sorted((ROOT / "templates" / "email").rglob("*")):
        if path.is_file():
            found += [f"{path.relative_to(ROOT)}:{number}: {line.strip()!r}"
                      for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
                      if CHINESE.search(line)]
    assert not found, "Chinese outside the catalogue (write an English msgid):\n" + "\n".join(
        found)


def test_the_check_finds_chinese_in_code_but_not_in_docstrings_or_vendor_names():
    source = ('"""模块说明。"""\n'
              'def f(unit):\n'
              '    """函数说明。"""\n'
              '    a = _("A WeCom (企业微信) robot")\n'
              '    return f"【测试消息】{unit}", "＊", "已逾期"\n')
    assert sorted(chinese_literals(source)) == [(5, "【测试消息】"), (5, "已逾期")]
