import pytest

from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.text import clean_user_text, decode_utf8, strip_escapes


@pytest.mark.parametrize(
    "raw",
    [
        "\x1b[2J\x1b[Ha cat",  # clear screen, cursor home
        "\x1b]0;pwned\x07a cat",  # window title, BEL-terminated
        "\x1b]52;c;ZXZpbA==\x1b\\a cat",  # clipboard write, ST-terminated
        "\x9b31ma cat",  # 8-bit CSI
        "\x1bca cat",  # full reset
        "\x00a\x08 cat\x7f",
    ],
)
def test_escape_sequences_and_controls_are_removed(raw):
    assert strip_escapes(raw) == "a cat"


def test_clean_user_text_strips_and_warns():
    cleaned = clean_user_text("a cat\x1b[31m on\ta\nsofa ", "source", 100)
    assert cleaned.text == "a cat on a sofa"
    assert cleaned.warnings == ["source: removed control or escape characters"]


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "\x1b[0m"])
def test_empty_input_is_bad_input(raw):
    with pytest.raises(BadInput, match="instruction is empty"):
        clean_user_text(raw, "instruction", 100)


def test_oversized_input_is_cut_at_a_boundary_with_a_warning():
    cleaned = clean_user_text(", ".join(["a red cat"] * 100), "source", 100)
    assert len(cleaned.text) <= 100
    assert cleaned.text.endswith("a red cat")
    assert "too long" in cleaned.warnings[0]


def test_decode_utf8_refuses_invalid_bytes():
    assert decode_utf8("café".encode(), "stdin") == "café"
    with pytest.raises(BadInput, match="stdin is not valid UTF-8"):
        decode_utf8(b"a cat \xff\xfe", "stdin")
