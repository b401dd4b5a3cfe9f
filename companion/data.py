"""Real data shipped with the companion (see ``companion/data/README.md``).

I/O lives here, not in ``fa_core``: the loaders read a committed file, check its
checksum and return plain arrays. Nothing is downloaded.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 handwritten digits: pixels (1797, 64), integers 0–16, and labels (1797,), 0–9.

    The test set of the UCI "Optical Recognition of Handwritten Digits" data
    (Alpaydin & Kaynak 1998, CC BY 4.0), as scikit-learn ships it.
    """
    raw = (DATA / "digits.csv.gz").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DIGITS_SHA256:
        raise ValueError(
            f"{DATA / 'digits.csv.gz'} is not the shipped file (SHA-256 {digest}); restore it with git"
        )
    D = np.loadtxt(gzip.decompress(raw).decode().splitlines(), delimiter=",", dtype=np.int64)
    return D[:, :64].astype(float), D[:, 64]


def digits_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digits prepared as network inputs: X (1797, 61), labels (1797,) and the pixels kept.

    The 3 pixels that are 0 in every image are dropped (they would make
    XᵀX/N singular), the rest are centred, and the whole is scaled so that
    the largest eigenvalue of Σ̂ = XᵀX/N is 1, which puts every step size on
    the same scale as the synthetic notebooks'. ``kept`` (64 booleans, row by
    row) maps a column of X back to its place in the 8×8 image.
    """
    pixels, labels = load_digits()
    kept = pixels.std(axis=0) > 0
    X = pixels[:, kept]
    X = X - X.mean(axis=0)
    return X / np.sqrt(np.linalg.eigvalsh(X.T @ X / X.shape[0])[-1]), labels, kept
