"""InstructPE data: the record schema, loaders that report every bad row, tools and the offline builder."""
