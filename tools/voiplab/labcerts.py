"""The lab's certificate authority: certificates for the lab peers that speak TLS.

A real estate trusts its carriers' certificates through the CA that issued
them (``kamailio_tls_ca_certificates``). The lab plays that CA: ``voipctl lab
up`` makes it once under ``<lab state>/certs/`` (``ca.pem`` and its key,
never mounted anywhere) and, for each peer whose ``lab_peers`` entry says
``certificate: true``, a key and a certificate for the peer's address in
``certs/<peer>/`` (``cert.pem``, ``key.pem``), which the peer mounts. The
call servers of the lab trust ``ca.pem`` (inventory/lab/group_vars/call_servers).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALID_DAYS = 825


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    tmp.replace(path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _builder(subject: str, issuer: x509.Name, public_key, now: datetime.datetime) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
    )


def ensure_ca(certs: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The lab CA under ``certs`` (made once); returns its key and certificate."""
    key_path, cert_path = certs / "ca.key", certs / "ca.pem"
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "voip-estate lab CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        _builder("voip-estate lab CA", name, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    certs.mkdir(parents=True, exist_ok=True)
    os.chmod(certs, 0o700)
    _write(key_path, _key_pem(key), 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return key, cert


def ensure_peer_certificate(certs: Path, name: str, address: str) -> bool:
    """A key and a CA-issued certificate for ``address`` in ``certs/<name>/``; True when made now."""
    directory = certs / name
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if cert_path.exists() and key_path.exists():
        current = x509.load_pem_x509_certificate(cert_path.read_bytes())
        sans = current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        if ipaddress.ip_address(address) in sans.get_values_for_type(x509.IPAddress):
            return False
    ca_key, ca_cert = ensure_ca(certs)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        _builder(name, ca_cert.subject, key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # The peer (root in its container) reads it through a read-only mount.
    _write(key_path, _key_pem(key), 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return True
