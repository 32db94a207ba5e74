"""Every error of the API is RFC 9457 problem+json, in English or Chinese by Accept-Language.

Chinese texts are asserted exactly where they come from DRF's or Django's own catalogues;
the project's own strings only have to come back in the requested language's response.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import translation
from pytest_django.fixtures import Settings
from rest_framework import exceptions as drf
from rest_framework.test import APIClient

from core import errors
from single_window.models import ApiKey, Enterprise
from single_window.roles import AUDITOR
from tests.factories import ApiKeyFactory, Persona, assert_problem

ME = "/api/v1/enterprises/me"
KEYS = "/api/v1/keys"
LANGUAGES = [pytest.param("en", id="en"), pytest.param("zh-hans", id="zh")]


def _text(language: str, en: str, zh: str) -> str:
    return zh if language == "zh-hans" else en


def _translated(message: object, language: str) -> str:
    """``message`` in ``language``; for Chinese, a text that is not the English one.

    For messages whose msgid the project uses too ("Not found."), where the project's own
    catalogue may word them differently from DRF's.
    """
    with translation.override(language):
        text = str(message)
    with translation.override("en"):
        english = str(message)
    assert (text != english) is (language == "zh-hans")
    return text


@pytest.mark.parametrize("language", LANGUAGES)
def test_400_lists_every_field_error(language: str, owner: Persona, owner_client: APIClient) -> None:
    keys = list(ApiKey.objects.values_list("pk", flat=True))

    response = owner_client.post(KEYS, {"name": ""}, format="json", headers={"accept-language": language})

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert response["Content-Language"] == language
    assert body["instance"] == KEYS
    assert body["errors"] == [
        {
            "field": "name",
            "code": "blank",
            "message": _text(language, "This field may not be blank.", "该字段不能为空。"),
        }
    ]
    if language == "en":
        assert body["detail"] == "The request has invalid fields."
    assert list(ApiKey.objects.values_list("pk", flat=True)) == keys


@pytest.mark.parametrize("language", LANGUAGES)
def test_401_without_a_key(language: str, api_client: APIClient) -> None:
    response = api_client.get(ME, headers={"accept-language": language})

    body = assert_problem(response, 401, errors.NOT_AUTHENTICATED)
    assert response["Content-Language"] == language
    assert body["detail"] == _text(language, "Authentication credentials were not provided.", "身份认证信息未提供。")


@pytest.mark.parametrize("language", LANGUAGES)
def test_401_with_a_revoked_key_speaks_the_language_asked(language: str, owner: Persona, api_client: APIClient) -> None:
    ApiKey.objects.filter(pk=owner.api_key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    api_client.credentials(HTTP_AUTHORIZATION=owner.authorization, HTTP_ACCEPT_LANGUAGE=language)

    response = api_client.get(ME)

    assert_problem(response, 401, errors.API_KEY_REVOKED)
    assert response["Content-Language"] == language


@pytest.mark.parametrize("language", LANGUAGES)
def test_403_for_a_suspended_enterprise(language: str, owner: Persona, owner_client: APIClient) -> None:
    Enterprise.objects.filter(pk=owner.enterprise.pk).update(status=Enterprise.Status.SUSPENDED)

    response = owner_client.get(ME, headers={"accept-language": language})

    body = assert_problem(response, 403, errors.ENTERPRISE_SUSPENDED)
    assert response["Content-Language"] == language
    if language == "en":
        assert body["detail"] == "The enterprise is suspended."


@pytest.mark.parametrize("language", LANGUAGES)
def test_403_in_the_admin_is_an_html_page_in_the_language_asked(
    language: str, django_user_model: type[User], client: Client, owner: Persona
) -> None:
    auditor = django_user_model.objects.create_user(username="auditor", is_staff=True)
    auditor.groups.add(Group.objects.get(name=AUDITOR))
    client.force_login(auditor)

    response = client.post("/admin/single_window/park/add/", {"code": "X"}, headers={"accept-language": language})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Language"] == language
    assert _translated(drf.PermissionDenied.default_detail, language) in response.content.decode()


def test_403_for_a_client_that_asks_for_json_is_problem_json(
    django_user_model: type[User], client: Client, owner: Persona
) -> None:
    auditor = django_user_model.objects.create_user(username="auditor", is_staff=True)
    auditor.groups.add(Group.objects.get(name=AUDITOR))
    client.force_login(auditor)

    response = client.post("/admin/single_window/park/add/", {"code": "X"}, headers={"accept": "application/json"})

    assert_problem(response, 403, errors.PERMISSION_DENIED)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/enterprises/me", "/api/"])
def test_404_for_an_unknown_api_path(language: str, path: str, api_client: APIClient) -> None:
    response = api_client.get(path, headers={"accept-language": language})

    body = assert_problem(response, 404, errors.NOT_FOUND)
    assert response["Content-Language"] == language
    assert body["detail"] == _translated(drf.NotFound.default_detail, language)
    assert body["instance"] == path


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_an_unknown_api_path_is_404_whatever_the_method(method: str, owner_client: APIClient) -> None:
    response = getattr(owner_client, method)("/api/v1/no/such/thing", {"a": 1}, format="json")

    assert_problem(response, 404, errors.NOT_FOUND)


def test_an_unknown_api_path_is_404_for_head(api_client: APIClient) -> None:
    response = api_client.head("/api/v1/no/such/thing")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_404_outside_the_api_is_an_html_page_naming_no_url_pattern(db: None, client: Client) -> None:
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "URLconf" not in html
    assert "api/v1/" not in html


def test_404_outside_the_api_is_problem_json_for_a_client_that_asks_for_json(db: None, client: Client) -> None:
    assert_problem(client.get("/no/such/page", headers={"accept": "application/json"}), 404, errors.NOT_FOUND)


@pytest.mark.parametrize("language", LANGUAGES)
def test_405_for_a_method_the_endpoint_lacks(language: str, owner: Persona, owner_client: APIClient) -> None:
    response = owner_client.put(ME, {"name": "Renamed"}, format="json", headers={"accept-language": language})

    body = assert_problem(response, 405, errors.METHOD_NOT_ALLOWED)
    assert response["Content-Language"] == language
    assert body["detail"] == _text(language, 'Method "PUT" not allowed.', "方法 “PUT” 不被允许。")
    assert "GET" in response["Allow"]
    assert Enterprise.objects.get(pk=owner.enterprise.pk).name == owner.enterprise.name


@pytest.mark.parametrize("language", LANGUAGES)
def test_415_for_a_body_that_is_not_json(language: str, owner: Persona, owner_client: APIClient) -> None:
    keys = list(ApiKey.objects.values_list("pk", flat=True))

    response = owner_client.post(KEYS, "name=ERP", content_type="text/plain", headers={"accept-language": language})

    body = assert_problem(response, 415, errors.UNSUPPORTED_MEDIA_TYPE)
    assert response["Content-Language"] == language
    assert body["detail"] == _text(
        language, 'Unsupported media type "text/plain" in request.', "不支持请求中的媒体类型 “text/plain”。"
    )
    assert list(ApiKey.objects.values_list("pk", flat=True)) == keys


@pytest.mark.parametrize("language", LANGUAGES)
def test_400_for_a_body_that_is_not_valid_json(language: str, owner: Persona, owner_client: APIClient) -> None:
    keys = list(ApiKey.objects.values_list("pk", flat=True))

    response = owner_client.post(
        KEYS, '{"name": ', content_type="application/json", headers={"accept-language": language}
    )

    assert_problem(response, 400, errors.PARSE_ERROR)
    assert response["Content-Language"] == language
    assert list(ApiKey.objects.values_list("pk", flat=True)) == keys


@pytest.mark.parametrize("language", LANGUAGES)
def test_429_with_retry_after_when_throttled(
    language: str, owner: Persona, owner_client: APIClient, settings: Settings
) -> None:
    settings.API_THROTTLE_RATE = "2/min"
    headers = {"accept-language": language}
    assert [owner_client.get(ME, headers=headers).status_code for _ in range(2)] == [200, 200]

    response = owner_client.get(ME, headers=headers)

    body = assert_problem(response, 429, errors.THROTTLED)
    assert response["Content-Language"] == language
    assert 1 <= int(response["Retry-After"]) <= 60
    assert body["retry_after"] == int(response["Retry-After"])
    assert body["detail"].startswith(_text(language, "Request was throttled.", "请求已被限流。"))


def test_the_throttle_counts_per_key(
    owner: Persona, owner_client: APIClient, outsider_client: APIClient, settings: Settings
) -> None:
    settings.API_THROTTLE_RATE = "2/min"
    _second, second_raw = ApiKeyFactory.issue(enterprise=owner.enterprise)
    other_key_client = APIClient()
    other_key_client.credentials(HTTP_AUTHORIZATION=f"Bearer {second_raw}")
    for _ in range(2):
        owner_client.get(ME)

    assert_problem(owner_client.get(ME), 429, errors.THROTTLED)
    assert other_key_client.get(ME).status_code == 200
    assert outsider_client.get(ME).status_code == 200


def test_a_keys_own_rate_overrides_the_default(owner: Persona, settings: Settings) -> None:
    settings.API_THROTTLE_RATE = "100/min"
    _slow, raw = ApiKeyFactory.issue(enterprise=owner.enterprise, throttle_rate="1/min")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert client.get(ME).status_code == 200
    assert_problem(client.get(ME), 429, errors.THROTTLED)


def test_a_regional_chinese_tag_gets_simplified_chinese(api_client: APIClient) -> None:
    response = api_client.get(ME, headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"})

    body = assert_problem(response, 401, errors.NOT_AUTHENTICATED)
    assert response["Content-Language"] == "zh-hans"
    assert body["detail"] == "身份认证信息未提供。"


def test_english_is_the_default(api_client: APIClient) -> None:
    response = api_client.get(ME)

    assert response["Content-Language"] == "en"
    assert_problem(response, 401, errors.NOT_AUTHENTICATED)
