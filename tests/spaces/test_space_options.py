"""Each space declares its options as a pydantic model; they are validated once, when the space
is built, with one error that names the option and the fix."""

from __future__ import annotations

import pytest

from llmnas.config import RunConfig
from llmnas.errors import ConfigError
from llmnas.spaces import SPACES
from llmnas.spaces.registry import SPACE_OPTIONS


def _build(space: str, **opts):
    return SPACES.get(space)(RunConfig(space=space, strategy="rs", budget=1, space_options=opts))


def test_every_registered_space_declares_its_options() -> None:
    assert set(SPACE_OPTIONS) == set(SPACES.names())
    assert list(SPACE_OPTIONS["nb201"].model_fields) == ["canonical"]
    assert list(SPACE_OPTIONS["nb-macro"].model_fields) == []
    assert "supernet" in SPACE_OPTIONS["spos"].model_fields and "val_images" in SPACE_OPTIONS["ofa"].model_fields


def test_values_are_typed_and_checked() -> None:
    assert _build("nb201").space.size() == 15625 and _build("nb201", canonical="isomorphism").space.size() == 6466
    assert _build("nb201", canonical="isomorphism").space.canonical == "isomorphism"
    with pytest.raises(ConfigError, match=r"nb201 space option canonical: Input should be 'ops' or 'isomorphism' \(got 'cells'\)"):
        _build("nb201", canonical="cells")
    with pytest.raises(ConfigError, match=r"unknown nb201 space option\(s\) canon \(valid: canonical\)"):
        _build("nb201", canon="ops")
    with pytest.raises(ConfigError, match=r"space nb-macro takes no space options \(got depth\)"):
        _build("nb-macro", depth=3)
    with pytest.raises(ConfigError, match=r"spos space option val_images: Input should be greater than or equal to 1"):
        _build("spos", supernet="x.pt", val_images=0)
    with pytest.raises(ConfigError, match=r"spos space option report: Input should be 'val' or 'test'"):
        _build("spos", supernet="x.pt", report="train")
