"""Security rules, checked on the package source with the ``ast`` module: no code execution or
unpickling of data from users, files or LLM replies (no eval/exec/compile calls,
pickle.load(s), torch.load without weights_only=True, numpy allow_pickle=True, unsafe YAML
loaders, os.system or shell=True), and API keys only from the environment, never persisted
(the run-level key checks live in test_endpoint_pool.py and tests/test_llm_runs.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import llmnas

SRC = Path(llmnas.__file__).parent
FILES = sorted(SRC.rglob("*.py"))
SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader"}


def _kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    parts.append(node.id if isinstance(node, ast.Name) else "<expr>")  # obj().eval() is not eval()
    return ".".join(reversed(parts))


def problems(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name in ("eval", "exec", "compile", "breakpoint"):
            out.append(f"{name}() runs code")
        elif name in ("pickle.load", "pickle.loads", "pickle.Unpickler", "dill.load", "dill.loads", "marshal.loads",
                      "cloudpickle.load", "cloudpickle.loads", "shelve.open"):
            out.append(f"{name}() can run code from the file (use JSON/npz, or an Unpickler whose find_class allows only data types)")
        elif name == "torch.load":
            v = _kw(node, "weights_only")
            if not (isinstance(v, ast.Constant) and v.value is True):
                out.append("torch.load without weights_only=True can run code from the file")
        elif name in ("np.load", "numpy.load"):
            v = _kw(node, "allow_pickle")
            if isinstance(v, ast.Constant) and v.value is True:
                out.append("np.load(allow_pickle=True) can run code from the file")
        elif name in ("yaml.load", "yaml.load_all"):
            loader = _kw(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
            if loader is None or _dotted(loader).split(".")[-1] not in SAFE_YAML_LOADERS:
                out.append(f"{name} without a safe Loader can build Python objects")
        elif name in ("yaml.unsafe_load", "yaml.full_load", "yaml.unsafe_load_all", "yaml.full_load_all"):
            out.append(f"{name} can build Python objects; use yaml.safe_load")
        elif name in ("os.system", "os.popen", "os.execv", "os.execvp", "os.spawnv"):
            out.append(f"{name} runs a shell or program")
        elif name.startswith("subprocess.") and isinstance(_kw(node, "shell"), ast.Constant) and _kw(node, "shell").value:
            out.append(f"{name}(shell=True) runs a shell")
    return out


def test_the_checker_catches_each_rule():
    bad = """
import pickle, torch, yaml, numpy as np, os, subprocess
eval('1'); exec('x=1'); pickle.loads(b''); torch.load('f'); torch.load('f', weights_only=False)
np.load('f', allow_pickle=True); yaml.load(s); yaml.load(s, Loader=yaml.Loader); yaml.full_load(s)
os.system('ls'); subprocess.run('ls', shell=True)
"""
    good = "import yaml, torch, numpy as np\nyaml.safe_load(s); yaml.load(s, Loader=yaml.SafeLoader)\n" \
           "torch.load('f', weights_only=True); np.load('f', allow_pickle=False); net.eval(); make(n).eval()\n"
    assert len(problems(ast.parse(bad))) == 11
    assert problems(ast.parse(good)) == []


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SRC)) for p in FILES])
def test_no_code_execution_on_data(path):
    found = problems(ast.parse(path.read_text(), str(path)))
    assert not found, f"{path.relative_to(SRC)}: " + "; ".join(found)


def test_api_keys_come_only_from_the_environment():
    from llmnas.llm import LLMSettings

    fields = set(LLMSettings.model_fields)
    assert "api_key_env" in fields and not {"api_key", "key", "token", "secret"} & fields
    from llmnas.llm.base import EndpointSettings

    assert "api_key_env" in EndpointSettings.model_fields and "api_key" not in EndpointSettings.model_fields


def test_cifar10_batches_unpickle_data_only(tmp_path):
    """The CIFAR-10 reader takes the standard python-format batches, and refuses a batch file
    that would run code when unpickled."""
    import pickle

    import numpy as np

    from llmnas.datasets.cifar10 import _batch
    from llmnas.errors import DataError

    good = tmp_path / "data_batch_1"
    rows = np.arange(4 * 3072, dtype=np.uint8).reshape(4, 3072)
    good.write_bytes(pickle.dumps({b"batch_label": b"x", b"labels": [1, 2, 3, 4], b"data": rows,
                                   b"filenames": [b"a.png"] * 4}, protocol=2))
    x, y = _batch(good)
    assert x.shape == (4, 3, 32, 32) and y.tolist() == [1, 2, 3, 4]

    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "data_batch_2"
    bad.write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(DataError, match="refusing posix.system|refusing os.system"):
        _batch(bad)
    assert not marker.exists()
