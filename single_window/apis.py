"""The registry's API: who am I, my keys, my appointments."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import errors
from core.errors import Forbidden, InvalidInput, NotFoundError
from core.openapi import problems
from single_window import selectors, services, signatures
from single_window.models import Appointment, Enterprise, EnterpriseCertificate, EnterpriseSigningKey
from single_window.permissions import caller_enterprise

ENTERPRISE_EXAMPLE = {
    "id": 12,
    "code": "3301960001",
    "customs_code": "3301960001",
    "uscc": "91330100MA2H0B4X1Q",
    "name": "杭州示例跨境电商有限公司",
    "status": "active",
    "roles": ["ebc", "ebp"],
    "park": {
        "code": "HZ-XS",
        "name": "Hangzhou Xiasha Park",
        "city": "Hangzhou",
        "customs_district": "2901",
        "kind": "bonded_zone",
    },
}


class ParkOutput(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    city = serializers.CharField()
    customs_district = serializers.CharField()
    kind = serializers.CharField()


class EnterpriseOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    customs_code = serializers.CharField(allow_null=True)
    uscc = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    status = serializers.CharField()
    roles = serializers.SerializerMethodField()
    park = ParkOutput(allow_null=True)

    def get_roles(self, enterprise: Enterprise) -> list[str]:
        return sorted(enterprise.roles)


class EnterpriseMeApi(APIView):
    @extend_schema(
        operation_id="enterprises_me",
        tags=["enterprises"],
        summary="The calling enterprise",
        responses={200: EnterpriseOutput, **problems()},
        examples=[OpenApiExample("Active enterprise", value=ENTERPRISE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        return Response(EnterpriseOutput(caller_enterprise(request)).data)


class EnterpriseDetailApi(APIView):
    @extend_schema(
        operation_id="enterprises_retrieve",
        tags=["enterprises"],
        summary="An enterprise the caller may act for",
        description=(
            "The caller itself, or a principal that has appointed the caller as its declaring "
            "agent with an appointment in force today. Anything else is 404, so the registry "
            "can't be probed."
        ),
        responses={200: EnterpriseOutput, **problems(404)},
        examples=[OpenApiExample("Principal of an agent", value=ENTERPRISE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, code: str) -> Response:
        caller = caller_enterprise(request)
        principal = selectors.enterprise_get_by_code(code=code)
        if principal is None or not selectors.enterprise_may_act_for(actor=caller, principal=principal):
            raise NotFoundError
        return Response(EnterpriseOutput(principal).data)


# --- Keys --------------------------------------------------------------------------------

KEY_EXAMPLE = {
    "id": 41,
    "name": "ERP production",
    "prefix": "sw_k3m9x2ab",
    "throttle_rate": "",
    "created_at": "2026-11-25T10:02:11+08:00",
    "created_by": "api:sw_7hq2rt5c",
    "last_used_at": "2026-11-25T10:15:00+08:00",
    "revoked_at": None,
}


class ApiKeyOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The visible start of the key, to tell keys apart.")
    throttle_rate = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="Updated at most once a minute.")
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.CharField(help_text="The key itself. Shown in this answer only: store it now.")


class ApiKeyListApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=100)

        class Meta:
            ref_name = "KeyCreate"

    @extend_schema(
        operation_id="keys_list",
        tags=["keys"],
        summary="The enterprise's API keys, active and revoked",
        responses={200: ApiKeyOutput(many=True), **problems()},
        examples=[OpenApiExample("Keys", value=[KEY_EXAMPLE], response_only=True)],
    )
    def get(self, request: Request) -> Response:
        keys = selectors.api_keys_for(enterprise=caller_enterprise(request))
        return Response(ApiKeyOutput(keys, many=True).data)

    @extend_schema(
        operation_id="keys_create",
        tags=["keys"],
        summary="Create a key",
        description=(
            "The answer holds the key once. An enterprise holds a bounded number of active keys "
            "(409 api_key_limit_reached)."
        ),
        request=InputSerializer,
        responses={201: ApiKeyCreatedOutput, **problems(400, 409, 415)},
        examples=[
            OpenApiExample("New key", value={"name": "ERP production"}, request_only=True),
            OpenApiExample(
                "Created",
                value={
                    **KEY_EXAMPLE,
                    "last_used_at": None,
                    "key": "sw_k3m9x2ab_Qm9fZ2V0LWEtcmVhbC1rZXktZnJvbS10aGUtYXBp",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, raw_key = services.api_key_issue(
            enterprise=caller_enterprise(request),
            name=data.validated_data["name"],
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response({**ApiKeyOutput(api_key).data, "key": raw_key}, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    @extend_schema(
        operation_id="keys_revoke",
        tags=["keys"],
        summary="Revoke a key",
        description="The key stops working at once; the record stays for the audit. Revoking twice is harmless.",
        responses={204: None, **problems(404)},
    )
    def delete(self, request: Request, key_id: int) -> Response:
        api_key = get_object_or_404(selectors.api_keys_for(enterprise=caller_enterprise(request)), pk=key_id)
        services.api_key_revoke(api_key=api_key, actor=request.user.actor)  # type: ignore[union-attr]
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Appointments ------------------------------------------------------------------------

APPOINTMENT_EXAMPLE = {
    "id": 7,
    "principal": {"code": "3301960001", "name": "杭州示例跨境电商有限公司"},
    "agent": {"code": "3301980003", "name": "杭州示例报关有限公司"},
    "valid_from": "2026-01-01",
    "valid_to": "2026-12-31",
    "revoked_at": None,
    "in_force": True,
}


class PartyOutput(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()


class AppointmentOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    principal = PartyOutput()
    agent = PartyOutput()
    valid_from = serializers.DateField()
    valid_to = serializers.DateField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    in_force = serializers.SerializerMethodField()

    def get_in_force(self, appointment: Appointment) -> bool:
        return appointment.is_valid_on(selectors.today())


class AppointmentListApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        agent_code = serializers.CharField(max_length=18)
        valid_from = serializers.DateField()
        valid_to = serializers.DateField()

        class Meta:
            ref_name = "AppointmentCreate"

    @extend_schema(
        operation_id="appointments_list",
        tags=["appointments"],
        summary="Appointments naming the caller, as principal or as agent",
        responses={200: AppointmentOutput(many=True), **problems()},
        examples=[OpenApiExample("Appointments", value=[APPOINTMENT_EXAMPLE], response_only=True)],
    )
    def get(self, request: Request) -> Response:
        appointments = selectors.appointments_for(enterprise=caller_enterprise(request))
        return Response(AppointmentOutput(appointments, many=True).data)

    @extend_schema(
        operation_id="appointments_create",
        tags=["appointments"],
        summary="Appoint a declaring agent",
        description="The caller is the principal; the agent must hold the agent role.",
        request=InputSerializer,
        responses={201: AppointmentOutput, **problems(400, 409, 415)},
        examples=[
            OpenApiExample(
                "Appoint for a year",
                value={"agent_code": "3301980003", "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
                request_only=True,
            ),
            OpenApiExample("Created", value=APPOINTMENT_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agent = selectors.enterprise_get_by_code(code=data.validated_data["agent_code"])
        if agent is None:
            raise InvalidInput.for_field(
                "agent_code", errors.UNKNOWN_ENTERPRISE, _("No enterprise is registered under this code.")
            )
        appointment = services.appointment_create(
            principal=caller_enterprise(request),
            agent=agent,
            valid_from=data.validated_data["valid_from"],
            valid_to=data.validated_data["valid_to"],
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(AppointmentOutput(appointment).data, status=status.HTTP_201_CREATED)


class AppointmentDetailApi(APIView):
    @extend_schema(
        operation_id="appointments_retrieve",
        tags=["appointments"],
        summary="An appointment naming the caller",
        responses={200: AppointmentOutput, **problems(404)},
        examples=[OpenApiExample("Appointment", value=APPOINTMENT_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, appointment_id: int) -> Response:
        appointment = get_object_or_404(
            selectors.appointments_for(enterprise=caller_enterprise(request)), pk=appointment_id
        )
        return Response(AppointmentOutput(appointment).data)

    @extend_schema(
        operation_id="appointments_revoke",
        tags=["appointments"],
        summary="Revoke an appointment (principal only)",
        responses={204: None, **problems(404)},
    )
    def delete(self, request: Request, appointment_id: int) -> Response:
        enterprise = caller_enterprise(request)
        appointment = get_object_or_404(selectors.appointments_for(enterprise=enterprise), pk=appointment_id)
        if appointment.principal_id != enterprise.pk:
            raise Forbidden(_("Only the principal may revoke an appointment."))
        services.appointment_revoke(appointment=appointment, actor=request.user.actor)  # type: ignore[union-attr]
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Certificates --------------------------------------------------------------------------

CERTIFICATE_EXAMPLE = {
    "id": 3,
    "fingerprint_sha256": "5d0a3c4e9b7f2a61c8e4d93b0f1a7e26c4b8d1f03e9a2c75b6d40e8f1a3c9b27",
    "serial_number": "4a3f9c2e71b0d8a5",
    "subject": "CN=杭州示例跨境电商有限公司,O=杭州示例跨境电商有限公司,C=CN",
    "algorithm": "rsa",
    "not_before": "2026-01-01T08:00:00+08:00",
    "not_after": "2028-01-01T08:00:00+08:00",
    "revoked_at": None,
    "in_force": True,
    "created_at": "2026-11-25T10:02:11+08:00",
}
CERTIFICATE_PEM_EXAMPLE = "-----BEGIN CERTIFICATE-----\nMIIDBTCCAe2gAwIBAgIUSjn...\n...\n-----END CERTIFICATE-----\n"


class CertificateOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    fingerprint_sha256 = serializers.CharField(help_text="SHA-256 of the DER encoding, lowercase hex.")
    serial_number = serializers.CharField(help_text="Hexadecimal.")
    subject = serializers.CharField()
    algorithm = serializers.ChoiceField(choices=EnterpriseCertificate.Algorithm.choices)
    not_before = serializers.DateTimeField()
    not_after = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    in_force = serializers.SerializerMethodField(help_text="Not revoked and inside its validity period now.")
    created_at = serializers.DateTimeField()

    def get_in_force(self, certificate: EnterpriseCertificate) -> bool:
        return certificate.is_usable_at(timezone.now())


class CertificateDetailOutput(CertificateOutput):
    certificate_pem = serializers.CharField()


class CertificateListApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        certificate_pem = serializers.CharField(
            max_length=20_000, trim_whitespace=False, help_text="One X.509 certificate, PEM-encoded, without its chain."
        )

        class Meta:
            ref_name = "CertificateRegister"

    @extend_schema(
        operation_id="certificates_list",
        tags=["certificates"],
        summary="The enterprise's signing certificates, in force and revoked",
        responses={200: CertificateOutput(many=True), **problems()},
        examples=[OpenApiExample("Certificates", value=[CERTIFICATE_EXAMPLE], response_only=True)],
    )
    def get(self, request: Request) -> Response:
        certificates = signatures.certificates_for(enterprise=caller_enterprise(request))
        return Response(CertificateOutput(certificates, many=True).data)

    @extend_schema(
        operation_id="certificates_register",
        tags=["certificates"],
        summary="Register a signing certificate",
        description=(
            "Declaration lists (CEB621) in customs XML must be signed with a certificate the "
            "declaring enterprise registered here (rsa-sha1; SM2 certificates are kept, SM2-SM3 "
            "signatures are not verified yet). Refused: anything but one RSA or SM2 certificate "
            "(400 certificate_invalid), an expired one (400 certificate_expired), one already "
            "registered by anyone (409 certificate_duplicate)."
        ),
        request=InputSerializer,
        responses={201: CertificateDetailOutput, **problems(400, 409, 415)},
        examples=[
            OpenApiExample("A certificate", value={"certificate_pem": CERTIFICATE_PEM_EXAMPLE}, request_only=True),
            OpenApiExample(
                "Registered",
                value={**CERTIFICATE_EXAMPLE, "certificate_pem": CERTIFICATE_PEM_EXAMPLE},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        certificate = services.certificate_register(
            enterprise=caller_enterprise(request),
            certificate_pem=data.validated_data["certificate_pem"],
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(CertificateDetailOutput(certificate).data, status=status.HTTP_201_CREATED)


class CertificateDetailApi(APIView):
    @extend_schema(
        operation_id="certificates_retrieve",
        tags=["certificates"],
        summary="One of the enterprise's certificates, with its PEM",
        responses={200: CertificateDetailOutput, **problems(404)},
        examples=[
            OpenApiExample(
                "Certificate",
                value={**CERTIFICATE_EXAMPLE, "certificate_pem": CERTIFICATE_PEM_EXAMPLE},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, certificate_id: int) -> Response:
        certificate = get_object_or_404(
            signatures.certificates_for(enterprise=caller_enterprise(request)), pk=certificate_id
        )
        return Response(CertificateDetailOutput(certificate).data)

    @extend_schema(
        operation_id="certificates_revoke",
        tags=["certificates"],
        summary="Revoke a certificate",
        description=(
            "Messages signed with it stop verifying at once; the record stays for the audit. "
            "Revoking twice is harmless."
        ),
        responses={204: None, **problems(404)},
    )
    def delete(self, request: Request, certificate_id: int) -> Response:
        certificate = get_object_or_404(
            signatures.certificates_for(enterprise=caller_enterprise(request)), pk=certificate_id
        )
        services.certificate_revoke(certificate=certificate, actor=request.user.actor)  # type: ignore[union-attr]
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Signing keys --------------------------------------------------------------------------

SIGNING_KEY_EXAMPLE = {
    "id": 4,
    "algorithm": "rsa",
    "fingerprint_sha256": CERTIFICATE_EXAMPLE["fingerprint_sha256"],
    "certificate": {
        key: CERTIFICATE_EXAMPLE[key] for key in ("id", "subject", "serial_number", "not_before", "not_after")
    },
    "active": True,
    "created_at": "2026-11-25T10:05:40+08:00",
    "revoked_at": None,
}
PRIVATE_KEY_PEM_EXAMPLE = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\n...\n-----END PRIVATE KEY-----\n"
)


class SigningKeyCertificateOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    subject = serializers.CharField()
    serial_number = serializers.CharField(help_text="Hexadecimal.")
    not_before = serializers.DateTimeField()
    not_after = serializers.DateTimeField()


class SigningKeyOutput(serializers.Serializer[Any]):
    """Never the private key: it is stored encrypted and not shown again."""

    id = serializers.IntegerField()
    algorithm = serializers.ChoiceField(choices=EnterpriseSigningKey.Algorithm.choices)
    fingerprint_sha256 = serializers.CharField(help_text="SHA-256 of the certificate's DER encoding, lowercase hex.")
    certificate = SigningKeyCertificateOutput()
    active = serializers.BooleanField(source="is_active", help_text="Not revoked: the gateway signs with it.")
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)


class SigningKeyListApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        private_key_pem = serializers.CharField(
            max_length=20_000,
            trim_whitespace=False,
            help_text="An unencrypted RSA private key, PEM (PKCS#8 or PKCS#1), at least 1024 bits.",
        )
        certificate_pem = serializers.CharField(
            max_length=20_000, trim_whitespace=False, help_text="The key's X.509 certificate, PEM, without its chain."
        )

        class Meta:
            ref_name = "SigningKeyRegister"

    @extend_schema(
        operation_id="signing_keys_list",
        tags=["signing keys"],
        summary="The enterprise's signing keys, active and revoked (never the private key)",
        responses={200: SigningKeyOutput(many=True), **problems()},
        examples=[OpenApiExample("Signing keys", value=[SIGNING_KEY_EXAMPLE], response_only=True)],
    )
    def get(self, request: Request) -> Response:
        keys = selectors.signing_keys_for(enterprise=caller_enterprise(request))
        return Response(SigningKeyOutput(keys, many=True).data)

    @extend_schema(
        operation_id="signing_keys_register",
        tags=["signing keys"],
        summary="Give the single window a key to sign the enterprise's customs messages",
        description=(
            "Customs accepts a list only when the declaring enterprise signed it (-621015). For "
            "documents sent as JSON, the single window signs the CEB621/CEB623 messages it sends "
            "with this key (rsa-sha1), and only messages the enterprise declares. The private key is "
            "kept encrypted and never shown again; the certificate is registered as one of the "
            "enterprise's certificates if it is not already. A new key replaces the active one. "
            "Refused: a key that is not an unencrypted RSA key (400 signing_key_invalid), a "
            "certificate without its public key (400 signing_key_mismatch), a revoked or expired "
            "certificate (400), one registered by another enterprise (409 certificate_duplicate)."
        ),
        request=InputSerializer,
        responses={201: SigningKeyOutput, **problems(400, 409, 415)},
        examples=[
            OpenApiExample(
                "A key and its certificate",
                value={"private_key_pem": PRIVATE_KEY_PEM_EXAMPLE, "certificate_pem": CERTIFICATE_PEM_EXAMPLE},
                request_only=True,
            ),
            OpenApiExample("Registered", value=SIGNING_KEY_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        signing_key = services.signing_key_register(
            enterprise=caller_enterprise(request),
            private_key_pem=data.validated_data["private_key_pem"],
            certificate_pem=data.validated_data["certificate_pem"],
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(SigningKeyOutput(signing_key).data, status=status.HTTP_201_CREATED)


class SigningKeyDetailApi(APIView):
    @extend_schema(
        operation_id="signing_keys_revoke",
        tags=["signing keys"],
        summary="Revoke a signing key",
        description=(
            "The gateway stops signing with it at once: until another key is registered, lists "
            "declared from JSON go to send_failed. Its certificate stays registered. Revoking twice "
            "is harmless."
        ),
        responses={204: None, **problems(404)},
    )
    def delete(self, request: Request, signing_key_id: int) -> Response:
        signing_key = get_object_or_404(
            selectors.signing_keys_for(enterprise=caller_enterprise(request)), pk=signing_key_id
        )
        services.signing_key_revoke(signing_key=signing_key, actor=request.user.actor)  # type: ignore[union-attr]
        return Response(status=status.HTTP_204_NO_CONTENT)
