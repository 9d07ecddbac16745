#!/usr/bin/env python3
"""Generate torch_linear.safetensors and torch_linear.json for the Go tests.

The model is torch.nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)) built
with torch.manual_seed(0). One forward pass in training mode on a seeded
batch moves the batch-norm running statistics away from their initial
values and sets num_batches_tracked to 1, so every tensor holds data that
a decoder could get wrong.

Debian has no python3-safetensors package, so the file is packed by hand
exactly as safetensors.torch.save_file packs it: an 8-byte little-endian
header length, a compact JSON header with "__metadata__" first and the
tensors in data order (dtypes in descending safetensors order, so I64
before F32, then by name), padded with spaces to a multiple of 8 bytes,
then each tensor's little-endian bytes back to back.

Run from this directory with Debian's python3-torch installed:

    /usr/bin/python3 gen_torch.py
"""

import json

import numpy as np
import torch
from torch import nn

DTYPES = {
    torch.float32: ("F32", "<f4"),
    torch.float64: ("F64", "<f8"),
    torch.int64: ("I64", "<i8"),
}
# Position of each dtype in safetensors' Dtype enum; save_file sorts by it,
# descending.
ORDER = {"F32": 11, "F64": 12, "I64": 13}


def pack(state, metadata):
    entries = []
    for name, t in state.items():
        dtype, np_dtype = DTYPES[t.dtype]
        data = t.detach().cpu().contiguous().numpy().astype(np_dtype).tobytes()
        entries.append((name, dtype, list(t.shape), data))
    entries.sort(key=lambda e: (-ORDER[e[1]], e[0]))

    header = {"__metadata__": metadata}
    offset = 0
    for name, dtype, shape, data in entries:
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [offset, offset + len(data)],
        }
        offset += len(data)
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * (-len(hbytes) % 8)
    out = len(hbytes).to_bytes(8, "little") + hbytes
    return out + b"".join(e[3] for e in entries)


def main():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3))
    state = model.state_dict()
    metadata = {"format": "pt"}

    with open("torch_linear.safetensors", "wb") as f:
        f.write(pack(state, metadata))

    expected = {
        "metadata": metadata,
        "tensors": {
            name: {
                "dtype": DTYPES[t.dtype][0],
                "shape": list(t.shape),
                "values": t.detach().reshape(-1).tolist(),
            }
            for name, t in sorted(state.items())
        },
    }
    with open("torch_linear.json", "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
