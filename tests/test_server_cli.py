"""`redisession api-key` and `redisession serve`'s safe defaults; key files and env; stream
tokens; Idempotency-Key ids (pure parts of the service, no Redis needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")

from redisession import InvalidConfig, InvalidInput  # noqa: E402
from redisession.cli import main  # noqa: E402
from redisession.cli_serve import is_loopback  # noqa: E402
from redisession.server.auth import KeyRing, Principal, TokenSigner, allows, digest  # noqa: E402
from redisession.server.idempotency import message_ids  # noqa: E402


def test_api_key_prints_the_key_once_and_a_hashed_entry(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["api-key", "--key-prefix", "t1", "--scope", "admin", "--name", "ops"]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("rsk_") and len(key) > 40
    entry = json.loads(err.split(": ", 1)[1])
    assert entry == {"name": "ops", "prefix": "t1", "scope": "admin", "sha256": digest(key)}
    assert key not in err
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [entry]}))
    ring = KeyRing.load(path)
    assert ring.lookup(key) == Principal("ops", "t1", "admin")
    assert ring.lookup(key + "x") is None and ring.prefixes == {"t1"}


def test_serve_refuses_a_public_address_without_keys(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDISESSION_API_KEYS", raising=False)
    monkeypatch.delenv("REDISESSION_KEYS_FILE", raising=False)
    assert main(["--url", "redis://127.0.0.1:1/0", "serve", "--host", "0.0.0.0"]) == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in capsys.readouterr().err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")


def test_env_keys_and_bad_key_files(tmp_path: Path) -> None:
    ring = KeyRing.load(env=f"a:read:secret1, b:write:sha256:{digest('secret2')}")
    assert ring.lookup("secret1") == Principal(f"env-{digest('secret1')[:8]}", "a", "read")
    assert ring.lookup("secret2") is not None and ring.lookup("secret2").scope == "write"
    for bad in ("a:root:hunter2", "a:read:", "nocolons"):
        with pytest.raises(InvalidConfig) as e:
            KeyRing.load(env=bad)
        assert "hunter2" not in str(e.value)  # no key in the message
    path = tmp_path / "k.json"
    for text in ("not json", '{"keys": [{"prefix": "p", "scope": "read"}]}',
                 '{"keys": [{"prefix": "p", "scope": "owner", "key": "s3cr3t"}]}'):
        path.write_text(text)
        with pytest.raises(InvalidConfig) as e:
            KeyRing.load(path)
        assert "s3cr3t" not in str(e.value)


def test_scopes_are_ordered() -> None:
    assert allows("admin", "write") and allows("write", "read") and allows("read", "read")
    assert not allows("read", "write") and not allows("write", "admin")


def test_stream_tokens_are_signed_read_only_and_expire() -> None:
    signer = TokenSigner("s" * 64, ttl=60)
    token = signer.issue(Principal("ops", "t1", "admin"))
    assert signer.verify(token) == Principal("ops", "t1", "read")
    assert TokenSigner("other-secret").verify(token) is None
    body, mac = token.split(".")
    assert signer.verify(body[:-2] + "AA." + mac) is None and signer.verify("garbage") is None
    assert TokenSigner("s" * 64, ttl=-1).verify(
        TokenSigner("s" * 64, ttl=-1).issue(Principal("o", "t1", "read"))) is None


def test_idempotency_ids_are_deterministic_and_scoped() -> None:
    ids = message_ids("t1", "chat", "key-1", 3)
    assert ids == message_ids("t1", "chat", "key-1", 3) and len(set(ids)) == 3
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0] != message_ids("t2", "chat", "key-1", 1)[0]
    assert ids[0] != message_ids("t1", "chat2", "key-1", 1)[0]
    for bad in ("", "with space", "x" * 256, "é"):
        with pytest.raises(InvalidInput):
            message_ids("t1", "chat", bad, 1)


def test_every_store_error_has_its_own_problem_type() -> None:
    """A new error in redisession.errors without a row in the table fails here, not in prod."""
    import inspect

    from redis.exceptions import NoPermissionError, TimeoutError

    from redisession import errors
    from redisession.server.problems import classify

    fallback = classify(errors.RedisessionError("x"))
    assert fallback[1] == "store-error"
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.RedisessionError) and cls is not errors.RedisessionError:
            exc = cls.__new__(cls)
            assert classify(exc) != fallback, f"{name} has no row in problems.PROBLEMS"
    expected = {"SessionNotFound": 404, "SessionExists": 409, "SummaryConflict": 409,
                "MessageTooLarge": 413, "InvalidInput": 422, "InvalidUserId": 422,
                "StoreFullError": 507, "PoolExhausted": 503, "SessionInactive": 423,
                "ReplyInProgress": 409, "MessageIdConflict": 409, "DurabilityError": 504,
                "SessionCorrupted": 500, "ReplyGone": 410}
    for name, status in expected.items():
        cls = getattr(errors, name, None)
        if cls is not None:  # errors other branches add map as soon as they land
            assert classify(cls.__new__(cls))[0] == status, name
    assert classify(TimeoutError())[0] == 503
    assert classify(NoPermissionError())[1] == "redis-permission"
