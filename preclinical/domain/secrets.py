"""Masking of secret-bearing agent config values, and merging that never lets a mask overwrite a secret."""

from __future__ import annotations

import re
from typing import Any

MASK_CHAR = "•"

# A key is secret when its last word names a credential: `api_key`, `apiKey`, `api_secret`, `password`,
# `livekit_token`, `Authorization`. Keys that merely mention one (`token_url`, `auth_mode`) are not.
_SECRET_KEY = re.compile(
    r"(?:^|[_\-])(?:api[_\-]?key|apikey|secret|password|passwd|token|jwt|credentials?|private[_\-]?key|access[_\-]?key)$"
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


def mask_config(config: Any) -> Any:
    """A copy of `config` with every secret string replaced by its mask (recursively)."""
    if isinstance(config, dict):
        return {
            k: mask_value(v) if isinstance(v, str) and is_secret_key(str(k)) else mask_config(v)
            for k, v in config.items()
        }
    if isinstance(config, list):
        return [mask_config(v) for v in config]
    return config


def merge_config(stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Shallow merge of `patch` into `stored`; a masked value echoed back keeps the stored secret.

    Nested objects (e.g. `headers`) are merged the same way one level down, so an echoed masked
    `Authorization` header keeps its real value too.
    """
    merged = dict(stored)
    for key, value in patch.items():
        old = stored.get(key)
        if isinstance(value, str) and isinstance(old, str) and MASK_CHAR in value and value == mask_value(old):
            continue
        if isinstance(value, dict) and isinstance(old, dict):
            merged[key] = {**value, **{k: old[k] for k, v in value.items() if _is_echoed_mask(v, old.get(k))}}
            continue
        merged[key] = value
    return merged


def _is_echoed_mask(value: Any, old: Any) -> bool:
    return isinstance(value, str) and isinstance(old, str) and MASK_CHAR in value and value == mask_value(old)
