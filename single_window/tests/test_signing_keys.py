"""The key store: an enterprise gives the single window an RSA key to sign its customs messages.

The private key is kept encrypted and never shown again (not in answers, not in the audit log);
its certificate becomes one of the enterprise's registered certificates; one key is active.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from rest_framework.test import APIClient

from core.models import AuditEntry
from single_window import services
from single_window.models import EnterpriseCertificate, EnterpriseSigningKey
from tests.certificates import PrivateKey, make_key_pair
from tests.factories import TEST_ACTOR, Persona, assert_problem

URL = "/api/v1/signing-keys"
KeyMaker = Callable[..., tuple[str, str]]


def _pem_pair(common_name: str, *, private_key: PrivateKey | None = None) -> tuple[str, str]:
    """A private key and its self-signed certificate, PEM text."""
    pair = make_key_pair(common_name=common_name, private_key=private_key)
    return pair.private_key_text, pair.certificate_text


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    """An RSA private key and its self-signed certificate, PEM."""
    return _pem_pair("Signing test")


@pytest.fixture(scope="module")
def other_pair() -> tuple[str, str]:
    # Another common name: the helper's keys are per name, and this must be another key.
    return _pem_pair("Other signing test")


def _post(client: APIClient, private_key_pem: str, certificate_pem: str) -> object:
    return client.post(URL, {"private_key_pem": private_key_pem, "certificate_pem": certificate_pem}, format="json")


def test_it_keeps_the_key_encrypted_registers_its_certificate_and_never_shows_the_private_key(
    owner: Persona, owner_client: APIClient, key_pair: tuple[str, str]
) -> None:
    private_pem, certificate_pem = key_pair

    response = _post(owner_client, private_pem, certificate_pem)

    assert response.status_code == 201, response.content  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert "PRIVATE KEY" not in response.content.decode()  # type: ignore[attr-defined]
    assert set(body) == {"id", "algorithm", "fingerprint_sha256", "certificate", "active", "created_at", "revoked_at"}
    stored = EnterpriseSigningKey.objects.get()
    assert (stored.enterprise, stored.algorithm, stored.revoked_at) == (owner.enterprise, "rsa", None)
    assert body == {**body, "id": stored.pk, "fingerprint_sha256": stored.certificate.fingerprint_sha256}
    assert stored.certificate.enterprise == owner.enterprise
    assert "PRIVATE KEY" not in stored.private_key_encrypted
    loaded = serialization.load_pem_private_key(services.signing_key_private_pem(signing_key=stored), password=None)
    original = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert isinstance(original, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == original.private_numbers()
    audit = json.dumps(list(AuditEntry.objects.values("before", "after")), default=str)
    assert "PRIVATE KEY" not in audit
    assert stored.private_key_encrypted not in audit
    assert AuditEntry.objects.filter(object_type="single_window.enterprisesigningkey").count() == 1


def test_the_ciphertext_is_bound_to_its_enterprise(
    owner: Persona, outsider: Persona, key_pair: tuple[str, str]
) -> None:
    stored = services.signing_key_register(
        enterprise=owner.enterprise, private_key_pem=key_pair[0], certificate_pem=key_pair[1], actor=TEST_ACTOR
    )
    stored.enterprise = outsider.enterprise

    with pytest.raises(Exception, match="does not authenticate"):
        services.signing_key_private_pem(signing_key=stored)


def test_a_certificate_the_enterprise_registered_before_is_reused(
    owner: Persona, owner_client: APIClient, key_pair: tuple[str, str]
) -> None:
    certificate = services.certificate_register(
        enterprise=owner.enterprise, certificate_pem=key_pair[1], actor=TEST_ACTOR
    )

    response = _post(owner_client, *key_pair)

    assert response.status_code == 201  # type: ignore[attr-defined]
    assert EnterpriseCertificate.objects.get() == certificate
    assert EnterpriseSigningKey.objects.get().certificate == certificate


def test_a_new_key_replaces_the_active_one(
    owner: Persona, owner_client: APIClient, key_pair: tuple[str, str], other_pair: tuple[str, str]
) -> None:
    first = _post(owner_client, *key_pair).json()  # type: ignore[attr-defined]

    second = _post(owner_client, *other_pair).json()  # type: ignore[attr-defined]

    listed = owner_client.get(URL).json()
    assert [(k["id"], k["active"]) for k in listed] == [(second["id"], True), (first["id"], False)]
    assert EnterpriseSigningKey.objects.filter(revoked_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("mismatch", ("certificate_pem", services.SIGNING_KEY_MISMATCH)),
        ("not a key", ("private_key_pem", services.SIGNING_KEY_INVALID)),
        ("ec key", ("private_key_pem", services.SIGNING_KEY_INVALID)),
    ],
)
def test_it_refuses_a_key_that_is_not_an_rsa_key_of_its_certificate(
    owner_client: APIClient,
    key_pair: tuple[str, str],
    other_pair: tuple[str, str],
    case: str,
    refusal: tuple[str, str],
) -> None:
    field, code = refusal
    ec_private, ec_certificate = _pem_pair("EC signing test", private_key=ec.generate_private_key(ec.SECP256R1()))
    private_pem, certificate_pem = {
        "mismatch": (key_pair[0], other_pair[1]),
        "not a key": ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", key_pair[1]),
        "ec key": (ec_private, ec_certificate),
    }[case]

    response = _post(owner_client, private_pem, certificate_pem)

    body = assert_problem(response, 400, code)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]
    assert not EnterpriseSigningKey.objects.exists()
    assert not EnterpriseCertificate.objects.exists()


def test_a_certificate_of_another_enterprise_is_refused(
    outsider: Persona, owner_client: APIClient, key_pair: tuple[str, str]
) -> None:
    services.certificate_register(enterprise=outsider.enterprise, certificate_pem=key_pair[1], actor=TEST_ACTOR)

    response = _post(owner_client, *key_pair)

    assert_problem(response, 409, "certificate_duplicate")
    assert not EnterpriseSigningKey.objects.exists()


def test_an_outsider_sees_and_revokes_none_of_the_keys(
    owner_client: APIClient, outsider_client: APIClient, key_pair: tuple[str, str]
) -> None:
    created = _post(owner_client, *key_pair).json()  # type: ignore[attr-defined]

    assert outsider_client.get(URL).json() == []
    assert_problem(outsider_client.delete(f"{URL}/{created['id']}"), 404, "not_found")
    assert EnterpriseSigningKey.objects.get().revoked_at is None


def test_revoking_stops_the_key_and_keeps_its_certificate(owner_client: APIClient, key_pair: tuple[str, str]) -> None:
    created = _post(owner_client, *key_pair).json()  # type: ignore[attr-defined]

    response = owner_client.delete(f"{URL}/{created['id']}")
    again = owner_client.delete(f"{URL}/{created['id']}")

    assert (response.status_code, again.status_code) == (204, 204)
    stored = EnterpriseSigningKey.objects.get()
    assert stored.revoked_at is not None
    assert stored.certificate.revoked_at is None
    assert owner_client.get(URL).json()[0]["active"] is False
