from __future__ import annotations

import pytest
from blobs_helper import make_blobs


@pytest.fixture
def blobs():
    return make_blobs()
