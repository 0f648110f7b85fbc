#!/usr/bin/env python3
"""PyTorch reference values for Fovea's model zoo (Sources/Fovea/Models).

Default (small, committed, run by CI) — writes Tests/FoveaTests/Fixtures/zoo/:
  * manifest.json: for every zoo model, torchvision's parameter count, the number of state-dict
    entries and a digest of its sorted "name shape" lines (FNV-1a 64 of the UTF-8 text, lines
    joined by "\\n", shape as comma-separated sizes), the full name → shape map for one model of
    each kind of block, and the configuration of each small variant below;
  * for each small variant, <variant>.weights.safetensors (the state dict exactly as
    `safetensors.torch.save_file(model.state_dict(), path)` writes it: F32, num_batches_tracked I64)
    and <variant>.reference.safetensors with `input` (a seeded batch of 2, NCHW, stored as F16 —
    its values are rounded to F16 before the model sees them, so the F32 they load as is exactly
    the model's input) and `output` (the eval-mode logits, computed in float64, stored as F32).

  The small variants are torchvision's model classes (their forward()) and blocks
  (BasicBlock, Bottleneck, _DenseBlock, _Transition, make_layers) at reduced width, with seeded
  random weights and randomised batch-norm affine parameters and running statistics, so that
  eval-mode batch norm is exercised. The full-size zoo does not fit in a repository (resnet18's
  weights alone are 46 MB).

Full size (optional, not committed):
    $(Scripts/torch-venv.sh) Scripts/make_zoo_fixtures.py --full resnet50 densenet121 --out /tmp/fovea-zoo
  writes <name>.weights.safetensors and <name>.reference.safetensors (224×224 input, F32) for each
  named torchvision model into the folder and adds them to its manifest.json (random weights,
  randomised batch-norm affine parameters, running statistics estimated from random batches);
  then
    FOVEA_ZOO_FULL_FIXTURES=/tmp/fovea-zoo swift test --filter ZooConformance
  checks Fovea against them.

Regenerate the committed fixtures with:
    $(Scripts/torch-venv.sh) Scripts/make_zoo_fixtures.py
"""
import argparse
import json
import pathlib

import torch
import torchvision
from safetensors.torch import save_file
from torch import nn
from torchvision.models import AlexNet, DenseNet, ResNet, VGG
from torchvision.models.resnet import BasicBlock, Bottleneck
from torchvision.models.vgg import make_layers

FORMAT_VERSION = 1
OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "FoveaTests" / "Fixtures" / "zoo"

ZOO = ["alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
       "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
       "densenet121", "densenet161", "densenet169", "densenet201"]
# One model per kind of block whose whole state-dict listing goes into the manifest.
LISTED = ["alexnet", "vgg11", "vgg11_bn", "resnet18", "resnet50", "densenet121"]

# Reduced-width variants: `features` lists of VGG use 0 for a max pool ("M" in torchvision).
SMALL = {
    "alexnet_small": {"family": "alexnet", "channels": [8, 16, 16, 16, 16], "pooled_size": 3,
                      "hidden_features": 32, "classes": 10, "input_size": 95},
    "vgg_small": {"family": "vgg", "features": [4, 0, 8, 0, 8, 8, 0, 16, 16, 0, 16, 16, 0], "batch_norm": False,
                  "pooled_size": 3, "hidden_features": 32, "classes": 10, "input_size": 64},
    "vgg_bn_small": {"family": "vgg", "features": [4, 0, 8, 0, 8, 8, 0, 16, 16, 0, 16, 16, 0], "batch_norm": True,
                     "pooled_size": 3, "hidden_features": 32, "classes": 10, "input_size": 64},
    "resnet_basic_small": {"family": "resnet", "block": "basic", "layers": [2, 2, 2, 2], "widths": [4, 8, 16, 32],
                           "classes": 10, "input_size": 64},
    "resnet_bottleneck_small": {"family": "resnet", "block": "bottleneck", "layers": [1, 2, 2, 1], "widths": [4, 8, 16, 32],
                                "classes": 10, "input_size": 64},
    # Growth 6 from 12 channels gives 33 channels before the third transition: its halving rounds down.
    "densenet_small": {"family": "densenet", "growth_rate": 6, "blocks": [2, 3, 3, 2], "initial_features": 12,
                       "bottleneck_width": 2, "classes": 10, "input_size": 64},
}


class NarrowResNet(ResNet):
    """torchvision's ResNet (its _make_layer and forward) with stage widths `widths` instead of
    64, 128, 256, 512."""

    def __init__(self, block, layers, widths, num_classes):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = widths[0], 1, 1, 64
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def small_classifier(features, hidden, classes, dropout_first):
    """torchvision's AlexNet (dropout first) or VGG classifier layout at width `hidden`."""
    if dropout_first:
        return nn.Sequential(nn.Dropout(), nn.Linear(features, hidden), nn.ReLU(inplace=True),
                             nn.Dropout(), nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, classes))
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(True), nn.Dropout(),
                         nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(), nn.Linear(hidden, classes))


def build_small(cfg):
    family, classes = cfg["family"], cfg["classes"]
    if family == "alexnet":
        model = AlexNet(num_classes=classes)  # torchvision's class and forward(), narrower layers
        c = cfg["channels"]
        model.features = nn.Sequential(
            nn.Conv2d(3, c[0], kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c[0], c[1], kernel_size=5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c[1], c[2], kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[2], c[3], kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[3], c[4], kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2))
        model.avgpool = nn.AdaptiveAvgPool2d(cfg["pooled_size"])
        model.classifier = small_classifier(c[4] * cfg["pooled_size"] ** 2, cfg["hidden_features"], classes, True)
        return model
    if family == "vgg":
        layout = ["M" if v == 0 else v for v in cfg["features"]]
        model = VGG(make_layers(layout, batch_norm=cfg["batch_norm"]), num_classes=classes)
        last = [v for v in cfg["features"] if v][-1]
        model.avgpool = nn.AdaptiveAvgPool2d(cfg["pooled_size"])
        model.classifier = small_classifier(last * cfg["pooled_size"] ** 2, cfg["hidden_features"], classes, False)
        return model
    if family == "resnet":
        block = BasicBlock if cfg["block"] == "basic" else Bottleneck
        return NarrowResNet(block, cfg["layers"], cfg["widths"], classes)
    if family == "densenet":
        return DenseNet(growth_rate=cfg["growth_rate"], block_config=tuple(cfg["blocks"]),
                        num_init_features=cfg["initial_features"], bn_size=cfg["bottleneck_width"], num_classes=classes)
    raise ValueError(family)


def randomise_batch_norm(model, generator):
    """Non-trivial affine parameters and running statistics, so eval-mode batch norm matters."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=generator) + 0.5)            # U(0.5, 1.5)
                m.bias.copy_(torch.rand(c, generator=generator) * 0.5 - 0.25)       # U(-0.25, 0.25)
                m.running_mean.copy_(torch.rand(c, generator=generator) * 0.6 - 0.3)  # U(-0.3, 0.3)
                m.running_var.copy_(torch.rand(c, generator=generator) * 1.5 + 0.5)   # U(0.5, 2)
                m.num_batches_tracked.fill_(int(torch.randint(1, 10_000, (1,), generator=generator)))


def calibrate_batch_norm(model, input_shape, generator):
    """Running statistics estimated from two random batches, the variances then scaled by
    U(0.8, 1.2) (the affine parameters stay randomised), so that, as in a trained network, they
    roughly match the activations: with purely random statistics a 152-layer ResNet's logits grow
    to 1e8. Used for the full-size fixtures."""
    saved = {}
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            saved[m] = int(m.num_batches_tracked)
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(*input_shape, generator=generator))
    for m, tracked in saved.items():
        m.momentum = 0.1
        m.num_batches_tracked.fill_(tracked)
        m.running_var.mul_(torch.rand(m.num_features, generator=generator) * 0.4 + 0.8)  # × U(0.8, 1.2)


def reference(model, input_shape, seed, half_input):
    """The eval-mode logits in float64 for a seeded standard-normal batch (also PyTorch's own
    float32 logits' distance from them)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(*input_shape, generator=generator)
    if half_input:
        x = x.half().float()
    model.eval()
    with torch.no_grad():
        logits32 = model(x)
        logits64 = model.double()(x.double())
        model.float()
    error = (logits32.double() - logits64).abs().max().item()
    return x, logits64.float(), {"torch_float32_max_abs_error": error,
                                 "max_abs_logit": logits64.abs().max().item()}


def shape_text(t):
    return ",".join(str(d) for d in t.shape)


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def zoo_entry(name):
    model = getattr(torchvision.models, name)()
    state = model.state_dict()
    lines = sorted(f"{k} {shape_text(v)}" for k, v in state.items())
    entry = {"parameters": sum(p.numel() for p in model.parameters()),
             "state_dict_entries": len(state),
             "state_dict_digest": fnv1a64("\n".join(lines))}
    if name in LISTED:
        entry["state_dict"] = {k: list(v.shape) for k, v in state.items()}
    return entry


def write_pair(folder, name, model, x, logits, half_input):
    save_file(model.state_dict(), str(folder / f"{name}.weights.safetensors"))
    save_file({"input": x.half() if half_input else x.contiguous(), "output": logits.contiguous()},
              str(folder / f"{name}.reference.safetensors"))


def make_small():
    OUT.mkdir(parents=True, exist_ok=True)
    small = {}
    for index, (name, cfg) in enumerate(SMALL.items()):
        torch.manual_seed(1000 + index)
        model = build_small(cfg)
        randomise_batch_norm(model, torch.Generator().manual_seed(2000 + index))
        shape = [2, 3, cfg["input_size"], cfg["input_size"]]
        x, logits, errors = reference(model, shape, 3000 + index, half_input=True)
        write_pair(OUT, name, model, x, logits, half_input=True)
        small[name] = {**cfg, "input_shape": shape, **errors,
                       "parameters": sum(p.numel() for p in model.parameters())}
        print(f"{name}: {small[name]['parameters']} parameters, logits up to {errors['max_abs_logit']:.3g}, "
              f"PyTorch float32 off by {errors['torch_float32_max_abs_error']:.2g}")
    document = {
        "format_version": FORMAT_VERSION,
        "generator": "Scripts/make_zoo_fixtures.py",
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "zoo": {name: zoo_entry(name) for name in ZOO},
        "small": small,
    }
    (OUT / "manifest.json").write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {OUT}")


def make_full(names, folder, size, batch):
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / "manifest.json"
    document = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"format_version": FORMAT_VERSION, "models": {}}
    for name in names:
        if name not in ZOO:
            raise SystemExit(f"unknown model '{name}'; the zoo has: {', '.join(ZOO)}")
        index = ZOO.index(name)  # seeds depend on the model only, not on the order asked
        torch.manual_seed(4000 + index)
        model = getattr(torchvision.models, name)()
        generator = torch.Generator().manual_seed(5000 + index)
        randomise_batch_norm(model, generator)
        calibrate_batch_norm(model, [4, 3, size, size], generator)
        x, logits, errors = reference(model, [batch, 3, size, size], 6000 + index, half_input=False)
        write_pair(folder, name, model, x, logits, half_input=False)
        document["models"][name] = {"input_shape": [batch, 3, size, size], "classes": 1000, **errors,
                                    "parameters": sum(p.numel() for p in model.parameters())}
        print(f"{name}: logits up to {errors['max_abs_logit']:.3g}, PyTorch float32 off by {errors['torch_float32_max_abs_error']:.2g}")
    document["torch_version"], document["torchvision_version"] = torch.__version__, torchvision.__version__
    manifest_path.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {folder}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", nargs="+", metavar="MODEL", help="write full-size fixtures of these zoo models")
    parser.add_argument("--out", type=pathlib.Path, help="folder for --full (outside the repository)")
    parser.add_argument("--size", type=int, default=224, help="input side for --full (default 224)")
    parser.add_argument("--batch", type=int, default=2, help="batch size for --full (default 2)")
    args = parser.parse_args()
    if args.full:
        if args.out is None:
            parser.error("--full needs --out FOLDER (full-size fixtures are not committed)")
        make_full(args.full, args.out, args.size, args.batch)
    else:
        make_small()


if __name__ == "__main__":
    main()
