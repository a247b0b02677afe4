"""The language and time zone Desk shows each agent.

An agent chooses both on their profile; left blank, the language follows the browser's
Accept-Language (Django's LocaleMiddleware) and the time zone the one the browser's
Intl API reports (static/desk.js sends it, `agent_record_browser_time_zone`).
`desk.middleware.AgentLocaleMiddleware` activates them for each page; the bot API
always answers in English (its messages are a contract).

A tab's locale is the pair (language, time zone) it shows, named by one string,
`locale_key`. Live fragments are rendered once per locale among the open tabs, not
once per tab (`desk.realtime`): each tab's key is recorded on its agent's presence
row as it opens (`assignment.presence_arrived`), where every server process reads it,
and each tab picks the rendering made under its own key.
"""

import contextlib
import functools
import zoneinfo
from dataclasses import dataclass
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from desk.exceptions import DeskError
from desk.models import AgentProfile

TIME_ZONE_MAX_LENGTH = 64


@dataclass(frozen=True)
class Locale:
    """What the agent chose ("" = follow the browser) and what their browser said."""

    language: str = ""
    time_zone: str = ""
    browser_time_zone: str = ""

    @property
    def effective_time_zone(self) -> str:
        return self.time_zone or self.browser_time_zone or settings.TIME_ZONE


@functools.cache
def time_zones() -> list[str]:
    """Every IANA time zone name this Python knows, sorted."""
    return sorted(available_timezones())


def is_time_zone(name: str) -> bool:
    return len(name) <= TIME_ZONE_MAX_LENGTH and name in set(time_zones())


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


PREFERENCE_FIELDS = ("availability", "notify_desktop", "notify_sound")


def locale_of(agent_id: int) -> Locale:
    return locale_and_preferences(agent_id)[0]


def locale_and_preferences_of(user) -> tuple[Locale, dict | None]:
    """`locale_and_preferences` of a signed-in user, from the profile read with their
    account (`desk.backends.AgentBackend`), or read now."""
    try:
        profile = user.desk_profile  # no query when read with the account
    except AgentProfile.DoesNotExist:
        return Locale(), None
    return (
        Locale(profile.language, profile.time_zone, profile.browser_time_zone),
        {field: getattr(profile, field) for field in PREFERENCE_FIELDS},
    )


def loaded_locale(user) -> Locale | None:
    """The agent's locale from the profile read with their account (`AgentBackend`),
    without a query (a websocket's handshake reads it so); None when it was not read
    with it (a session signed in before, through ModelBackend)."""
    if not profile_is_loaded(user):
        return None
    return locale_and_preferences_of(user)[0]


def profile_is_loaded(user) -> bool:
    """Whether the agent's profile (or its absence) was read with their account."""
    return get_user_model().desk_profile.is_cached(user)


def locale_and_preferences(agent_id: int) -> tuple[Locale, dict | None]:
    """The agent's locale and, in the same query, what every page's header shows of
    them (`PREFERENCE_FIELDS`; None when they have no profile yet)."""
    row = (
        AgentProfile.objects.filter(agent_id=agent_id)
        .values_list("language", "time_zone", "browser_time_zone", *PREFERENCE_FIELDS)
        .first()
    )
    if row is None:
        return Locale(), None
    return Locale(*row[:3]), dict(zip(PREFERENCE_FIELDS, row[3:], strict=True))


def language_of(locale: Locale, accept_language: str) -> str:
    """The agent's choice, else the first language of the browser's Accept-Language that
    Desk speaks, else the default (as LocaleMiddleware chooses for a page)."""
    if locale.language:
        return locale.language
    for code, _quality in parse_accept_lang_header(accept_language or ""):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def activate(locale: Locale, accept_language: str) -> None:
    """Make the agent's language and time zone those of this context (a websocket's
    task: what its consumer renders and does is in the agent's language)."""
    translation.activate(language_of(locale, accept_language))
    try:
        timezone.activate(zoneinfo.ZoneInfo(locale.effective_time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()


def locale_key(language: str, time_zone: str) -> str:
    """The one name of a locale: "de Europe/Berlin". A time zone this Python does not
    know stands for the default one, as `activate` treats it."""
    if not _known_zone(time_zone):
        time_zone = settings.TIME_ZONE
    return f"{language or settings.LANGUAGE_CODE} {time_zone}"


def tab_locale_key(locale: Locale, accept_language: str) -> str:
    """The key of what a tab shows: the locale `activate` makes its own."""
    return locale_key(language_of(locale, accept_language), locale.effective_time_zone)


@functools.lru_cache(maxsize=512)
def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


@contextlib.contextmanager
def speaking(key: str):
    """Render in the locale `key` names: its language and time zone active for the
    block, the caller's back after it."""
    language, _, zone = key.partition(" ")
    if not _known_zone(zone):
        zone = settings.TIME_ZONE
    with translation.override(language or settings.LANGUAGE_CODE):
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            yield


def agent_set_locale(*, agent: AbstractBaseUser, language: str, time_zone: str) -> None:
    """The agent's choices on their profile; a blank one follows the browser."""
    if language and language not in language_codes():
        raise DeskError(_("Choose one of the languages offered."), field="language")
    if time_zone and not is_time_zone(time_zone):
        raise DeskError(
            _("“%(zone)s” is not a time zone Desk knows.") % {"zone": time_zone[:80]},
            field="time_zone",
        )
    from desk.assignment import profile_for  # the profile's one creator (it imports realtime)

    profile_for(agent.pk)
    AgentProfile.objects.filter(agent_id=agent.pk).update(language=language, time_zone=time_zone)


def agent_record_browser_time_zone(*, agent: AbstractBaseUser, time_zone: str) -> None:
    """The time zone the agent's browser reports: theirs unless they chose one."""
    if not is_time_zone(time_zone):
        raise DeskError(
            _("“%(zone)s” is not a time zone Desk knows.") % {"zone": time_zone[:80]},
            field="time_zone",
        )
    from desk.assignment import profile_for

    profile_for(agent.pk)
    AgentProfile.objects.filter(agent_id=agent.pk).update(browser_time_zone=time_zone)
