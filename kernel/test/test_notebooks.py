"""The notebooks in notebooks/, executed in fast mode through papermill and the installed ctlab kernel (run via
kernel/test/run.sh, which installs the kernelspec). Each fails on any error output and on a cell tagged
expect-html / expect-png without an HTML table (or heat map) / a decodable PNG; see notebooks/run.py."""
import sys
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
sys.path.insert(0, str(NOTEBOOKS_DIR))
import run as notebooks  # noqa: E402  (notebooks/run.py)


def test_every_notebook_has_a_parameters_cell_with_a_fast_switch():
    import nbformat
    assert notebooks.NOTEBOOKS == ["01-quickstart", "02-critical-tokens", "03-contrastive-estimation",
                                   "04-cdpo-ablation", "05-token-effects"]
    for name in notebooks.NOTEBOOKS:
        nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, f"{name}: one cell tagged parameters"
        assert "boolean fast = false;" in params[0].source, f"{name}: fast defaults to false (the committed outputs)"
        expects = [c for c in nb.cells if {"expect-html", "expect-png"} & set(c.metadata.get("tags", []))]
        assert expects, f"{name}: declares the outputs it must produce"


@pytest.mark.parametrize("name", notebooks.NOTEBOOKS)
def test_notebook_runs_in_fast_mode(name):
    found, target = notebooks.execute(name, fast=True, timeout=900)
    assert not found, f"{name} ({target}):\n" + "\n".join(found)
