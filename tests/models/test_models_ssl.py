"""ssl: checkpoints, on a randomly initialised ResNet-50 saved to a temporary folder."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image

from ped.errors import MissingWeightsError, UnknownModelError
from ped.models import SSL_MODELS, load_backbone
from ped.models._resnet import ResNet50

pytestmark = pytest.mark.slow  # ResNet-50 forward passes: the full `make test` tier


@pytest.fixture(scope="module")
def resnet_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = ResNet50()
    state = {f"module.{k}": v for k, v in net.state_dict().items()}  # a DataParallel save
    state["module.fc.weight"] = torch.zeros(1000, 2048)
    state["module.fc.bias"] = torch.zeros(1000)
    return {"state_dict": state}, net


def test_ssl_names():
    assert len(SSL_MODELS) == 12 and "byol" in SSL_MODELS and "swav" in SSL_MODELS


def test_ssl_checkpoint_loads_into_resnet50(tmp_path, monkeypatch, resnet_state, small_images):
    ckpt, net = resnet_state
    torch.save(ckpt, tmp_path / "byol.pth")
    monkeypatch.setenv("PED_MODELS", str(tmp_path))
    bb = load_backbone("ssl:byol")
    assert bb.spec == "ssl:byol" and bb.feature_dim == 2048 and bb.num_source_classes is None
    x = bb.transform(small_images[0])
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32
    batch = bb.collate([bb.transform(im) for im in small_images[:2]])
    feats, probs = bb.forward(batch)
    assert probs is None and feats.shape == (2, 2048) and feats.dtype == np.float32
    assert np.isfinite(feats).all()
    with torch.no_grad():
        np.testing.assert_allclose(feats, net.eval()(batch).numpy(), rtol=1e-4, atol=1e-5)


def test_ssl_preprocessing_is_resize_crop_normalise(tmp_path, monkeypatch, resnet_state):
    ckpt, _ = resnet_state
    torch.save(ckpt, tmp_path / "swav.pth")
    monkeypatch.setenv("PED_MODELS", str(tmp_path))
    bb = load_backbone("ssl:swav")
    img = Image.new("RGB", (300, 200), (255, 0, 128))
    x = bb.transform(img).numpy()
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = (np.array([255, 0, 128]) / 255.0 - mean) / std
    np.testing.assert_allclose(x[:, 100, 100], expected, rtol=1e-5)
    assert bb.preprocess_id().startswith("resize224-crop224x224;bicubic")


def test_missing_ssl_checkpoint_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("PED_MODELS", str(tmp_path))
    msg = (
        f"The checkpoint for 'ssl:moco-v2' is not at {tmp_path / 'moco-v2.pth'}: download "
        "moco-v2.pth from the ssl-transfer release into that folder, or set PED_MODELS to the "
        "folder that holds it."
    )
    with pytest.raises(MissingWeightsError, match=f"^{re.escape(msg)}$"):
        load_backbone("ssl:moco-v2")


def test_unknown_ssl_name(tmp_path, monkeypatch):
    monkeypatch.setenv("PED_MODELS", str(tmp_path))
    msg = (
        f"Unknown ssl model 'dino' (and no {tmp_path / 'dino.pth'}); known: "
        + ", ".join(SSL_MODELS)
        + "."
    )
    with pytest.raises(UnknownModelError, match=f"^{re.escape(msg)}$"):
        load_backbone("ssl:dino")


def test_incomplete_checkpoint_lists_missing_keys(tmp_path, monkeypatch, resnet_state):
    ckpt, _ = resnet_state
    partial = {k: v for k, v in ckpt["state_dict"].items() if "layer4" not in k}
    # torch tolerates a missing BN num_batches_tracked, so those are not counted
    n_missing = sum("layer4" in k and "num_batches" not in k for k in ResNet50().state_dict())
    torch.save(partial, tmp_path / "pcl-v1.pth")
    monkeypatch.setenv("PED_MODELS", str(tmp_path))
    with pytest.raises(MissingWeightsError) as info:
        load_backbone("ssl:pcl-v1")
    text = str(info.value)
    assert text.startswith(
        f"The checkpoint {tmp_path / 'pcl-v1.pth'} lacks {n_missing} of the ResNet-50 weights "
        "'ssl:pcl-v1' needs (e.g. layer4.0.conv1.weight, "
    )
    assert text.endswith("it holds keys such as conv1.weight, bn1.weight, bn1.bias.")


def test_checkpoint_with_code_is_refused(tmp_path, monkeypatch):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    with open(tmp_path / "insdis.pth", "wb") as fh:
        pickle.dump({"state_dict": Evil()}, fh, protocol=2)
    monkeypatch.setenv("PED_MODELS", str(tmp_path))
    with pytest.raises(
        MissingWeightsError, match=r"^Could not read .*insdis\.pth as a weights-only"
    ):
        load_backbone("ssl:insdis")


def test_extra_keys_are_reported(tmp_path, monkeypatch, resnet_state, caplog):
    ckpt, _ = resnet_state
    state = dict(ckpt["state_dict"])
    state["module.projector.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "simclr-v1.pth")
    monkeypatch.setenv("PED_MODELS", str(tmp_path))
    with caplog.at_level("WARNING", logger="ped.models._local"):
        load_backbone("ssl:simclr-v1")
    assert "ignored 1 keys that are not part of a ResNet-50 (e.g. projector.weight)" in caplog.text
