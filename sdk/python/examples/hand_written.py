"""A hand-written bot hands a conversation to Desk: the five lines of docs/bot-sdk.md.

    DESK_URL=http://127.0.0.1:8000 DESK_API_KEY=desk_... python hand_written.py conv-42

It escalates the conversation, relays the user's message, then prints what the agent
says until the agent closes the session. The bot (`DESK_BOT_ID`, default `my-bot`)
must be enabled once on Desk's Deflecting Bots page (it deploys itself first).
"""

import os
import sys

from desk_sdk import AgentMessage, Desk, FileCursorStore, HitlAssigned, HitlStopped


def main(conversation_id: str) -> None:
    bot_id = os.environ.get("DESK_BOT_ID", "my-bot")
    desk = Desk(os.environ["DESK_URL"], api_key=os.environ["DESK_API_KEY"], bot_id=bot_id)
    desk.deploy(name="My bot")  # once per start: creates or updates the bot

    # The five lines: escalate, relay, and hear the agent, the cursor kept in a file.
    desk.start_hitl(conversation_id, title="Refund", user_name="Jo", user_email="jo@example.com")
    desk.send_message(conversation_id, "My order #4411 never came")
    for event in desk.listen(cursor_store=FileCursorStore(f"{bot_id}.cursor")):
        if isinstance(event, HitlAssigned):
            print(f"to the user: {event.message}", flush=True)
        if isinstance(event, AgentMessage):
            print(f"to the user: {event.agent_name}: {event.text}", flush=True)
        if isinstance(event, HitlStopped) and event.conversation_id == conversation_id:
            print(f"handoff over ({event.reason}): the bot answers again", flush=True)
            break


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "conv-42")
