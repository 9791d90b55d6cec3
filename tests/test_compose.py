"""docker-compose.yml has the promised shape, and its Redis settings are the ones
loadtests/README.md promises and redisession needs (checked on a real redis-server, since no
Docker engine runs here)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from redisession._connect import check_server
from redisession.testing import RedisServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "loadtests" / "README.md").read_text()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def _flags(command: list[str]) -> dict[str, str]:
    """``["x", "--a", "1", "--b", "2"]`` -> ``{"a": "1", "b": "2"}``."""
    flags, i = {}, 1
    while i < len(command):
        assert command[i].startswith("--"), f"unexpected argument {command[i]!r}"
        flags[command[i][2:]] = str(command[i + 1])
        i += 2
    return flags


def _promised() -> dict[str, str]:
    section = README.split("## Redis settings", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^- `([a-z-]+) ([^`]+)`", section, re.M))


def _option(command: list[str], name: str) -> str:
    return str(command[command.index(name) + 1])


def test_services_and_redis_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"redis", "locust-master", "locust-worker", "check"} <= set(services)
    redis = services["redis"]
    assert re.fullmatch(r"redis:7(\.\d+)*(-\w+)?", redis["image"])
    assert redis["command"][0] == "redis-server"
    assert redis["healthcheck"]["test"][-1] == "ping"
    assert any(str(v).endswith(":/data") for v in redis["volumes"])  # AOF survives restarts


def test_redis_settings_are_the_promised_ones(compose: dict[str, Any]) -> None:
    promised = _promised()
    assert promised["maxmemory-policy"] == "noeviction"
    assert promised["appendonly"] == "yes"
    assert _flags(compose["services"]["redis"]["command"]) == promised


def test_promised_settings_work_on_a_real_redis(compose: dict[str, Any]) -> None:
    settings = _flags(compose["services"]["redis"]["command"])
    with RedisServer(settings) as server, server.client() as client:
        for name, value in settings.items():
            got = client.config_get(name)[name]
            want = str(1 << 30) if name == "maxmemory" and value == "1gb" else value
            assert got == want, name
        assert check_server(client.info()) is None  # no eviction warning from redisession


def test_locust_master_and_workers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    master, worker = services["locust-master"], services["locust-worker"]
    m, w = master["command"], worker["command"]
    for cmd in (m, w):
        assert cmd[0] == "locust" and (ROOT / _option(cmd, "-f")).is_file()
    assert "--master" in m and "--headless" in m
    assert "--worker" in w and _option(w, "--master-host") == "locust-master"
    assert int(_option(m, "--expect-workers")) == worker["deploy"]["replicas"]
    for svc in (master, worker, services["check"]):
        env = svc["environment"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["check"]["command"][-1] == "loadtests/check.py"
    dockerfile = (ROOT / "loadtests" / "Dockerfile").read_text()
    assert "[loadtest" in dockerfile


def test_readme_commands_name_real_services(compose: dict[str, Any]) -> None:
    services = set(compose["services"])
    commands = [ln for ln in README.splitlines() if ln.startswith("docker compose")]
    assert commands
    for line in commands:
        args = shlex.split(line)
        named = [a for a in args[3:] if not a.startswith("-") and "=" not in a]
        scaled = [a.split("=")[0] for a in args if "=" in a and not a.startswith("-")]
        assert set(named + scaled) <= services, line
