"""The wheel carries the data: build it, install it in a fresh virtual environment, run mxprobe from there.

A missing data file (the catalogue, the DNSBL zones, the DKIM selectors) fails here, not on a user's machine.
The fresh environment gets the already-installed dependencies through a `.pth` line (no download: tests stay
offline) but not the source checkout: mxprobe must come from the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA_FILES = [
    "replies/seed.toml",
    "replies/basic.toml",
    "dnsbl.toml",
    "dkim-selectors.txt",
    "ptr-generic.toml",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("mxprobe-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return python


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60, check=False
    )


@pytest.mark.slow
def test_the_wheel_contains_every_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in DATA_FILES:
        assert f"mxprobe/_data/checks/{name}" in names, name
    assert "mxprobe/py.typed" in names
    for schema in ("probe", "explain", "codes"):  # `mxprobe schema NAME` prints them
        assert f"mxprobe/schema/{schema}.json" in names, schema


@pytest.mark.slow
def test_explain_runs_from_the_installed_wheel(fresh_python: Path, tmp_path: Path) -> None:
    where = run(fresh_python, "-c", "import mxprobe; print(mxprobe.__file__)", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert str(ROOT) not in where.stdout  # the wheel's copy, not the checkout
    result = run(
        fresh_python,
        "-m",
        "mxprobe",
        "explain",
        "421 Refused. You have no reverse DNS entry",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["cause"] == "ptr"
    assert data["checks"] == ["ptr", "fcrdns"]
    assert data["specific"] is True
    codes = run(fresh_python, "-m", "mxprobe", "codes", "--json", cwd=tmp_path)
    assert codes.returncode == 0, codes.stderr
    assert len(json.loads(codes.stdout)) >= 300


@pytest.mark.slow
def test_the_installed_wheel_reads_its_dnsbl_zones(fresh_python: Path, tmp_path: Path) -> None:
    script = "from mxprobe import blocklists; print(sum(z.enabled for z in blocklists.catalogue().zones))"
    result = run(fresh_python, "-c", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 40
