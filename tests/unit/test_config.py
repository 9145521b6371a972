import pytest

from diffchat_tui import paths
from diffchat_tui.config import load_settings
from diffchat_tui.core.errors import BadInput


def test_diffchat_home_holds_config_data_and_cache(temp_home):
    assert paths.config_file() == temp_home / "config" / "config.toml"
    assert paths.data_dir() == temp_home / "data"
    assert paths.cache_dir() == temp_home / "cache"


def test_defaults_without_a_file():
    settings = load_settings()
    assert settings.llm.model == "embedded"
    assert settings.llm.temperature == 0.0


def write_config(text: str) -> None:
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text(text)


def test_file_then_environment_override(monkeypatch):
    write_config('[llm]\nmodel = "/models/a.gguf"\nseed = 7\n')
    assert load_settings().llm.model == "/models/a.gguf"
    monkeypatch.setenv("DIFFCHAT_LLM__SEED", "9")
    settings = load_settings()
    assert (settings.llm.model, settings.llm.seed) == ("/models/a.gguf", 9)


def test_broken_toml_is_one_line_bad_input():
    write_config("[llm\nmodel = ")
    with pytest.raises(BadInput, match="not valid TOML"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[llm]\ntemperature = "hot"\n', "llm.temperature"),
        ("[llm]\nmodle = 'x'\n", "llm.modle"),
        ("[lm]\nmodel = 'x'\n", "lm"),
    ],
)
def test_bad_values_and_typos_name_the_setting(text, where):
    write_config(text)
    with pytest.raises(BadInput, match=f"bad setting {where}"):
        load_settings()
