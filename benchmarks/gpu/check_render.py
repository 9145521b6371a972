"""Device check: the image engine on CUDA picks fp16, renders reproducibly, and does img2img."""
import tempfile
from pathlib import Path

import numpy as np
import torch

from diffchat_tui.engines.image import RenderRequest
from diffchat_tui.engines.image_diffusers import DiffusersEngine, pick_device
from diffchat_tui.engines.tiny import build_tiny_sd

print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
print("pick_device(auto) ->", pick_device("auto"))
with tempfile.TemporaryDirectory() as tmp:
    model = str(build_tiny_sd(Path(tmp) / "tiny"))
    engine = DiffusersEngine(model)
    a = engine.render(RenderRequest("a cat on a sofa", seed=7))
    b = engine.render(RenderRequest("a cat on a sofa", seed=7))
    c = engine.render(RenderRequest("a cat on a sofa", seed=8))
    pa, pb, pc = (np.asarray(r.image, dtype=np.int16) for r in (a, b, c))
    print("device/dtype:", engine.device, engine.dtype, "extra:", a.extra)
    print("same seed identical:", bool((pa == pb).all()), "| other seed differs:", bool((pa != pc).any()),
          "| pixel std:", float(pa.std()), "| unet dtype:", engine._txt2img.unet.dtype)
    i2i = engine.render(RenderRequest("a dog on a sofa", seed=7, init_image=a.image, strength=0.5))
    print("img2img:", i2i.image.size, i2i.extra.get("device"), "changed:", bool((np.asarray(i2i.image, dtype=np.int16) != pa).any()))
    cpu = DiffusersEngine(model, device="cpu").render(RenderRequest("a cat on a sofa", seed=7))
    diff = np.abs(np.asarray(cpu.image, dtype=np.int16) - pa)
    print("cuda fp16 vs cpu fp32, same seed (CPU generator): mean |diff|", float(diff.mean()), "max", int(diff.max()))
    assert engine.device == "cuda" and engine.dtype == "float16" and (pa == pb).all() and pa.std() > 0
print("RENDER CHECK OK")
