"""The generated sync store matches its async source; a real wheel ships the Lua scripts."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_sync_store_is_generated_from_async() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_sync.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_wheel_install_finds_scripts(tmp_path: Path, redis_url: str) -> None:
    """A non-editable ``pip install .`` into a fresh venv, run from outside the repo."""
    venv.create(tmp_path / "venv", with_pip=True)
    py = tmp_path / "venv" / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-cache-dir", str(ROOT)], check=True,
                   cwd=tmp_path, capture_output=True)
    code = (
        "import redisession, redisession._scripts as s\n"
        "assert 'site-packages' in str(s.lua_dir()), s.lua_dir()\n"
        f"st = redisession.SessionStore.from_url({redis_url!r}, prefix='wheeltest')\n"
        "sid = st.create().id; st.add(sid, 'user', 'hi')\n"
        "print(st.messages(sid)[0].content); st.delete(sid)\n"
    )
    out = subprocess.run([py, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "hi"
    # the library needs no rich; the command says which extra brings it
    cli = subprocess.run([py, "-m", "redisession.cli", "--url", redis_url, "ls"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert cli.returncode == 1 and "pip install 'redisession[cli]'" in cli.stderr, cli.stderr
