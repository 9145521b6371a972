"""Pure Python: no torch, llama_cpp, diffusers or textual imports, ever."""
