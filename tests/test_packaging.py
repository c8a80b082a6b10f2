"""What a wheel carries besides the code (issue 25): the license, as an SPDX expression with its
file, and the PEP 561 marker that the package ships type hints."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_an_spdx_expression_with_its_file():
    pyproject = _pyproject()
    project = pyproject["project"]
    assert project["license"] == "BSD-3-Clause"  # a string: setuptools deprecates the table form
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License") and "the skkeras_prep developers" in text
    # license-files and the SPDX string need setuptools >= 77 (PEP 639)
    bounds = [re.match(r"setuptools>=(\d+)", req) for req in pyproject["build-system"]["requires"]]
    assert any(bound and int(bound.group(1)) >= 77 for bound in bounds)


def test_type_hint_marker_is_shipped():
    assert (ROOT / "skkeras_prep" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["skkeras_prep"]
