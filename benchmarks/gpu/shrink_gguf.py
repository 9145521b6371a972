"""Keep the first N blocks of a GGUF and of its LoRA GGUF, so the GPU check's model fits the 64 MiB carry.

Usage: shrink_gguf.py N MODEL.gguf OUT.gguf LORA.gguf OUT-LORA.gguf   (the text is garbage; offload is real)
"""

import sys

import gguf
from gguf import GGUFReader, GGUFValueType, GGUFWriter


def shrink(src: str, dst: str, keep: int) -> None:
    reader = GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    writer = GGUFWriter(dst, arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        value = field.contents()
        if name == f"{arch}.block_count":
            value = keep
        vtype = field.types[0]
        sub = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(name, value, vtype, sub_type=sub)
    for t in reader.tensors:
        if t.name.startswith("blk.") and int(t.name.split(".")[1]) >= keep:
            continue
        if t.name == "token_embd.weight" and t.tensor_type == gguf.GGMLQuantizationType.Q8_0:  # halve it
            data = gguf.quants.quantize(gguf.quants.dequantize(t.data, t.tensor_type), gguf.GGMLQuantizationType.Q4_1)
            writer.add_tensor(t.name, data, raw_shape=data.shape, raw_dtype=gguf.GGMLQuantizationType.Q4_1)
            continue
        writer.add_tensor(t.name, t.data, raw_shape=t.data.shape, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

if __name__ == "__main__":
    keep = int(sys.argv[1])
    shrink(sys.argv[2], sys.argv[3], keep)
    shrink(sys.argv[4], sys.argv[5], keep)
