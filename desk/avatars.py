"""Who is talking, as a bot's channel shows it: an agent's stable id, name and avatar.

Every event about an agent carries `agentId` (the agent's account id, as a string: it
never changes), `agentName` and `agentAvatarUrl`: the picture the agent set on their
profile, or an image of their initials. The URL is signed without an expiry (channels
show it to end users for as long as a conversation lasts) and changes with the picture.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

from django.contrib.auth.models import AbstractBaseUser
from PIL import Image, ImageDraw, ImageFont

from bots.links import avatar_url
from desk.models import AgentProfile
from desk.people import display_name

AVATAR_SIZE = 128
# Backgrounds with white text at a contrast of at least 4.5:1.
PALETTE = ("#1d4ed8", "#047857", "#b91c1c", "#7c3aed", "#a16207", "#0e7490", "#be185d",
           "#4d7c0f")


def initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w[:1].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def avatar_version(agent: AbstractBaseUser, avatar_hex: str | None) -> str:
    """Changes whenever the picture would: a new upload, or new initials."""
    source = f"file:{avatar_hex}" if avatar_hex else f"initials:{display_name(agent)}"
    return hashlib.sha256(source.encode()).hexdigest()[:10]


def agent_fields(agent: AbstractBaseUser) -> dict[str, str]:
    """agentId, agentName and agentAvatarUrl for an event about `agent`."""
    avatar = (
        AgentProfile.objects.filter(agent_id=agent.pk)
        .values_list("avatar__public_id", flat=True)
        .first()
    )
    version = avatar_version(agent, avatar.hex if avatar else None)
    return {
        "agentId": str(agent.pk),
        "agentName": display_name(agent),
        "agentAvatarUrl": avatar_url(agent.pk, version),
    }


def color_for(agent_id: int) -> str:
    return PALETTE[int(hashlib.sha256(str(agent_id).encode()).hexdigest(), 16) % len(PALETTE)]


@lru_cache(maxsize=512)
def initials_png(letters: str, color: str, size: int = AVATAR_SIZE) -> bytes:
    """A round-cornered square of `color` with the initials in white, as PNG."""
    image = Image.new("RGB", (size, size), color)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=int(size * (0.42 if len(letters) > 1 else 0.5)))
    draw.text((size / 2, size / 2), letters, fill="white", font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
