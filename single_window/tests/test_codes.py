"""Enterprise codes: the USCC check character (GB 32100-2015) and the customs code format."""

from __future__ import annotations

import itertools

import pytest

from core import errors
from core.errors import ApiError
from core.models import AuditEntry
from single_window import services
from single_window.codes import (
    USCC_ALPHABET,
    is_valid_customs_code,
    is_valid_uscc,
    uscc_check_character,
)
from single_window.models import Enterprise, EnterpriseRole, Role
from tests.factories import TEST_ACTOR

# The worked example of GB 32100-2015 and a code whose check value is 31, written "0".
GB_EXAMPLE = "91350100M000100Y43"
CHECK_VALUE_ZERO = "91330100MA2H0B4XP0"
# The weights as the standard prints them (3^i mod 31), kept apart from the code under test.
GB_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _first_body_with_check_zero() -> str:
    """Search 17-character bodies until one's check value comes out as 31 (written 0)."""
    for tail in itertools.product(USCC_ALPHABET, repeat=2):
        body = "913301007" + "".join(tail) + "123456"
        if uscc_check_character(body) == "0":
            return body
    raise AssertionError("no body with check character 0 in the searched range")


@pytest.mark.parametrize("code", [GB_EXAMPLE, CHECK_VALUE_ZERO, "914403001922038216", "91330100716105852F"])
def test_it_accepts_a_uscc_with_the_right_check_character(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_character(code[:17]) == code[17]


def test_it_computes_a_check_value_of_31_as_zero() -> None:
    body = _first_body_with_check_zero()
    weights_sum = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(body, GB_WEIGHTS, strict=True))

    assert weights_sum % 31 == 0  # 31 - 0 = 31, which the standard writes as 0
    assert is_valid_uscc(body + "0")
    assert uscc_check_character(CHECK_VALUE_ZERO[:17]) == "0"
    for wrong in USCC_ALPHABET.replace("0", ""):
        assert not is_valid_uscc(body + wrong)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(GB_EXAMPLE[:17] + "4", id="wrong-check-character"),
        pytest.param(CHECK_VALUE_ZERO[:17] + "1", id="zero-check-written-as-1"),
        pytest.param(GB_EXAMPLE[:17] + "Y", id="check-character-of-the-alphabet-but-wrong"),
        pytest.param("91350100M000100Y4", id="17-characters"),
        pytest.param("91350100M000100Y433", id="19-characters"),
        pytest.param("", id="empty"),
        pytest.param(GB_EXAMPLE.lower(), id="lowercase"),
        pytest.param("91350100I000100Y43", id="letter-I"),
        pytest.param("91350100O000100Y43", id="letter-O"),
        pytest.param("91350100S000100Y43", id="letter-S"),
        pytest.param("91350100V000100Y43", id="letter-V"),
        pytest.param("91350100Z000100Y43", id="letter-Z"),
        pytest.param("91350100-000100Y43", id="punctuation"),
    ],
)
def test_it_rejects_a_bad_uscc(code: str) -> None:
    assert not is_valid_uscc(code)


@pytest.mark.parametrize("code", ["3301960001", "33019600A1", "ABCDEFGHIJ"])
def test_it_accepts_a_customs_code_of_ten_digits_or_capitals(code: str) -> None:
    assert is_valid_customs_code(code)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("330196000", id="9-characters"),
        pytest.param("33019600011", id="11-characters"),
        pytest.param("3301-96000", id="punctuation"),
        pytest.param("33019600a1", id="lowercase"),
        pytest.param("", id="empty"),
        pytest.param("".join(chr(ord(c) + 0xFEE0) for c in "3301960001"), id="fullwidth-digits"),
    ],
)
def test_it_rejects_a_badly_formed_customs_code(code: str) -> None:
    assert not is_valid_customs_code(code)


# --- Registering enterprises ---------------------------------------------------------------


def _registry_state() -> tuple[int, int, int]:
    return Enterprise.objects.count(), EnterpriseRole.objects.count(), AuditEntry.objects.count()


@pytest.mark.parametrize(
    ("codes", "field", "code"),
    [
        pytest.param({"uscc": GB_EXAMPLE[:17] + "4"}, "uscc", errors.USCC_CHECK_CHARACTER, id="uscc-check"),
        pytest.param({"uscc": "91350100I000100Y43"}, "uscc", errors.USCC_FORMAT, id="uscc-alphabet"),
        pytest.param({"uscc": "9135"}, "uscc", errors.USCC_FORMAT, id="uscc-length"),
        pytest.param({"customs_code": "33019600"}, "customs_code", errors.CUSTOMS_CODE_FORMAT, id="customs-length"),
        pytest.param({"customs_code": "3301-96000"}, "customs_code", errors.CUSTOMS_CODE_FORMAT, id="customs-chars"),
        pytest.param({}, None, errors.ENTERPRISE_CODE_REQUIRED, id="no-code"),
    ],
)
def test_registering_rejects_bad_codes_and_stores_nothing(
    db: None, codes: dict[str, str], field: str | None, code: str
) -> None:
    before = _registry_state()

    with pytest.raises(ApiError) as caught:
        services.enterprise_register(
            name="Bad Codes Ltd",
            roles=[Role.EBC],
            customs_code=codes.get("customs_code"),
            uscc=codes.get("uscc"),
            actor=TEST_ACTOR,
        )

    assert caught.value.status_code == 400
    assert caught.value.code == errors.VALIDATION_FAILED
    assert [(e.field, e.code) for e in caught.value.errors] == [(field, code)]
    assert _registry_state() == before


def test_registering_rejects_an_unknown_role(db: None) -> None:
    before = _registry_state()

    with pytest.raises(ApiError) as caught:
        services.enterprise_register(name="X", roles=["smuggler"], customs_code="3301960001", actor=TEST_ACTOR)

    assert [(e.field, e.code) for e in caught.value.errors] == [("roles", errors.INVALID)]
    assert _registry_state() == before


def test_registering_normalises_case_and_spaces(db: None) -> None:
    enterprise = services.enterprise_register(
        name="Lower Case Ltd",
        roles=[Role.EBC, Role.EBP],
        customs_code=" 33019600a1 ",
        uscc=CHECK_VALUE_ZERO.lower(),
        actor=TEST_ACTOR,
    )

    stored = Enterprise.objects.get(pk=enterprise.pk)
    assert (stored.customs_code, stored.uscc) == ("33019600A1", CHECK_VALUE_ZERO)
    assert stored.status == Enterprise.Status.PENDING
    assert stored.roles == {Role.EBC, Role.EBP}
    entry = AuditEntry.objects.get(object_type="single_window.enterprise", object_id=str(stored.pk))
    assert entry.after is not None
    assert entry.after["roles"] == ["ebc", "ebp"]


def test_registering_a_taken_code_conflicts_and_stores_nothing(db: None) -> None:
    services.enterprise_register(name="First", roles=[Role.EBC], uscc=GB_EXAMPLE, actor=TEST_ACTOR)
    before = _registry_state()

    with pytest.raises(ApiError) as caught:
        services.enterprise_register(name="Second", roles=[Role.EBC], uscc=GB_EXAMPLE, actor=TEST_ACTOR)

    assert caught.value.status_code == 409
    assert _registry_state() == before
