"""Exports the PyTorch models the ONNX importer is tested on.

Run with Debian's torch 1.13 and onnx (from the repository root):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 testdata/onnx/gen.py

Each model NAME is written as NAME.onnx (opset 17, the batch dimension
symbolic), NAME.in.npy (a batch of inputs) and NAME.out.npy (PyTorch's
outputs for them), all committed, so that `go test ./onnx` needs no Python.
"""
import os

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc2 = nn.Linear(32, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc3 = nn.Linear(16, 5)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        h = torch.tanh(self.bn(self.fc2(h)))
        return torch.log_softmax(self.fc3(h), dim=-1)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.bn2 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 2 * 2, 3)

    def forward(self, x):
        h = self.pool(torch.relu(self.bn1(self.conv1(x))))  # [N, 4, 6, 6]
        h = self.pool(torch.sigmoid(self.bn2(self.conv2(h))))  # [N, 8, 2, 2]
        return self.fc(h.view(h.size(0), -1))


class DepthwiseCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.pw = nn.Conv2d(6, 8, 1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        h = torch.relu(self.conv1(x))
        h = torch.relu(self.bn(self.pw(self.dw(h))))
        return self.fc(torch.flatten(self.pool(h), 1))


class Encoder(nn.Module):
    def __init__(self, vocab=50, d=16, heads=2, t=6):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(t, d) * 0.1)
        self.layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=32, dropout=0.1, batch_first=True)
        self.head = nn.Linear(d, 3)

    def forward(self, ids):
        h = self.tok(ids) + self.pos
        h = self.layer(h)
        return self.head(h)


def export(name, model, x, input_name="x"):
    model.eval()
    # Trained-looking statistics for the batch norms.
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(HERE, name + ".onnx")
    torch.onnx.export(model, (x,), path, opset_version=17, input_names=[input_name], output_names=["y"],
                      dynamic_axes={input_name: {0: "N"}, "y": {0: "N"}})
    np.save(os.path.join(HERE, name + ".in.npy"), x.numpy())
    np.save(os.path.join(HERE, name + ".out.npy"), y.numpy().astype(np.float32))


export("mlp", MLP(), torch.randn(7, 20))
export("cnn", CNN(), torch.rand(5, 1, 12, 12))
export("depthwise", DepthwiseCNN(), torch.rand(3, 3, 8, 8))
export("encoder", Encoder(), torch.randint(0, 50, (4, 6)), input_name="ids")
