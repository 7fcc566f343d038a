#!/usr/bin/env python3
"""PyTorch peer for bench/nn_gpu_bench.cc: ResNet-18 (224x224, batch 64) forward, backward from a
fixed dL/dy and an SGD step on one GPU, FP32 (and TF32 convolutions, PyTorch's default).
ResNet-18 is defined here (no torchvision needed), matching nn::MakeResNet18.
Usage: python3 scripts/bench_resnet18_torch.py [--steps 30]"""
import argparse
import statistics
import time

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, 0, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        s = x if self.shortcut is None else self.shortcut(x)
        return torch.relu(self.main(x) + s)


def resnet18(num_outputs=1000):
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
              nn.MaxPool2d(3, 2, 1)]
    c = 64
    for width in (64, 128, 256, 512):
        layers += [BasicBlock(c, width, 1 if width == 64 else 2), BasicBlock(width, width, 1)]
        c = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_outputs)]
    return nn.Sequential(*layers)


def time_steps(tf32, steps):
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    net = resnet18().cuda().train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(64, 3, 224, 224, device="cuda")
    dy = torch.randn(64, 1000, device="cuda") / 1000
    times = []
    for i in range(steps + 5):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        net(x).backward(dy)
        opt.step()
        torch.cuda.synchronize()
        if i >= 5:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    flops = 3 * 3.638e9 * 64  # 3x nn::MakeResNet18's ForwardFlops, as nn_gpu_bench counts
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    for tf32 in (False, True):
        t = time_steps(tf32, args.steps)
        print(f"resnet18 train step, batch 64, tf32={tf32}: median {t * 1e3:.1f} ms, "
              f"{flops / t / 1e12:.2f} TFLOP/s")


if __name__ == "__main__":
    main()
