"""Shared fixtures: one strict build of the whole book per test session."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


# The tests' networks are tiny: one thread is faster, and immune to a busy machine.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Build the book strictly (-W -n, every page); returns (build folder, build log)."""
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--all", "-W", "-n",
         "--keep-going", "--path-output", str(out)],
        capture_output=True, text=True, timeout=1800,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    return out / "_build", log


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many cases the fuzz suite tried per module and at each public door."""
    cases = getattr(terminalreporter.config, "fuzz_cases", None)
    if not cases:
        return
    doors = sorted({door for door, _ in cases})
    terminalreporter.section(f"fuzz: {sum(cases.values())} cases")
    for module in sorted({door.split(".")[0] for door in doors}):
        mine = [door for door in doors if door.split(".")[0] == module]
        total = {kind: sum(cases[(door, kind)] for door in mine)
                 for kind in ("result", "error", "foreign", "hang")}
        terminalreporter.write_line(
            f"{module}: {total['result']} results, {total['error']} documented errors, "
            f"{total['foreign']} foreign exceptions, {total['hang']} hangs")
        for door in mine:
            terminalreporter.write_line(f"    {door}: {cases[(door, 'result')]} results, "
                                        f"{cases[(door, 'error')]} documented errors")
