"""The language and time zone Desk shows each agent.

An agent chooses both on their profile; left blank, the language follows the browser's
Accept-Language (Django's LocaleMiddleware) and the time zone the one the browser's
Intl API reports (static/desk.js sends it, `agent_record_browser_time_zone`).
`desk.middleware.AgentLocaleMiddleware` activates them for each page; the bot API
always answers in English (its messages are a contract).
"""

import functools
import zoneinfo
from dataclasses import dataclass
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from desk.assignment import profile_for
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


def agent_set_locale(*, agent: AbstractBaseUser, language: str, time_zone: str) -> None:
    """The agent's choices on their profile; a blank one follows the browser."""
    if language and language not in language_codes():
        raise DeskError(_("Choose one of the languages offered."), field="language")
    if time_zone and not is_time_zone(time_zone):
        raise DeskError(
            _("“%(zone)s” is not a time zone Desk knows.") % {"zone": time_zone[:80]},
            field="time_zone",
        )
    profile_for(agent.pk)
    AgentProfile.objects.filter(agent_id=agent.pk).update(language=language, time_zone=time_zone)


def agent_record_browser_time_zone(*, agent: AbstractBaseUser, time_zone: str) -> None:
    """The time zone the agent's browser reports: theirs unless they chose one."""
    if not is_time_zone(time_zone):
        raise DeskError(
            _("“%(zone)s” is not a time zone Desk knows.") % {"zone": time_zone[:80]},
            field="time_zone",
        )
    profile_for(agent.pk)
    AgentProfile.objects.filter(agent_id=agent.pk).update(browser_time_zone=time_zone)
