import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str):
    """A file of the project that is not in the package (``scripts/``, ``benchmarks/``), loaded as a module so that
    a test can call its functions."""
    import importlib.util

    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_addoption(parser):
    parser.addoption("--data-dir", default=None,
                     help="folder holding hendrycks_math/ and prm800k_math_splits/ (default: $E2H_DATA_DIR)")


@pytest.fixture(scope="session")
def data_dir(request) -> Path:
    """The shared real data (MATH, MATH500, PRM800K fixtures); tests that need it skip when it is absent."""
    raw = request.config.getoption("--data-dir") or os.environ.get("E2H_DATA_DIR")
    if not raw:
        pytest.skip("real data not configured: set E2H_DATA_DIR or pass --data-dir")
    path = Path(raw)
    if not (path / "hendrycks_math").is_dir():
        pytest.skip(f"real data not found: {path}/hendrycks_math does not exist")
    return path
