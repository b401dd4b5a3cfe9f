"""The shipped digits data: the file is the committed one, and its preparation is what the notebook says."""

import numpy as np
import pytest

from companion import data


def test_digits_are_the_uci_test_set():
    pixels, labels = data.load_digits()
    assert pixels.shape == (1797, 64) and labels.shape == (1797,)
    assert pixels.min() == 0 and pixels.max() == 16 and np.all(pixels == np.round(pixels))
    assert np.array_equal(np.bincount(labels), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_digits_inputs_are_centred_full_rank_and_scaled():
    X, labels, kept = data.digits_inputs()
    assert X.shape == (1797, 61) and kept.sum() == 61 and labels.shape == (1797,)
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    lam = np.linalg.eigvalsh(X.T @ X / 1797)
    assert abs(lam[-1] - 1) < 1e-12 and lam[0] > 1e-7  # positive definite: whitening is defined


def test_a_changed_file_is_refused(tmp_path, monkeypatch):
    (tmp_path / "digits.csv.gz").write_bytes(
        (data.DATA / "digits.csv.gz").read_bytes()[:-1] + b"\xff"
    )
    monkeypatch.setattr(data, "DATA", tmp_path)
    with pytest.raises(ValueError, match="is not the shipped file"):
        data.load_digits()
