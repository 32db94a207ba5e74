"""The README's first calls use docs/examples; they must stay the documents the API accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from declarations.intake import examples

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "docs" / "examples"


@pytest.mark.parametrize("kind", sorted(examples.DOCUMENTS))
def test_the_readme_example_file_is_the_documented_example(kind: str) -> None:
    on_disk = json.loads((EXAMPLES_DIR / f"{kind}.json").read_text(encoding="utf-8"))
    assert on_disk == examples.DOCUMENTS[kind]


def test_the_readme_starts_with_the_two_commands() -> None:
    readme = (EXAMPLES_DIR.parent.parent / "README.md").read_text(encoding="utf-8")
    commands = [
        line.split("#")[0].strip() for line in readme.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()
    ]
    assert commands == ["make run", "make test"]
