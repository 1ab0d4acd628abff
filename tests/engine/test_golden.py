from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.engine.golden_runner import GOLDEN, run_case

CASES = sorted(GOLDEN.glob("*.yaml"))


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 6


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden(path: Path) -> None:
    mismatches = run_case(path, update=os.environ.get("KHAOSAT_UPDATE_GOLDEN") == "1")
    assert not mismatches, "\n".join(f"step {i}:\n  expected {exp}\n  actual   {act}" for i, exp, act in mismatches)
