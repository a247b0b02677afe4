"""Settings → API keys: admins create (shown once), list by prefix and revoke keys."""

import hashlib

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from bots.models import ApiKey


def test_creating_a_key_shows_it_once(admin_client):
    response = admin_client.post("/settings/api-keys/", {"name": "shop bot"})
    assert response.status_code == 200
    key = ApiKey.objects.get()
    plain = response.context["new_key"]
    assert plain.startswith("desk_")
    assert plain in response.content.decode()
    assert key.prefix in plain
    again = admin_client.get("/settings/api-keys/").content.decode()
    assert plain not in again
    assert f"{key.prefix}…" in again


def test_the_database_never_holds_the_key(admin_client):
    response = admin_client.post("/settings/api-keys/", {"name": "shop bot"})
    plain = response.context["new_key"]
    key = ApiKey.objects.get()
    assert key.key_hash == hashlib.sha256(plain.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM bots_apikey")
        rows = cursor.fetchall()
    assert plain not in repr(rows)


def test_htmx_create_swaps_the_key_panel(admin_client):
    response = admin_client.post(
        "/settings/api-keys/", {"name": "k"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="key-panel"')
    assert "<html" not in html


def test_revoking_a_key_refuses_it_at_once(admin_client, bot_api, api_key):
    key = ApiKey.objects.get()
    assert bot_api.put("/api/v1/bots/b1", {}).status_code == 201
    response = admin_client.post(
        f"/settings/api-keys/{key.pk}/revoke/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert f'id="key-{key.pk}"' in response.content.decode()
    assert "revoked" in response.content.decode()
    assert bot_api.put("/api/v1/bots/b1", {}).status_code == 401


def test_a_plain_revoke_redirects(admin_client, api_key):
    key = ApiKey.objects.get()
    response = admin_client.post(f"/settings/api-keys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_agents_cannot_see_or_manage_keys(agent_client, api_key):
    key = ApiKey.objects.get()
    assert agent_client.get("/settings/api-keys/").status_code == 403
    assert agent_client.post("/settings/api-keys/", {"name": "x"}).status_code == 403
    assert agent_client.post(f"/settings/api-keys/{key.pk}/revoke/").status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    assert ApiKey.objects.count() == 1


def test_revoke_needs_post(admin_client, api_key):
    key = ApiKey.objects.get()
    assert admin_client.get(f"/settings/api-keys/{key.pk}/revoke/").status_code == 405


def test_anonymous_visitors_are_sent_to_login(client, db):
    response = client.get("/settings/api-keys/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_the_management_command_prints_a_working_key(bot_api, capsys):
    call_command("create_api_key", "ops script")
    plain = capsys.readouterr().out.strip()
    bot_api.headers = {"Authorization": f"Bearer {plain}"}
    assert bot_api.put("/api/v1/bots/ops-bot", {}).status_code == 201
    assert ApiKey.objects.filter(name="ops script").exists()


def test_a_key_name_over_the_models_limit_is_refused_with_the_reason(admin_client):
    for headers in ({}, {"HX-Request": "true"}):
        response = admin_client.post("/settings/api-keys/", {"name": "k" * 5000}, headers=headers)
        assert response.status_code == 422
        html = response.content.decode()
        assert "A key&#x27;s name is limited to 100 characters; this one has 5,000." in html
        assert "No key was created." in html
        assert "new_key" not in response.context or not response.context["new_key"]
    assert not ApiKey.objects.exists()
    response = admin_client.post("/settings/api-keys/", {"name": "k" * 100})
    assert response.status_code == 200
    assert ApiKey.objects.get().name == "k" * 100


def test_the_management_command_refuses_a_name_over_the_limit(db):
    import pytest
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="limited to 100 characters"):
        call_command("create_api_key", "k" * 101)
    assert not ApiKey.objects.exists()


def test_a_key_revoked_elsewhere_stops_working_within_the_cache_lifetime(
    settings, bot_api, api_key
):
    """Another server process revoked it (this one's cache did not see it): the key
    still works until this process's DESK_API_KEY_CACHE_SECONDS run out, never longer."""
    import time

    settings.DESK_API_KEY_CACHE_SECONDS = 1
    assert bot_api.put("/api/v1/bots/b1", {}).status_code == 201  # verified and cached
    revoked_at = time.monotonic()
    ApiKey.objects.update(revoked_at=timezone.now())  # as another process's revoke does
    assert bot_api.put("/api/v1/bots/b1", {}).status_code == 200  # still trusted here
    while bot_api.put("/api/v1/bots/b1", {}).status_code == 200:
        assert time.monotonic() - revoked_at < 1.5, "still accepted after its cache lifetime"
        time.sleep(0.1)
    assert bot_api.put("/api/v1/bots/b1", {}).status_code == 401


def test_without_the_cache_a_key_revoked_elsewhere_stops_at_once(settings, bot_api, api_key):
    settings.DESK_API_KEY_CACHE_SECONDS = 0
    assert bot_api.put("/api/v1/bots/b1", {}).status_code == 201
    ApiKey.objects.update(revoked_at=timezone.now())
    assert bot_api.put("/api/v1/bots/b1", {}).status_code == 401
