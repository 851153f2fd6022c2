"""Identity-based storage without Azure, for the identity tests: a throwaway TLS certificate, Azurite with OAuth
(`--oauth basic`, which needs HTTPS), and a local token endpoint speaking the App Service managed-identity
protocol, so the real `ManagedIdentityCredential` gets its tokens from it.

The App Service protocol (https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference):
`GET {IDENTITY_ENDPOINT}?resource=...&api-version=2019-08-01[&client_id=...]` with header
`X-IDENTITY-HEADER: {IDENTITY_HEADER}`; the answer is JSON with `access_token`, `expires_on` (epoch seconds),
`resource` and `token_type`. An unknown client id is refused with 400, as the real endpoint does.

Azurite's basic OAuth checks a bearer token's issuer (`https://sts.windows.net/...`), audience
(`https://storage.azure.com`, or the account's service URL) and lifetime (`nbf`/`exp`); it does not check the
signature or the client id (node_modules/azurite/dist/src/table/authentication/TableTokenAuthenticator.js).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import secrets
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from durable_local.testing import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
ACCOUNT = "devstoreaccount1"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
STORAGE_AUDIENCE = "https://storage.azure.com"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (it is its own CA): (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "durable-local identity test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(*, audience: str = STORAGE_AUDIENCE, lifetime: float = 3600, client_id: str = "",
             not_before: float | None = None) -> str:
    """A JWT shaped like an Entra ID token (v1 issuer); `lifetime` may be negative for an expired one."""
    now = time.time()
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{TENANT}/",
        "iat": int(now) - 60,
        "nbf": int(not_before if not_before is not None else now - 60),
        "exp": int(now + lifetime),
        "appid": client_id,
        "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id or "anonymous")),
        "tid": TENANT,
        "ver": "1.0",
    }
    header = {"alg": "RS256", "typ": "JWT"}
    # Azurite's basic mode does not verify the signature; a real one is not needed.
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(64)]
    return ".".join(_b64(part) for part in parts)


@dataclass
class TokenEndpoint:
    """A managed-identity endpoint for one user-assigned identity (`client_id`); serves on 127.0.0.1 over HTTP,
    as App Service's local endpoint does. `requests` records each token request's query for assertions."""

    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    port: int = field(default_factory=free_port)
    requests: list[dict[str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/msi/token"

    def environment(self) -> dict[str, str]:
        """What App Service puts in a function app's environment for its managed identity."""
        return {"IDENTITY_ENDPOINT": self.url, "IDENTITY_HEADER": self.secret}

    def start(self) -> TokenEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                endpoint.requests.append(query)
                if parts.path != "/msi/token":
                    return self._reply(404, {"error": "not_found"})
                if self.headers.get("X-IDENTITY-HEADER") != endpoint.secret:
                    return self._reply(401, {"error": "unauthorized", "error_description": "bad X-IDENTITY-HEADER"})
                if query.get("api-version") != "2019-08-01" or not query.get("resource"):
                    return self._reply(400, {"error": "invalid_request", "error_description": "api-version/resource"})
                client_id = query.get("client_id")
                if client_id is not None and client_id != endpoint.client_id:
                    return self._reply(400, {"statusCode": 400, "message": "No User Assigned or Delegated Managed "
                                             "Identity found for specified ClientId/ResourceId/PrincipalId."})
                resource = query["resource"].removesuffix("/.default")
                expires_on = int(time.time()) + 3600
                token = make_jwt(audience=resource, client_id=endpoint.client_id)
                return self._reply(200, {"access_token": token, "expires_on": str(expires_on), "resource": resource,
                                         "token_type": "Bearer", "client_id": endpoint.client_id})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@dataclass(frozen=True)
class OAuthAzurite:
    """A running Azurite over HTTPS with OAuth: the service endpoints, and the CA file that trusts it."""

    blob_port: int
    queue_port: int
    table_port: int
    ca_file: Path

    def service_uri(self, service: str) -> str:
        port = {"blob": self.blob_port, "queue": self.queue_port, "table": self.table_port}[service]
        return f"https://127.0.0.1:{port}/{ACCOUNT}"


@contextmanager
def oauth_azurite() -> Iterator[OAuthAzurite]:
    """Start an in-memory Azurite with `--oauth basic` and a throwaway certificate on free ports."""
    import socket

    with tempfile.TemporaryDirectory(prefix="azurite-oauth-") as workdir:
        cert, key = make_certificate(Path(workdir))
        ports = [free_port() for _ in range(3)]
        while len(set(ports)) < 3:
            ports = [free_port() for _ in range(3)]
        command = [str(AZURITE_BIN), "--silent", "--skipApiVersionCheck", "--loose", "--inMemoryPersistence",
                   "--disableTelemetry", "--oauth", "basic", "--cert", str(cert), "--key", str(key),
                   "--blobHost", "127.0.0.1", "--blobPort", str(ports[0]),
                   "--queueHost", "127.0.0.1", "--queuePort", str(ports[1]),
                   "--tableHost", "127.0.0.1", "--tablePort", str(ports[2])]
        log_path = Path(workdir) / "azurite.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)

        def listening(port: int) -> bool:
            with socket.socket() as sock:
                sock.settimeout(0.5)
                return sock.connect_ex(("127.0.0.1", port)) == 0

        try:
            deadline = time.monotonic() + 60
            while not all(listening(port) for port in ports):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Azurite with OAuth did not start: {log_path.read_text(errors='replace')}")
                time.sleep(0.1)
            yield OAuthAzurite(*ports, ca_file=cert)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
