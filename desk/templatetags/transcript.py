"""`{{ message|system_line }}`: a transcript's system line in the reader's language
(`desk.system_lines`); a line stored before the catalogue shows its stored text."""

from django import template

from desk import system_lines
from desk.models import Message

register = template.Library()


@register.filter
def system_line(message: Message) -> str:
    return system_lines.in_active_language(message)
