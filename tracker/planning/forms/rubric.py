"""The rubric tab (``/plans/<id>/rubric`` and a page per row): the tree of groups, items
and rows with their points, and on a row's page its texts, kinds of unit, the evidence its
扣分标准 names and the minimums of its 工作要求."""

from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import (BooleanField, FieldList, Form, FormField, HiddenField, RadioField,
                     StringField, TextAreaField)
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from tracker.core.forms import choices
from tracker.core.text import whole_number
from tracker.phases.kinds import ASSESSED_KINDS, KIND_LABELS, ROW_ALIASES
from tracker.phases.rubricrules import DEFAULT_MATCH, EVIDENCE_MATCHES, minimum_params
from tracker.planning import editing
from tracker.planning.forms.fields import (Checkboxes, EditorForm, EntryForm, NumberField,
                                           code_check, in_halves, in_order, kinds_of,
                                           merge_rows, rows_data, written_applies_to)


class NodeForm(Form):
    """A group, item or row of the rubric's tree (a row's texts are on its own page)."""

    path = HiddenField()
    code = StringField(_l("Code"), validators=[code_check, Length(max=32)])
    title = StringField(_l("Title"), validators=[Length(max=300)])
    title_en = StringField(_l("Title in English"), validators=[Length(max=300)])
    points = NumberField(_l("Points"), validators=[Optional(), NumberRange(0, 1000), in_halves])
    remove = BooleanField(_l("Remove"))

    def validate(self, extra_validators=None):
        return True if self.remove.data else super().validate(extra_validators)


class RubricForm(EditorForm):
    total = NumberField(_l("Total points"), validators=[Optional(), NumberRange(1, 10_000),
                                                        in_halves])
    nodes = FieldList(FormField(NodeForm))

    @staticmethod
    def values_of(data: dict) -> dict:
        return {"total": editing.points_of(editing.rubric(data).get("total")),
                "nodes": [{"path": n.path, "code": n.code,
                           "title": editing.text_of(n.table, "title"),
                           "title_en": editing.text_of(n.table, "title_en"),
                           "points": editing.points_of(n.table.get("points"))}
                          for n in editing.walk(data)]}

    def validate_nodes(self, field):
        live = [e.form for e in field if not e.form.remove.data]
        codes = [f.code.data for f in live]
        message = _("Another group, item or row has this code.")
        clashes = [f for f in live if codes.count(f.code.data) > 1]
        for form in clashes:
            form.code.errors = list(form.code.errors) + [message]
        if clashes:
            raise ValidationError(message)

    def apply(self, data: dict, add: str = "") -> str | None:
        """The tree as submitted: codes, titles (of groups and items), points, removals;
        then ``add`` ("row:PATH", "item:PATH" or "group"). The code of what was added."""
        rubric = editing.rubric(data)
        if self.total.data is None:
            rubric.pop("total", None)
        else:
            rubric["total"] = self.total.data
        nodes = {n.path: n for n in editing.walk(data)}
        renamed, removing = {}, []
        for entry in self.nodes:
            form = entry.form
            node = nodes.get(form.path.data)
            if node is None:
                continue
            if form.remove.data:
                removing.append(node.path)
                continue
            if node.kind == "row" and node.code and node.code != form.code.data:
                renamed[node.code] = form.code.data
            editing.set_text(node.table, "code", form.code.data)
            if node.kind != "row":
                editing.set_text(node.table, "title", form.title.data)
                editing.set_text(node.table, "title_en", form.title_en.data)
            if form.points.data is None:
                node.table.pop("points", None)
            else:
                node.table["points"] = form.points.data
        for duty in editing.duties(data):
            if isinstance(duty.get("rubric"), list):
                duty["rubric"] = [renamed.get(c, c) for c in duty["rubric"]]
        added = None
        kind, _, path = add.partition(":")
        if kind == "group":
            added = editing.add_group(data)
        elif kind in ("row", "item") and path not in removing:
            added = editing.add_child(data, path, kind)
        for path in sorted(removing, key=_path_key, reverse=True):
            editing.remove_node(data, path)
        return added.code if added is not None else None


def _path_key(path: str) -> tuple[int, ...]:
    return tuple(int(step[1:]) for step in path.split("/"))


class RequireForm(EntryForm):
    """One minimum of the row's 工作要求: the fields every minimum has. ``require_form``
    adds a field for each parameter of each kind of minimum (``MINIMUM_KINDS``)."""

    duties = Checkboxes(_l("Duties whose accepted work counts"))
    at_least = StringField(_l("At least (a number, or “all”)"))
    label = StringField(_l("Label"), validators=[Length(max=300)])
    label_en = StringField(_l("Label in English"), validators=[Length(max=300)])
    deduct = NumberField(_l("Points a shortfall takes off"))
    content = ("duties", "at_least", "label", "label_en")
    #: The kinds' own fields, in the table's order (the page shows them after at_least).
    params: tuple[str, ...] = ()

    def validate_at_least(self, field):
        text = (field.data or "").strip()
        if text != "all" and whole_number(text, 1, 2**31 - 1) is None:
            raise ValidationError(_("Give a number from 1, or “all”."))


def require_form() -> type[RequireForm]:
    """The form of a minimum, with a field for each kind's own parameters."""
    params = minimum_params()
    keys = tuple(p.key for p in params)
    return type("RequireForm", (RequireForm,), {
        **{p.key: StringField(p.label) for p in params},
        "params": keys, "content": RequireForm.content + keys})


def row_form() -> type["RowForm"]:
    """The form of a row's page, its minimums as ``require_form`` makes them."""
    return type("RowForm", (RowForm,), {"requires": FieldList(FormField(require_form()))})


class RowForm(EditorForm):
    """A row's page; ``row_form`` gives it its minimums (``requires``)."""

    code = StringField(_l("Code"), validators=[code_check, Length(max=32)])
    title = StringField(_l("Title (empty: the requirement)"), validators=[Length(max=300)])
    title_en = StringField(_l("Title in English"), validators=[Length(max=300)])
    requirement = TextAreaField(_l("Requirement (工作要求)"), validators=[Length(max=5000)])
    deduction = TextAreaField(_l("Deduction (扣分标准)"), validators=[Length(max=5000)])
    points = NumberField(_l("Points"), validators=[Optional(), NumberRange(0, 1000), in_halves])
    numbered = BooleanField(_l("The document numbers the row"))
    code_space = BooleanField(_l("A space between the code and the text"))
    applies_to = Checkboxes(_l("Kinds of unit it applies to"))
    evidence = Checkboxes(_l("Duties its deduction names (none checked: every duty serving it)"))
    evidence_match = RadioField(_l("The row is met when"), choices=choices(
        (m.name, m.label) for m in EVIDENCE_MATCHES.values()), default=DEFAULT_MATCH)

    def setup(self, data: dict, row_code: str) -> "RowForm":
        """Choices: the kinds scored, the duties serving the row (and any it names)."""
        self.applies_to.choices = choices((k, KIND_LABELS[k]) for k in ASSESSED_KINDS)
        serving = [editing.text_of(d, "code") for d in editing.serving(data, row_code)]
        named = list(self.evidence.data or [])
        for entry in self.requires:
            named += entry.form.duties.data or []
        codes = list(dict.fromkeys(serving + named))
        titles = {editing.text_of(d, "code"): editing.text_of(d, "title")
                  for d in editing.duties(data)}
        duty_choices = [(c, f"{c} {titles.get(c, '')}".strip()) for c in codes if c]
        self.evidence.choices = choices(duty_choices)
        for entry in self.requires:
            entry.form.duties.choices = choices(duty_choices)
        self.duty_choices = duty_choices
        return self

    @staticmethod
    def values_of(row: dict) -> dict:
        values = {key: editing.text_of(row, key) for key in (
            "code", "title", "title_en", "requirement", "deduction")}
        values.update(
            points=editing.points_of(row.get("points")),
            numbered=row.get("numbered", True) is True,
            code_space=row.get("code_space", True) is True,
            applies_to=kinds_of(row.get("applies_to", "units"), ROW_ALIASES),
            evidence=editing.code_list(row.get("evidence")),
            evidence_match=editing.text_of(row, "evidence_match") or DEFAULT_MATCH,
            requires=rows_data(editing.tables(row, "requires"), lambda r: {
                "duties": editing.code_list(r.get("duties")),
                "at_least": str(r.get("at_least", "")),
                **{p.key: editing.text_of(r, p.key) for p in minimum_params()},
                "label": editing.text_of(r, "label"),
                "label_en": editing.text_of(r, "label_en"), "deduct": r.get("deduct")}))
        return values

    def apply(self, row: dict, data: dict) -> None:
        old_code = row.get("code")
        editing.set_text(row, "code", self.code.data)
        if old_code and old_code != row.get("code"):
            editing.rename_row(data, old_code, row["code"])
        for key in ("title", "title_en", "requirement", "deduction"):
            editing.set_text(row, key, self[key].data)
        if self.points.data is None:
            row.pop("points", None)
        else:
            row["points"] = self.points.data
        for key in ("numbered", "code_space"):
            if self[key].data:
                row.pop(key, None)
            else:
                row[key] = False
        applies_to = written_applies_to(row.get("applies_to", "units"),
                                        self.applies_to.data or [], ROW_ALIASES, ASSESSED_KINDS)
        if applies_to == "units" and "applies_to" not in row:
            pass  # every unit, as the loader takes a row that says nothing
        else:
            row["applies_to"] = applies_to
        if self.evidence.data:
            row["evidence"] = in_order(row.get("evidence"), self.evidence.data)
        else:
            row.pop("evidence", None)
        if self.evidence_match.data != DEFAULT_MATCH or "evidence_match" in row:
            row["evidence_match"] = self.evidence_match.data

        def fill(form, need):
            named = in_order(need.get("duties"), form.duties.data)
            need["duties"] = named[0] if len(named) == 1 else named
            text = (form.at_least.data or "").strip()
            need["at_least"] = "all" if text == "all" else int(text)
            for key in form.params:
                editing.set_text(need, key, form[key].data)
            editing.set_text(need, "label", form.label.data)
            editing.set_text(need, "label_en", form.label_en.data)
            if form.deduct.data is None:
                need.pop("deduct", None)
            else:
                need["deduct"] = form.deduct.data

        requires = merge_rows(self.requires, editing.tables(row, "requires"), fill)[0]
        if requires:
            row["requires"] = requires
        else:
            row.pop("requires", None)
