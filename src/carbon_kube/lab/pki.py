"""Certificates, keys, the admin token and the kubeconfig for a lab control plane.

Why generate them in Python: the lab runs offline with no cfssl/openssl scripts to rely on,
and the ``cryptography`` package makes a CA plus serving certificate in milliseconds.

Identity model (kept deliberately small):
- one self-signed CA signs the apiserver's serving certificate (SANs: 127.0.0.1, localhost
  and the in-cluster ``kubernetes.default.svc`` names, so the same cert serves both) and the
  serving certificate of Carbon-Kube's webhook when ``lab up --install`` runs it on the host
  (127.0.0.1, localhost), so the lab CA is the webhook configurations' ``caBundle``;
- every client (us, kube-controller-manager, kube-scheduler, kwok) authenticates with a
  single bearer token listed in ``--token-auth-file`` as a member of ``system:masters``.
  This is a throwaway local lab: there is no per-component identity to get wrong;
- a separate RSA key pair signs and verifies service-account tokens.

Nothing here starts processes or talks to the network.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from carbon_kube.lab.settings import KUBERNETES_SERVICE_IP

__all__ = ["LabPki", "write_kubeconfig", "write_pki"]

_CERT_LIFETIME = timedelta(days=30)
_SERVING_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
# The in-cluster "kubernetes" Service's address, which the apiserver insists its certificate
# covers (and which the real node's pods dial).
_SERVING_IPS = ("127.0.0.1", KUBERNETES_SERVICE_IP)


@dataclass(frozen=True)
class LabPki:
    """Paths of the files :func:`write_pki` produced, plus the admin bearer token."""

    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    webhook_cert: Path
    webhook_key: Path
    kubelet_client_cert: Path
    kubelet_client_key: Path
    service_account_key: Path
    service_account_pub: Path
    token_file: Path
    admin_token: str


def _write_private(path: Path, data: bytes) -> None:
    """Write key material readable by the owner only."""
    path.write_bytes(data)
    path.chmod(0o600)


def _ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_pki(directory: Path, now: datetime) -> LabPki:
    """Create a fresh CA, serving cert, service-account keys and admin token in ``directory``.

    ``now`` is injected (tz-aware) so tests can pin validity windows; certificates are
    back-dated by an hour to survive small clock skews between processes.
    """
    directory.mkdir(parents=True, exist_ok=True)
    not_before = now - timedelta(hours=1)
    not_after = now + _CERT_LIFETIME

    ca_key = _ec_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "carbon-kube-lab-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(
        common_name: str,
        sans: list[x509.GeneralName],
        usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
        organization: str | None = None,
    ) -> tuple[bytes, bytes]:
        """A certificate the CA signs (serving unless told), and its private key (both PEM)."""
        key = _ec_key()
        subject = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            subject.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(subject))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)

    def names(dns: tuple[str, ...], ips: tuple[str, ...]) -> list[x509.GeneralName]:
        general: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
        return general + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]

    apiserver_pem = leaf("kube-apiserver", names(_SERVING_DNS_NAMES, _SERVING_IPS))
    webhook_pem = leaf("carbon-kube-webhook", names(("localhost",), ("127.0.0.1",)))
    # How the apiserver proves itself to the real node's kubelet, which trusts only the lab
    # CA: no other local user can reach the pods through the kubelet's port.
    kubelet_client_pem = leaf(
        "kube-apiserver-kubelet-client",
        names(("localhost",), ()),
        ExtendedKeyUsageOID.CLIENT_AUTH,
        "system:masters",
    )

    # RSA for service-account tokens: RS256 is what every consumer of projected tokens accepts.
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    pki = LabPki(
        ca_cert=directory / "ca.crt",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        webhook_cert=directory / "webhook.crt",
        webhook_key=directory / "webhook.key",
        kubelet_client_cert=directory / "apiserver-kubelet-client.crt",
        kubelet_client_key=directory / "apiserver-kubelet-client.key",
        service_account_key=directory / "sa.key",
        service_account_pub=directory / "sa.pub",
        token_file=directory / "tokens.csv",
        admin_token=secrets.token_hex(32),
    )
    pki.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    for cert_path, key_path, (cert_pem, key_pem) in (
        (pki.serving_cert, pki.serving_key, apiserver_pem),
        (pki.webhook_cert, pki.webhook_key, webhook_pem),
        (pki.kubelet_client_cert, pki.kubelet_client_key, kubelet_client_pem),
    ):
        cert_path.write_bytes(cert_pem)
        _write_private(key_path, key_pem)
    _write_private(pki.service_account_key, _pem_key(sa_key))
    pki.service_account_pub.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    # Format: token,user,uid,"group1,group2" (kube-apiserver --token-auth-file).
    _write_private(
        pki.token_file, f'{pki.admin_token},lab-admin,lab-admin-uid,"system:masters"\n'.encode()
    )
    return pki


def write_kubeconfig(
    path: Path, *, server_url: str, pki: LabPki, context: str = "carbon-kube-lab"
) -> Path:
    """Write a kubeconfig for the admin token; file paths in it are absolute."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": server_url,
                    "certificate-authority": str(pki.ca_cert.resolve()),
                },
            }
        ],
        "users": [{"name": "lab-admin", "user": {"token": pki.admin_token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": "lab-admin"}}],
        "current-context": context,
    }
    _write_private(path, yaml.safe_dump(config, sort_keys=False).encode())
    return path
