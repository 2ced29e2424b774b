"""Shared fixtures: the tools and a per-session compile cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attn_opt.runtime import build_dirs, find_tool  # noqa: E402



def _tool_or_skip(name: str) -> Path:
    """The built tool; skips when it is absent, unless the run requires tools
    (ATTN_OPT_REQUIRE_TOOLS=1, as scripts/test.sh sets), where that fails."""
    path = find_tool(name)
    if path is None:
        message = (f"{name} not built (looked in {', '.join(str(d / 'bin') for d in build_dirs())}; "
                   "set ATTN_OPT_BUILD_DIR)")
        if os.environ.get("ATTN_OPT_REQUIRE_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def attn_opt_tool() -> Path:
    return _tool_or_skip("attn-opt")


@pytest.fixture(scope="session", autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    if "ATTN_OPT_CACHE_DIR" not in os.environ:
        os.environ["ATTN_OPT_CACHE_DIR"] = str(tmp_path_factory.mktemp("attn-opt-cache"))


@pytest.fixture(scope="session")
def compiler() -> Path:
    """attn-run, which compiles attn graphs to shared libraries."""
    return _tool_or_skip("attn-run")


def run_attn_opt(tool: Path, text: str, *flags: str) -> str:
    """Runs attn-opt on text; fails the test with its diagnostics on error."""
    proc = subprocess.run([str(tool), "-", *flags], input=text, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        pytest.fail(f"attn-opt {' '.join(flags)} rejected the IR:\n{proc.stderr[-3000:]}")
    return proc.stdout
