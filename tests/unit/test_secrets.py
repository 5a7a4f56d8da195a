"""Secrets are masked by key and by shape wherever an agent config is shown."""

from __future__ import annotations

from preclinical.domain.secrets import MASK_CHAR, mask_config, mask_text, merge_config, moved


def test_secrets_are_masked_by_key_including_plain_key_secret_token_password():
    shown = mask_config({"key": "abcdefghijkl", "secret": "s3cr3t", "token": "t0k", "password": "pw",
                         "webhook_key": "zzzzzzzzzz", "token_url": "https://auth.example/oauth", "auth_mode": "api",
                         "max_tokens": 100})
    assert shown["key"] == "abcd" + MASK_CHAR * 8 and set(shown["secret"]) == {MASK_CHAR}
    assert set(shown["token"]) == {MASK_CHAR} and set(shown["password"]) == {MASK_CHAR}
    assert shown["webhook_key"].startswith("zzzz" + MASK_CHAR)
    assert (shown["token_url"], shown["auth_mode"], shown["max_tokens"]) == ("https://auth.example/oauth", "api", 100)


def test_secrets_are_masked_by_shape_under_any_key():
    shown = mask_config({
        "url": "https://nurse:hunter2@chat.example/api?lang=en",
        "callbacks": [{"target": "https://hooks.example/in?token=abc123&channel=7"}],
        "notes": "posted to http://u:p4ss@10.0.0.1:8080/x?api_key=KEY9&sig=zz today",
    })
    assert shown["url"] == f"https://nurse:{MASK_CHAR * 8}@chat.example/api?lang=en"
    assert shown["callbacks"][0]["target"] == f"https://hooks.example/in?token={MASK_CHAR * 8}&channel=7"
    assert "hunter2" not in str(shown) and "abc123" not in str(shown)
    assert "p4ss" not in shown["notes"] and "KEY9" not in shown["notes"] and "sig=" in shown["notes"]
    assert mask_text("plain text, https://example.com/a?b=c") == "plain text, https://example.com/a?b=c"


def test_echoed_shape_mask_keeps_the_stored_url():
    stored = {"url": "https://nurse:hunter2@chat.example/api"}
    assert merge_config(stored, mask_config(stored)) == stored


def test_moving_an_agent_drops_its_credentials_unless_sent_again():
    stored = {"base_url": "https://a.example/v1", "api_key": "sk-0123456789", "headers": {"X-Key": "h", "X-Tag": "t"},
              "use_server_api_key": True, "model": "m"}
    assert not moved(stored, {**stored, "model": "m2"})
    assert merge_config(stored, {"model": "m2"})["api_key"] == "sk-0123456789"
    dropped = merge_config(stored, {"base_url": "https://b.example/v1"})
    assert dropped == {"base_url": "https://b.example/v1", "headers": {}, "model": "m"}
    kept = merge_config(stored, {"base_url": "https://b.example/v1", "headers": {"X-Key": "new"}, "api_key": "sk-n"})
    assert kept["api_key"] == "sk-n" and kept["headers"] == {"X-Key": "new"}
    # A URL appearing anywhere (not only base_url) counts as moving.
    assert "api_key" not in merge_config(stored, {"extra": {"callback": "https://c.example/hook"}})
