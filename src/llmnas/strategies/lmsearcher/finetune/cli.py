"""`llmnas lmsearcher train` (torch/transformers/peft are imported inside the command)."""

from __future__ import annotations

from typing import Any, Optional

import typer

from ....errors import ConfigError


def train_cmd(
    out: str = typer.Option(..., "--out", help="Output folder: checkpoints, adapter, adapter.gguf, "
                            "train.json. Use it as --llm-model OUT afterwards."),
    data: Optional[str] = typer.Option(None, "--data", help="Training JSONL (llmnas lmsearcher "
                                       "make-data). Not with --preset."),
    preset: Optional[str] = typer.Option(None, "--preset", help="A named recipe that also writes "
                                         "its data: shipped-ranker (the packaged LoRA ranker), "
                                         "ncode-ranker (the packaged NCode ranker model), "
                                         "ncode-ranker-no-transnas-micro."),
    base: Optional[str] = typer.Option(None, "--base", help="Named embedded base model "
                                       "[default: smollm2-135m; the preset's with --preset]."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Optimiser steps [default: 200]."),
    grad_accum: Optional[int] = typer.Option(None, "--grad-accum",
                                             help="Examples per optimiser step [default: 4]."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate [default: 2e-4]."),
    warmup: Optional[float] = typer.Option(None, "--warmup", help="Share of steps warming up "
                                           "linearly, then cosine decay to 10% [default: 0.1]."),
    rank: Optional[int] = typer.Option(None, "--rank", help="LoRA rank r [default: 8]."),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="LoRA alpha [default: 16]."),
    dropout: Optional[float] = typer.Option(None, "--dropout", help="LoRA dropout [default: 0]."),
    targets: Optional[str] = typer.Option(None, "--targets", help="Comma list of projections to "
                                          "adapt [default: q_proj,k_proj,v_proj,o_proj]; also "
                                          "gate_proj, up_proj, down_proj."),
    last_layers: Optional[int] = typer.Option(None, "--last-layers", help="Adapt only the last N "
                                              "decoder layers; cheaper on a CPU [default: 0 = all]."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="Leave out longer examples "
                                             "[default: 1024]."),
    val_examples: Optional[int] = typer.Option(None, "--val-examples", help="Examples held out "
                                               "and scored before and after [default: 32]."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of LoRA init and data order "
                                       "[default: 0]."),
    checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every",
                                                   help="Steps between checkpoints [default: 25]."),
    device: Optional[str] = typer.Option(None, "--device", help="auto (CUDA when there, bf16), "
                                         "cpu or cuda [default: auto]."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch CPU threads "
                                          "[default: torch's choice]."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last "
                                "checkpoint."),
    batch: Optional[int] = typer.Option(None, "--batch", help="NCode ranker presets only: steps "
                                        "per optimiser step [default: the preset's]."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """LoRA fine-tuning of the LM-Searcher ranker on make-data output (CPU or CUDA), or, with
    --preset ncode-ranker, training of the NCode ranker model from scratch.

    The LoRA result is served by the embedded runtime: --llm-model OUT (or OUT/adapter.gguf);
    an NCode ranker by --option ranker=ncode --option ncode_model=OUT."""
    from rich.console import Console

    from ..ncode_presets import NCODE_PRESETS

    if preset in NCODE_PRESETS:
        from ..ncode_cli import train_ncode_preset

        _refuse_lora_options(preset, {"--data": data, "--base": base, "--grad-accum": grad_accum, "--rank": rank,
                                      "--alpha": alpha, "--dropout": dropout, "--targets": targets,
                                      "--last-layers": last_layers, "--max-tokens": max_tokens})
        train_ncode_preset(preset, out, {"steps": steps, "batch": batch, "lr": lr, "warmup": warmup,
                                         "seed": seed, "val_examples": val_examples,
                                         "checkpoint_every": checkpoint_every, "device": device,
                                         "threads": threads}, resume=resume, quiet=quiet)
        return
    if batch is not None:
        raise ConfigError("--batch is an option of the NCode ranker presets; LoRA uses --grad-accum")

    from .train import train

    given: dict[str, Any] = {
        "base": base, "steps": steps, "grad_accum": grad_accum, "lr": lr, "warmup": warmup,
        "rank": rank, "alpha": alpha, "dropout": dropout, "last_layers": last_layers,
        "max_tokens": max_tokens, "val_examples": val_examples, "seed": seed,
        "checkpoint_every": checkpoint_every, "device": device, "threads": threads,
        "targets": [t.strip() for t in targets.split(",") if t.strip()] if targets else None,
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    console = Console(stderr=True)
    cfg, recipe = _lora_config(preset, data, out, overrides, console)
    result = train(cfg, resume=resume, console=console, progress=not quiet)
    if recipe is not None and result.adapter_gguf is not None:
        _write_card(recipe, out, overrides)
    _print_result(result, cfg)


def _refuse_lora_options(preset: str, lora_only: dict[str, Any]) -> None:
    """An NCode preset trains no LoRA adapter: the LoRA flags given are one error."""
    given_lora = [k for k, v in lora_only.items() if v is not None]
    if given_lora:
        raise ConfigError(f"{', '.join(given_lora)}: LoRA options; preset {preset} trains the "
                          "NCode ranker model (its options: --steps --batch --lr --warmup --seed "
                          "--val-examples --checkpoint-every --device --threads --resume)")


def _lora_config(preset: Optional[str], data: Optional[str], out: str, overrides: dict[str, Any],
                 console: Any) -> tuple[Any, Any]:
    """(the training config, the preset's recipe or None) from --preset or --data plus the flags."""
    from .config import make_config

    if preset is None:
        if data is None:
            raise ConfigError("give --data FILE.jsonl (write one with llmnas lmsearcher "
                              "make-data) or --preset shipped-ranker")
        return make_config(data=data, out=out, **overrides), None
    if data is not None:
        raise ConfigError("--preset writes its own data into --out; drop --data (or drop "
                          "--preset and give every setting)")
    from .presets import get_preset, prepare

    recipe = get_preset(preset)
    console.print(f"preset {recipe.name}: {recipe.description}")
    console.print(f"data: {recipe.data_command(out + '/data.jsonl')}")
    return prepare(recipe, out, overrides), recipe


def _write_card(recipe: Any, out: str, overrides: dict[str, Any]) -> None:
    """CARD.md of a preset's adapter, with the command that made it."""
    from pathlib import Path

    from .card import render_card

    extra = "".join(f" --{k.replace('_', '-')} {','.join(v) if isinstance(v, list) else v}"
                    for k, v in overrides.items())
    Path(out, "CARD.md").write_text(render_card(
        Path(out), name=recipe.name, data_command=recipe.data_command(f"{out}/data.jsonl"),
        command=f"llmnas lmsearcher train --preset {recipe.name} --out {out}{extra}"))


def _print_result(result: Any, cfg: Any) -> None:
    from rich.console import Console

    out_console = Console()
    if result.adapter_gguf is None:
        out_console.print(f"stopped at step {result.steps_done} of {cfg.steps}; continue with "
                          f"--resume")
        return
    before, after = result.val_before, result.val_after
    out_console.print(f"trained {result.steps_done} steps in {result.seconds:.0f} s; loss "
                      f"{result.losses[0]:.4f} (first step) -> {result.losses[-1]:.4f} (last)")
    if before and after:
        out_console.print(f"held-out ({int(after['n'])} examples): loss {before['loss']:.4f} -> "
                          f"{after['loss']:.4f}, exact answer {before['exact']:.0%} -> "
                          f"{after['exact']:.0%}")
    out_console.print(f"adapter: {result.adapter_gguf}; search with: llmnas search --strategy "
                      f"lmsearcher --llm-model {cfg.out}")
