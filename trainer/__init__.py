"""Model building: InstructPE data, SFT and RL through TRL, GGUF export and evaluation."""
