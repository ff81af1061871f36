#!/usr/bin/python3
"""Exports the ONNX fixtures of tests/fixtures/onnx/ (tests/core/onnx_test.cc, tests/cli/onnx_cli_test.sh).

Debian 12's python3-torch 1.13 and python3-torchvision 0.14 (apt-get install -y
python3-torchvision python3-onnx). Run from anywhere: /usr/bin/python3 scripts/export_onnx_fixtures.py

The torchvision networks are exported without parameters (export_params=False: the
weights are graph inputs that carry only their shapes), a few KB each, in eval mode. Each is
taken at the input size and class count of the built-in network it is compared with
(docs/networks.md, "Cross-check against torchvision"):

- mobilenet_v2(num_classes=10) at 1x3x32x32      <-> mobilenetv2-cifar
- squeezenet1_1(num_classes=10) at 1x3x32x32     <-> squeezenet-cifar
- inception_v3(num_classes=10, aux_logits=False) at 1x3x259x259 <-> inceptionv3-cifar:
  torchvision's stride-2 stem needs at least 75x75, and 259 is the smallest size at which
  its Mixed_5b input is 30x30, the built-in's grid after its stride-1 stem.
- vgg16() at 1x3x224x224                        <-> vgg16 (defined as torchvision's)

Plus small models for the reader's own tests: tiny.onnx (conv + BN + ReLU6 + pools + add +
concat + linear) exported once with and once without parameters, and unsupported.onnx (a
LeakyReLU, which the reader refuses).
"""
import os
import sys

import torch
import torch.nn as nn
import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "onnx")
OPSET = 13


def export(model, size, name, params=False):
    """Exports `model` (built by the caller right after seeding, so its weights do not depend
    on the models exported before it)."""
    model.eval()
    x = torch.zeros(1, size[0], size[1], size[2])
    path = os.path.join(OUT, name)
    torch.onnx.export(model, x, path, export_params=params, opset_version=OPSET,
                      input_names=["input"], output_names=["output"], do_constant_folding=True)
    print(f"{path}: {os.path.getsize(path)} bytes", file=sys.stderr)


class Tiny(nn.Module):
    """Every operator the reader handles once: a conv stem with BN and ReLU6, a residual
    add, a two-branch concat, max/avg/global pooling, dropout and a linear classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.ReLU6()
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.res = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.a = nn.Conv2d(8, 4, 1)
        self.b = nn.Conv2d(8, 6, (1, 3), padding=(0, 1))
        self.avg = nn.AvgPool2d(3, stride=1, padding=1)
        self.relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(10, 5)

    def forward(self, x):
        x = self.pool(self.act(self.bn(self.stem(x))))
        x = x + self.relu(self.res(x))
        x = torch.cat([self.relu(self.a(x)), self.relu(self.b(self.avg(x)))], 1)
        return self.fc(self.drop(torch.flatten(self.gap(x), 1)))


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.act = nn.LeakyReLU(0.1)

    def forward(self, x):
        return self.act(self.conv(x))


def main():
    os.makedirs(OUT, exist_ok=True)
    tv = torchvision.models
    models = [
        (lambda: tv.mobilenet_v2(num_classes=10), (3, 32, 32), "mobilenet_v2.onnx", False),
        (lambda: tv.squeezenet1_1(num_classes=10), (3, 32, 32), "squeezenet1_1.onnx", False),
        (lambda: tv.inception_v3(num_classes=10, aux_logits=False, init_weights=False),
         (3, 259, 259), "inception_v3.onnx", False),
        (lambda: tv.vgg16(), (3, 224, 224), "vgg16.onnx", False),
        (Tiny, (3, 16, 16), "tiny.onnx", False),
        (Tiny, (3, 16, 16), "tiny_params.onnx", True),
        (Unsupported, (3, 8, 8), "unsupported.onnx", False),
    ]
    for make, size, name, params in models:
        torch.manual_seed(0)
        export(make(), size, name, params)


if __name__ == "__main__":
    main()
