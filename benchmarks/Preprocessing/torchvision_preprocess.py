"""Times TorchServe's image_classifier preprocessing per image with PIL and torchvision, one thread.

Usage: /usr/bin/python3 benchmarks/Preprocessing/torchvision.py IMAGE...
"""
import io
import sys
import time

import torch
from PIL import Image, ImageOps
from torchvision import transforms

torch.set_num_threads(1)
COMPOSE = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])


def preprocess(data):
    image = Image.open(io.BytesIO(data))
    return COMPOSE(ImageOps.exif_transpose(image).convert("RGB"))


for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
    for _ in range(20):
        preprocess(data)
    times = []
    iterations = 50
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(iterations):
            preprocess(data)
        times.append((time.perf_counter() - start) * 1000 / iterations)
    times.sort()
    print(f"{path.split('/')[-1]}: median {times[len(times) // 2]:.2f} ms per image (best {times[0]:.2f}, {len(times)} rounds of {iterations})")
