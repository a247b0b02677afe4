"""The human side of Desk for the SDK's tests: an agent working tickets, an admin enabling bots.

Run with Desk's own interpreter, beside a running `manage.py serve` on the same
database (`DESK_PYTHON desk_agent.py`, cwd the Desk checkout). It reads one JSON
command per line on stdin and answers one JSON line on stdout; each command is one
of Desk's service functions, the ones the inbox's buttons call. It never touches the
bot API: the SDK under test is the only bot.
"""

import base64
import json
import sys
import traceback

import django

django.setup()

from bots.services import api_key_create, bot_set_connected  # noqa: E402
from desk import services  # noqa: E402
from desk.models import Rating, Ticket  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

AGENT, _ = get_user_model().objects.get_or_create(
    username="maya", defaults={"first_name": "Maya", "last_name": "Lopez"}
)
ADMIN, _ = get_user_model().objects.get_or_create(  # admins may decide approvals
    username="alex", defaults={"first_name": "Alex", "last_name": "Admin", "is_staff": True}
)


def ticket(bot_id: str, conversation_id: str) -> Ticket:
    return Ticket.objects.filter(
        bot__bot_id=bot_id, conversation_id=conversation_id
    ).latest("pk")


def run(command: dict) -> object:
    op = command.pop("op")
    if op == "create_key":
        return api_key_create(name=command["name"])[1]
    if op == "label":  # an admin defines a label, or lets bots create them
        from desk import labels

        if "bots_create_labels" in command:
            labels.label_settings_set(by=ADMIN, bots_create_labels=command["bots_create_labels"])
        if "name" in command:
            labels.label_save(by=ADMIN, name=command["name"], colour="#1971c2")
        return True
    if op == "connect":
        bot_set_connected(bot_id=command["bot_id"], connected=command.get("connected", True))
        return True
    if op == "decide":
        from approvals.models import Approval
        from approvals.services import approval_decide

        approval = Approval.objects.get(public_id=command["approval_id"])
        approval_decide(
            approval_id=approval.pk, agent=ADMIN, approve=command["approve"],
            arguments=command.get("arguments"), reason=command.get("reason", ""),
        )
        return True
    found = ticket(command["bot_id"], command["conversation_id"])
    if op == "claim":
        services.ticket_claim(ticket_id=found.pk, agent=AGENT)
    elif op == "reply":
        services.ticket_reply(ticket_id=found.pk, agent=AGENT, text=command["text"])
    elif op == "reply_file":
        from desk import files

        stored = files.store(base64.b64decode(command["data"]), name=command["name"],
                             agent=AGENT, ticket=found)
        services.ticket_reply(ticket_id=found.pk, agent=AGENT, text=command["text"],
                              files=[stored])
    elif op == "close":
        services.ticket_close(ticket_id=found.pk, agent=AGENT)
    elif op == "wait":  # for the customer's answer
        services.ticket_wait(ticket_id=found.pk, agent=AGENT)
    elif op == "transfer":  # by whoever has it, to Alex, or back to the queue
        from desk.assignment import ticket_transfer

        ticket_transfer(ticket_id=found.pk, agent=found.assignee or AGENT,
                        to=ADMIN if command["to"] == "alex" else None)
    elif op == "ticket":
        rating = Rating.objects.filter(ticket=found).first()
        return {
            "labels": sorted(found.labels.values_list("name", flat=True)),
            "status": found.status,
            "rating": {"score": rating.score, "comment": rating.comment} if rating else None,
            "closeReason": found.close_reason,
            "userName": found.user_name,
            "userId": found.user_id,
            "customFields": found.custom_fields,
            "messages": [
                {"kind": m.kind, "text": m.text} for m in found.messages.order_by("pk")
            ],
        }
    else:
        raise ValueError(f"unknown op {op!r}")
    return True


for line in sys.stdin:
    try:
        answer = {"ok": run(json.loads(line))}
    except Exception:
        answer = {"error": traceback.format_exc()}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
