"""The Reports page and its CSV downloads.

Admins see the whole desk; an agent who is not an admin sees only their own row of
the per-agent table (the page, and its CSV). The range and bot filter live in the URL,
so a report can be bookmarked and shared, and every download carries the same filters.
"""

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reports import charts, selectors
from reports import figures as fig
from reports.selectors import PRESETS, ReportFilter, Table


def _report(request: HttpRequest) -> selectors.Report:
    report_filter = ReportFilter.from_query(request.GET)
    agent = None if request.user.is_staff else request.user
    return selectors.report(report_filter, agent=agent)


def headline(result: selectors.Report) -> list[dict]:
    """The figures across the top, each with its change against the previous period."""
    now, before = result.total, result.previous
    share = (
        now.closed_by_agent / now.escalations if now.escalations else None,
        before.closed_by_agent / before.escalations if before.escalations else None,
    )
    cards = [
        (_("Escalations"), fig.count(now.escalations), _("handed over by the bots"),
         fig.change(now.escalations, before.escalations, higher_is="neutral")),
        (_("Closed by an agent"), fig.percent(share[0]),
         ngettext("%(n)s ticket", "%(n)s tickets", now.closed_by_agent)
         % {"n": fig.count(now.closed_by_agent)},
         fig.change(*share, higher_is="better", points=True)),
    ]
    for metric, label in (
        ("assign", _("Time to assignment")), ("reply", _("First reply")),
        ("resolve", _("Resolution")),
    ):
        cards.append((
            label, fig.duration(now.median(metric)),
            _("median · p90 %(time)s") % {"time": fig.duration(now.p90(metric))},
            fig.change(now.median(metric), before.median(metric), higher_is="worse"),
        ))
    cards += [
        (_("CSAT"), fig.score(now.csat),
         ngettext(
             "of 5 · %(n)s rating, %(rate)s answered", "of 5 · %(n)s ratings, %(rate)s answered",
             now.ratings,
         ) % {"n": fig.count(now.ratings), "rate": fig.percent(now.response_rate)},
         fig.change(now.csat, before.csat, higher_is="better")),
        (_("Deflection"), fig.percent(result.deflection),
         _("from the bots' reports") if result.deflection is not None else _("no bot reported"),
         fig.change(result.deflection, result.previous_deflection,
                    higher_is="better", points=True)),
    ]
    return [
        {"label": label, "value": value, "detail": detail, "change": change}
        for label, value, detail, change in cards
    ]


@login_required
def reports_page(request: HttpRequest) -> HttpResponse:
    result = _report(request)
    report_filter = result.filter
    context = {
        "filter": report_filter,
        "presets": [
            (key, str(label), report_filter.query(range=key)) for key, label in PRESETS.items()
            if key != "custom"
        ],
        "range_choices": [(key, str(label)) for key, label in PRESETS.items()],
        "bots": selectors.Bot.objects.order_by("name", "bot_id"),
        "agent_table": selectors.agent_table(result),
        "is_admin": request.user.is_staff,
        "query": report_filter.query(),
    }
    if request.user.is_staff:
        outcomes = result.outcomes
        context |= {
            "headline": headline(result),
            "previous": report_filter.previous,
            "bot_table": selectors.bot_table(result),
            "escalations_svg": charts.escalations_svg(
                charts.escalations_chart(report_filter.days, result.by_day, outcomes)
            ),
            "reply_svg": charts.first_reply_svg(
                charts.first_reply_chart(report_filter.days, result.by_day)
            ),
            "outcomes": [(o, selectors.Outcome.label(o)) for o in outcomes],
        }
    return render(request, "reports/reports.html", context)


def _csv(table: Table, name: str, report_filter: ReportFilter) -> HttpResponse:
    filename = f"desk-{name}-{report_filter.start}-to-{report_filter.end}"
    if report_filter.bot:
        filename += f"-{''.join(c for c in report_filter.bot if c.isalnum() or c in '-_.')}"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.headers)
    writer.writerows(table.rows)
    return response


@login_required
def bots_csv(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied(_("Only admins see the per-bot report."))
    result = _report(request)
    return _csv(selectors.bot_table(result), "bots", result.filter)


@login_required
def agents_csv(request: HttpRequest) -> HttpResponse:
    result = _report(request)
    return _csv(selectors.agent_table(result), "agents", result.filter)
