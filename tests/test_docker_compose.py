"""docker-compose.yml as a pilot area deploys it: five services, each checked for health where it
can be, started in order, given every secret production needs, and running only commands this
project has. No container runs here: the file is read and each command resolved in the project.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from celery.bin.celery import celery as celery_cli
from django.core.management import get_commands
from django.urls import resolve

from core.views import HealthApi

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = ("postgres", "redis", "web", "worker", "beat")
DJANGO_SERVICES = ("web", "worker", "beat")
HEALTH_CHECKED = ("postgres", "redis", "web", "worker")
# Programs that come with the postgres and redis images, not with the project.
IMAGE_TOOLS = {"pg_isready", "redis-cli", "redis-server", "grep"}
SHELL_OPERATORS = {"&&", "||", ";", "|"}
# A WSGI target such as ``config.wsgi:application`` (and not a ``0.0.0.0:8000`` bind address).
WSGI_TARGET = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):(?P<name>[A-Za-z_]\w*)$")
REQUIRED_VARIABLE = re.compile(r"\$\{(?P<name>\w+):\?")


# --- Reading the files ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    """A service's ``environment``, in either of the forms compose accepts."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(str(item).partition("=")[::2] for item in raw)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def env_reads(settings_file: Path) -> dict[str, bool]:
    """The variables a settings module reads through ``env.<type>(NAME, ...)``: name -> has a default."""
    reads: dict[str, bool] = {}
    for node in ast.walk(ast.parse(settings_file.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            reads[node.args[0].value] = any(keyword.arg == "default" for keyword in node.keywords)
    return reads


def example_variables() -> set[str]:
    """Names ``.env.example`` lists, set (``NAME=``) or shown with their default (``# NAME=``)."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


# --- Commands -------------------------------------------------------------------------------


def simple_commands(command: str | list[str]) -> list[list[str]]:
    """A compose ``command`` or health check ``test``, split into the simple commands it runs."""
    argv = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
    if argv[:1] == ["CMD"]:
        argv = argv[1:]
    elif argv[:1] == ["CMD-SHELL"]:
        argv = ["sh", "-c", " ".join(argv[1:])]
    if len(argv) == 3 and argv[:2] in (["sh", "-c"], ["/bin/sh", "-c"]):
        return split_shell(argv[2])
    return [argv]


def split_shell(script: str) -> list[list[str]]:
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in SHELL_OPERATORS:
            commands.append([])
        else:
            commands[-1].append(token)
    return [strip_prefixes(argv) for argv in commands if argv]


def strip_prefixes(argv: list[str]) -> list[str]:
    """``exec`` and ``NAME=value`` before a command change how it runs, not what it is."""
    while argv and (argv[0] == "exec" or re.match(r"^[A-Za-z_]\w*=", argv[0])):
        argv = argv[1:]
    return argv


def defines_at_top_level(module_file: Path, name: str) -> bool:
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return True
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            return True
    return False


def module_file(dotted: str) -> Path:
    base = ROOT.joinpath(*dotted.split("."))
    candidates = [base.with_suffix(".py"), base / "__init__.py"]
    found = next((path for path in candidates if path.is_file()), None)
    assert found is not None, f"{dotted} is not a module of the project"
    return found


def check_gunicorn(argv: list[str]) -> None:
    targets = [match for arg in argv[1:] if (match := WSGI_TARGET.match(arg))]
    assert len(targets) == 1, f"gunicorn needs one MODULE:NAME, got {argv}"
    module, name = targets[0]["module"], targets[0]["name"]
    assert defines_at_top_level(module_file(module), name), f"{module} defines no {name}"


def check_celery(argv: list[str]) -> None:
    app_name, subcommand = None, None
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-A", "--app"):
            app_name = next(args)
        elif arg.startswith("--app="):
            app_name = arg.partition("=")[2]
        elif not arg.startswith("-"):
            subcommand = arg
            break
    assert app_name is not None, f"celery without -A: {argv}"
    # Resolved exactly as `celery -A` resolves it: `config` leads to config.celery.app.
    assert isinstance(find_app(app_name), Celery)
    if app_name == "config":
        assert defines_at_top_level(ROOT / "config" / "celery.py", "app")
    assert subcommand in celery_cli.commands, f"celery has no command {subcommand!r}"


def check_python(argv: list[str]) -> None:
    if argv[1] == "-c":
        compile(argv[2], "<health check>", "exec")
        return
    assert argv[1] == "manage.py", f"python runs only manage.py or -c here, got {argv}"
    assert (ROOT / "manage.py").is_file()
    assert argv[2] in get_commands(), f"manage.py has no command {argv[2]!r}"


def check_command(argv: list[str]) -> None:
    program = Path(argv[0]).name
    if program in ("python", "python3"):
        check_python(argv)
    elif program == "gunicorn":
        check_gunicorn(argv)
    elif program == "celery":
        check_celery(argv)
    else:
        assert program in IMAGE_TOOLS, f"{program} is neither the project's nor its images'"


# --- Services -------------------------------------------------------------------------------


def test_it_defines_the_five_services_of_a_pilot_area(services: dict[str, dict[str, Any]]) -> None:
    assert set(SERVICES) <= set(services)


@pytest.mark.parametrize("name", HEALTH_CHECKED)
def test_each_long_running_service_reports_its_health(services: dict[str, dict[str, Any]], name: str) -> None:
    healthcheck = services[name].get("healthcheck") or {}

    assert not healthcheck.get("disable", False)
    assert healthcheck.get("test")
    assert healthcheck["test"][:1] != ["NONE"]


@pytest.mark.parametrize("name", SERVICES)
def test_every_command_a_service_runs_exists_in_the_project(services: dict[str, dict[str, Any]], name: str) -> None:
    service = services[name]
    commands = [service[key] for key in ("command", "entrypoint") if key in service]
    if "healthcheck" in service:
        commands.append(service["healthcheck"]["test"])
    for command in commands:
        for argv in simple_commands(command):
            check_command(argv)


def test_the_web_server_runs_migrations_then_the_project_wsgi_application(
    services: dict[str, dict[str, Any]],
) -> None:
    commands = simple_commands(services["web"]["command"])

    assert commands[0][:3] == ["python", "manage.py", "migrate"]
    assert commands[-1][:2] == ["gunicorn", "config.wsgi:application"]


def test_the_web_health_check_calls_the_health_endpoint_on_the_port_gunicorn_binds(
    services: dict[str, dict[str, Any]],
) -> None:
    check = " ".join(services["web"]["healthcheck"]["test"])
    url = re.search(r"http://localhost:(?P<port>\d+)(?P<path>/[\w/]*)", check)
    assert url is not None

    gunicorn = simple_commands(services["web"]["command"])[-1]
    assert gunicorn[gunicorn.index("--bind") + 1] == f"0.0.0.0:{url['port']}"
    assert getattr(resolve(url["path"]).func, "view_class", None) is HealthApi


def test_worker_and_beat_run_the_project_celery_app(services: dict[str, dict[str, Any]]) -> None:
    assert simple_commands(services["worker"]["command"])[0][:4] == ["celery", "-A", "config", "worker"]
    assert simple_commands(services["beat"]["command"])[0][:4] == ["celery", "-A", "config", "beat"]


# --- Configuration --------------------------------------------------------------------------


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_django_services_run_with_production_settings(services: dict[str, dict[str, Any]], name: str) -> None:
    assert environment_of(services[name])["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_every_variable_production_settings_require_is_provided(services: dict[str, dict[str, Any]], name: str) -> None:
    reads = env_reads(ROOT / "config" / "settings" / "production.py")
    required = {var for var, has_default in reads.items() if not has_default}
    environment = environment_of(services[name])

    assert required  # the parse found the secrets, so the check below means something
    assert {var for var in required if environment.get(var)} == required


def test_variables_compose_requires_are_listed_in_the_env_example() -> None:
    required = set(REQUIRED_VARIABLE.findall(COMPOSE_FILE.read_text(encoding="utf-8")))

    assert required
    assert required <= example_variables()


def test_the_env_example_lists_every_variable_the_settings_read() -> None:
    read = {var for path in (ROOT / "config/settings").glob("*.py") for var in env_reads(path)}

    assert read - example_variables() == set()


@pytest.mark.parametrize("name", SERVICES)
def test_services_wait_for_their_dependencies_to_be_healthy(services: dict[str, dict[str, Any]], name: str) -> None:
    depends_on = services[name].get("depends_on") or {}

    assert isinstance(depends_on, dict), "the list form cannot wait for health"
    for dependency, options in depends_on.items():
        assert options == {"condition": "service_healthy"}
        assert "healthcheck" in services[dependency]


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_django_services_start_after_postgres_and_redis(services: dict[str, dict[str, Any]], name: str) -> None:
    assert {"postgres", "redis"} <= set(services[name]["depends_on"])


# --- The image ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_django_services_build_the_project_dockerfile(services: dict[str, dict[str, Any]], name: str) -> None:
    build = services[name]["build"]
    if isinstance(build, str):
        build = {"context": build}
    context = (COMPOSE_FILE.parent / build["context"]).resolve()

    assert context == ROOT
    assert (context / build.get("dockerfile", "Dockerfile")).is_file()


def test_the_image_python_satisfies_the_project(services: dict[str, dict[str, Any]]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    image = re.search(r"^FROM python:(\d+)\.(\d+)", dockerfile, flags=re.MULTILINE)
    minimum = re.fullmatch(r">=(\d+)\.(\d+)", requires)
    assert image is not None
    assert minimum is not None

    assert (int(image[1]), int(image[2])) >= (int(minimum[1]), int(minimum[2]))


def test_the_image_default_command_exists_in_the_project() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, flags=re.MULTILINE)
    assert cmd is not None

    check_command(json.loads(cmd[1]))


def test_secrets_stay_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()

    assert ".env" in ignored
