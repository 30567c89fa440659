"""Building reminder mails (and the notice of work returned for rework): pure functions
from data to the bytes of a MIME message; also the signed tokens of their one-click
unsubscribe links.

Bodies come from ``templates/email/<kind>.txt`` and ``.html``, their texts
and the subjects from the translation catalogue (``tracker.core.i18n``): the mail
goes out in the recipient's language whatever the request (there is none in a
background job) would choose. The HTML templates autoescape, the values put into
a translated text too.

The message is assembled here rather than with ``email.message.EmailMessage``:
its header parsing and refolding cost about 3 ms a mail, several times the
SMTP exchange with a nearby server, and a dispatch pass sends thousands. The
shape is fixed (multipart/alternative, two UTF-8 parts in base64). Headers are
written here too: non-ASCII text as RFC 2047 base64 encoded words (UTF-8, whole
characters per word), long ASCII values folded at spaces, addresses with
``email.utils.formataddr`` (an IDNA domain for a non-ASCII one). An address or
a name holding a line break is refused (``HeaderError``) rather than mended: it
could only come from data that skipped the checks at its boundary. The tests
parse every kind of mail back with the standard library's modern parser.
"""

import base64
import functools
import hashlib
import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import format_datetime, formataddr, getaddresses
from urllib.parse import urlsplit

import jinja2
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

from tracker.core import i18n
from tracker.core.paths import TEMPLATES
from tracker.tasks.models import is_overdue

#: Keeps unsubscribe tokens from being valid anywhere else the secret key signs.
UNSUBSCRIBE_SALT = "tracker.reminders.unsubscribe"
CRLF = "\r\n"
#: Header lines are folded to this many characters where they can be (RFC 5322).
MAX_LINE = 78


@dataclass(frozen=True)
class MailItem:
    """One task in a reminder mail."""

    task_id: int
    unit: str
    title: str
    title_en: str
    due: date
    #: The reminder's kind: ``before:<days>`` or ``overdue:<days>``.
    kind: str
    #: The task's stored status (reminders are for work still owed: open or returned).
    status: str = "open"

    def overdue(self, today: date) -> bool:
        """Whether the task is overdue on ``today`` (the tasks area's definition)."""
        return is_overdue(self.status, self.due, today)


@dataclass(frozen=True)
class Recipient:
    """Who the mail is for."""

    email: str
    name: str
    locale: str | None
    #: The coordinator: the mail is the town-wide overdue summary.
    coordinator: bool = False

    @property
    def display_name(self) -> str:
        """How the mail greets the person: their name, or their address."""
        return self.name or self.email

    @property
    def language(self) -> str:
        """The mail's language: the user's if there are texts in it, else the town's."""
        return i18n.language(self.locale)


@dataclass(frozen=True)
class MailSettings:
    """What every mail of a deployment shares."""

    sender: str
    base_url: str

    @property
    def host(self) -> str:
        """The domain for Message-IDs: the site's host name."""
        return urlsplit(self.base_url).hostname or "tracker.invalid"


def message_id(key: str, host: str) -> str:
    """The Message-ID of the mail with outbox key ``key``: the same on every resend."""
    kind, _, rest = key.partition(":")
    local = re.sub(r"[^A-Za-z0-9.-]+", ".", rest).strip(".")
    return f"<{kind if kind in ('digest', 'returned', 'feedback') else 'reminder'}.{local}@{host}>"


@functools.cache
def _environment(language: str) -> jinja2.Environment:
    """The templates with the texts of ``language``: one environment per language, so
    that a compiled template is shared by every mail in it."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        auto_reload=False,  # not a stat() of both templates for every mail
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    # Newstyle gettext (the text formats its own values, escaping them in HTML), without
    # the extension's wrappers: those take the template context, and inside a loop each
    # call then copies it, which made a mail three times as slow to render.
    env.newstyle_gettext = True
    env.globals.update(_gettext_functions(i18n.translations(language)))
    return env


def _gettext_functions(catalogue) -> dict:
    """``gettext``, ``_`` and ``ngettext`` for templates: the catalogue's text, as markup in
    an HTML template (what goes into it escaped), formatted with its ``%(name)s`` values."""

    @jinja2.pass_eval_context
    def gettext(eval_ctx, string: str, **variables) -> str:
        text = catalogue.gettext(string)
        return (Markup(text) if eval_ctx.autoescape else text) % variables

    @jinja2.pass_eval_context
    def ngettext(eval_ctx, singular: str, plural: str, num: int, **variables) -> str:
        variables.setdefault("num", num)
        text = catalogue.ngettext(singular, plural, num)
        return (Markup(text) if eval_ctx.autoescape else text) % variables

    return {"gettext": gettext, "_": gettext, "ngettext": ngettext}


def _title(item: MailItem, language: str) -> str:
    return item.title_en or item.title if language == "en" else item.title


def subject(recipient: Recipient, items: list[MailItem], today: date, digest: bool) -> str:
    """The subject line, in the recipient's language."""
    t = i18n.texts(recipient.language)
    overdue = sum(1 for i in items if i.overdue(today))
    if not digest and len(items) == 1:
        item = items[0]
        title, days = _title(item, recipient.language), (item.due - today).days
        if days < 0:
            return t.ngettext("Overdue: %(title)s is %(num)d day late",
                              "Overdue: %(title)s is %(num)d days late", -days, title=title)
        if days == 0:
            return t.gettext("Due today: %(title)s", title=title)
        return t.ngettext("Reminder: %(title)s is due in %(num)d day",
                          "Reminder: %(title)s is due in %(num)d days", days, title=title)
    if recipient.coordinator:
        return t.ngettext("Town-wide summary: %(num)d item, %(overdue)d overdue",
                          "Town-wide summary: %(num)d items, %(overdue)d overdue",
                          len(items), overdue=overdue)
    if overdue:
        return t.ngettext("Reminder: %(num)d item to do, %(overdue)d overdue",
                          "Reminder: %(num)d items to do, %(overdue)d overdue",
                          len(items), overdue=overdue)
    return t.ngettext("Reminder: %(num)d item due soon", "Reminder: %(num)d items due soon",
                      len(items))


@dataclass(frozen=True)
class Mail:
    """A built mail: what the outbox keeps of it."""

    subject: str
    message_id: str
    #: The whole message, RFC 5322 with CRLF line ends, 7-bit clean but for an
    #: address that is not ASCII.
    data: bytes


def build_message(recipient: Recipient, items: list[MailItem], *, key: str, today: date,
                  now: datetime, settings: MailSettings, unsubscribe_url: str,
                  digest: bool) -> Mail:
    """A multipart (plain text and HTML) reminder mail for ``items``."""
    if not items:
        raise ValueError("no items: a reminder mail is never empty")
    language = recipient.language
    base = settings.base_url.rstrip("/")
    ordered = sorted(items, key=lambda i: (i.unit, i.due, i.task_id))
    groups = [(unit, [
        {"title": _title(i, language), "due": i.due.isoformat(), "days": (i.due - today).days,
         "url": f"{base}/tasks/{i.task_id}"} for i in group])
        for unit, group in itertools.groupby(ordered, key=lambda i: i.unit)]
    context = {"name": recipient.display_name, "groups": groups,
               "count": len(items), "coordinator": recipient.coordinator, "digest": digest,
               "settings_url": f"{base}/settings", "unsubscribe_url": unsubscribe_url,
               "base_url": base}
    title = subject(recipient, items, today, digest)
    return _assemble("reminder", recipient, title, context, key=key, now=now,
                     settings=settings, unsubscribe_url=unsubscribe_url)


def returned_subject(recipient: Recipient, item: MailItem) -> str:
    """The subject of the notice that work was returned for rework."""
    return i18n.texts(recipient.language).gettext("Returned for rework: %(title)s",
                                                  title=_title(item, recipient.language))


def build_returned_message(recipient: Recipient, item: MailItem, *, reviewer: str,
                           comment: str, key: str, today: date, now: datetime,
                           settings: MailSettings, unsubscribe_url: str) -> Mail:
    """The notice to a unit that the coordinator returned ``item`` with ``comment``."""
    base = settings.base_url.rstrip("/")
    context = {"name": recipient.display_name, "reviewer": reviewer,
               "unit": item.unit, "title": _title(item, recipient.language),
               "due": item.due.isoformat(),
               "days": (item.due - today).days, "url": f"{base}/tasks/{item.task_id}",
               "comment": comment, "settings_url": f"{base}/settings",
               "unsubscribe_url": unsubscribe_url}
    return _assemble("returned", recipient, returned_subject(recipient, item), context,
                     key=key, now=now, settings=settings, unsubscribe_url=unsubscribe_url)


def feedback_subject(recipient: Recipient, unit: str, year: int) -> str:
    """The subject of the notice that a 问题反馈单 was issued to the unit."""
    return i18n.texts(recipient.language).gettext("Feedback sheet %(year)d: %(unit)s",
                                                  year=year, unit=unit)


def build_feedback_message(recipient: Recipient, *, unit: str, year: int, url: str,
                           summary: str, tasks: list, key: str, now: datetime,
                           settings: MailSettings, unsubscribe_url: str) -> Mail:
    """The notice to a unit's people that its 问题反馈单 was issued: what it holds, the
    整改 tasks with their deadlines, and where to read and acknowledge it."""
    base = settings.base_url.rstrip("/")
    context = {"name": recipient.display_name, "unit": unit, "year": year, "url": url,
               "summary": summary, "settings_url": f"{base}/settings",
               "tasks": [(t.title, t.due_date.isoformat(), f"{base}/tasks/{t.id}")
                         for t in tasks],
               "unsubscribe_url": unsubscribe_url}
    return _assemble("feedback", recipient, feedback_subject(recipient, unit, year), context,
                     key=key, now=now, settings=settings, unsubscribe_url=unsubscribe_url)


def _assemble(template: str, recipient: Recipient, title: str, context: dict, *, key: str,
              now: datetime, settings: MailSettings, unsubscribe_url: str) -> Mail:
    """The message: headers, and the plain text and HTML bodies of ``template``."""
    language = recipient.language
    env = _environment(language)
    context = context | {"html_lang": language.replace("_", "-")}
    text = env.get_template(f"email/{template}.txt").render(context)
    html = env.get_template(f"email/{template}.html").render(context)
    mid = message_id(key, settings.host)
    # Derived from the Message-ID, so a mail rebuilt from the same data is the same bytes.
    boundary = "=_" + hashlib.sha256(mid.encode()).hexdigest()[:24]
    head = [
        _header("Subject", title),
        "From: " + _sender(settings.sender),
        "To: " + _address(recipient.name, recipient.email),
        _header("Date", format_datetime(now)),
        _header("Message-ID", mid),
        "Auto-Submitted: auto-generated",  # RFC 3834: no vacation replies to this
        _header("List-Unsubscribe", f"<{unsubscribe_url}>"),
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",  # RFC 8058 one-click
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    parts = [f"--{boundary}{CRLF}{_text_part(body, subtype)}"
             for body, subtype in ((text, "plain"), (html, "html"))]
    message = CRLF.join(head) + CRLF + CRLF + "".join(parts) + f"--{boundary}--{CRLF}"
    # ASCII unless the address itself is not (an SMTPUTF8 address, RFC 6532).
    return Mail(title, mid, message.encode("utf-8"))


class HeaderError(ValueError):
    """An address or display name that cannot go into a header (it holds a line break)."""


def _clean(value: str) -> str:
    # A line break in a title must not start a new header: titles are folded to one line.
    return " ".join(value.split())


def _header(name: str, value: str) -> str:
    """``Name: value``, RFC 2047-encoded if not ASCII, folded where it is long."""
    value = _clean(value)
    if not value.isascii():
        return f"{name}: {_encoded_words(value)}"
    if len(name) + 2 + len(value) <= MAX_LINE or " " not in value:
        # Short, or one word (a URL) that cannot be folded: RFC 5322 allows 998 characters.
        return f"{name}: {value}"
    lines, line = [], f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > MAX_LINE and line.strip(" ") != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    return CRLF.join(lines + [line])


#: UTF-8 bytes per encoded word: 56 base64 characters, so ``Subject: =?utf-8?b?…?=``
#: fits in 78 columns, and each word holds whole characters (RFC 2047, section 5).
_WORD_BYTES = 42


def _encoded_words(value: str) -> str:
    """``value`` as RFC 2047 base64 encoded words, one per (folded) line."""
    data, words, start = value.encode("utf-8"), [], 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1  # never split a character: back off to its first byte
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return (CRLF + " ").join(words)


def _address(name: str, address: str) -> str:
    """An address with its display name, the name encoded if it is not ASCII.

    The header is built from the value that was checked: the address stripped, its
    domain in IDNA where it is not ASCII. A line break or other control character in
    the address or the name is refused, not mended.
    """
    for value in (address, name):
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise HeaderError(f"a control character in the mail address or name {value!r}")
    checked = address.strip()
    local, at, domain = checked.rpartition("@")
    if at and not domain.isascii():
        checked = f"{local}@{domain.encode('idna').decode('ascii')}"
    name = " ".join(name.split())
    if not name:
        return checked
    if name.isascii():
        return formataddr((name, checked))
    return f"{_encoded_words(name)} <{checked}>"


@functools.lru_cache(maxsize=16)
def _sender(sender: str) -> str:
    name, address = getaddresses([sender])[0]
    return _address(name, address or sender)


def _text_part(body: str, subtype: str) -> str:
    """A UTF-8 text part in base64, lines in canonical CRLF form."""
    data = CRLF.join(body.splitlines()).encode("utf-8") + b"\r\n"
    encoded = base64.encodebytes(data).decode("ascii").replace("\n", CRLF)
    return (f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
            f"Content-Transfer-Encoding: base64{CRLF}{CRLF}{encoded}")


def envelope_sender(sender: str) -> str:
    """The bare address of a From value such as ``书院镇宣传办 <noreply@example.org>``."""
    addresses = getaddresses([sender])
    return addresses[0][1] if addresses and addresses[0][1] else sender


@functools.lru_cache(maxsize=4096)  # a pass mails the same people many times
def unsubscribe_token(secret_key: str, user_id: int) -> str:
    """The signed token in a user's one-click unsubscribe link (RFC 8058)."""
    return URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT).dumps(user_id)


def unsubscribe_user_id(secret_key: str, token: str) -> int | None:
    """The user id an unsubscribe token was made for, or None if it was tampered with."""
    try:
        value = URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
