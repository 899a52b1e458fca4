#!/usr/bin/env python3
"""Executes the ctlab notebooks through a real Jupyter client (papermill on nbclient) and checks their outputs.

    notebooks/run.py --fast [NAME ...]        fast mode (the test command): parameters fast = true; executed copies
                                              go to target/notebooks/executed/, the notebooks are not touched
    notebooks/run.py --full [NAME ...]        the committed outputs: the notebooks' own parameters (fast = false, the
                                              full organism v2 run in runs/organism-traps-ablation); each notebook is rewritten in place
                                              (temp file + rename) only when it executed cleanly
    notebooks/run.py --run-all [NAME ...]     Run All as a user does it: the notebook as committed, nothing injected,
                                              stop_on_error (without runs/organism-traps-ablation the notebooks fall back to the
                                              fast run); executed copies go to target/notebooks/run-all/

Needs the "Java (ctlab)" kernel (bin/ctlab kernel install) and papermill (kernel/test/requirements.txt).
Exit status 1 when a cell fails, or when a cell tagged expect-html / expect-png lacks an HTML table / a decodable
PNG. The first cell tagged "parameters" holds the defaults; papermill adds the injected values after it.
"""
import argparse
import base64
import json
import os
import re
import struct
import sys
import tempfile
from pathlib import Path

import nbformat
import papermill
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from papermill.models import Parameter
from papermill.translators import Translator, papermill_translators

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTEBOOKS = sorted(p.stem for p in HERE.glob("[0-9][0-9]-*.ipynb"))


class JavaTranslator(Translator):
    """Papermill has no Java translator; JShell accepts `var name = value;` redeclarations of the defaults."""

    @classmethod
    def translate_escaped_str(cls, s):
        return json.dumps(s)  # a JSON string literal is a valid Java string literal for these values

    @classmethod
    def translate_none(cls, val):
        return "null"

    @classmethod
    def translate_bool(cls, val):
        return "true" if val else "false"

    @classmethod
    def translate_int(cls, val):
        return str(val) if -2**31 <= val < 2**31 else f"{val}L"

    @classmethod
    def translate_float(cls, val):
        return repr(float(val))

    @classmethod
    def translate_list(cls, val):
        return "List.of(" + ", ".join(cls.translate(v) for v in val) + ")"

    @classmethod
    def translate_dict(cls, val):
        raise ValueError("map parameters are not supported for Java notebooks")

    @classmethod
    def comment(cls, cmt_str):
        return f"// {cmt_str}".strip()

    @classmethod
    def assign(cls, name, str_val):
        return f"var {name} = {str_val};"

    DECLARATION = re.compile(r"^\s*([\w.<>\[\], ]+?)\s+(\w+)\s*=\s*(.+?);\s*(?://\s*(.*))?$")

    @classmethod
    def inspect(cls, parameters_cell):
        """`type name = value; // help` lines of the parameters cell (papermill --help-notebook, unknown names)."""
        found = []
        for line in parameters_cell.source.splitlines():
            m = cls.DECLARATION.match(line)
            if m:
                found.append(Parameter(name=m[2], inferred_type_name=m[1].strip(), default=m[3].strip(), help=m[4] or ""))
        return found


papermill_translators.register("java", JavaTranslator)


def png_ok(b64):
    raw = base64.b64decode(b64)
    if raw[:8] != b"\x89PNG\r\n\x1a\n" or raw[12:16] != b"IHDR":
        return False
    w, h = struct.unpack(">II", raw[16:24])
    return w > 0 and h > 0


def problems(nb):
    """What is wrong with an executed notebook: error outputs and missing expected outputs, by cell."""
    found = []
    n = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        n += 1
        tags = set(cell.metadata.get("tags", []))
        outs = cell.get("outputs", [])
        for o in outs:
            if o.output_type == "error":
                found.append(f"code cell {n}: {o.ename}: {o.evalue}")
        data = [o.data for o in outs if "data" in o]
        if "expect-html" in tags and not any("<table" in d.get("text/html", "") or "<span" in d.get("text/html", "")
                                             for d in data):
            found.append(f"code cell {n}: expected an HTML table or heat map, got {[sorted(d) for d in data]}")
        if "expect-png" in tags and not any("image/png" in d and png_ok(d["image/png"]) for d in data):
            found.append(f"code cell {n}: expected a PNG figure, got {[sorted(d) for d in data]}")
    return found


def relative_paths(nb):
    """Papermill records absolute input/output paths; the committed notebooks keep them relative to the root."""
    pm = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if pm.get(key) and Path(pm[key]).is_absolute():
            pm[key] = os.path.relpath(pm[key], ROOT)


def run_all(name, timeout):
    """Run All: the committed notebook as it is (its own parameters), through nbclient with stop_on_error, as
    JupyterLab sends it. Returns (problems, executed copy, executed notebook)."""
    nb = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, kernel_name="ctlab", timeout=timeout, allow_errors=False,
                            resources={"metadata": {"path": str(HERE)}})
    error = None
    try:
        client.execute()
    except CellExecutionError as e:
        error = f"{e.ename}: {e.evalue}"
    except Exception as e:  # a cell timeout or a dead kernel: still keep the executed copy for reading
        error = f"{type(e).__name__}: {e}"
    out_dir = ROOT / "target" / "notebooks" / "run-all"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.ipynb"
    nbformat.write(nb, target)
    found = problems(nb)
    if error and not found:
        found.append(error)
    return found, target, nb


def execute(name, fast, timeout):
    src = HERE / f"{name}.ipynb"
    if fast:
        out_dir = ROOT / "target" / "notebooks" / "executed"
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{name}.ipynb"
    else:
        target = src
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".ipynb", dir=target.parent)
    os.close(fd)
    try:
        error = None
        try:
            papermill.execute_notebook(str(src), tmp, parameters={"fast": True} if fast else {},
                                       kernel_name="ctlab", language="java", cwd=str(HERE),
                                       execution_timeout=timeout, progress_bar=False)
        except papermill.PapermillExecutionError as e:
            error = f"{e.ename}: {e.evalue}"
        nb = nbformat.read(tmp, as_version=4)
        found = problems(nb)
        if error and not found:
            found.append(error)
        if not found:
            if not fast:
                relative_paths(nb)
                nbformat.write(nb, tmp)
            os.replace(tmp, target)
            tmp = None
        return found, target
    finally:
        if tmp and os.path.exists(tmp):
            if fast:  # keep the failed execution for reading
                os.replace(tmp, target)
            else:
                os.unlink(tmp)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--fast", action="store_true", help="fast mode (CI): fast = true, executed copies under target/")
    mode.add_argument("--full", action="store_true", help="full mode: rewrite the notebooks with their outputs")
    mode.add_argument("--run-all", action="store_true", help="Run All on the notebooks as committed (stop on error)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    ap.add_argument("names", nargs="*", help=f"notebooks (default: all of {', '.join(NOTEBOOKS)})")
    a = ap.parse_args(argv)
    names = a.names or NOTEBOOKS
    for n in names:
        if n not in NOTEBOOKS:
            ap.error(f"unknown notebook '{n}' (expected one of {', '.join(NOTEBOOKS)})")
    failed = 0
    for n in names:
        print(f"{n}: executing ({'fast' if a.fast else 'run-all' if a.run_all else 'full'} mode)...", flush=True)
        found, target = run_all(n, a.timeout)[:2] if a.run_all else execute(n, a.fast, a.timeout)
        if found:
            failed += 1
            print(f"{n}: FAILED ({target})", *[f"  {f}" for f in found], sep="\n", flush=True)
        else:
            print(f"{n}: ok ({target})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
