"""Masking of secret-bearing agent config values, and merging that never lets a mask overwrite a secret."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK_CHAR = "•"

# A key is secret when its last word names a credential: `api_key`, `apiKey`, `api_secret`, `password`,
# `livekit_token`, `Authorization`. Keys that merely mention one (`token_url`, `auth_mode`) are not.
_SECRET_KEY = re.compile(
    r"(?:^|[_\-])(?:api[_\-]?key|apikey|key|secret|password|passwd|pass|pwd|token|jwt|credentials?|private[_\-]?key"
    r"|access[_\-]?key|signature|sig)$"
    r"|^authorization$|(?<=[a-z])(?:ApiKey|Secret|Password|Token|Jwt)$",
)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key) or _SECRET_KEY.search(key.lower()))


def mask_value(value: str) -> str:
    if not value:
        return ""
    if len(value) > 8:
        return value[:4] + MASK_CHAR * min(len(value) - 4, 20)
    return MASK_CHAR * len(value)


# A URL with a password in it (`scheme://user:pass@host`), and the query parameters that carry credentials.
_URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s\"'<>]+", re.IGNORECASE)
_SECRET_QUERY = re.compile(r"(?:^|[_\-])(?:key|api[_\-]?key|apikey|secret|password|passwd|pwd|token|jwt|sig|signature"
                           r"|code|auth|credential)s?$", re.IGNORECASE)


_HIDDEN = MASK_CHAR * 8  # secrets found by shape are hidden whole (no prefix: a password has no useful one)


def _mask_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc = parts.netloc
    if password:
        user_info, _, host = netloc.rpartition("@")
        user = user_info.split(":", 1)[0]
        netloc = f"{user}:{_HIDDEN}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_QUERY.search(k) for k, _ in pairs):
            query = "&".join(
                f"{k}={_HIDDEN if _SECRET_QUERY.search(k) and v else v}" if v or "=" in query else k for k, v in pairs)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_text(text: str) -> str:
    """`text` with every password inside a URL and every credential query parameter masked (by shape, any key)."""
    if "://" not in text:
        return text
    return _URL.sub(lambda m: _mask_url(m.group(0)), text)


def mask_config(config: Any) -> Any:
    """A copy of `config` with every secret masked (recursively): values under secret keys, and secrets by
    their shape anywhere (a password in a URL, a `?token=` query parameter)."""
    if isinstance(config, dict):
        return {
            k: mask_value(v) if isinstance(v, str) and is_secret_key(str(k)) else mask_config(v)
            for k, v in config.items()
        }
    if isinstance(config, list):
        return [mask_config(v) for v in config]
    if isinstance(config, str):
        return mask_text(config)
    return config


# --- changing where an agent is reached drops the credentials it was given for the old place -------------

# Keys whose value says where requests go, besides any value that is itself a URL.
_LOCATION_KEY = re.compile(r"(?:^|[_\-])(?:url|uri|endpoint|host|webhook)s?$"
                           r"|(?<=[a-z])(?:Url|Uri|Endpoint|Host)$", re.IGNORECASE)
_HEADERS_KEY = re.compile(r"headers$", re.IGNORECASE)
# Flags that let an agent use the server's own credentials (see README); they go with the secrets.
SERVER_KEY_OPT_IN = "use_server_api_key"


def _locations(config: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Every place-naming value in a config, by its key path."""
    found: dict[tuple[str, ...], str] = {}
    if isinstance(config, dict):
        for k, v in config.items():
            if isinstance(v, str) and (_LOCATION_KEY.search(str(k)) or _URL.fullmatch(v.strip())):
                found[(*path, str(k))] = v.strip()
            elif isinstance(v, dict | list):
                found.update(_locations(v, (*path, str(k))))
    elif isinstance(config, list):
        for i, v in enumerate(config):
            found.update(_locations(v, (*path, str(i))))
    return found


def _credential(key: str, parent_is_headers: bool) -> bool:
    return is_secret_key(key) or parent_is_headers or key == SERVER_KEY_OPT_IN


def _without_credentials(config: Any, parent_is_headers: bool = False) -> Any:
    if isinstance(config, dict):
        return {k: _without_credentials(v, bool(_HEADERS_KEY.search(str(k))))
                for k, v in config.items() if not _credential(str(k), parent_is_headers)}
    if isinstance(config, list):
        return [_without_credentials(v) for v in config]
    return config


def _sent_again(patch: Any, stored: Any, parent_is_headers: bool = False) -> Any:
    """The credentials the patch really sends (echoed masks are not a resend), kept in place."""
    if isinstance(patch, dict):
        out: dict[str, Any] = {}
        for k, v in patch.items():
            old = stored.get(k) if isinstance(stored, dict) else None
            if _credential(str(k), parent_is_headers):
                if not _is_echoed_mask(v, old) and v is not None:
                    out[k] = v
            elif isinstance(v, dict):
                inner = _sent_again(v, old, bool(_HEADERS_KEY.search(str(k))))
                if inner:
                    out[k] = inner
        return out
    return {}


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in extra.items():
        merged[k] = _deep_merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def moved(stored: dict[str, Any], merged: dict[str, Any]) -> bool:
    """Whether the merged config sends requests anywhere the stored one did not (a URL or host changed or appeared)."""
    before = _locations(stored)
    return any(before.get(path) != value for path, value in _locations(merged).items())


def merge_config(stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Shallow merge of `patch` into `stored`; a masked value echoed back keeps the stored secret.

    Nested objects (e.g. `headers`) are merged the same way one level down, so an echoed masked
    `Authorization` header keeps its real value too. But when the patch points the agent somewhere
    new (a URL or host in its config changes), the stored credentials (secret keys, header values,
    the server-key opt-in) are dropped unless the patch sends them again: a secret given for one
    endpoint is never delivered to another.
    """
    merged = dict(stored)
    for key, value in patch.items():
        old = stored.get(key)
        if _is_echoed_mask(value, old):
            continue
        if isinstance(value, dict) and isinstance(old, dict):
            merged[key] = {**value, **{k: old[k] for k, v in value.items() if _is_echoed_mask(v, old.get(k))}}
            continue
        merged[key] = value
    if moved(stored, merged):
        merged = _deep_merge(_without_credentials(merged), _sent_again(patch, stored))
    return merged


def _is_echoed_mask(value: Any, old: Any) -> bool:
    """Whether `value` is what the API showed for `old` (its mask by key, or by shape for a URL)."""
    return isinstance(value, str) and isinstance(old, str) and MASK_CHAR in value and value in (
        mask_value(old), mask_text(old))
