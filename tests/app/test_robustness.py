"""POST /properties/robustness: the property is made from the request, stored as the
caller's own, and means what core.spec.robustness writes."""

from __future__ import annotations

import pytest

from app.storage import ArtifactStore
from core.spec import parse_vnnlib
from core.spec.robustness import mnist_test_image, robustness_vnnlib


def test_an_mnist_index_makes_a_stored_property_of_the_caller(api, other_api, api_settings):
    response = api.post("/properties/robustness", json={"mnist_index": 7, "eps": 0.03})
    assert response.status_code == 201, response.text
    prop = response.json()
    pixels, label = mnist_test_image(7)
    assert (prop["n_inputs"], prop["n_outputs"], prop["n_disjuncts"]) == (784, 10, 9)
    assert prop["filename"] == f"robustness-{label}-0.03.vnnlib"
    stored = ArtifactStore(api_settings.artifacts_dir).read(prop["sha256"]).decode()
    assert stored == robustness_vnnlib(pixels, 0.03, label)
    assert api.get(f"/properties/{prop['id']}").json() == prop
    assert other_api.get(f"/properties/{prop['id']}").status_code == 404
    again = api.post("/properties/robustness", json={"mnist_index": 7, "eps": 0.03})
    assert again.json()["id"] == prop["id"]  # the same file: the same property


def test_pixels_make_the_property_of_that_image(api, api_settings):
    body = {"pixels": [0.0, 0.25, 1.0], "eps": 0.5, "label": 1, "n_classes": 3, "filename": "mine.vnnlib"}
    prop = api.post("/properties/robustness", json=body).json()
    text = ArtifactStore(api_settings.artifacts_dir).read(prop["sha256"]).decode()
    box = parse_vnnlib(text).regions[0].box
    assert box.lower.tolist() == [0.0, 0.0, 0.5] and box.upper.tolist() == [0.5, 0.75, 1.0]
    assert prop["filename"] == "mine.vnnlib" and prop["n_disjuncts"] == 2


@pytest.mark.parametrize("body, words", [
    ({"eps": 0.1}, "exactly one of pixels and mnist_index"),
    ({"pixels": [0.5], "eps": 0.1}, "label is required"),
    ({"mnist_index": 0, "eps": 0}, "eps: Input should be greater than 0"),
    ({"mnist_index": 100000, "eps": 0.1}, "MNIST test index 100000 is not available"),
    ({"pixels": [0.5, 2.0], "eps": 0.1, "label": 0}, "pixel 1 is 2.0, outside the valid range"),
    ({"pixels": [0.5], "eps": 0.1, "label": 12}, "label 12 is not a class of 0..9"),
    ({"mnist_index": 0, "eps": 0.1, "colour": True}, "colour"),
])
def test_what_cannot_make_a_property_is_422_and_stores_nothing(api, body, words):
    before = api.get("/properties").json()["items"]
    response = api.post("/properties/robustness", json=body)
    assert response.status_code == 422 and words in response.json()["detail"], response.text
    assert api.get("/properties").json()["items"] == before
