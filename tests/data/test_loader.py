"""DataLoader batching and shuffling; normalisation helpers."""
import numpy as np
import pytest

from tinygrad_np.data import (MNIST_MEAN, MNIST_STD, DataLoader, add_channel_dim, normalize)


def make(n=23):
    x = np.arange(n * 2 * 3, dtype=np.float32).reshape(n, 2, 3)
    y = np.arange(n)
    return x, y


def seen_labels(loader):
    return np.concatenate([yb for _, yb in loader])


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("n,bs", [(23, 5), (20, 5), (3, 7), (1, 1), (0, 4)])
def test_every_sample_exactly_once_per_epoch(shuffle, n, bs):
    x, y = make(n)
    loader = DataLoader(x, y, bs, shuffle=shuffle, seed=0)
    for _ in range(3):
        batches = list(loader)
        assert len(batches) == len(loader) == -(-n // bs)
        labels = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
        assert sorted(labels.tolist()) == list(range(n))
        for xb, yb in batches:
            assert len(xb) == len(yb) <= bs
            np.testing.assert_array_equal(xb, x[yb])  # images stay paired with their labels
        assert all(len(yb) == bs for _, yb in batches[:-1])


def test_unshuffled_order_is_sequential():
    x, y = make(10)
    loader = DataLoader(x, y, 4)
    assert [yb.tolist() for _, yb in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


@pytest.mark.parametrize("n,bs,expected", [(23, 5, 4), (20, 5, 4), (3, 7, 0), (7, 7, 1)])
def test_drop_last(n, bs, expected):
    x, y = make(n)
    loader = DataLoader(x, y, bs, shuffle=True, drop_last=True, seed=1)
    batches = list(loader)
    assert len(loader) == len(batches) == expected
    assert all(len(yb) == bs for _, yb in batches)
    labels = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
    assert len(set(labels.tolist())) == expected * bs


def test_seeded_order_is_reproducible_and_changes_per_epoch():
    x, y = make(50)
    a = DataLoader(x, y, 8, shuffle=True, seed=123)
    b = DataLoader(x, y, 8, shuffle=True, seed=123)
    a0, a1 = seen_labels(a), seen_labels(a)
    b0, b1 = seen_labels(b), seen_labels(b)
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(a1, b1)
    assert not np.array_equal(a0, a1)  # a new permutation each epoch
    assert not np.array_equal(a0, np.arange(50))
    c = DataLoader(x, y, 8, shuffle=True, seed=124)
    assert not np.array_equal(seen_labels(c), a0)


def test_set_epoch_and_state_dict_resume_the_order():
    x, y = make(40)
    run = DataLoader(x, y, 6, shuffle=True, seed=7)
    orders = [seen_labels(run) for _ in range(4)]
    assert run.epoch == 4

    resumed = DataLoader(x, y, 6, shuffle=True, seed=7)
    resumed.set_epoch(2)
    np.testing.assert_array_equal(seen_labels(resumed), orders[2])
    np.testing.assert_array_equal(seen_labels(resumed), orders[3])

    unseeded = DataLoader(x, y, 6, shuffle=True)
    first = seen_labels(unseeded)
    state = unseeded.state_dict()
    copy = DataLoader(x, y, 6, shuffle=True)
    copy.load_state_dict(state)
    np.testing.assert_array_equal(seen_labels(copy), seen_labels(unseeded))
    copy.set_epoch(0)
    np.testing.assert_array_equal(seen_labels(copy), first)
    np.testing.assert_array_equal(run.order(1), orders[1])


def test_abandoned_epoch_still_advances():
    x, y = make(30)
    loader = DataLoader(x, y, 4, shuffle=True, seed=0)
    next(iter(loader))
    assert loader.epoch == 1
    np.testing.assert_array_equal(seen_labels(loader), loader.order(1))


def test_invalid_arguments():
    x, y = make(5)
    with pytest.raises(ValueError, match="length"):
        DataLoader(x, y[:4], 2)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(x, y, 0)
    with pytest.raises(ValueError):
        DataLoader(x, y, 2).set_epoch(-1)


def test_normalize_values_shape_dtype():
    images = np.array([[[0, 255], [128, 1]]], dtype=np.uint8)  # (1, 2, 2)
    out = normalize(images)
    assert out.shape == (1, 1, 2, 2) and out.dtype == np.float32
    expected = ((images.astype(np.float64) / 255 - MNIST_MEAN) / MNIST_STD).astype(np.float32)
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-6)
    flat = normalize(images, add_channel=False, dtype=np.float64, mean=0.5, std=0.5)
    assert flat.shape == (1, 2, 2) and flat.dtype == np.float64
    np.testing.assert_allclose(flat[0, 0], [-1.0, 1.0])


def test_normalized_mnist_like_data_has_unit_statistics():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (100, 28, 28), dtype=np.uint8)
    mean, std = images.mean() / 255, (images / 255).std()
    out = normalize(images, mean=mean, std=std)
    assert out.shape == (100, 1, 28, 28)
    assert abs(float(out.mean())) < 1e-4 and abs(float(out.std()) - 1) < 1e-4


def test_normalize_rejects_non_uint8():
    with pytest.raises(TypeError, match="uint8"):
        normalize(np.zeros((2, 28, 28), np.float32))


def test_add_channel_dim():
    assert add_channel_dim(np.zeros((5, 28, 28))).shape == (5, 1, 28, 28)
    assert add_channel_dim(np.zeros((28, 28))).shape == (1, 28, 28)
    with pytest.raises(ValueError):
        add_channel_dim(np.zeros(3))


def test_loader_over_normalized_images():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 10).astype(np.uint8)
    xb, yb = next(iter(DataLoader(normalize(images), labels, 4, shuffle=True, seed=0)))
    assert xb.shape == (4, 1, 28, 28) and xb.dtype == np.float32 and yb.dtype == np.uint8
