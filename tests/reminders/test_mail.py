"""Building reminder mails: pure functions, no app."""

import email.policy
from datetime import date, datetime, timezone
from email.parser import BytesParser

import pytest

from tracker.reminders.mail import (HeaderError, MailItem, MailSettings, Recipient,
                                    build_message, message_id, subject, unsubscribe_token,
                                    unsubscribe_user_id)

TODAY = date(2026, 6, 23)
NOW = datetime(2026, 6, 23, 0, 0, tzinfo=timezone.utc)
SETTINGS = MailSettings("书院镇党委宣传办 <noreply@shuyuan.example>",
                        "https://tracker.shuyuan.example/")
ITEMS = [
    MailItem(7, "洋溢村党总支", "召开意识形态工作专题会议", "Topic meeting on ideological work",
             date(2026, 6, 30), "before:7"),
    MailItem(9, "洋溢村党总支", "<script>alert(1)</script> & 学习", "", date(2026, 6, 16),
             "overdue:7"),
    MailItem(3, "党政办公室", "上半年自查", "H1 self-check", date(2026, 6, 23), "before:0"),
]
UNSUBSCRIBE = "https://tracker.shuyuan.example/reminders/unsubscribe/abc"


def parse(mail):
    return mail.data, BytesParser(policy=email.policy.default).parsebytes(mail.data)


def build(recipient, items=ITEMS, digest=True, key="digest:5:2026-06-23"):
    return build_message(recipient, items, key=key, today=TODAY, now=NOW, settings=SETTINGS,
                         unsubscribe_url=UNSUBSCRIBE, digest=digest)


def test_chinese_digest_round_trips_with_both_parts_links_and_headers():
    raw, msg = parse(build(Recipient("zhang@shuyuan.example", "张 三", None)))
    raw.decode("ascii")  # 7-bit clean: any mail server takes it
    assert b"\r\n" in raw
    assert msg["Subject"] == "工作提醒：3 项待办，其中 1 项已逾期"
    assert msg["To"].addresses[0].display_name == "张 三"
    assert msg["To"].addresses[0].addr_spec == "zhang@shuyuan.example"
    assert msg["From"].addresses[0].display_name == "书院镇党委宣传办"
    assert msg["Message-ID"] == "<digest.5.2026-06-23@tracker.shuyuan.example>"
    assert msg["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for task_id in (7, 9, 3):
        assert f"https://tracker.shuyuan.example/tasks/{task_id}\n" in text.replace("\r", "")
        assert f'href="https://tracker.shuyuan.example/tasks/{task_id}"' in html
    assert "张 三，您好" in text and "已逾期 7 天" in text and "今天到期" in text
    assert "还有 7 天到期" in text
    # Grouped by unit, the units in order, each unit's items by due date.
    assert text.index("【党政办公室】") < text.index("【洋溢村党总支】")
    assert text.index("tasks/9") < text.index("tasks/7")
    assert "https://tracker.shuyuan.example/settings" in text
    assert UNSUBSCRIBE in text and UNSUBSCRIBE in html


def test_html_part_escapes_titles_and_text_part_keeps_them():
    _, msg = parse(build(Recipient("zhang@shuyuan.example", "<b>张</b>", "zh_CN")))
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 学习" in html
    assert "&lt;b&gt;张&lt;/b&gt;" in html
    assert "<script>alert(1)</script> & 学习" in msg.get_body(("plain",)).get_content()


def test_english_recipient_gets_english_mail_with_english_titles():
    _, msg = parse(build(Recipient("li@shuyuan.example", "Li Si", "en")))
    assert msg["Subject"] == "Reminder: 3 items to do, 1 overdue"
    text = msg.get_body(("plain",)).get_content()
    assert "Dear Li Si" in text and "Topic meeting on ideological work" in text
    assert "7 days overdue" in text and "due today" in text and "due in 7 days" in text
    # No English title: the Chinese one.
    assert "<script>alert(1)</script> & 学习" in text


def test_unknown_language_falls_back_to_chinese():
    _, msg = parse(build(Recipient("x@shuyuan.example", "", "fr")))
    assert msg["Subject"].startswith("工作提醒")
    assert "x@shuyuan.example，您好" in msg.get_body(("plain",)).get_content()


@pytest.mark.parametrize("item, zh, en", [
    (ITEMS[0], "【提醒】召开意识形态工作专题会议：还有 7 天到期",
     "Reminder: Topic meeting on ideological work is due in 7 days"),
    (ITEMS[2], "【提醒】上半年自查：今天到期", "Due today: H1 self-check"),
    (ITEMS[1], "【逾期】<script>alert(1)</script> & 学习：已逾期 7 天",
     "Overdue: <script>alert(1)</script> & 学习 is 7 days late"),
])
def test_single_reminder_subjects(item, zh, en):
    assert subject(Recipient("a@b.example", "", "zh_CN"), [item], TODAY, digest=False) == zh
    assert subject(Recipient("a@b.example", "", "en"), [item], TODAY, digest=False) == en


def test_coordinator_digest_is_the_town_wide_summary():
    recipient = Recipient("admin@shuyuan.example", "协调员", "zh_CN", coordinator=True)
    _, msg = parse(build(recipient, ITEMS[1:2]))
    assert msg["Subject"] == "全镇工作提醒：1 项，其中 1 项已逾期"
    assert "全镇" in msg.get_body(("plain",)).get_content()


def test_message_id_is_stable_per_key_and_distinct_between_keys():
    first = build(Recipient("a@b.example", "", None), key="item:7:5:before:7:2026-06-30",
                  items=ITEMS[:1], digest=False)
    again = build(Recipient("a@b.example", "", None), key="item:7:5:before:7:2026-06-30",
                  items=ITEMS[:1], digest=False)
    assert first.data == again.data
    assert first.message_id == parse(first)[1]["Message-ID"] == (
        "<reminder.7.5.before.7.2026-06-30@tracker.shuyuan.example>")
    assert message_id("item:7:5:before:1:2026-06-30", "h") != message_id(
        "item:7:5:before:7:2026-06-30", "h")


def test_a_mail_is_never_empty():
    with pytest.raises(ValueError):
        build(Recipient("a@b.example", "", None), items=[])


def test_unsubscribe_tokens_are_signed():
    token = unsubscribe_token("secret", 42)
    assert unsubscribe_user_id("secret", token) == 42
    assert unsubscribe_user_id("other secret", token) is None
    assert unsubscribe_user_id("secret", token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert unsubscribe_user_id("secret", "garbage") is None


def test_long_and_awkward_headers_stay_well_formed():
    """Long Chinese subjects fold into several encoded words; line breaks in titles cannot
    start a header of their own; every line fits SMTP's limits."""
    long_title = "关于开展“学习贯彻习近平新时代中国特色社会主义思想”主题教育" * 3 + "\nBcc: x@evil.example"
    item = MailItem(1, "洋溢村党总支", long_title, "", date(2026, 6, 30), "before:7")
    recipient = Recipient("  li@shuyuan.example ", 'Li "Big" Si, Jr.', "en")
    long_url = "https://tracker.shuyuan.example/reminders/unsubscribe/" + "A" * 120
    mail = build_message(recipient, [item], key="item:1:2:before:7:2026-06-30", today=TODAY,
                         now=NOW, settings=SETTINGS, unsubscribe_url=long_url, digest=False)
    raw, msg = parse(mail)
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    header_block = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert all(len(line) <= 78 or line.startswith("List-Unsubscribe: <https")
               for line in header_block.split("\r\n")), header_block
    assert not any(line.lower().startswith("bcc:") for line in header_block.split("\r\n"))
    assert msg["Bcc"] is None
    assert msg["Subject"] == " ".join(mail.subject.split())
    assert "主题教育" in msg["Subject"] and "Bcc: x@evil.example" in msg["Subject"]
    assert msg["To"].addresses[0].display_name == 'Li "Big" Si, Jr.'
    # The header is built from the checked (stripped) address, not the raw one.
    assert "To: \"Li \\\"Big\\\" Si, Jr.\" <li@shuyuan.example>" in header_block
    assert msg["To"].addresses[0].addr_spec == "li@shuyuan.example"
    assert msg["List-Unsubscribe"] == f"<{long_url}>"
    for part in msg.walk():
        assert not part.defects, (part.get_content_type(), part.defects)


@pytest.mark.parametrize("name, email", [
    ('Li Si\r\nBcc: y@evil.example', "li@shuyuan.example"),
    ("Li Si", "li@shuyuan.example\r\nBcc: y@evil.example"),
    ("Li\nSi", "li@shuyuan.example"),
    ("Li Si", "li@shuyuan.example\n"),
    ("李\x00四", "li@shuyuan.example"),
])
def test_a_line_break_in_an_address_or_name_is_refused(name, email):
    """CR or LF (or another control character) in an address or a display name never
    reaches a header: the mail is refused, not mended into something else."""
    with pytest.raises(HeaderError):
        build(Recipient(email, name, "en"))


def test_parts_decode_to_exactly_the_rendered_text():
    mail = build(Recipient("zhang@shuyuan.example", "张 三", None))
    _, msg = parse(mail)
    text = msg.get_body(("plain",)).get_content()
    # Text in its canonical form (RFC 2046): CRLF line ends, no bare CR or LF.
    assert text.endswith("\r\n") and text.count("\r") == text.count("\n") == text.count("\r\n")
    assert "张 三，您好：\r\n\r\n以下事项" in text
    assert msg.get_body(("plain",))["Content-Transfer-Encoding"] == "base64"
    assert msg.get_body(("html",)).get_content_charset() == "utf-8"
    assert msg.get_body(("html",)).get_content().lstrip().startswith("<!doctype html>")


def test_a_long_english_subject_folds_at_spaces():
    title = "Publicity and ideological work responsibility system: " * 3
    item = MailItem(1, "Office", "宣传", title, date(2026, 6, 30), "before:7")
    mail = build(Recipient("li@shuyuan.example", "Li Si", "en"), items=[item], digest=False,
                 key="item:1:2:before:7:2026-06-30")
    raw, msg = parse(mail)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    subject_lines = head[:next(i for i, line in enumerate(head[1:], 1)
                               if not line.startswith(" "))]
    assert len(subject_lines) > 1 and all(len(line) <= 78 for line in subject_lines)
    assert msg["Subject"] == " ".join(mail.subject.split())
    assert msg["Subject"].startswith("Reminder: Publicity and ideological work")


def test_internationalised_addresses():
    mail = build(Recipient("李四@书院镇.example", "李四", None))
    raw, msg = parse(mail)
    # The domain in IDNA; a local part that is not ASCII goes as UTF-8 (RFC 6532).
    to_line = next(line for line in raw.split(b"\r\n") if line.startswith(b"To: "))
    assert to_line == b"To: =?utf-8?b?5p2O5Zub?= <" + "李四".encode() + b"@xn--1jqx14oiya.example>"
    assert msg["Subject"] == "工作提醒：3 项待办，其中 1 项已逾期"


def _one(task_id, days, kind):
    return MailItem(task_id, "洋溢村党总支", f"任务{task_id}", f"Task {task_id}",
                    date.fromordinal(TODAY.toordinal() + days), kind)


@pytest.mark.parametrize("count", [1, 2])
def test_each_language_counts_in_its_own_words(count):
    """The texts come from the catalogue in the recipient's language: English with the
    singular for one and the plural for more, Chinese with its one form."""
    soon = [_one(i, count, f"before:{count}") for i in range(1, count + 1)]
    late = [_one(i, -count, f"overdue:{count}") for i in range(1, count + 1)]
    s = "" if count == 1 else "s"

    _, msg = parse(build(Recipient("li@shuyuan.example", "Li Si", "en"), items=soon))
    assert msg["Subject"] == f"Reminder: {count} item{s} due soon"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert f"due in {count} day{s})" in text and f"due in {count} day{s})" in html
    assert not any("\u4e00" <= c <= "\u9fff" for c in text.replace("洋溢村党总支", "")
                   .replace("任务", ""))
    _, msg = parse(build(Recipient("li@shuyuan.example", "Li Si", "en"), items=late))
    assert msg["Subject"] == f"Reminder: {count} item{s} to do, {count} overdue"
    assert f"{count} day{s} overdue" in msg.get_body(("plain",)).get_content()
    assert subject(Recipient("a@b.example", "", "en"), late[:1], TODAY, digest=False) == (
        f"Overdue: Task 1 is {count} day{s} late")

    _, msg = parse(build(Recipient("zhang@shuyuan.example", "张三", "zh_CN"), items=soon))
    assert msg["Subject"] == f"工作提醒：{count} 项待办即将到期"
    text = msg.get_body(("plain",)).get_content()
    assert f"还有 {count} 天到期" in text and "Dear" not in text and "day" not in text
    assert f"还有 {count} 天到期" in msg.get_body(("html",)).get_content()
    _, msg = parse(build(Recipient("zhang@shuyuan.example", "张三", "zh_CN"), items=late))
    assert msg["Subject"] == f"工作提醒：{count} 项待办，其中 {count} 项已逾期"
    assert f"已逾期 {count} 天" in msg.get_body(("plain",)).get_content()


def test_values_in_translated_html_texts_are_escaped():
    """A name or title put into a translated text of the HTML part is escaped like any
    other value (the text is markup, what goes into it is not)."""
    item = MailItem(1, "<i>村</i>", "<b>标题</b>", "", TODAY, "before:0")
    for locale in ("en", "zh_CN"):
        _, msg = parse(build(Recipient("a@b.example", "<u>x</u>", locale), items=[item]))
        html = msg.get_body(("html",)).get_content()
        assert "<b>" not in html and "<u>" not in html and "<i>" not in html
        assert "&lt;b&gt;标题&lt;/b&gt;" in html and "&lt;u&gt;x&lt;/u&gt;" in html
