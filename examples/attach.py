"""Your own training loop, watched and steered from Stepscope's page: scikit-learn's 8×8 digits
classified by a small MLP trained with Adam, in plain PyTorch.

Run it with:

    python examples/attach.py

It prints the address of the run's page (starting a server on http://127.0.0.1:8000 if none
answers there). Pause the loop, step it one optimizer.step() at a time, or lower the learning rate
from the page: the loop below is yours, and only the two lines marked `stepscope` were added.
docs/attach.md describes the API.
"""

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import stepscope

EPOCHS = 40


def main() -> None:
    torch.manual_seed(0)
    digits = load_digits()  # 1797 images of 8×8 pixels, 0..16, shipped inside scikit-learn
    inputs = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    targets = torch.tensor(digits.target)
    held_out = 297
    train = TensorDataset(inputs[held_out:], targets[held_out:])
    loader = DataLoader(train, batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    watch = stepscope.attach(model, optimizer, name="digits MLP")  # stepscope
    for epoch in range(EPOCHS):
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            watch.log(loss=loss)  # stepscope
        with torch.no_grad():
            accuracy = (model(inputs[:held_out]).argmax(dim=1) == targets[:held_out]).float().mean()
        print(f"epoch {epoch + 1}: held-out accuracy {accuracy:.3f}")
    watch.close()


if __name__ == "__main__":
    main()
