"""Webhooks never reach internal addresses unless the admin allows them.

With DESK_WEBHOOK_ALLOW_PRIVATE off (the default when DEBUG is off), a webhook URL at
a loopback, private, link-local or otherwise non-public address is refused at deploy
(422) when the address is written in it, and at delivery time when a host name
resolves to one; the name is resolved once per attempt and the connection goes to
the address that was checked.
"""

import ipaddress
import itertools
import socket

import pytest

from bots.models import Bot, WebhookState
from bots.services import bot_set_connected
from tests.test_webhooks import handoff

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["webhook_receiver"]  # the receiver, worker and fast_retries fixtures


@pytest.fixture
def private_refused(settings):
    """Production's rule: private addresses refused, no network allowed."""
    settings.DESK_WEBHOOK_ALLOW_PRIVATE = False
    settings.DESK_WEBHOOK_ALLOWED_NETWORKS = []
    return settings


@pytest.fixture
def connections(monkeypatch):
    """Every address Desk opens a TCP connection to, in order."""
    opened: list[str] = []
    real = socket.create_connection

    def create_connection(address, *args, **kwargs):
        opened.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return opened


def deploy(bot_api, url: str, bot_id: str = "hook-bot"):
    return bot_api.put(f"/api/v1/bots/{bot_id}", {"name": "Hook Bot", "webhookUrl": url})


def state(bot_id: str = "hook-bot") -> WebhookState:
    return WebhookState.objects.get(bot__bot_id=bot_id)


def wait(condition, timeout: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks/desk",
        "http://10.1.2.3/hooks/desk",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8000/hooks/desk",
        "http://0.0.0.0:8000/",
        "https://192.168.1.20/hooks",
        "http://[::ffff:10.0.0.1]/hooks",
        "http://100.64.0.7/hooks",
        "http://[fe80::1]/hooks",
    ],
)
def test_deploy_refuses_a_webhook_url_at_a_private_address(bot_api, private_refused, url):
    r = deploy(bot_api, url)
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["error"] == "invalid"
    assert list(body["fields"]) == ["webhookUrl"]
    assert "DESK_WEBHOOK_ALLOW_PRIVATE" in body["fields"]["webhookUrl"]
    assert not Bot.objects.filter(bot_id="hook-bot").exists()


def test_a_refused_redeploy_keeps_the_webhook_it_had(bot_api, private_refused):
    assert deploy(bot_api, "https://bot.example.com/hooks/desk").status_code == 201
    r = deploy(bot_api, "http://169.254.169.254/latest/meta-data/")
    assert r.status_code == 422
    assert Bot.objects.get(bot_id="hook-bot").webhook_url == "https://bot.example.com/hooks/desk"


def test_a_host_name_resolving_to_loopback_is_refused_when_sending_then_retried(
    bot_api, agent, admin_client, receiver, worker, private_refused, connections
):
    # A name is not refused at deploy (what it resolves to can change): when sending.
    r = deploy(bot_api, f"http://localhost:{receiver.port}/hooks/desk")
    assert r.status_code == 201
    receiver.secret = r.json()["webhookSecret"]
    bot_set_connected(bot_id="hook-bot", connected=True)
    handoff(bot_api, agent, replies=())
    wait(lambda: state().attempts >= 2)  # refused, and retried like any failure
    error = state().last_error
    assert error.startswith("Refused: localhost resolves to ")
    assert "a loopback address" in error and "DESK_WEBHOOK_ALLOW_PRIVATE" in error
    assert receiver.deliveries == []
    assert connections == []
    assert "Refused: localhost resolves to" in admin_client.get("/settings/bots/").content.decode()

    private_refused.DESK_WEBHOOK_ALLOW_PRIVATE = True  # the admin allows it: the next try lands
    events = receiver.wait_for(2)
    assert [e["type"] for e in events] == ["hitlAssigned", "hitlStopped"]


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1:9/", "http://[::1]:9/"]
)
def test_a_saved_webhook_at_a_private_address_is_never_connected_to(
    bot_api, agent, worker, private_refused, connections, url
):
    # Saved while private addresses were allowed (or before an upgrade); now they are not.
    private_refused.DESK_WEBHOOK_ALLOW_PRIVATE = True
    assert deploy(bot_api, url).status_code == 201
    bot_set_connected(bot_id="hook-bot", connected=True)
    private_refused.DESK_WEBHOOK_ALLOW_PRIVATE = False
    handoff(bot_api, agent, replies=())
    wait(lambda: state().attempts >= 1)
    host = url.split("//")[1].rsplit(":", 1)[0].split("/")[0].strip("[]")
    assert state().last_error.startswith(f"Refused: {host} is a ")
    assert connections == []


def test_an_allowed_network_is_reached_while_other_private_addresses_stay_refused(
    bot_api, agent, receiver, worker, private_refused
):
    private_refused.DESK_WEBHOOK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    r = deploy(bot_api, receiver.url)
    assert r.status_code == 201
    receiver.secret = r.json()["webhookSecret"]
    bot_set_connected(bot_id="hook-bot", connected=True)
    handoff(bot_api, agent, replies=())
    assert [e["type"] for e in receiver.wait_for(2)] == ["hitlAssigned", "hitlStopped"]
    assert deploy(bot_api, "http://10.0.0.1/hooks", bot_id="other-bot").status_code == 422


def test_with_private_addresses_allowed_a_loopback_webhook_gets_its_events(
    bot_api, agent, receiver, worker, settings
):
    settings.DESK_WEBHOOK_ALLOW_PRIVATE = True  # the embedded demo's default (DEBUG on)
    r = deploy(bot_api, f"http://[::1]:{receiver.port}/x")
    assert r.status_code == 201  # a loopback literal is accepted when allowed
    r = deploy(bot_api, receiver.url)
    receiver.secret = r.json()["webhookSecret"]
    bot_set_connected(bot_id="hook-bot", connected=True)
    handoff(bot_api, agent, replies=())
    assert [e["type"] for e in receiver.wait_for(2)] == ["hitlAssigned", "hitlStopped"]


def test_the_name_is_resolved_once_per_attempt_and_the_checked_address_is_the_one_used(
    bot_api, agent, receiver, worker, private_refused, monkeypatch
):
    # The attacker's DNS answers loopback and a public address in turn (DNS rebinding).
    host, public = "rebind.example", "93.184.215.14"
    answers = itertools.cycle(["127.0.0.1", public])
    lookups: list[str] = []
    connections: list[str] = []  # where Desk opened TCP connections
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection

    def getaddrinfo(name, port, *args, **kwargs):
        if (name.decode() if isinstance(name, bytes) else name) != host:
            return real_getaddrinfo(name, port, *args, **kwargs)
        lookups.append(next(answers))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (lookups[-1], port))]

    def create_connection(address, *args, **kwargs):
        connections.append(address[0])
        if address[0] == public:  # the bot's public server is, here, the local receiver
            address = ("127.0.0.1", receiver.port)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    r = deploy(bot_api, f"http://{host}:{receiver.port}/hooks/desk")
    assert r.status_code == 201
    receiver.secret = r.json()["webhookSecret"]
    bot_set_connected(bot_id="hook-bot", connected=True)
    handoff(bot_api, agent, replies=())
    events = receiver.wait_for(2)

    assert [e["type"] for e in events] == ["hitlAssigned", "hitlStopped"]
    # Each event: one try refused (loopback), one sent to the public address it checked.
    assert lookups == ["127.0.0.1", public, "127.0.0.1", public]
    assert connections and set(connections) == {public}
    assert len(receiver.deliveries) == 2
    assert {d.headers["Host"] for d in receiver.deliveries} == {f"{host}:{receiver.port}"}
    assert state().last_error.startswith(f"Refused: {host} resolves to 127.0.0.1")


def _certificate_authority(tmp_path, host: str):
    """A CA, and a certificate for `host` signed by it: (CA path, cert path, key path)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("Test CA")).issuer_name(name("Test CA"))
        .public_key(ca_key.public_key()).serial_number(1)
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        ), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder().subject_name(name(host)).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(2)
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return paths


def test_an_https_webhook_is_verified_against_its_own_host_name(
    bot_api, agent, receiver, worker, settings, monkeypatch, tmp_path
):
    # The connection goes to the checked address, yet TLS sends the bot's host name
    # (SNI) and checks the certificate against it, and Host names it too.
    import ssl

    settings.DESK_WEBHOOK_ALLOW_PRIVATE = True  # the test's server is on 127.0.0.1
    ca, cert, key = _certificate_authority(tmp_path, "hook.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # Desk trusts the test CA
    server_names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, server_name, ctx: server_names.append(server_name)
    receiver.use_tls(context)
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(name, port, *args, **kwargs):
        if (name.decode() if isinstance(name, bytes) else name) in ("hook.test", "other.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(name, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    r = deploy(bot_api, f"https://hook.test:{receiver.port}/hooks/desk")
    receiver.secret = r.json()["webhookSecret"]
    bot_set_connected(bot_id="hook-bot", connected=True)
    handoff(bot_api, agent, replies=())
    assert [e["type"] for e in receiver.wait_for(2)] == ["hitlAssigned", "hitlStopped"]
    assert set(server_names) == {"hook.test"}
    assert {d.headers["Host"] for d in receiver.deliveries} == {f"hook.test:{receiver.port}"}

    # The same server under another name: its certificate is not for that name.
    deploy(bot_api, f"https://other.test:{receiver.port}/hooks/desk", bot_id="other-bot")
    bot_set_connected(bot_id="other-bot", connected=True)
    handoff(bot_api, agent, conversation_id="o-1", replies=(), bot_id="other-bot")
    wait(lambda: state("other-bot").attempts >= 1)
    assert "CERTIFICATE_VERIFY_FAILED" in state("other-bot").last_error
    assert len(receiver.deliveries) == 2


def test_the_servers_own_public_address_is_refused(bot_api, private_refused, monkeypatch):
    # A webhook to the server's own public address would reach whatever listens on it.
    from collections import namedtuple

    import psutil

    from bots import egress

    own = "93.184.215.14"
    entry = namedtuple("snicaddr", "family address netmask broadcast ptp")
    monkeypatch.setattr(psutil, "net_if_addrs", lambda: {
        "lo": [entry(socket.AF_INET, "127.0.0.1", "255.0.0.0", None, None)],
        "eth0": [entry(socket.AF_INET, own, "255.255.255.0", None, None)],
    })
    monkeypatch.setattr(egress, "_own", (float("-inf"), frozenset()))  # read them afresh
    r = deploy(bot_api, f"https://{own}/hooks/desk")
    assert r.status_code == 422
    assert "this server's own address" in r.json()["fields"]["webhookUrl"]
    assert deploy(bot_api, "https://93.184.215.15/hooks/desk").status_code == 201
