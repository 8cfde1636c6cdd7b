"""The real pretrained weights behave as the pretrained networks should."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ped.models import list_zoo, load_backbone
from ped.models._small_nets import ONet

pytestmark = pytest.mark.slow  # real pretrained weights: the full `make test` tier

INSTALLED = {e.name for e in list_zoo() if e.installed}


def _need(name: str) -> None:
    if name not in INSTALLED:
        pytest.skip(f"zoo:{name} is not installed")


@pytest.fixture(scope="module")
def imagenet_photos() -> list[Image.Image]:
    data = pytest.importorskip("skimage.data")
    return [Image.fromarray(data.chelsea()), Image.fromarray(data.coffee())]


@pytest.mark.parametrize(
    "name", ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2", "mobilenetv2"]
)
def test_imagenet_classifiers_name_the_cat_and_the_espresso(name, imagenet_photos):
    _need(name)
    bb = load_backbone(f"zoo:{name}")  # native resolution
    assert bb.num_source_classes == 1000
    _, probs = bb.forward(bb.collate([bb.transform(im) for im in imagenet_photos]))
    # ImageNet class 285 is "Egyptian cat", 967 "espresso"
    assert probs.argmax(axis=1).tolist() == [285, 967]


def test_efficientnet_lite_names_them_at_128_px_too(imagenet_photos):
    _need("efficientnet-lite0")
    bb = load_backbone("zoo:efficientnet-lite0", image_size=128)
    assert bb.transform(imagenet_photos[0]).shape == (3, 128, 128)
    _, probs = bb.forward(bb.collate([bb.transform(im) for im in imagenet_photos]))
    assert probs.argmax(axis=1).tolist() == [285, 967]


def test_efficientnet_module_gives_the_forward_features(small_images):
    _need("efficientnet-lite0")
    bb = load_backbone("zoo:efficientnet-lite0", image_size=64)
    batch = bb.collate([bb.transform(im) for im in small_images])
    feats, _ = bb.forward(batch)
    bb.module.train()  # fine-tuning mode; forward() must still run in eval mode
    again, _ = bb.forward(batch)
    assert bb.module.training
    bb.module.eval()
    with torch.no_grad():
        np.testing.assert_allclose(bb.module(batch).numpy(), feats, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(again, feats)


def test_onet_recognises_a_face():
    _need("mtcnn-onet")
    data = pytest.importorskip("skimage.data")
    astronaut = Image.fromarray(data.astronaut())
    face, background = astronaut.crop((170, 20, 290, 160)), astronaut.crop((0, 300, 120, 420))
    bb = load_backbone("zoo:mtcnn-onet")
    (path,) = bb.weight_files
    net = ONet()  # the backbone's module has no face head (fine-tuning never uses it)
    net.load_state_dict(torch.load(path, weights_only=True), strict=True)
    with torch.no_grad():
        p = net.eval().face_prob(bb.collate([bb.transform(face), bb.transform(background)]))
    assert p[0] > 0.99 and p[1] < 0.1
    assert not hasattr(bb.module, "conv6_1")


def test_minilm_l6_puts_paraphrases_together():
    _need("minilm-l6")
    bb = load_backbone("zoo:minilm-l6")
    feats, _ = bb.forward(
        bb.collate(["A man is playing a guitar.", "A person plays the guitar.", "Stocks fell."])
    )
    f = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    assert f[0] @ f[1] > 0.8 and f[0] @ f[2] < 0.2
    batch = bb.collate(["short", "a somewhat longer sentence with padding"])
    assert batch["attention_mask"][0].sum() < batch["attention_mask"][1].sum()
    with torch.no_grad():  # padding does not change an item's features
        alone = bb.module(bb.collate(["short"]))
        np.testing.assert_allclose(bb.module(batch)[0], alone[0], atol=1e-5)


def test_minilm_l3_matches_the_graphs_own_pooling():
    _need("minilm-l3")
    bb = load_backbone("zoo:minilm-l3")
    batch = bb.collate(["hello world, this is a test.", "short"])
    (pooled,) = bb.session.run(["461"], {k: batch[k] for k in bb.input_names})
    np.testing.assert_allclose(bb.forward(batch)[0], pooled, atol=1e-5)


def test_static_64_matches_the_packages_own_encoder():
    _need("static-64")
    static_model = pytest.importorskip("static_model")
    texts = ["hello world, this is a test.", "short", "The movie was surprisingly good!"]
    bb = load_backbone("zoo:static-64")
    ref = np.asarray(static_model.get_embeddings(texts), dtype=np.float32)
    np.testing.assert_allclose(bb.forward(texts)[0], ref, atol=1e-5)


def test_glove_averages_known_words_and_skips_unknown_ones():
    _need("glove-50d")
    bb = load_backbone("zoo:glove-50d")
    feats, _ = bb.forward(["The cat", "cat", "qwzxv ploughq", ""])
    cat = feats[1]
    the = bb.forward(["the"])[0][0]
    np.testing.assert_allclose(feats[0], (the + cat) / 2, rtol=1e-6)
    assert np.linalg.norm(cat) > 1
    np.testing.assert_array_equal(feats[2:], 0.0)
