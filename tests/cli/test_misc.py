"""--help, --version, `config` and `models`."""

import subprocess
import sys

from diffchat_tui import __version__

HEAVY = ("torch", "transformers", "diffusers", "llama_cpp", "textual")


def test_version(cli):
    run = cli("--version")
    assert (run.code, run.stdout.strip()) == (0, f"diffchat {__version__}")


def test_help_lists_commands_and_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from diffchat_tui.cli import main\n"
        "sys.argv = ['diffchat', 'edit', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--instruction" in proc.stdout and "--batch" in proc.stdout
    assert proc.stdout.strip().endswith("HEAVY []")


def test_an_edit_starts_without_a_cyclic_collection(embedded_path):
    """Start-up's objects all live to the exit: collecting them frees nothing and cost 35-45 ms of an edit."""
    code = (
        "import gc, sys\n"
        "from diffchat_tui.__main__ import main\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and print('collection', info['generation'], file=sys.stderr))\n"
        f"sys.argv = ['diffchat', 'edit', 'a cat on a sofa', '-i', 'make it cyberpunk at night', '--model', {str(embedded_path)!r}]\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "cat" in proc.stdout, proc.stderr
    assert "collection" not in proc.stderr


def test_a_run_builds_only_the_command_it_starts_with(cli):
    from diffchat_tui.cli import app, app_for

    def names(typer_app):
        return sorted([info.name for info in typer_app.registered_commands] + [info.name for info in typer_app.registered_groups])

    assert names(app_for(["edit", "a cat", "-i", "x"])) == ["edit"]
    assert names(app_for(["history", "list"])) == ["history"]
    assert len(names(app)) > 10 and names(app_for(["edit"])) != names(app)  # pruning a copy leaves the app whole
    for args in ([], ["--help"], ["edti"], ["--image-model", "render", "edit"]):  # after an option, a name may be its value
        assert app_for(args) is app
    run = cli("--image-model", "render", "edit", "--help")
    assert run.code == 0 and "--instruction" in run.stdout
    assert "Did you mean 'edit'" in cli("edti").stderr


def test_config_path_and_show_follow_diffchat_home(cli, temp_home):
    assert cli("config", "path").stdout.strip() == str(temp_home / "config" / "config.toml")
    (temp_home / "config").mkdir(parents=True)
    (temp_home / "config" / "config.toml").write_text('[llm]\nseed = 42\n')
    run = cli("config", "show", env={"DIFFCHAT_LLM__TEMPERATURE": "0.5"})
    assert run.code == 0, run.stderr
    assert "seed = 42" in run.stdout and "temperature = 0.5" in run.stdout
    assert 'model = "embedded"' in run.stdout


def test_bad_config_is_one_line_exit_2(cli, temp_home):
    (temp_home / "config").mkdir(parents=True)
    (temp_home / "config" / "config.toml").write_text("[llm]\nmax_tokens = -3\n")
    run = cli("edit", "a cat", "-i", "add a hat")
    assert run.code == 2 and len(run.stderr_lines) == 1 and "bad setting llm.max_tokens" in run.stderr


def test_models_list_shows_where_the_embedded_model_lives(cli, embedded_path):
    run = cli("models", "list", env={"COLUMNS": "400"})
    assert run.code == 0, run.stderr
    assert "embedded" in run.stdout and str(embedded_path) in run.stdout
