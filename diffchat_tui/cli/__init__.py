"""The `diffchat` command. Every heavy import happens inside the command that needs it."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from diffchat_tui import __version__
from diffchat_tui.cli import config_cmd, data_cmd, edit, eval_cmd, models_cmd, render_cmd, train_cmd, tui
from diffchat_tui.core.errors import DiffchatError

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
app.command("info")(render_cmd.info)
app.command("open")(tui.open_image)
app.add_typer(config_cmd.app, name="config")
app.add_typer(models_cmd.app, name="models")
app.add_typer(data_cmd.app, name="data")
app.add_typer(train_cmd.app, name="train")
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
    model: Annotated[Optional[str], typer.Option("--model", help="embedded, a .gguf path, or OWNER/REPO/FILE.gguf.")] = None,
    lora: Annotated[Optional[str], typer.Option("--lora", help="LoRA adapter GGUF to apply.")] = None,
    llm_url: Annotated[Optional[str], typer.Option("--llm-url", help="OpenAI-compatible server.")] = None,
    image_model: Annotated[Optional[str], typer.Option("--image-model", help="Diffusers folder or hub id.")] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Chat with a text-to-image model from the terminal. With no command, open the interactive session."""
    ctx.obj = {"model": model, "lora": lora, "url": llm_url, "image_model": image_model}
    if ctx.invoked_subcommand is None:
        tui.open_tui(ctx.obj, resume=resume, session=session)


def fail(message: str, code: int) -> None:
    """The one way errors reach the user: one line on stderr, then the exit code."""
    print(f"diffchat: error: {message}", file=sys.stderr)
    sys.exit(code)


def main() -> None:
    try:
        code = app(standalone_mode=False)
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
