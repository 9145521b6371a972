"""Export a training run to GGUF: a LoRA adapter (our own writer) or a full model, then check it in llama.cpp.

A full model goes through llama.cpp's own converter, taken at run time from the llama-cpp-python
source distribution of the installed version (fetched once by pip into the cache; nothing of it
is kept in this repository), then gets our prompt-format key and is quantized by llama.cpp.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from diffchat_tui import paths
from diffchat_tui.core.errors import BadInput, DiffchatError
from diffchat_tui.core.prompting import FORMAT_METADATA_KEY, TRAINED_FORMAT
from diffchat_tui.engines.editor import Editor
from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
from diffchat_tui.engines.models import ResolvedModel, check_gguf
from trainer.gguf_lora import write_lora_gguf
from trainer.jobs import read_run_info

QUANTS = ("f16", "f32", "q8_0", "q4_k_m")
CALIBRATION_CONVERSATIONS = 256
"""Training conversations a 4-bit merge is calibrated on (~40k tokens): 64 lost 2-3 eval points against the run-time
adapter, 256 none (measured on the embedded model)."""
LLAMA_FTYPES = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M"}
VERIFY_SOURCE = "a fisherman on a wooden pier with seagulls"
VERIFY_INSTRUCTION = "get rid of the seagulls"


class ExportError(DiffchatError):
    """The export ran and failed: the converter, the quantizer or the llama.cpp check."""


@dataclass(frozen=True)
class Exported:
    path: Path
    base_gguf: Path | None = None
    """For an adapter: the GGUF it applies to (None when the run's base did not come from one)."""


@dataclass(frozen=True)
class Verified:
    source: str
    instruction: str
    target: str
    prompt_format: str


def export_adapter(run: Path, output: Path | None = None, dtype: str = "f16", base_gguf: Path | None = None) -> Exported:
    """The run's LoRA as a GGUF adapter for the base GGUF it was trained from."""
    info = read_run_info(run)
    if info.get("method") != "lora":
        raise BadInput(f"{run} is a full fine-tune; export it without --adapter")
    if dtype not in ("f16", "f32"):
        raise BadInput(f"an adapter is written as f16 or f32, not {dtype}; quantize the base instead")
    base_config = json.loads((Path(info["base"]) / "config.json").read_text()) if Path(info["base"]).is_dir() else _hub_config(info["base"])
    base = base_gguf or (Path(info["base_gguf"]) if info.get("base_gguf") else None)
    out = output or run / f"{run.name}-lora-{dtype}.gguf"
    write_lora_gguf(run, base_config, out, dtype, base.name if base else str(info.get("base_spec", "")))
    return Exported(out, base)


def export_merged(run: Path, output: Path | None = None, quant: str = "q8_0") -> Exported:
    """The run's LoRA folded into the base GGUF it was trained from: one file, no run-time adapter.

    Written with the `gguf` package (engines.gguf_merge), so no converter is fetched. 8-bit keeps the
    fine-tune's small weight changes by plain rounding; 4-bit rounds with GPTQ, calibrated on the run's
    own training conversations (or the shipped ones when its training file is gone).
    """
    from diffchat_tui.engines.gguf_gptq import GPTQ_TYPES
    from diffchat_tui.engines.gguf_merge import QUANT_TYPES, merge_lora

    if quant not in QUANT_TYPES:
        raise BadInput(f"a merged model is written as {', '.join(QUANT_TYPES)}, not {quant}")
    info = read_run_info(run)
    if not info.get("base_gguf"):
        raise BadInput(f"{run} was not trained from a GGUF base; export the full model (without --merge) instead")
    calibration = None
    if quant in GPTQ_TYPES and Path(info.get("train_file") or "").is_file():
        from trainer.data.sft_format import calibration_rows
        from trainer.jobs import load_training_records

        records, _ = load_training_records(info["train_file"], CALIBRATION_CONVERSATIONS)
        calibration = [row["messages"] for row in calibration_rows(records, CALIBRATION_CONVERSATIONS)]
    out = output or run / f"{run.name}-merged-{quant}.gguf"
    with tempfile.TemporaryDirectory(prefix="diffchat-merge-") as tmp:
        adapter = export_adapter(run, Path(tmp) / "adapter.gguf")
        merge_lora(check_gguf(adapter.base_gguf), adapter.path, out, quant, calibration)
    return Exported(out)


def _hub_config(model_id: str) -> dict:
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(model_id).to_dict()


def merged_model_dir(run: Path, into: Path) -> Path:
    """A plain HF folder of the run's final weights: the run itself for a full fine-tune, base+LoRA merged otherwise."""
    info = read_run_info(run)
    if info.get("method") != "lora":
        if not (run / "config.json").is_file():
            raise BadInput(f"{run} has no final model yet (config.json); did training finish?")
        return run
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(info["base"], dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(run)).merge_and_unload()
    merged.save_pretrained(into)
    AutoTokenizer.from_pretrained(str(run)).save_pretrained(into)
    return into


def converter_script(log: Callable[[str], None] = lambda message: None) -> Path:
    """llama.cpp's convert_hf_to_gguf.py from the sdist of the installed llama-cpp-python (fetched once, cached)."""
    import llama_cpp

    version = llama_cpp.__version__
    root = paths.cache_dir() / "llama.cpp-convert" / version
    script = root / "convert_hf_to_gguf.py"
    if script.is_file():
        return script
    with tempfile.TemporaryDirectory(prefix="diffchat-sdist-") as download:
        log(f"fetching llama.cpp's converter: pip download llama-cpp-python=={version} (sdist, once)")
        command = [sys.executable, "-m", "pip", "download", f"llama-cpp-python=={version}", "--no-deps",
                   "--no-binary", ":all:", "-d", download]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        archives = list(Path(download).glob("llama_cpp_python-*.tar.gz"))
        if done.returncode != 0 or not archives:
            last = (done.stderr.strip().splitlines() or ["no sdist downloaded"])[-1]
            raise ExportError(f"cannot fetch the llama-cpp-python {version} source for the converter (needs network once): {last}")
        _extract_converter(archives[0], root)
    if not script.is_file():
        raise ExportError(f"the llama-cpp-python {version} source has no convert_hf_to_gguf.py")
    return script


def _extract_converter(archive: Path, root: Path) -> None:
    """Only the converter's Python parts of vendor/llama.cpp: the script, conversion/ and gguf-py/."""
    partial = root.with_name(f".{root.name}.{os.getpid()}.tmp")
    shutil.rmtree(partial, ignore_errors=True)
    with tarfile.open(archive) as tar:
        members = []
        for member in tar.getmembers():
            parts = member.name.split("/")
            if parts[1:3] != ["vendor", "llama.cpp"] or len(parts) < 4:
                continue
            wanted = parts[3] in ("convert_hf_to_gguf.py", "conversion", "gguf-py")
            if wanted and (member.isfile() or member.isdir()):
                member.name = "/".join(parts[3:])
                members.append(member)
        tar.extractall(partial, members=members, filter="data")
    root.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)


def add_metadata(source: Path, out: Path, extra: dict[str, str]) -> Path:
    """Copy a GGUF with extra string keys (the converter knows nothing of our prompt-format key)."""
    import gguf

    reader = gguf.GGUFReader(source)
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    writer = gguf.GGUFWriter(str(out), arch=arch, endianess=reader.endianess)
    alignment = reader.get_field(gguf.Keys.General.ALIGNMENT)
    if alignment is not None:
        writer.data_alignment = alignment.contents()
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name in (gguf.Keys.General.ARCHITECTURE, *extra):
            continue  # the writer adds its own header fields and architecture
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
    for key, value in extra.items():
        writer.add_string(key, value)
    for tensor in reader.tensors:
        writer.add_tensor_info(tensor.name, tensor.data.shape, tensor.data.dtype, tensor.data.nbytes, tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in reader.tensors:
        writer.write_tensor_data(tensor.data)
    writer.close()
    return out


def quantize(source: Path, out: Path, quant: str) -> Path:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, LLAMA_FTYPES[quant])
    params.nthread = 0
    if llama_cpp.llama_model_quantize(str(source).encode(), str(out).encode(), params) != 0:
        raise ExportError(f"llama.cpp could not quantize {source} to {quant}")
    return out


def export_full(run: Path, output: Path | None = None, quant: str = "f16", log: Callable[[str], None] = lambda message: None) -> Exported:
    """The run's final model (LoRA merged in) as one GGUF, quantized as asked; needs network the first time."""
    if quant not in QUANTS:
        raise BadInput(f"unknown quantization {quant}; choose one of {', '.join(QUANTS)}")
    out = output or run / f"{run.name}-{quant}.gguf"
    script = converter_script(log)
    with tempfile.TemporaryDirectory(prefix="diffchat-export-", dir=out.parent if out.parent.exists() else None) as work:
        work_dir = Path(work)
        model_dir = merged_model_dir(run, work_dir / "merged")
        outtype = "f32" if quant == "f32" else "f16"
        converted = work_dir / f"converted-{outtype}.gguf"
        log(f"converting {model_dir} with llama.cpp's convert_hf_to_gguf.py ({outtype})")
        done = subprocess.run(
            [sys.executable, str(script), str(model_dir), "--outfile", str(converted), "--outtype", outtype],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not converted.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ExportError(f"llama.cpp's converter failed: {last}")
        tagged = add_metadata(converted, work_dir / "tagged.gguf", {FORMAT_METADATA_KEY: TRAINED_FORMAT})
        final = quantize(tagged, work_dir / "quantized.gguf", quant) if quant in LLAMA_FTYPES else tagged
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(final), out)
    return Exported(out)


def verify_gguf(exported: Exported, source: str = VERIFY_SOURCE, instruction: str = VERIFY_INSTRUCTION) -> Verified:
    """Load the export in llama.cpp (an adapter on its base) and generate one edit; ExportError if that fails."""
    if exported.path.stat().st_size == 0:
        raise ExportError(f"{exported.path} is empty")
    if exported.base_gguf is not None:
        model = ResolvedModel(str(exported.base_gguf), "path", check_gguf(exported.base_gguf), check_gguf(exported.path, "LoRA adapter"))
    else:
        model = ResolvedModel(str(exported.path), "path", check_gguf(exported.path))
    engine = LlamaCppEngine(model, n_ctx=1024, prefix_cache=False)
    try:
        result = Editor(engine).edit(source, instruction)
    except DiffchatError as exc:
        raise ExportError(f"{exported.path} does not work in llama.cpp: {exc}") from None
    if engine.declared_format != TRAINED_FORMAT:
        raise ExportError(f"{exported.path} does not declare {FORMAT_METADATA_KEY} = {TRAINED_FORMAT}")
    return Verified(source, instruction, result.target, engine.declared_format)
