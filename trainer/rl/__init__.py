"""RL after SFT (DESIGN.md §6): rewards, ADM sampling, the CI-gated value, DPO/GRPO through TRL."""
