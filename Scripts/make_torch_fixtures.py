#!/usr/bin/env python3
"""PyTorch reference values for Fovea's layer and training tests.

Writes Tests/FoveaTests/Fixtures/small_network_torch.json with two small networks:
  * small_resnet: conv → batch norm → ReLU → max pool → residual basic block with a projection
    → global average pool → linear (the building blocks of a ResNet);
  * small_densenet: conv → batch norm → ReLU → dense block of 2 layers → transition → batch norm
    → ReLU → global average pool → linear (the building blocks of a DenseNet);
each with seeded random weights and input, and PyTorch's
  * logits and loss of the first forward pass (training mode),
  * the gradient of every parameter,
  * every parameter and buffer after three SGD steps (momentum 0.9, Nesterov off,
    weight decay 1e-4, lr 0.05) on the same batch.

Regenerate with:
    python3 -m venv .venv-torch && .venv-torch/bin/pip install torch torchvision
    .venv-torch/bin/python Scripts/make_torch_fixtures.py
"""
import json
import pathlib

import torch
from torch import nn
from torchvision.models.densenet import _DenseBlock, _Transition
from torchvision.models.resnet import BasicBlock

FORMAT_VERSION = 2
OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "FoveaTests" / "Fixtures" / "small_network_torch.json"


class SmallResNet(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        downsample = nn.Sequential(nn.Conv2d(8, 16, kernel_size=1, stride=2, bias=False), nn.BatchNorm2d(16))
        self.layer1 = nn.Sequential(BasicBlock(8, 16, stride=2, downsample=downsample))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SmallDenseNet(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv0", nn.Conv2d(3, 8, kernel_size=3, padding=1, bias=False))
        self.features.add_module("norm0", nn.BatchNorm2d(8))
        self.features.add_module("relu0", nn.ReLU())
        self.features.add_module("denseblock1", _DenseBlock(num_layers=2, num_input_features=8, bn_size=2, growth_rate=4, drop_rate=0))
        self.features.add_module("transition1", _Transition(num_input_features=16, num_output_features=8))
        self.features.add_module("norm5", nn.BatchNorm2d(8))
        self.classifier = nn.Linear(8, classes)

    def forward(self, x):
        x = torch.relu(self.features(x))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def flat(t):
    return [float(v) for v in t.detach().double().flatten().tolist()]


def reference(model, seed):
    torch.manual_seed(seed)
    # Non-trivial batch-norm affine parameters, so their gradients and updates are exercised.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    x = torch.randn(4, 3, 12, 12)
    labels = torch.tensor([0, 3, 1, 4])
    initial = {k: flat(v) for k, v in model.state_dict().items()}
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}

    model.train()
    loss_fn = nn.CrossEntropyLoss()
    logits = model(x)
    loss = loss_fn(logits, labels)
    loss.backward()
    gradients = {name: flat(p.grad) for name, p in model.named_parameters()}
    logits0, loss0 = flat(logits), float(loss.detach())

    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    optimizer.step()  # step 1 uses the gradients above
    losses = [loss0]
    for _ in range(2):
        optimizer.zero_grad()
        loss = loss_fn(model(x), labels)
        losses.append(float(loss.detach()))
        loss.backward()
        optimizer.step()
    after = {k: flat(v) for k, v in model.state_dict().items()}
    return {
        "input_shape": list(x.shape),
        "input": flat(x),
        "labels": labels.tolist(),
        "shapes": shapes,
        "initial_state": initial,
        "logits": logits0,
        "loss": loss0,
        "losses_per_step": losses,
        "gradients": gradients,
        "sgd": {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4, "steps": 3},
        "state_after_sgd": after,
    }


def main():
    torch.manual_seed(20261126)
    resnet = SmallResNet()
    torch.manual_seed(20261127)
    densenet = SmallDenseNet()
    document = {
        "format_version": FORMAT_VERSION,
        "generator": "Scripts/make_torch_fixtures.py",
        "torch_version": torch.__version__,
        "networks": {
            "small_resnet": reference(resnet, 1),
            "small_densenet": reference(densenet, 2),
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
