"""RL after SFT (docs/design.md §6): rewards, ADM sampling, the CI-gated value, DPO/GRPO through TRL."""
