"""Domain errors raised by the service functions; every entry point maps them to its own answer."""


class DeskError(Exception):
    """A rule of the desk refused an action. `code` is stable, `message` is for people."""

    code = "desk_error"
    status = 400

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class NotFound(DeskError):
    code = "not_found"
    status = 404


class NotAllowed(DeskError):
    code = "forbidden"
    status = 403


class BotNotConnected(NotAllowed):
    code = "bot_not_connected"

    MESSAGE = (
        "This bot is not connected to Desk. "
        "Enable it on the Deflecting Bots page in Desk, then republish."
    )

    def __init__(self, message: str = MESSAGE, **context: object) -> None:
        super().__init__(message, **context)


class Conflict(DeskError):
    """The object is not in a state that allows the action (closed, already claimed, …)."""

    code = "conflict"
    status = 409


class TicketClosed(Conflict):
    code = "ticket_closed"


class AlreadyClaimed(Conflict):
    code = "already_claimed"


class NoRecentTicket(Conflict):
    """A rating for a conversation with no ticket closed recently enough."""

    code = "no_recent_ticket"


class AlreadyRated(Conflict):
    """A rating that may no longer be replaced."""

    code = "already_rated"


class InvalidInput(DeskError):
    """A value the caller sent is not acceptable; `field` names it (`fields`, when
    several are: each dotted path and what is wrong with it)."""

    code = "invalid"
    status = 422

    def __init__(
        self, message: str, *, field: str, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.field = field
        self.fields = fields or {field: message}
