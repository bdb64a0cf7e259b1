"""Committed notebooks stay clean: no outputs, the metadata JupyterLab would write, and a git filter (installed by
``make setup``) that strips outputs before they can reach a commit."""

import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _kernel_language_info() -> dict:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="e2h")
    try:
        return kc.kernel_info(reply=True, timeout=60)["content"]["language_info"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_notebooks_are_committed_in_the_filters_own_form(tmp_path):
    """nbstripout leaves every committed notebook byte for byte as it is: nothing to strip, nothing reordered."""
    for path in NOTEBOOKS:
        copy = tmp_path / path.name
        shutil.copy(path, copy)
        subprocess.run([sys.executable, "-m", "nbstripout", str(copy)], check=True)
        assert copy.read_bytes() == path.read_bytes(), f"{path.name} is not in nbstripout's form (run it on the file)"
        nb = json.loads(path.read_text())
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb["cells"] if c["cell_type"] == "code"), path.name


def test_notebook_metadata_is_what_the_e2h_kernel_reports():
    """JupyterLab fills in language_info from the kernel when it opens a notebook; when the committed metadata is
    already that, opening a notebook does not mark it modified (and autosave does not rewrite it)."""
    info = _kernel_language_info()
    for path in NOTEBOOKS:
        meta = json.loads(path.read_text())["metadata"]
        assert meta["kernelspec"]["name"] == "e2h", path.name
        assert meta["language_info"] == info, f"{path.name}: language_info {meta['language_info']} != kernel's {info}"


def test_make_setup_installs_the_output_stripping_filter():
    attributes = (ROOT / ".gitattributes").read_text()
    assert "*.ipynb filter=nbstripout" in attributes
    if subprocess.run(["git", "rev-parse", "--git-dir"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout: there is no filter to install")
    clean = subprocess.run(["git", "config", "--get", "filter.nbstripout.clean"], cwd=ROOT, capture_output=True,
                           text=True).stdout
    assert "nbstripout" in clean, "the nbstripout git filter is not installed: run `make setup`"


def test_a_notebook_saved_with_outputs_is_clean_to_git(tmp_path):
    """What autosave writes after a run (outputs, counts, Lab's key order) is what git sees as unchanged."""
    if subprocess.run(["git", "rev-parse", "--git-dir"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    path = NOTEBOOKS[0]
    nb = json.loads(path.read_text())
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = i + 1
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["a result\n"]}]
    saved = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    cleaned = subprocess.run(["git", "-c", "core.autocrlf=false", "hash-object", "--path",
                              str(path.relative_to(ROOT)), "--stdin"], cwd=ROOT, input=saved, capture_output=True,
                             text=True, check=True).stdout.strip()
    committed = subprocess.run(["git", "hash-object", "--path", str(path.relative_to(ROOT)), str(path)], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    assert cleaned == committed
