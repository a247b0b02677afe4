"""Label colours: what an admin may type, the text that reads on one, and the colour a
label a bot made gets. Pure functions: no model, no database."""

import hashlib
import re

HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
DARK_TEXT, LIGHT_TEXT = "#111827", "#ffffff"
# Colours for labels bots create (picked by the name, so the same name gets the same
# one): each readable with one of the two text colours at WCAG AA (4.5:1) or better.
PALETTE = (
    "#1971c2", "#2f9e44", "#e8590c", "#c2255c", "#6741d9",
    "#0b7285", "#f59f00", "#495057", "#d6336c", "#5c940d",
)


def normalise(value: str) -> str | None:
    """"#RGB", "#RRGGBB" (the # optional) as "#rrggbb"; None for anything else."""
    match = HEX.match((value or "").strip())
    if not match:
        return None
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i:i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour(background: str) -> str:
    """Dark or white text, whichever contrasts more with the background."""
    colour = normalise(background) or "#495057"
    if contrast(colour, DARK_TEXT) >= contrast(colour, LIGHT_TEXT):
        return DARK_TEXT
    return LIGHT_TEXT


def for_name(name: str) -> str:
    """The colour a label made by a bot gets: always the same for the same name."""
    digest = hashlib.sha256(name.casefold().encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]
