"""CITATION.cff is a valid CFF 1.2.0 file whose version is the package's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: CFF 1.2.0: the top-level keys, the required ones, and the reference keys this file uses.
TOP_LEVEL = {
    "abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi", "identifiers",
    "keywords", "license", "license-url", "message", "preferred-citation", "references", "repository",
    "repository-artifact", "repository-code", "title", "type", "url", "version",
}  # fmt: skip
REQUIRED = {"authors", "cff-version", "message", "title"}
REFERENCE_INTEGERS = {"volume", "year", "start", "end", "month", "pages"}
DATE = re.compile(r"^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$")
URL = re.compile(r"^(https|http|ftp|sftp)://.+")


def _cff() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_citation_is_valid_cff_1_2_0() -> None:
    cff = _cff()
    assert REQUIRED <= set(cff) <= TOP_LEVEL, set(cff) - TOP_LEVEL
    assert cff["cff-version"] == "1.2.0" and cff["type"] in {"software", "dataset"}
    assert isinstance(cff["date-released"], str) and DATE.match(cff["date-released"])  # quoted
    assert cff["license"] == _project()["license"]
    assert cff["authors"] and all("name" in a or "family-names" in a for a in cff["authors"])
    for key in ("url", "repository-code", "repository"):
        assert key not in cff or URL.match(cff[key]), key
    for ref in cff["references"]:
        assert {"type", "title", "authors"} <= set(ref), ref["title"]
        assert all(isinstance(ref[k], int) for k in REFERENCE_INTEGERS & set(ref)), ref["title"]
        assert "url" not in ref or URL.match(ref["url"])


def test_citation_and_readme_cite_the_package_version() -> None:
    version = _project()["version"]
    assert _cff()["version"] == version
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("## Cite", 1)[1]
    assert re.search(r"version\s*=\s*\{([^}]*)\}", readme).group(1) == version


def test_citation_states_no_study_size() -> None:
    """The study's protocols, models and seeds come from the config, not from this file."""
    count = r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    things = r"\s+(split\s+|random\s+)?(protocols|models|seeds|settings|datasets|runs)\b"
    assert not re.search(count + things, _cff()["abstract"].lower())
