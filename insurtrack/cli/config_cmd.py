"""`insurtrack init` and `insurtrack config …`: write, locate, check and show the configuration."""

from __future__ import annotations

from typing import Annotated

import typer

from insurtrack.cli.context import app_context
from insurtrack.cli.options import FormatOpt, OutputFormat

app = typer.Typer(help="Locate, check and show the configuration.", no_args_is_help=True)


def init(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    from insurtrack import config
    from insurtrack.errors import Refused

    a = app_context(ctx)
    path, _ = config.find_config_path(a.config_flag, a.env)
    if path.exists() and not force:
        raise Refused(f"{path} already exists; use --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config.render_example(), encoding="utf-8")
    except OSError as exc:
        from insurtrack.errors import ConfigError

        raise ConfigError(f"cannot write: {exc.strerror}", path=path) from exc
    typer.echo(f"wrote {path}", err=True)


@app.command("path")
def path_cmd(ctx: typer.Context) -> None:
    """Print the config file insurtrack reads (it may not exist yet)."""
    from insurtrack import config

    a = app_context(ctx)
    path, _ = config.find_config_path(a.config_flag, a.env)
    typer.echo(str(path))


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Validate the config file; name the file and key of every error (exit 6 if any)."""
    from insurtrack import config

    a = app_context(ctx)
    path, exists, issues = config.check(a.config_flag, a.env)
    if not exists and not issues:
        typer.echo(f"{path}: no file; all defaults apply (`insurtrack init` writes one)", err=True)
        return
    for issue in issues:
        typer.echo(f"error: {issue}", err=True)
    if issues:
        raise typer.Exit(6)
    typer.echo(f"{path}: ok", err=True)


@app.command("show")
def show(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Show every setting in force and where it comes from."""
    from insurtrack import config

    a = app_context(ctx)
    settings = a.settings
    rows = [{"key": s.key, "value": settings[s.key],
             "default": "yes" if settings[s.key] == s.default else "no"} for s in config.SPEC]
    a.output(fmt).rows(rows, ["key", "value", "default"], title="Settings")
