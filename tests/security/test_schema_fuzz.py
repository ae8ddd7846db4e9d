"""Threat: inputs nobody thought of. schemathesis generates requests from the OpenAPI schema for
every operation of the real server; none may be answered with a 5xx."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import Server, free_port

pytestmark = pytest.mark.slow


def test_no_generated_request_gets_a_server_error(tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    if not schemathesis.exists() and shutil.which("schemathesis") is None:
        pytest.fail("schemathesis is missing: scripts/setup --dev installs it")
    server = Server(tmp_path / "data", free_port(), env={"STEPSCOPE_MAX_RUNS": "3"})
    server.start()
    try:
        result = subprocess.run(
            [
                str(schemathesis),
                "run",
                f"{server.url}openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "40",
                "--seed",
                "1",
                "--workers",
                "1",
                "--phases",
                "examples,coverage,fuzzing",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.stop()
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-6000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", report)
    assert cases is not None, report[-3000:]
    generated, passed = map(int, cases.groups())
    assert generated >= 200 and passed == generated, report[-3000:]
