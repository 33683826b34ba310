"""The README documents every setting, and the default config file names each one."""

from __future__ import annotations

import tomllib

from feedserver.config import SETTINGS
from tests.conftest import REPO


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [s.key for s in SETTINGS if f"| `{s.key}` | `{s.env_name}` |" not in readme]
    assert not missing, f"settings missing from README.md's configuration table: {missing}"


def test_default_config_file_sets_every_key() -> None:
    with open(REPO / "config" / "feedserver.toml", "rb") as handle:
        data = tomllib.load(handle)
    keys = {f"{group}.{name}" for group, values in data.items() for name in values}
    assert keys == {s.key for s in SETTINGS}


def test_readme_gives_the_ci_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = ".venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
    assert command in readme
    assert command in ci


def test_the_schemas_ship_in_the_package_as_their_readme_lists_them() -> None:
    """A clone tests on its own, and `feedserver check` validates with the same files:
    every schema is package data, byte for byte the file whose origin the README gives."""
    import hashlib
    import re
    from importlib.resources import files

    folder = files("feedserver") / "schemas"
    listed = dict(
        (name, digest)
        for digest, name in re.findall(
            r"^([0-9a-f]{64})  (\S+)$", (folder / "README.md").read_text(encoding="utf-8"), re.M
        )
    )
    shipped = {entry.name for entry in folder.iterdir() if entry.name != "README.md"}
    assert shipped == set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
