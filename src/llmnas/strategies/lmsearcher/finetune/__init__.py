"""LoRA fine-tuning of small embedded models and export of the adapter to GGUF."""
