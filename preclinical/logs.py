"""Logging: to a file in the log dir always; to stderr only when headless (never over the TUI)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys

from preclinical.config import Settings
from preclinical.paths import private_dir

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file readable by its owner only (0600), the rotated files too: logs name agents and runs."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if os.name == "posix":
            os.fchmod(fd, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def setup_logging(settings: Settings, *, to_stderr: bool) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_preclinical", False):
            root.removeHandler(handler)
            handler.close()
    private_dir(settings.log_dir)
    file_handler = PrivateRotatingFileHandler(
        settings.log_file, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [file_handler]
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._preclinical = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(settings.log_level.upper() if settings.log_level.upper() in logging._nameToLevel else "INFO")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
