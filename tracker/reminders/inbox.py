"""The inbox transport: every reminder and notice a person gets, kept in their inbox in
the app, in the transaction that records it (whether or not they take mails)."""

import sqlalchemy as sa

from tracker.core.i18n import texts
from tracker.reminders.models import Notification
from tracker.reminders.transports import (Audience, FeedbackIssued, Returned, Transport,
                                          register)

NOTIFICATIONS = Notification.__table__


@register
class InboxTransport(Transport):
    """Each person's inbox: nothing to send, nothing in the outbox."""

    name = "inbox"
    audience = Audience.PERSON
    order = 30
    outbox = False

    def recorded(self, session, due, now) -> None:
        """A notice for each reminder the pass recorded."""
        notices = [{"user_id": entry.to.id, "task_id": t.id, "kind": p.kind, "due_date": t.due,
                    "detail": "", "created_at": now}
                   for entry in due for t, p in entry.reminders]
        if notices:
            session.execute(sa.insert(NOTIFICATIONS), notices)

    def notice(self, session, notice, now, config) -> None:
        """A notice to each of the unit's people, whatever their mail settings."""
        for user, _mode in notice.people:
            if isinstance(notice, Returned):
                session.add(Notification(user_id=user.id, task_id=notice.task.id,
                                         kind="returned", due_date=notice.task.due_date,
                                         detail=notice.comment, created_at=now))
            elif isinstance(notice, FeedbackIssued):
                # In the person's language, as their mail: the notice stays as it was told.
                title = texts(user.locale).gettext("%(unit)s: feedback sheet of %(year)d",
                                                   unit=notice.unit.name, year=notice.year)
                session.add(Notification(user_id=user.id, task_id=None, kind="feedback",
                                         due_date=notice.today, detail=notice.summary,
                                         title=title, link=notice.path, created_at=now))
