"""The demo bot's `refund` tool: it asks a person on Desk before it refunds.

When the customer asks for a refund with an amount ("I'd like a refund of 40 for order
991"), the bot asks Desk for approval (action `refund`, arguments {orderId, amount,
currency} with their JSON Schema), tells the customer a person is reviewing it, and
when the `approvalDecided` event arrives tells them the outcome: the amount approved
(the agent's, if they changed it), or the agent's reason.

This module holds what the tool says and asks; `bot.py` makes the calls (desk-sdk).
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from desk_sdk import ApprovalDecided

ACTION = "refund"

SCHEMA = {
    "type": "object",
    "properties": {
        "orderId": {"type": "string", "title": "Order", "minLength": 1, "maxLength": 40},
        "amount": {
            "type": "number", "title": "Amount", "exclusiveMinimum": 0, "maximum": 10000,
            "description": "What the customer gets back.",
        },
        "currency": {"enum": ["USD", "EUR", "GBP"], "title": "Currency"},
    },
    "required": ["orderId", "amount", "currency"],
    "additionalProperties": False,
}

ASKS = re.compile(r"\brefund(ed|s)?\b|\bmoney back\b", re.I)
ORDER = re.compile(r"\border\s*(?:number|no\.?|nr\.?)?\s*#?\s*(?P<id>[A-Za-z0-9][A-Za-z0-9-]{0,39})"
                   r"|#(?P<hash>[A-Za-z0-9][A-Za-z0-9-]{0,39})", re.I)
AMOUNT = re.compile(
    r"(?P<before>[$€£])?\s*(?P<amount>\d{1,5}(?:[.,]\d{1,2})?)\s*"
    r"(?P<after>usd|eur|gbp|dollars?|euros?|pounds?|[$€£])?",
    re.I,
)
CURRENCIES = {
    "$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP",
}

WHICH_ORDER = (
    "I can ask the team for that refund. Which order is it for, and how much? "
    "For example: \u201crefund 40 for order 991\u201d."
)
REVIEWING = (
    "I've asked a person on our team to approve a refund of {amount} for order #{order}. "
    "They're reviewing it now, and I'll tell you here as soon as they decide."
)
APPROVED = "Good news: {agent} approved your refund of {amount} for order #{order}."
APPROVED_CHANGED = (
    "{agent} reviewed your request and approved a refund of {amount} for order #{order} "
    "(you asked for {asked})."
)
REJECTED = "Sorry, your refund for order #{order} was not approved: {reason}"
EXPIRED = (
    "Sorry, nobody on the team could review your refund for order #{order} in time. "
    "Type \u201cagent\u201d to talk to a person."
)


@dataclass(frozen=True)
class RefundAsk:
    order_id: str
    amount: int | float
    currency: str

    @property
    def arguments(self) -> dict:
        return {"orderId": self.order_id, "amount": self.amount, "currency": self.currency}


def wants_refund(text: str) -> bool:
    return bool(ASKS.search(text))


def parse(text: str) -> RefundAsk | None:
    """The order, amount and currency in a refund request, or None when one is missing."""
    order = ORDER.search(text)
    if order is None:
        return None
    rest = text[: order.start()] + " " + text[order.end():]
    for match in AMOUNT.finditer(rest):
        symbol = (match["before"] or match["after"] or "$").lower()
        exact = Decimal(match["amount"].replace(",", "."))
        amount = int(exact) if exact == exact.to_integral_value() else float(exact)
        if amount > 0:
            return RefundAsk(
                order_id=order["id"] or order["hash"],
                amount=amount,
                currency=CURRENCIES.get(symbol, "USD"),
            )
    return None


def money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def request(ask: RefundAsk, *, line_id: int, user_name: str, text: str) -> dict:
    """The approval request, as `request_approval`'s arguments (its `request_id` is the
    customer's line: a retry asks once)."""
    amount = money(ask.amount, ask.currency)
    return {
        "request_id": f"refund-line-{line_id}",
        "action": ACTION,
        "title": f"Refund {amount} on order #{ask.order_id}",
        "summary": f"{user_name or 'The customer'} asked in the webchat: \u201c{text}\u201d",
        "arguments": ask.arguments,
        "arguments_schema": SCHEMA,
        "priority": "medium",
        "expires_in_seconds": 3600,
    }


def reviewing(ask: RefundAsk) -> str:
    return REVIEWING.format(amount=money(ask.amount, ask.currency), order=ask.order_id)


def line_of(request_id: str) -> int | None:
    """The customer's line a refund request was made from (see `request`)."""
    found = re.fullmatch(r"refund-line-(\d+)", request_id or "")
    return int(found[1]) if found else None


def outcome(event: ApprovalDecided, *, asked: RefundAsk | None = None) -> str | None:
    """What to tell the customer once the refund was decided (None: nothing to say).
    `asked`: what they asked for, to name it when the agent changed the amount."""
    args = event.arguments
    order = args.get("orderId", "?")
    agent = event.agent_name or "Our team"
    match event.decision:
        case "approved":
            amount = money(float(args.get("amount", 0)), str(args.get("currency", "")))
            if event.edited and asked is not None:
                return APPROVED_CHANGED.format(
                    agent=agent, amount=amount, order=order,
                    asked=money(asked.amount, asked.currency),
                )
            return APPROVED.format(agent=agent, amount=amount, order=order)
        case "rejected":
            return REJECTED.format(order=order, reason=event.reason or "no reason given")
        case "expired":
            return EXPIRED.format(order=order)
    return None  # cancelled: the bot withdrew it itself
