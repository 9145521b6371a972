"""The `diffchat` command: every command and group is listed here, in the order `--help` shows them.

`diffchat --help` imports every command module, so a command imports inside its function what only it
needs and is slow to load: torch, diffusers, transformers, llama_cpp, textual, anything in trainer/,
and our modules that pull in pydantic (config, engines.factory), sqlite3 (store) or PIL (engines.image*).
Together those would double --help's start-up (0.14 s to 0.28 s measured, against a 0.3 s budget).
"""

from __future__ import annotations

import copy
import os
import sys
from typing import Annotated, Optional

import typer

from diffchat_tui import __version__
from diffchat_tui.cli import (
    config_cmd,
    data_cmd,
    edit,
    eval_cmd,
    grid_cmd,
    history_cmd,
    models_cmd,
    options,
    render_cmd,
    rl_cmd,
    train_cmd,
    tui,
)
from diffchat_tui.cli.output import fail
from diffchat_tui.core.errors import DiffchatError

TRL_FLAGS = {"allow_extra_args": True, "ignore_unknown_options": True}
"""Training commands pass any --field_name on to TRL's config dataclasses."""

app = typer.Typer(
    name="diffchat",
    help="Chat with a text-to-image model: plain-word instructions rewrite Stable Diffusion prompts.",
    invoke_without_command=True,
    rich_markup_mode="rich",
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("edit", epilog=edit.EXAMPLES)(edit.edit)
app.command("render")(render_cmd.render)
app.command("grid", epilog=grid_cmd.EXAMPLES)(grid_cmd.grid)
app.command("info")(render_cmd.info)
app.command("open")(tui.open_image)

history = typer.Typer(help="Search, show and export every TUI session and every logged `diffchat edit`.")
history.command("list")(history_cmd.list_sessions)
history.command("search")(history_cmd.search)
history.command("show")(history_cmd.show)
history.command("export")(history_cmd.export)
history.command("reindex")(history_cmd.reindex)
app.add_typer(history, name="history")

config = typer.Typer(help="Show where settings live and their current values.")
config.command("path")(config_cmd.path)
config.command("show")(config_cmd.show)
app.add_typer(config, name="config")

models = typer.Typer(help="List the language models diffchat can use and where their files live.")
models.command("list")(models_cmd.list_models)
models.command("make-tiny")(models_cmd.make_tiny)
app.add_typer(models, name="models")

data = typer.Typer(help="Build, validate, summarize and split InstructPE training data (JSON list or JSONL).")
data.command("validate")(data_cmd.validate)
data.command("stats")(data_cmd.stats)
data.command("split")(data_cmd.split)
data.command("build")(data_cmd.build)
data.command("prefs")(data_cmd.prefs)
data.command("calibration")(data_cmd.calibration)
app.add_typer(data, name="data")

train = typer.Typer(help="Fine-tune a DiffChat model (SFT, then RL, through TRL) and export it to GGUF.")
train.command("sft", help=train_cmd.SFT_HELP, context_settings=TRL_FLAGS)(train_cmd.sft)
train.command("export")(train_cmd.export)
train.command("rl", help=rl_cmd.RL_HELP, context_settings=TRL_FLAGS)(rl_cmd.rl)
app.add_typer(train, name="train")

app.command("eval", epilog=eval_cmd.EXAMPLES)(eval_cmd.evaluate)


def _version(value: bool) -> None:
    if value:
        print(f"diffchat {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    resume: Annotated[bool, typer.Option("--continue", "-c", help="Resume the last session.")] = False,
    session: Annotated[Optional[int], typer.Option("--session", help="Resume this session.")] = None,
    model: options.Model = None,
    lora: options.Lora = None,
    llm_url: options.LlmUrl = None,
    image_model: options.ImageModel = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Chat with a text-to-image model from the terminal. With no command, open the interactive session."""
    ctx.obj = {"model": model, "lora": lora, "url": llm_url, "image_model": image_model}
    if ctx.invoked_subcommand is None:
        tui.open_tui(ctx.obj, resume=resume, session=session)


def app_for(args: list[str]) -> typer.Typer:
    """The app with only the command or group that args start with, or the whole app.

    Typer builds every command's parser before it parses (30 ms of each start for our 23 commands), and a
    run uses one. Only a leading name is trusted: after a root option it might be that option's value.
    """
    name = args[0] if args else None
    commands = [info for info in app.registered_commands if info.name == name]
    groups = [info for info in app.registered_groups if info.name == name]
    if not commands and not groups:
        return app
    pruned = copy.copy(app)
    pruned.registered_commands, pruned.registered_groups = commands, groups
    return pruned


def main() -> None:
    # Pydantic otherwise reads every installed package's entry points for plugins (6-8 ms of each start); we use none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        code = app_for(sys.argv[1:])(standalone_mode=False)
    except typer.TyperException as exc:  # Typer's (vendored click's) usage and parameter errors
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context else ""
        fail(f"{exc.format_message()}{hint}", exc.exit_code)
    except typer.Abort:
        fail("interrupted", 130)
    except DiffchatError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (`| head`); nothing left to tell
        sys.exit(141)
    sys.exit(code if isinstance(code, int) else 0)
