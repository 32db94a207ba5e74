"""Enterprises register signing certificates; a customs message is verified against them."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth.models import User
from django.test import Client
from lxml import etree
from rest_framework.test import APIClient
from signxml import DigestAlgorithm, SignatureMethod, XMLSigner

from core import errors
from core.models import AuditEntry
from declarations.customs import xml
from declarations.customs.xml import parse_message
from single_window import error_codes, services, signatures
from single_window.models import Enterprise, EnterpriseCertificate
from single_window.signatures import SignatureOutcome, sign_message, verify_message_signature
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona, assert_problem

CERTIFICATES = "/api/v1/certificates"
SAMPLES = Path(xml.__file__).resolve().parent / "schemas" / "samples"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
PASSWORD = "a-long-test-password"


@pytest.fixture(scope="module")
def owner_keys() -> KeyPair:
    return make_key_pair(common_name="Owner Seller Ltd")


@pytest.fixture(scope="module")
def outsider_keys() -> KeyPair:
    return make_key_pair(common_name="Outsider Ltd")


@pytest.fixture
def owner_certificate(owner: Persona, owner_keys: KeyPair) -> EnterpriseCertificate:
    return services.certificate_register(
        enterprise=owner.enterprise, certificate_pem=owner_keys.certificate_text, actor=TEST_ACTOR
    )


@pytest.fixture
def outsider_certificate(outsider: Persona, outsider_keys: KeyPair) -> EnterpriseCertificate:
    return services.certificate_register(
        enterprise=outsider.enterprise, certificate_pem=outsider_keys.certificate_text, actor=TEST_ACTOR
    )


def unsigned_list() -> etree._Element:
    """The official CEB621 sample without its SM2 signature."""
    root = parse_message((SAMPLES / "CEB621Message.xml").read_bytes(), expected_message="CEB621Message").root
    for signature in root.findall(f"{DS}Signature"):
        root.remove(signature)
    return root


def signed_list(keys: KeyPair) -> bytes:
    signed = sign_message(
        root=unsigned_list(), private_key_pem=keys.private_key_pem, certificate_pem=keys.certificate_pem
    )
    body: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return body


def check(body: bytes, enterprise: Enterprise) -> signatures.SignatureCheck:
    """Read the message as the intake does, then verify it for the declaring ``enterprise``."""
    parsed = parse_message(body, expected_message="CEB621Message")
    return verify_message_signature(root=parsed.root, candidates=signatures.certificates_for(enterprise=enterprise))


# --- Signing and verifying ------------------------------------------------------------------


def test_a_signed_list_validates_and_verifies_with_the_enterprises_certificate(
    owner: Persona, owner_certificate: EnterpriseCertificate, owner_keys: KeyPair
) -> None:
    body = signed_list(owner_keys)
    root = etree.fromstring(body)

    # The signature goes last, with the spec's algorithms, over the whole message.
    assert root[-1].tag == f"{DS}Signature"
    assert root.find(f"{DS}Signature/{DS}SignedInfo/{DS}SignatureMethod").get("Algorithm") == signatures.RSA_SHA1
    assert root.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference").get("URI") == ""
    assert root.find(f"{DS}Signature/{DS}SignedInfo/{DS}CanonicalizationMethod").get("Algorithm") == signatures.C14N
    assert xml.customs_schema().validate(root.getroottree()), xml.customs_schema().error_log

    result = check(body, owner.enterprise)

    assert result.outcome is SignatureOutcome.VERIFIED
    assert result.verified
    assert result.certificate == owner_certificate
    assert result.enterprise == owner.enterprise
    assert result.code == ""
    assert result.customs_code == ""


def test_signing_leaves_the_given_message_alone(owner_keys: KeyPair) -> None:
    root = parse_message((SAMPLES / "CEB621Message.xml").read_bytes(), expected_message="CEB621Message").root
    before = etree.tostring(root)

    signed = sign_message(
        root=root, private_key_pem=owner_keys.private_key_pem, certificate_pem=owner_keys.certificate_pem
    )

    assert etree.tostring(root) == before
    assert len(signed.findall(f"{DS}Signature")) == 1  # the SM2 signature replaced


def test_a_message_altered_after_signing_fails_verification(
    owner: Persona, owner_certificate: EnterpriseCertificate, owner_keys: KeyPair
) -> None:
    body = signed_list(owner_keys).replace(b"<ceb:grossWeight>4000<", b"<ceb:grossWeight>4001<", 1)

    result = check(body, owner.enterprise)

    assert result.outcome is SignatureOutcome.INVALID
    assert result.customs_code == "-621029"
    assert result.code == error_codes.SIGNATURE_INVALID
    assert result.return_info.startswith(f"[{error_codes.SIGNATURE_INVALID}] ")
    assert not result.verified


def test_a_list_signed_with_another_enterprises_certificate_is_refused(
    owner: Persona,
    owner_certificate: EnterpriseCertificate,
    outsider_certificate: EnterpriseCertificate,
    outsider_keys: KeyPair,
) -> None:
    result = check(signed_list(outsider_keys), owner.enterprise)

    assert result.outcome is SignatureOutcome.CERTIFICATE_NOT_REGISTERED
    assert result.customs_code == "-621015"
    assert result.code == error_codes.SIGNATURE_CERTIFICATE_NOT_REGISTERED
    assert "another enterprise" in result.message
    assert result.certificate == outsider_certificate  # for the log, not for the sender
    assert "Outsider" not in result.message


def test_a_list_signed_with_an_unregistered_certificate_is_refused(
    owner: Persona, owner_certificate: EnterpriseCertificate
) -> None:
    result = check(signed_list(make_key_pair(common_name="Nobody Ltd")), owner.enterprise)

    assert result.outcome is SignatureOutcome.CERTIFICATE_NOT_REGISTERED
    assert result.customs_code == "-621015"
    assert "not registered" in result.message
    assert result.certificate is None


def test_a_revoked_certificate_no_longer_verifies(
    owner: Persona, owner_certificate: EnterpriseCertificate, owner_keys: KeyPair
) -> None:
    services.certificate_revoke(certificate=owner_certificate, actor=TEST_ACTOR)

    result = check(signed_list(owner_keys), owner.enterprise)

    assert result.outcome is SignatureOutcome.CERTIFICATE_NOT_REGISTERED
    assert "revoked" in result.message


def test_a_registered_key_verifies_under_a_renewed_certificate(
    owner: Persona, owner_certificate: EnterpriseCertificate, owner_keys: KeyPair
) -> None:
    # The signer sends a renewed certificate for the same key it registered earlier.
    key = serialization.load_pem_private_key(owner_keys.private_key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    renewed = make_key_pair(common_name="Owner Seller Ltd", private_key=key)
    assert renewed.certificate_pem != owner_keys.certificate_pem

    result = check(signed_list(renewed), owner.enterprise)

    assert result.outcome is SignatureOutcome.VERIFIED
    assert result.certificate == owner_certificate


def test_a_message_without_a_signature_is_missing_one(owner: Persona, owner_certificate: EnterpriseCertificate) -> None:
    # An order may go unsigned by the schema; verification still says so.
    root = parse_message((SAMPLES / "CEB311Message.xml").read_bytes(), expected_message="CEB311Message").root
    for signature in root.findall(f"{DS}Signature"):
        root.remove(signature)

    result = verify_message_signature(root=root, candidates=[owner_certificate])

    assert result.outcome is SignatureOutcome.MISSING
    assert result.customs_code == "-621026"
    assert result.code == error_codes.SIGNATURE_MISSING


def test_the_official_sm2_signature_is_answered_as_unsupported(
    owner: Persona, owner_certificate: EnterpriseCertificate
) -> None:
    result = check((SAMPLES / "CEB621Message.xml").read_bytes(), owner.enterprise)

    assert result.outcome is SignatureOutcome.ALGORITHM_UNSUPPORTED
    assert result.code == error_codes.SIGNATURE_ALGORITHM_UNSUPPORTED
    assert result.algorithm == signatures.SM2_SM3
    assert "SM2-SM3" in result.message


def test_rsa_sha256_is_not_an_algorithm_the_spec_allows(
    owner: Persona, owner_certificate: EnterpriseCertificate, owner_keys: KeyPair
) -> None:
    signed = XMLSigner(signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256).sign(
        unsigned_list(), key=owner_keys.private_key_pem, cert=owner_keys.certificate_text
    )

    result = check(etree.tostring(signed), owner.enterprise)

    assert result.outcome is SignatureOutcome.ALGORITHM_UNSUPPORTED
    assert result.code == error_codes.SIGNATURE_ALGORITHM_UNSUPPORTED
    assert result.algorithm == SignatureMethod.RSA_SHA256.value


# --- The registry ---------------------------------------------------------------------------


def test_it_registers_a_certificate_over_the_api(owner: Persona, owner_client: APIClient, owner_keys: KeyPair) -> None:
    response = owner_client.post(CERTIFICATES, {"certificate_pem": owner_keys.certificate_text}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    stored = EnterpriseCertificate.objects.get(pk=body["id"])
    assert stored.enterprise_id == owner.enterprise.pk
    assert stored.algorithm == EnterpriseCertificate.Algorithm.RSA
    assert stored.subject == "CN=Owner Seller Ltd"
    assert stored.revoked_at is None
    assert body["fingerprint_sha256"] == stored.fingerprint_sha256
    assert len(stored.fingerprint_sha256) == 64
    assert body["in_force"] is True
    assert body["certificate_pem"] == stored.certificate_pem
    entry = AuditEntry.objects.get(object_type="single_window.enterprisecertificate", object_id=str(stored.pk))
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor_enterprise_id == owner.enterprise.pk
    assert entry.after is not None
    assert entry.after["fingerprint_sha256"] == stored.fingerprint_sha256
    assert "certificate_pem" not in entry.after


def test_a_certificate_registers_once_across_enterprises(
    owner: Persona, owner_certificate: EnterpriseCertificate, outsider_client: APIClient, owner_keys: KeyPair
) -> None:
    audit_count = AuditEntry.objects.count()

    response = outsider_client.post(CERTIFICATES, {"certificate_pem": owner_keys.certificate_text}, format="json")

    assert_problem(response, 409, error_codes.CERTIFICATE_DUPLICATE)
    assert list(EnterpriseCertificate.objects.values_list("pk", flat=True)) == [owner_certificate.pk]
    assert AuditEntry.objects.count() == audit_count


def test_registering_the_same_certificate_twice_is_a_conflict(
    owner_certificate: EnterpriseCertificate, owner_client: APIClient, owner_keys: KeyPair
) -> None:
    response = owner_client.post(CERTIFICATES, {"certificate_pem": owner_keys.certificate_text}, format="json")

    body = assert_problem(response, 409, error_codes.CERTIFICATE_DUPLICATE)
    assert body["errors"][0]["field"] == "certificate_pem"
    assert EnterpriseCertificate.objects.count() == 1


def test_it_refuses_an_expired_certificate(owner_client: APIClient) -> None:
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=400)
    expired = make_key_pair(
        common_name="Old Ltd", not_before=long_ago, not_after=long_ago + datetime.timedelta(days=30)
    )

    response = owner_client.post(CERTIFICATES, {"certificate_pem": expired.certificate_text}, format="json")

    body = assert_problem(response, 400, error_codes.CERTIFICATE_EXPIRED)
    assert body["errors"] == [
        {"field": "certificate_pem", "code": error_codes.CERTIFICATE_EXPIRED, "message": body["errors"][0]["message"]}
    ]
    assert not EnterpriseCertificate.objects.exists()


@pytest.mark.parametrize(
    "pem",
    [
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
    ids=["text", "broken-pem"],
)
def test_it_refuses_what_is_not_a_certificate(owner_client: APIClient, pem: str) -> None:
    response = owner_client.post(CERTIFICATES, {"certificate_pem": pem}, format="json")

    assert_problem(response, 400, error_codes.CERTIFICATE_INVALID)
    assert not EnterpriseCertificate.objects.exists()


def test_it_refuses_a_certificate_chain_and_a_key_neither_rsa_nor_sm2(owner_client: APIClient) -> None:
    chain = make_key_pair(common_name="A").certificate_text + make_key_pair(common_name="B").certificate_text
    ec_certificate = make_key_pair(
        common_name="EC Ltd", private_key=ec.generate_private_key(ec.SECP256R1())
    ).certificate_text

    for pem in (chain, ec_certificate):
        response = owner_client.post(CERTIFICATES, {"certificate_pem": pem}, format="json")
        assert_problem(response, 400, error_codes.CERTIFICATE_INVALID)
    assert not EnterpriseCertificate.objects.exists()


def test_the_list_shows_only_the_callers_certificates(
    owner_certificate: EnterpriseCertificate, outsider_certificate: EnterpriseCertificate, owner_client: APIClient
) -> None:
    response = owner_client.get(CERTIFICATES)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [owner_certificate.pk]
    assert "certificate_pem" not in response.json()[0]


def test_the_owner_reads_and_revokes_its_certificate(
    owner: Persona, owner_certificate: EnterpriseCertificate, owner_client: APIClient
) -> None:
    url = f"{CERTIFICATES}/{owner_certificate.pk}"
    assert owner_client.get(url).json()["in_force"] is True

    response = owner_client.delete(url)

    assert response.status_code == 204
    owner_certificate.refresh_from_db()
    assert owner_certificate.revoked_at is not None
    assert owner_client.get(url).json()["in_force"] is False
    entry = AuditEntry.objects.get(
        object_type="single_window.enterprisecertificate", object_id=str(owner_certificate.pk), action="revoke"
    )
    assert entry.actor_enterprise_id == owner.enterprise.pk
    # Revoking again changes nothing.
    assert owner_client.delete(url).status_code == 204
    assert AuditEntry.objects.filter(action="revoke", object_id=str(owner_certificate.pk)).count() == 1


def test_an_outsider_can_neither_see_nor_revoke_anothers_certificate(
    owner_certificate: EnterpriseCertificate, outsider_client: APIClient
) -> None:
    url = f"{CERTIFICATES}/{owner_certificate.pk}"

    assert_problem(outsider_client.get(url), 404, errors.NOT_FOUND)
    assert_problem(outsider_client.delete(url), 404, errors.NOT_FOUND)
    assert outsider_client.get(CERTIFICATES).json() == []
    owner_certificate.refresh_from_db()
    assert owner_certificate.revoked_at is None


def test_certificates_need_a_key(api_client: APIClient) -> None:
    assert api_client.get(CERTIFICATES).status_code == 401


# --- The admin ------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client, db: None) -> Client:
    User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    assert client.login(username="root", password=PASSWORD)
    return client


def test_the_admin_registers_through_the_service_and_revokes_by_action(
    admin_client: Client, owner: Persona, owner_keys: KeyPair
) -> None:
    add = "/admin/single_window/enterprisecertificate/add/"
    assert admin_client.get(add).status_code == 200

    response = admin_client.post(
        add, {"enterprise": owner.enterprise.pk, "certificate_pem": owner_keys.certificate_text, "_save": "Save"}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    certificate = EnterpriseCertificate.objects.get()
    assert certificate.enterprise_id == owner.enterprise.pk
    assert certificate.subject == "CN=Owner Seller Ltd"
    created = AuditEntry.objects.filter(
        object_type="single_window.enterprisecertificate", object_id=str(certificate.pk), action="create"
    )
    assert [e.actor for e in created] == ["admin:root"]  # once, by the service
    assert admin_client.get(f"/admin/single_window/enterprisecertificate/{certificate.pk}/change/").status_code == 200

    # The same certificate again is an error on the form, not a crash.
    again = admin_client.post(
        add, {"enterprise": owner.enterprise.pk, "certificate_pem": owner_keys.certificate_text, "_save": "Save"}
    )
    assert again.status_code == 200
    assert "already registered" in again.content.decode()
    assert EnterpriseCertificate.objects.count() == 1

    admin_client.post(
        "/admin/single_window/enterprisecertificate/",
        {"action": "revoke", "_selected_action": [certificate.pk]},
    )
    certificate.refresh_from_db()
    assert certificate.revoked_at is not None
