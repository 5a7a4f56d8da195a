"""The `preclinical` command line: the TUI with the API beside it (default), `serve`, and client commands."""

from preclinical.cli.root import cli, main

__all__ = ["cli", "main"]
