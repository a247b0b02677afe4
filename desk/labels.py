"""Labels: admins define them (a name and a colour), agents put them on tickets and take
them off, bots name them at the escalation (`startHitl`'s `labels`).

Putting a label on a ticket or taking it off writes a system line in its transcript (who
did what) and announces the ticket: its inbox row, the side-bar counts and the label
card of every tab showing it change live. The system line also keeps the rule that a
tab whose inbox version is current has missed nothing (`selectors.inbox_version`).

A label a bot names that does not exist is created only when an admin allowed it
(Settings → Labels); otherwise startHitl is refused, naming it, before anything is made.
"""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bots.text import text_problem
from desk import colours, realtime
from desk.exceptions import InvalidInput, NotAllowed, NotFound
from desk.models import Label, LabelSettings, Ticket, TicketLabel
from desk.people import display_name
from desk.transcript import system_line

NAME_MAX_LENGTH = 50
# What one startHitl may name (a sane bound on the request, not a product rule).
MAX_LABELS_PER_ESCALATION = 20


def label_settings() -> LabelSettings:
    return LabelSettings.objects.get_or_create(pk=1)[0]


def _only_admins(by: AbstractBaseUser) -> None:
    if not by.is_staff:
        raise NotAllowed(_("Only admins can change labels."))


def _check(name: str, colour: str) -> tuple[str, str]:
    problems: dict[str, str] = {}
    name = " ".join(name.split())
    if not name or text_problem(name):
        problems["name"] = _("Give the label a name.")
    elif len(name) > NAME_MAX_LENGTH:
        problems["name"] = _("A label's name is at most %(n)s characters.") % {
            "n": NAME_MAX_LENGTH
        }
    normalised = colours.normalise(colour)
    if normalised is None:
        problems["colour"] = _("A colour is written #rrggbb, e.g. #1971c2.")
    if problems:
        field = next(iter(problems))
        raise InvalidInput(problems[field], field=field, fields=problems)
    return name, normalised


def label_save(
    *, by: AbstractBaseUser, name: str, colour: str, label: Label | None = None
) -> Label:
    """An admin creates a label or renames or recolours one. Names are unique whatever
    their case."""
    _only_admins(by)
    name, colour = _check(name or "", colour or "")
    label = label or Label()
    label.name, label.colour = name, colour
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise InvalidInput(
            _("There is already a label named “%(name)s”.") % {"name": name}, field="name"
        ) from None
    realtime.counts_changed()
    return label


def label_for_admin(by: AbstractBaseUser, label_id: object) -> Label:
    _only_admins(by)
    try:
        return Label.objects.get(pk=int(label_id))  # type: ignore[arg-type]
    except (TypeError, ValueError, Label.DoesNotExist):
        raise NotFound(_("No such label.")) from None


def label_delete(*, by: AbstractBaseUser, label_id: object) -> None:
    """Tickets lose it; their rows show it until they next change or the page reloads."""
    label_for_admin(by, label_id).delete()
    realtime.counts_changed()


def label_settings_set(*, by: AbstractBaseUser, bots_create_labels: bool) -> LabelSettings:
    _only_admins(by)
    settings = label_settings()
    if settings.bots_create_labels != bots_create_labels:
        settings.bots_create_labels = bots_create_labels
        settings.save(update_fields=["bots_create_labels"])
    return settings


# --- on a ticket -----------------------------------------------------------------------------


def _lock(ticket_id: int) -> Ticket:
    """The ticket, locked for the transaction: open or closed (closed tickets may still be
    sorted)."""
    try:
        return Ticket.objects.select_for_update(of=("self",)).get(pk=ticket_id)
    except Ticket.DoesNotExist:
        raise NotFound(_("No such ticket.")) from None


def _label(label_id: object) -> Label:
    try:
        return Label.objects.get(pk=int(label_id))  # type: ignore[arg-type]
    except (TypeError, ValueError, Label.DoesNotExist):
        raise InvalidInput(_("Choose a label."), field="label") from None


@transaction.atomic
def ticket_add_label(*, ticket_id: int, agent: AbstractBaseUser, label_id: object) -> bool:
    """Put the label on the ticket; False when it was there already."""
    label = _label(label_id)
    ticket = _lock(ticket_id)
    now = timezone.now()
    _, added = TicketLabel.objects.get_or_create(
        ticket=ticket, label=label, defaults={"added_at": now, "added_by": agent}
    )
    if added:
        system_line(ticket, "label_added", now, agent=display_name(agent), label=label.name)
        realtime.announce_ticket_changed(ticket.pk)
    return added


@transaction.atomic
def ticket_remove_label(*, ticket_id: int, agent: AbstractBaseUser, label_id: object) -> bool:
    """Take the label off the ticket; False when it was not on it."""
    label = _label(label_id)
    ticket = _lock(ticket_id)
    removed, _ = TicketLabel.objects.filter(ticket=ticket, label=label).delete()
    if removed:
        system_line(
            ticket, "label_removed", timezone.now(), agent=display_name(agent), label=label.name
        )
        realtime.announce_ticket_changed(ticket.pk)
    return bool(removed)


# --- named by a bot ------------------------------------------------------------------------


def _key(name: str) -> str:
    """A name as names are compared: spaces squeezed, case folded."""
    return " ".join(name.split()).casefold()


def check_bot_labels(names: Sequence[str]) -> list[str]:
    """The names a bot gave in startHitl, cleaned and without repeats, once each is known
    to exist or may be created. Raises InvalidInput naming the first that may not
    (`labels.N`), before anything is written."""
    wanted: dict[str, tuple[int, str]] = {}
    for index, name in enumerate(names):
        clean = " ".join(name.split())
        wanted.setdefault(_key(clean), (index, clean))
    if not wanted:
        return []
    # Compared here, not by the database: SQLite's LOWER() knows only ASCII letters.
    existing = {_key(name) for name in Label.objects.values_list("name", flat=True)}
    unknown = [(i, name) for key, (i, name) in wanted.items() if key not in existing]
    if unknown and not label_settings().bots_create_labels:
        index, name = unknown[0]
        problems = {
            f"labels.{i}": f"no label named “{n}”: an admin creates it on Settings → Labels, "
            "or allows bots to create labels there"
            for i, n in unknown
        }
        raise InvalidInput(
            f"There is no label named “{name}” in Desk, and bots may not create labels. "
            "Create it on Settings → Labels, or allow bots to create labels there.",
            field=f"labels.{index}",
            fields=problems,
        )
    return [name for _, name in wanted.values()]


def label_at_escalation(ticket: Ticket, names: Sequence[str]) -> list[Label]:
    """Put the labels (checked by `check_bot_labels`) on a new ticket, creating those that
    do not exist yet; inside startHitl's transaction. Returns them."""
    if not names:
        return []
    by_key = {_key(label.name): label for label in Label.objects.all()}
    labels = []
    for name in names:
        label = by_key.get(_key(name))
        if label is None:
            try:
                with transaction.atomic():  # another escalation may be making it too
                    label = Label.objects.create(name=name, colour=colours.for_name(name))
            except IntegrityError:
                label = Label.objects.get(name__iexact=name)
            by_key[_key(name)] = label
        labels.append(label)
    now = timezone.now()
    TicketLabel.objects.bulk_create(
        [TicketLabel(ticket=ticket, label=label, added_at=now) for label in labels],
        ignore_conflicts=True,
    )
    return labels
