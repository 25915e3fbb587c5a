"""hyena.c and PyTorch, both ways, checked on a trained model: the reference language model (the
reference HyenaOperator in the blocks of safari's LM) loads a hyena.c checkpoint by name and must
compute the validation loss `hyena eval` prints; then PyTorch trains it further, saves its state
dict, `hyena import` turns that into a checkpoint, and `hyena eval` must print the loss PyTorch
computes. Outside the build: it needs Python 3 with PyTorch and NumPy and safari's
standalone_hyena.py (which imports einops); hyena.c needs none of them.

    make shakespeare && head -c 200000 build/data/tinyshakespeare.txt > small.txt
    ./build/hyena train --data small.txt --d-model 32 --layers 2 --steps 200 --out run
    python3 tests/reference/pytorch_lm.py --safari safari --hyena build/hyena \\
        --ckpt run/best.safetensors --data small.txt --workdir run

Scope: all-Hyena models with the char tokenizer (the vocabulary is read from the checkpoint).
The model is evaluated in float64, so the comparison measures hyena.c's float32 error alone.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import load_reference, save_safetensors  # noqa: E402 (beside this file)


def read_safetensors(path):
    """Every F32 tensor as a numpy array, and the metadata."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            sys.exit(f"pytorch_lm: {path}: tensor {name} is {info['dtype']}, not F32")
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(blob[8 + n + begin:8 + n + end], dtype="<f4").reshape(info["shape"])
    return tensors, meta


def build_model(ref, meta):
    """safari's LM around the reference operator, with the state dict names hyena.c writes."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    D, V, T = int(meta["d_model"]), int(meta["vocab_size"]), int(meta["context"])

    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

        def forward(self, x):
            return self.fc2(F.gelu(self.fc1(x)))  # the exact GELU, as hyena.c

    class Block(nn.Module):  # pre-norm: x + mixer(norm1(x)), then x + mlp(norm2(x))
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2, self.mlp = nn.LayerNorm(D), nn.LayerNorm(D), Mlp()
            self.mixer = ref.HyenaOperator(
                d_model=D, l_max=T, order=int(meta["order"]), filter_order=int(meta["filter_order"]),
                emb_dim=int(meta["emb_dim"]), num_inner_mlps=int(meta["num_inner_mlps"]), w=float(meta["w"]),
                shift=float(meta["shift"]), fast_decay_pct=float(meta["fast_decay_pct"]),
                slow_decay_pct=float(meta["slow_decay_pct"]), target=float(meta["target"]))

        def forward(self, x):
            x = x + self.mixer(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class Embeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = nn.Embedding(V, D)

    class Backbone(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = Embeddings()
            self.layers = nn.ModuleList([Block() for _ in range(int(meta["layers"]))])
            self.ln_f = nn.LayerNorm(D)

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = Backbone()

        def forward(self, ids):  # ids: [B, T] -> logits [B, T, V], the head tied to the embedding
            x = self.backbone.embeddings.word_embeddings(ids)
            for block in self.backbone.layers:
                x = block(x)
            return self.backbone.ln_f(x) @ self.backbone.embeddings.word_embeddings.weight.t()

    return LM()


def encode_chars(meta, text_bytes):
    """hyena.c's char tokenizer: code points (invalid UTF-8 bytes as U+DC80 + byte, which is
    Python's surrogateescape), numbered in the sorted order the checkpoint stores."""
    vocab = [int(h, 16) for h in meta["tokenizer_vocab"].split()]
    index = {cp: i for i, cp in enumerate(vocab)}
    text = text_bytes.decode("utf-8", "surrogateescape")
    try:
        return np.array([index[ord(ch)] for ch in text], dtype=np.int64)
    except KeyError as e:
        sys.exit(f"pytorch_lm: the corpus holds U+{e.args[0]:04X}, which is not in the checkpoint's vocabulary")


def split(meta, ids):
    # as data/dataset.c: the last floor(n * val_fraction) tokens, val_fraction a float32
    n_val = int(len(ids) * float(np.float32(meta["val_fraction"])))
    return ids[:len(ids) - n_val], ids[len(ids) - n_val:]


def val_loss(model, val, T):
    """hyena eval's exact pass: windows of T tokens, every token after the first predicted once."""
    import torch
    import torch.nn.functional as F
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(val) - 1, T):
            x = torch.from_numpy(val[start:start + T][None, :len(val) - 1 - start])
            y = torch.from_numpy(val[start + 1:start + T + 1][None])
            logits = model(x)
            total += F.cross_entropy(logits[0], y[0], reduction="sum").item()
            count += y.numel()
    return total / count, count


def hyena_eval(hyena, ckpt, data):
    out = subprocess.run([hyena, "eval", "--ckpt", ckpt, "--data", data, "--split", "val"], capture_output=True,
                         text=True)
    m = re.search(r"(\d+) tokens, loss ([0-9.]+)", out.stdout)
    if out.returncode != 0 or not m:
        sys.exit(f"pytorch_lm: hyena eval failed: {out.stderr.strip() or out.stdout.strip()}")
    return float(m.group(2)), int(m.group(1))


def report(what, ours, theirs, tol):
    rel = abs(ours - theirs) / abs(theirs)
    print(f"{what}: hyena.c {ours:.6f}, PyTorch {theirs:.6f}, relative difference {rel:.1e} "
          f"({'ok' if rel <= tol else 'MORE THAN ' + format(tol, '.0e')})")
    return rel <= tol


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--safari", required=True, help="a checkout of HazyResearch/safari")
    ap.add_argument("--hyena", required=True, help="the hyena binary")
    ap.add_argument("--ckpt", required=True, help="a checkpoint of an all-Hyena char model")
    ap.add_argument("--data", required=True, help="the text file it was trained on")
    ap.add_argument("--workdir", required=True, help="where the exported state dict and import go")
    ap.add_argument("--steps", type=int, default=30, help="PyTorch training steps before export")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    a = ap.parse_args()

    import torch
    tensors, meta = read_safetensors(a.ckpt)
    if meta.get("tokenizer_kind") != "char" or set(meta.get("mixers", "")) != {"h"}:
        sys.exit("pytorch_lm: this script handles all-Hyena models with the char tokenizer")
    # hyena eval --data evaluates a whole file; the validation split is what both sides score.
    ids = encode_chars(meta, open(a.data, "rb").read())
    train, val = split(meta, ids)
    val_path = os.path.join(a.workdir, "val.txt")
    with open(val_path, "wb") as f:  # the split's text, for hyena eval --data
        vocab = [int(h, 16) for h in meta["tokenizer_vocab"].split()]
        f.write("".join(chr(vocab[i]) for i in val).encode("utf-8", "surrogateescape"))
    T = int(meta["context"])

    ref = load_reference(a.safari)
    model = build_model(ref, meta)
    state = {k: torch.from_numpy(v.copy()) for k, v in tensors.items() if not k.startswith("optim.")}
    model.load_state_dict(state, strict=True)  # every name and shape must match, both ways
    ok = True

    # 1. hyena.c -> PyTorch
    theirs, n = val_loss(model.double(), val, T)
    ours, n_ours = hyena_eval(a.hyena, a.ckpt, val_path)
    print(f"validation: {n} tokens in PyTorch, {n_ours} in hyena eval")
    ok &= n == n_ours
    ok &= report("checkpoint loaded into PyTorch", ours, theirs, a.tolerance)

    # 2. PyTorch trains on, saves, and hyena.c imports
    model.float().train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    for step in range(a.steps):
        starts = torch.randint(0, len(train) - T - 1, (8,), generator=g)
        x = torch.stack([torch.from_numpy(train[s:s + T]) for s in starts.tolist()])
        y = torch.stack([torch.from_numpy(train[s + 1:s + T + 1]) for s in starts.tolist()])
        loss = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    weights = os.path.join(a.workdir, "pytorch_state_dict.safetensors")
    save_safetensors(weights, model.state_dict(), {"generator": "tests/reference/pytorch_lm.py"})
    imported = os.path.join(a.workdir, "imported.safetensors")
    out = subprocess.run([a.hyena, "import", "--weights", weights, "--data", a.data, "--out", imported],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"pytorch_lm: hyena import failed: {out.stderr.strip()}")
    theirs, _ = val_loss(model.double(), val, T)
    ours, _ = hyena_eval(a.hyena, imported, val_path)
    ok &= report(f"state dict after {a.steps} PyTorch steps, imported", ours, theirs, a.tolerance)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
