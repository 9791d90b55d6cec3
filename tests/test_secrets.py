"""No password in any output: exceptions (and their causes), logs, repr() of stores, settings
and connection plans, and the CLI's output, on every error path a test can reach."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest
import redis
from redis.exceptions import RedisClusterException

from redisession import ConnectionSettings, InvalidConfig, SessionStore
from redisession._connect import plan
from redisession.cli import main
from redisession.testing import RedisServer, free_port

PW = "Zq9-very-secret-PW"

BAD_URLS = [
    f"redis://user:{PW}@localhost:notaport/0",
    f"redis://:{PW}@localhost:6379/abc",
    f"rediss://:{PW}@localhost:99999999/0",
    f"redis+cluster://:{PW}@localhost:port/0",
    f"rediss+cluster://u:{PW}@localhost:6379/x",
    f"redis+sentinel://:{PW}@localhost/mymaster",
    f"redis+sentinel://u:{PW}@localhost:26379",
    f"rediss+sentinel://:{PW}@localhost:26379/mymaster/notadb",
    f"ftp://u:{PW}@localhost:21/0",
    f"redis://:{PW}@localhost:6379/0?ssl_ca_certs=/tmp/ca.crt",
]


def _all_text(e: BaseException) -> str:
    """The exception as every output shows it: str, repr, the traceback with its causes."""
    return "".join([str(e), repr(e), *traceback.format_exception(e)])


@pytest.fixture(autouse=True)
def _logs(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.DEBUG)
    yield
    assert PW not in caplog.text


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_urls_never_show_the_password(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InvalidConfig) as info:
        SessionStore.from_url(url)
    assert PW not in _all_text(info.value) and "***" in str(info.value)
    assert main(["--url", url, "ls"]) == 2
    out = capsys.readouterr()
    assert PW not in out.out + out.err and "Traceback" not in out.err
    assert len(out.err.strip().splitlines()) == 1


def test_auth_failure_and_unreachable_hosts() -> None:
    no_retry = ConnectionSettings(retries=0, socket_connect_timeout=1, socket_timeout=1)
    with RedisServer() as server:
        with server.client() as admin:
            admin.config_set("requirepass", "the-right-one")
        url = f"redis://:{PW}@127.0.0.1:{server.port}/0"
        with SessionStore.from_url(url, connection=no_retry) as store:
            assert PW not in repr(store)
            with pytest.raises(redis.AuthenticationError) as info:
                store.create()
            assert PW not in _all_text(info.value)
    port = free_port()
    for url in (f"redis://u:{PW}@127.0.0.1:{port}/0",
                f"redis+sentinel://u:{PW}@127.0.0.1:{port}/mymaster",
                f"redis+cluster://u:{PW}@127.0.0.1:{port}/0"):
        with pytest.raises((redis.RedisError, RedisClusterException)) as caught:
            with SessionStore.from_url(url, connection=no_retry) as store:
                store.create()
        assert PW not in _all_text(caught.value), url


def test_cli_with_an_unreachable_redis(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"redis://:{PW}@127.0.0.1:{free_port()}/0"
    assert main(["--url", url, "stats"]) == 1
    out = capsys.readouterr()
    assert PW not in out.out + out.err and "Traceback" not in out.err


def test_reprs() -> None:
    settings = ConnectionSettings(extra={"password": PW}, ssl_keyfile=f"/k/{PW}")
    assert PW not in repr(settings)
    for url in (f"redis://u:{PW}@h:1/0", f"rediss+sentinel://u:{PW}@h:1/svc",
                f"redis+cluster://:{PW}@h:1/0"):
        p = plan(url)
        assert PW not in repr(p) and PW not in p.safe_url
    store = SessionStore.from_url(f"redis://u:{PW}@127.0.0.1:1/0")
    try:
        assert PW not in repr(store) and PW not in repr(store.config)
    finally:
        store.close()
