"""The data dir, the log dir and the log file are private to the user (agent secrets and transcripts live there)."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from preclinical.logs import setup_logging
from preclinical.store import db as store_db
from tests.support import isolated_settings

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_log_file_is_0600_and_dirs_are_0700_even_with_a_permissive_umask(tmp_path):
    settings = isolated_settings(tmp_path)
    old_umask = os.umask(0o022)
    root = logging.getLogger()
    try:
        setup_logging(settings, to_stderr=False)
        logging.getLogger("preclinical.test").warning("hello")
        store_db.open_database(settings.database_path)
        handler = next(h for h in root.handlers if getattr(h, "_preclinical", False))
        handler.doRollover()  # the rotated-in file is private too
        logging.getLogger("preclinical.test").warning("after rollover")
    finally:
        os.umask(old_umask)
        store_db.close_database()
        for h in [h for h in root.handlers if getattr(h, "_preclinical", False)]:
            root.removeHandler(h)
            h.close()
    assert mode(settings.log_dir) == 0o700
    assert mode(settings.database_path.parent) == 0o700
    assert mode(settings.log_file) == 0o600
    assert mode(str(settings.log_file) + ".1") == 0o600
    assert mode(settings.database_path) == 0o600


def test_existing_open_dirs_are_tightened(tmp_path):
    settings = isolated_settings(tmp_path)
    settings.database_path.parent.mkdir(parents=True, mode=0o755)
    os.chmod(settings.database_path.parent, 0o755)
    try:
        store_db.open_database(settings.database_path)
    finally:
        store_db.close_database()
    assert mode(settings.database_path.parent) == 0o700


def test_a_malformed_request_or_a_client_that_left_is_not_an_error_in_the_log(tmp_path):
    from aiohttp.http_exceptions import BadHttpMessage

    settings = isolated_settings(tmp_path)
    root = logging.getLogger()
    try:
        setup_logging(settings, to_stderr=False)
        server_log = logging.getLogger("aiohttp.server")
        for exc in (BadHttpMessage("Invalid header value char"), ConnectionResetError("Connection lost")):
            try:
                raise exc
            except Exception:
                server_log.exception("Error handling request from 127.0.0.1")
        try:
            raise RuntimeError("a real bug")
        except RuntimeError:
            server_log.exception("Error handling request")
    finally:
        for h in [h for h in root.handlers if getattr(h, "_preclinical", False)]:
            root.removeHandler(h)
            h.close()
    text = settings.log_file.read_text()
    assert "Invalid header value char" not in text and "Connection lost" not in text
    assert "a real bug" in text and text.count("Traceback") == 1  # real errors still logged in full
