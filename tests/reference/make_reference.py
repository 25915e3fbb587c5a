"""Writes a reference file for one Hyena operator: what tests/test_hyena.c and `hyena
check-reference` compare hyena.c against. Outside the build: it needs Python 3 with PyTorch and
NumPy, and the reference implementation, `standalone_hyena.py` from HazyResearch's safari
repository (which itself imports einops).

    git clone https://github.com/HazyResearch/safari
    python3 tests/reference/make_reference.py --safari safari --out x.safetensors \
        --d-model 8 --seq-len 16 --order 2 --filter-order 16
    ./build/hyena check-reference x.safetensors

What it does, in order (the README beside this file lists every tensor):
1. builds the reference's HyenaOperator with the given configuration and PyTorch's own
   initialization from --seed, in float64;
2. rounds every parameter and buffer to the nearest float32, so that the float32 values stored
   in the file are exactly the ones the float64 computation used;
3. draws an input and an upstream gradient uniformly in [-1, 1] (also float32-representable);
4. runs forward, then backward of sum(output * grad_output), in float64;
5. writes the state dict under the reference's names, the input, grad_output, the output, and
   grad.input and grad.<name> for every trainable parameter, as float32 safetensors, with the
   configuration in the metadata.

The shared Sin's `freq` appears under three names in the state dict (one module used three
times); its gradient is the total, stored under each name.
"""
import argparse
import json
import os
import struct
import sys


def load_reference(safari_dir):
    path = os.path.join(safari_dir, "standalone_hyena.py")
    if not os.path.exists(path):
        sys.exit(f"make_reference: no standalone_hyena.py in {safari_dir} (clone HazyResearch/safari)")
    sys.path.insert(0, os.path.abspath(safari_dir))
    import standalone_hyena  # noqa: E402 (the reference, as published)
    return standalone_hyena


def save_safetensors(path, tensors, metadata):
    """safetensors: 8-byte little-endian header size, a JSON header, then the raw data."""
    import numpy as np
    header, chunks, offset = {}, [], 0
    for name, value in tensors.items():
        data = np.ascontiguousarray(value.detach().cpu().numpy().astype("<f4")).tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = {key: str(value) for key, value in metadata.items()}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # the data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for chunk in chunks:
            f.write(chunk)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--safari", required=True, help="a checkout of HazyResearch/safari")
    ap.add_argument("--out", required=True)
    ap.add_argument("--d-model", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=16, help="L of the input")
    ap.add_argument("--l-max", type=int, default=0, help="the operator's l_max (default: --seq-len)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--order", type=int, default=2)
    ap.add_argument("--filter-order", type=int, default=16)
    ap.add_argument("--emb-dim", type=int, default=3)
    ap.add_argument("--num-inner-mlps", type=int, default=2)
    ap.add_argument("--w", type=float, default=1.0)
    ap.add_argument("--shift", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    l_max = a.l_max or a.seq_len
    if a.seq_len > l_max:
        sys.exit("make_reference: --seq-len must be at most --l-max")

    import torch
    ref = load_reference(a.safari)
    torch.manual_seed(a.seed)
    op = ref.HyenaOperator(d_model=a.d_model, l_max=l_max, order=a.order, filter_order=a.filter_order,
                           emb_dim=a.emb_dim, num_inner_mlps=a.num_inner_mlps, w=a.w, shift=a.shift).double()
    with torch.no_grad():
        for tensor in list(op.parameters()) + list(op.buffers()):
            tensor.copy_(tensor.float().double())
    u = (torch.rand(a.batch, a.seq_len, a.d_model, dtype=torch.float64) * 2 - 1).float().double()
    grad_output = (torch.rand(a.batch, a.seq_len, a.d_model, dtype=torch.float64) * 2 - 1).float().double()
    u.requires_grad_(True)
    y = op(u)
    (y * grad_output).sum().backward()

    tensors = dict(op.state_dict(keep_vars=True))
    tensors.update({"input": u, "grad_output": grad_output, "output": y, "grad.input": u.grad})
    # With keep_vars, the state dict holds the parameters themselves; a parameter registered
    # under several names (the shared Sin) is one object with one .grad: every name gets the total.
    for name, value in op.state_dict(keep_vars=True).items():
        if isinstance(value, torch.nn.Parameter) and value.grad is not None:
            tensors["grad." + name] = value.grad
    metadata = {"kind": "hyena_operator_reference", "d_model": a.d_model, "l_max": l_max, "seq_len": a.seq_len,
                "batch": a.batch, "order": a.order, "filter_order": a.filter_order, "emb_dim": a.emb_dim,
                "num_inner_mlps": a.num_inner_mlps, "w": a.w, "shift": a.shift, "fast_decay_pct": 0.3,
                "slow_decay_pct": 1.5, "target": 0.01, "modulate": True, "loss": "sum(output * grad_output)",
                "generator": "tests/reference/make_reference.py", "seed": a.seed}
    save_safetensors(a.out, tensors, metadata)
    print(f"wrote {a.out}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
