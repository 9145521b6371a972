"""The live session without Textual or a model: undo, redo, branches and kept candidates, all written through."""

import pytest

from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.prompting import Turn
from diffchat_tui.engines.image import RenderRequest
from diffchat_tui.store.live import LiveSession
from diffchat_tui.store.sessions import SessionStore


def edit(session: LiveSession, instruction: str, target: str):
    """One instruction answered by one target, kept: what the TUI does with a single candidate."""
    [node] = session.add_candidates(instruction, session.tree.cursor, [Turn(instruction, target)], "a-model")
    session.keep(node, [node], {"seed": 3})
    return node


def reopened(session: LiveSession) -> LiveSession:
    return LiveSession.open(SessionStore(session.store.folder), session.id)


def test_undo_redo_and_a_branch_are_written_through(temp_home):
    session = LiveSession.new(SessionStore())
    root = session.add_source("a cat on a sofa", params={"seed": 3})
    night = edit(session, "make it night", "a cat on a sofa, night")
    assert session.current is night and night.parent_id == root.id

    assert session.undo() is root and session.current is root
    assert session.redo() is night  # back down the branch the undo came from
    session.undo()
    umbrella = edit(session, "add a red umbrella", "a cat on a sofa, a red umbrella")
    assert [child.id for child in session.tree.children(root.id)] == [night.id, umbrella.id]  # a branch; nothing deleted
    assert session.undo() is root and session.undo() is None

    again = reopened(session)  # what a restarted app sees
    assert again.current.id == root.id and len(again.tree.nodes) == 3
    assert again.conversation(umbrella.id)[1][0].instruction == "add a red umbrella"


def test_scripts_and_negative_prompts_are_kept_and_replayed(temp_home):
    session = LiveSession.new(SessionStore())
    root = session.add_source("a cat on a sofa", params={"seed": 1, "negative_prompt": "lowres"})
    [hat] = session.add_candidates("add a hat", root.id, [Turn("add a hat", "a cat on a sofa, a hat", "+ a hat", "lowres")], "m")
    session.keep(hat, [hat], {"seed": 1, "negative_prompt": "lowres, blurry"})  # the user's own change in the bar stays
    assert hat.params["negative_prompt"] == "lowres, blurry"
    answer = Turn("no text", "a cat on a sofa, a hat", "!+ text", "lowres, text")
    [plain] = session.add_candidates("no text", hat.id, [answer], "m")
    session.keep(plain, [plain], {"seed": 1, "negative_prompt": "lowres, blurry"})  # the script's `!` edit wins
    assert plain.params["negative_prompt"] == "lowres, text"

    again = reopened(session)
    source, turns = again.conversation(plain.id)
    assert source == "a cat on a sofa" and again.tree.start_negative(plain.id) == "lowres"
    assert [(t.script, t.negative) for t in turns] == [("+ a hat", "lowres, blurry"), ("!+ text", "lowres, text")]


def test_keeping_one_candidate_records_the_choice_and_passing_over_records_none(temp_home):
    session = LiveSession.new(SessionStore())
    root = session.add_source("a lighthouse on a cliff")
    answers = [Turn("make it stormy", target) for target in ("a lighthouse, storm", "a lighthouse, rain", "a lighthouse, fog")]
    stormy = session.add_candidates("make it stormy", root.id, answers, "m")
    assert session.current is root  # nothing is kept yet
    session.keep(stormy[1], stormy, {"seed": 5})
    assert session.current is stormy[1] and [n.choice for n in stormy] == ["rejected", "chosen", "rejected"]
    pairs = session.store.preference_pairs(session.id)
    assert len(pairs) == 2 and {p["chosen"] for p in pairs} == {"a lighthouse, rain"}

    passed = session.add_candidates("add a boat", stormy[1].id, [Turn("add a boat", "a boat"), Turn("add a boat", "two boats")], "m")
    session.pass_over(passed)
    assert session.current is stormy[1] and all(n.choice == "rejected" for n in passed)
    assert session.redo() is None  # rejected candidates are never redone into
    assert [n.choice for n in reopened(session).tree.children(stormy[1].id)] == ["rejected", "rejected"]


def test_a_render_is_recorded_with_the_parameters_it_really_used(temp_home):
    session = LiveSession.new(SessionStore())
    node = session.add_source("a fox", params={"seed": 9, "steps": None})
    path = session.image_path(node)
    assert path.parent.is_dir() and path.name == f"node-{node.id}.png"
    session.set_image(node, path, node.params, RenderRequest("a fox", seed=9, steps=2, cfg_scale=0.0, width=64, height=64))
    stored = reopened(session).tree.nodes[node.id]
    assert stored.image_path == str(path) and stored.params == {"seed": 9, "steps": 2, "cfg_scale": 0.0, "width": 64, "height": 64}
    meta = session.png_metadata(node, "tiny")
    assert meta["source_prompt"] == "a fox" and meta["image_model"] == "tiny" and meta["session"] == session.id


def test_opening_a_missing_session_is_bad_input(temp_home):
    with pytest.raises(BadInput, match="no session 99"):
        LiveSession.open(SessionStore(), 99)
