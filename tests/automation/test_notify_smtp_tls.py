"""E-mail over STARTTLS and implicit TLS (SSL) against a local aiosmtpd with a self-signed certificate."""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return d / "cert.pem", d / "key.pem"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["starttls", "ssl"])
def tls_mailbox(request, certificate):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(str(cert), str(key))
    received: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            tls = server.transport.get_extra_info("ssl_object") is not None
            received.append((tls, list(envelope.rcpt_tos), envelope.content.decode()))
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"bot" and auth_data.password == b"tls-pass")

    port = _free_port()
    kwargs = {"tls_context": server_ctx, "require_starttls": True} if request.param == "starttls" else {}
    if request.param == "ssl":
        kwargs["ssl_context"] = server_ctx
    # implicit TLS: aiosmtpd offers AUTH only after its own STARTTLS unless told the link is fine as it is
    require_tls = request.param == "starttls"
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=require_tls, **kwargs
    )
    if request.param == "ssl":  # the controller's own readiness probe must speak TLS and trust the certificate
        controller.ssl_context = server_ctx
    controller.start()
    yield request.param, port, received, cert
    controller.stop()


def _settings(security: str, port: int, ca_file):
    from engine.automation import notify

    return notify.NotifySettingsFile.model_validate(
        {
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "security": security,
                "username": "bot",
                "password": "{secret:TLS_SMTP}",
                "sender": "wb@example.com",
                "ca_file": str(ca_file) if ca_file else None,
            }
        }
    )


def test_email_over_tls_logs_in_and_delivers(tls_mailbox, monkeypatch):
    from engine.automation import notify

    security, port, received, cert = tls_mailbox
    monkeypatch.setenv("WORKBENCH_SECRET_TLS_SMTP", "tls-pass")
    channel = notify.ChannelSpec(type="email", to=["ops@example.com"])
    message = notify.build_message({"kind": "failed", "execution_id": "e1", "workflow_name": "W", "error": "boom"})
    detail = notify.send(channel, message, trusted=True, settings=_settings(security, port, cert))
    assert "accepted" in detail
    assert len(received) == 1 and received[0][0] is True and received[0][1] == ["ops@example.com"]
    assert "boom" in received[0][2]


def test_email_over_tls_refuses_an_untrusted_certificate(tls_mailbox, monkeypatch):
    from engine.automation import notify

    security, port, received, _ = tls_mailbox
    monkeypatch.setenv("WORKBENCH_SECRET_TLS_SMTP", "tls-pass")
    channel = notify.ChannelSpec(type="email", to=["ops@example.com"])
    with pytest.raises(notify.NotifyError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed") as err:
        notify.send(
            channel, notify.build_message({"kind": "completed"}), trusted=True, settings=_settings(security, port, None)
        )
    assert "tls-pass" not in str(err.value) and received == []
