"""`diffchat history` over logged one-shot edits, as a user runs it."""

import json
from pathlib import Path


def test_edits_are_logged_searched_shown_and_exported(cli, tmp_path):
    assert cli("edit", "a lighthouse on a cliff", "-i", "make it stormy").code == 0
    assert cli("edit", "a cat on a sofa", "-i", "add a hat", "--no-log").code == 0
    assert cli("edit", "a fox in the snow", "-i", "make it night", env={"DIFFCHAT_HISTORY__LOG": "false"}).code == 0

    listed = json.loads(cli("history", "list", "--json").stdout)
    assert [(s["origin"], s["title"], s["versions"]) for s in listed] == [("edit", "a lighthouse on a cliff", 2)]
    session = listed[0]["id"]

    hits = json.loads(cli("history", "search", "stormy", "--json").stdout)
    assert [(h["session"], h["instruction"]) for h in hits] == [(session, "make it stormy")]
    assert json.loads(cli("history", "search", "giraffe", "--json").stdout) == []

    shown = json.loads(cli("history", "show", str(session), "--json").stdout)
    source, edit = shown["versions"]
    assert source["prompt"] == "a lighthouse on a cliff" and edit["instruction"] == "make it stormy" and edit["script"]

    table = cli("history", "search", "lighthouse")
    assert table.code == 0 and "lighthouse" in table.stdout
    paths = cli("history", "export", str(session), "-o", str(tmp_path / "out")).stdout.split()
    assert [Path(p).suffix for p in paths] == [".md", ".json"] and all(Path(p).is_file() for p in paths)
    assert cli("history", "reindex").stdout.strip() == "diffchat: indexed 2 versions"


def test_an_unknown_session_is_one_line_exit_2(cli):
    for command in ("show", "export"):
        run = cli("history", command, "99")
        assert run.code == 2 and run.stderr_lines == ["diffchat: error: no session 99 (see diffchat history list)"]
