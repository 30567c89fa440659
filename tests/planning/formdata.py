"""What a browser would submit for a page's form, read with the standard library's HTML
parser (not the app's own code): the tests post forms as a person would, changing only
the fields they name."""

from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict


class _FormReader(HTMLParser):
    def __init__(self, testid: str | None):
        super().__init__(convert_charrefs=True)
        self.testid = testid
        self.depth = 0  # inside the form we read (0: not)
        self.disabled = 0
        self.fields: list[tuple[str, str]] = []
        self.select = None  # [name, chosen, first]
        self.option = None
        self.textarea = None
        self.done = False
        self.template = 0  # inside <template>: inert, never submitted

    def _wanted(self, attrs: dict) -> bool:
        if self.done or attrs.get("method", "get").lower() != "post":
            return False
        if self.testid:
            return attrs.get("data-testid") == self.testid
        return "action" not in attrs

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self.depth and self._wanted(attrs):
            self.depth = 1
            return
        if not self.depth:
            return
        if tag == "template":
            self.template += 1
        if self.template:
            return
        if tag == "fieldset" and "disabled" in attrs:
            self.disabled += 1
        if self.disabled or "disabled" in attrs or "name" not in attrs and tag != "option":
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "reset", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((attrs["name"], attrs.get("value", "on" if kind in (
                "checkbox", "radio") else "")))
        elif tag == "select":
            self.select = [attrs["name"], None, None]
        elif tag == "option" and self.select is not None:
            self.option = attrs.get("value")
            if self.select[2] is None:
                self.select[2] = self.option
            if "selected" in attrs:
                self.select[1] = self.option
        elif tag == "textarea":
            self.textarea = [attrs["name"], ""]

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag == "template":
            self.template -= 1
        elif self.template:
            return
        elif tag == "form":
            self.depth, self.done = 0, True
        elif tag == "fieldset" and self.disabled:
            self.disabled -= 1
        elif tag == "select" and self.select is not None:
            name, chosen, first = self.select
            value = chosen if chosen is not None else first
            if value is not None:
                self.fields.append((name, value))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            # A browser drops the newline right after <textarea>.
            text = text.replace("\r\n", "\n").replace("\r", "\n")  # as a browser does
            self.fields.append((name, text[1:] if text.startswith("\n") else text))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data


def form_data(html: str, testid: str | None = None, **changes) -> MultiDict:
    """The fields of the page's first post form without an action (or the one with that
    data-testid), as submitted; ``changes`` replace fields (a list: several values, None:
    left out)."""
    reader = _FormReader(testid)
    reader.feed(html)
    assert reader.done, "no such form on the page"
    data = MultiDict(reader.fields)
    for name, value in changes.items():
        name = name.replace("__", "-")
        data.poplist(name)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            data.add(name, item)
    return data
