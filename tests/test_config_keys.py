"""riskwatch.config_keys: every key the loader understands is documented in the README (the table
generated from the one list of meanings) and shown in config.json; nothing documented is unknown."""

from __future__ import annotations

import json

import pytest

from conftest import REPO, write_config
from riskwatch.config import ConfigError, load_config
from riskwatch.config_keys import MEANINGS, SECTIONS, key_table, known_keys


def test_every_known_key_has_a_meaning_and_nothing_else_does() -> None:
    assert set(known_keys()) == set(MEANINGS)
    assert len(known_keys()) == len(set(known_keys()))


def test_the_readme_holds_the_generated_table() -> None:
    readme = (REPO / "README.md").read_text()
    assert key_table() in readme, "README's config table is stale: paste `python -m riskwatch.config_keys`"


def test_config_json_shows_every_key() -> None:
    config = json.loads((REPO / "config.json").read_text())
    def dotted(prefix: str, values: dict) -> set[str]:
        return {name for key, value in values.items() for name in
                (dotted(f"{prefix}{key}.", value) if isinstance(value, dict) and prefix == "compute."
                 else {prefix + key})}
    shown = {k for k, v in config.items() if not isinstance(v, dict) or k == "modes"}
    shown |= {name for section, values in config.items()
              if isinstance(values, dict) and section != "modes" for name in dotted(section + ".", values)}
    assert set(known_keys()) == shown


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_documented_section_key_is_checked_by_the_loader(tmp_path, section: str) -> None:
    """A key the README documents is one the loader knows: a misspelt one is refused by name."""
    path = write_config(tmp_path, **{section: {"not_a_key": 1}})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert section in str(caught.value) and "not_a_key" in str(caught.value)


def test_the_repository_config_loads_with_the_defaults_it_shows() -> None:
    cfg = load_config(REPO / "config.json")
    for section, defaults in SECTIONS.items():
        loaded = getattr(cfg, section)
        for key, value in defaults.items():
            assert json.loads(json.dumps(loaded[key], default=list)) == json.loads(json.dumps(value)), (section, key)
