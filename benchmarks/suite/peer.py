"""The peer: the same TorchScript model behind FastAPI + uvicorn, with TorchServe's image_classifier
work in Python (PIL decode, Resize 256, CenterCrop 224, ToTensor, Normalize; softmax, top 5).
benchmarks/run.sh starts it as

    MODEL=model.pt /usr/bin/python3 -m uvicorn peer:app --app-dir benchmarks/suite --host 127.0.0.1 --port PORT --workers N

with one worker process per core and one torch thread per worker (Debian's python3-torch,
python3-torchvision, python3-fastapi, python3-uvicorn)."""
import io
import os

import torch
from fastapi import FastAPI, Request
from PIL import Image
from torchvision import transforms

torch.set_num_threads(1)
MODEL = torch.jit.load(os.environ["MODEL"]).eval()
PREPROCESS = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])
app = FastAPI()


@app.get("/ping")
def ping():
    return {"status": "Healthy"}


@app.post("/predictions/{name}")
async def predict(name: str, request: Request):
    body = await request.body()
    image = Image.open(io.BytesIO(body)).convert("RGB")
    with torch.inference_mode():
        probabilities = torch.softmax(MODEL(PREPROCESS(image).unsqueeze(0)), dim=1)[0]
    top = torch.topk(probabilities, 5)
    return {str(int(i)): float(p) for p, i in zip(top.values, top.indices)}
