"""The reference bot shipped with Desk and the end user's webchat it answers in.

It talks to Desk only as any external bot would: the public HTTP API out, signed
webhooks in. It happens to run inside the Desk process, at /demo/.
"""
