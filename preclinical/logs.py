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


class ClientFaultsAtDebug(logging.Filter):
    """aiohttp's server logs a malformed request (a NUL in a header, a broken request line) or a client that
    hung up mid-request as an ERROR with a traceback. Neither is our fault nor actionable: the client got
    its 400 (or left). Such records are kept at DEBUG, without the traceback, and dropped otherwise."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not _client_fault(exc):
            return True
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.msg = f"{record.getMessage()}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        record.args, record.exc_info, record.exc_text = None, None, None
        return True


def _client_fault(exc: BaseException) -> bool:
    from aiohttp import http_exceptions

    return isinstance(exc, http_exceptions.HttpProcessingError | ConnectionResetError | BrokenPipeError)


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
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientFaultsAtDebug) for f in server_log.filters):
        server_log.addFilter(ClientFaultsAtDebug())
