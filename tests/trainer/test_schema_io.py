"""The InstructPE schema and the loaders: every bad row is reported with its line, none dropped silently."""

import json

import pytest

from trainer.data.io import load_records, write_jsonl
from trainer.data.schema import Checks, Record, contains_phrase

GOOD = {
    "source_prompt": "a cat on a sofa",
    "instruction": "add a red umbrella",
    "beautified_source_prompt": "a cat on a sofa, highly detailed",
    "beautified_target_prompt": "a cat on a sofa, a red umbrella, highly detailed",
}


def line(**changes) -> str:
    record = {**GOOD, **changes}
    return json.dumps({key: value for key, value in record.items() if value is not ...})


def test_released_four_fields_are_enough_and_extras_are_kept():
    record = Record.model_validate({**GOOD, "id": 7, "source": "instructpix2pix"})
    assert record.history == [] and record.checks is None and record.heldout is False
    assert record.to_json() == {**GOOD, "id": 7, "source": "instructpix2pix"}  # no defaults added, extras kept


def test_checks_match_whole_words_ignoring_case_and_punctuation():
    assert contains_phrase("A Red Umbrella, night", "red umbrella")
    assert not contains_phrase("a seagull", "seagulls") and not contains_phrase("candlelight", "light")
    assert contains_phrase("a close-up shot", "close-up shot")
    checks = Checks(must_include=["red umbrella"], must_exclude=["cat"], keep=["sofa"])
    assert checks.failures("a dog on a sofa, a red umbrella") == []
    assert checks.failures("a cat, a blue umbrella") == ["lacks 'red umbrella'", "still has 'cat'", "lost 'sofa'"]


def test_jsonl_reports_each_bad_line_with_its_number(tmp_path):
    rows = [
        line(),  # 1
        '{"source_prompt": "a cat",',  # 2: broken JSON
        line(instruction=...),  # 3: missing field
        line(instruction=5),  # 4: wrong type
        line(source_prompt="   "),  # 5: empty
        "[1, 2]",  # 6: not an object
        line(instruction="add\na hat"),  # 7: newline inside
        line(heldout="yes"),  # 8: not a boolean
        line(history=[{"instruction": "make it night"}]),  # 9: history turn without target
        line(checks={"must_exclude": ["umbrella"]}),  # 10: target fails its own checks
        "",  # 11: blank lines are not rows
        line(category="add", history=[{"instruction": "make it night", "target": "a cat, night"}]),  # 12
    ]
    path = tmp_path / "data.jsonl"
    path.write_bytes("\n".join(rows).encode() + b"\n" + line(instruction="x").encode()[:-3] + b'\xff"}\n')  # 13

    loaded = load_records(path)

    assert [record.instruction for record in loaded.records] == ["add a red umbrella"] * 2
    assert loaded.lines == [1, 12]
    reasons = {error.line: error.reason for error in loaded.errors}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 13]
    assert reasons[2].startswith("not valid JSON")
    assert reasons[3] == 'missing "instruction"'
    assert reasons[4] == '"instruction" must be a string'
    assert reasons[5] == '"source_prompt" is empty'
    assert reasons[6] == "expected a JSON object, got a list"
    assert "newline" in reasons[7]
    assert reasons[8] == '"heldout" must be true or false'
    assert reasons[9] == 'missing "history.0.target"'
    assert "fails its checks" in reasons[10] and "still has 'umbrella'" in reasons[10]
    assert reasons[13].startswith("not valid UTF-8")
    assert all("\n" not in reason for reason in reasons.values())
    assert loaded.errors[0].located("data.jsonl") == f"data.jsonl:2: {reasons[2]}"


def test_json_list_reports_item_index_and_line(tmp_path):
    items = [GOOD, {**GOOD, "instruction": ""}, {**GOOD, "category": ["add"]}, GOOD]
    path = tmp_path / "data.json"
    path.write_text("\ufeff[\n" + ",\n".join(json.dumps(item, indent=2) for item in items) + "\n]\n", encoding="utf-8")

    loaded = load_records(path)

    assert loaded.form == "json-list" and len(loaded.records) == 2
    first_line_of = [1 + 1 + sum(json.dumps(item, indent=2).count("\n") + 1 for item in items[:i]) for i in range(4)]
    assert [(error.index, error.line) for error in loaded.errors] == [(1, first_line_of[1]), (2, first_line_of[2])]
    assert loaded.errors[0].located("d.json") == f'd.json:{first_line_of[1]}: item 1: "instruction" is empty'
    assert loaded.lines == [first_line_of[0], first_line_of[3]]


def test_json_list_syntax_error_is_reported_where_it_stops(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("[\n" + json.dumps(GOOD) + ",\n" + json.dumps(GOOD)[:-5] + "\n]\n")

    loaded = load_records(path)

    assert len(loaded.records) == 1
    (error,) = loaded.errors
    assert (error.index, error.line) == (1, 3)
    assert "rest of the file was not read" in error.reason


def test_a_jsonl_file_starting_with_a_list_line_is_still_jsonl(tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_text("[1]\n" + line() + "\n")
    loaded = load_records(path)
    assert loaded.form == "jsonl" and len(loaded.records) == 1 and loaded.errors[0].line == 1


def test_write_is_atomic_and_round_trips(tmp_path):
    path = tmp_path / "out" / "data.jsonl"
    records = [Record.model_validate({**GOOD, "id": i}) for i in range(3)]
    assert write_jsonl(path, records) == 3
    assert [record.to_json() for record in load_records(path).records] == [record.to_json() for record in records]

    class Boom(Exception):
        pass

    def failing():  # a crash in the middle of writing (fault injection)
        yield records[0]
        raise Boom

    with pytest.raises(Boom):
        write_jsonl(path, failing())
    assert len(load_records(path).records) == 3  # the old file is intact
    assert [p.name for p in path.parent.iterdir()] == ["data.jsonl"]  # and no temporary file is left
