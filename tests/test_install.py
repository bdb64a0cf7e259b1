"""The conda file, the Makefile and requirements.txt describe one environment."""

import re

import yaml

from conftest import ROOT


def _requirement_names(lines):
    return {re.split(r"[<>=~! \[]", ln.strip())[0].lower() for ln in lines
            if ln.strip() and not ln.strip().startswith(("#", "-"))}


def test_environment_yml_wraps_requirements_txt():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.txt" in pip, "environment.yml must install requirements.txt itself"
    assert "-e ." in pip
    torch_pins = [p for p in pip if p.startswith("torch")]
    makefile_torch = re.search(r"^TORCH \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert torch_pins == [makefile_torch], "the torch pin differs between environment.yml and the Makefile"
    # Nothing besides torch and the wrapper lines may be listed only in one of the two files.
    assert _requirement_names(pip) == {"torch"}


def test_requirements_do_not_pull_torch_unpinned():
    names = _requirement_names((ROOT / "requirements.txt").read_text().splitlines())
    assert "torch" not in names, "torch is installed first by `make setup`, pinned; listing it here lets pip pick a CUDA build"
    assert {"transformers", "papermill", "sympy", "seaborn", "peft", "accelerate"} <= names


def test_package_imports_without_torch_for_the_analysis_half():
    import subprocess
    import sys

    code = ("import sys, e2h, e2h.params, e2h.io, e2h.format, e2h.runner; "
            "bad = [m for m in ('torch', 'transformers') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
