"""The submit form beyond uploads: the owner's models and properties to choose from, and
train jobs with their training fields."""

from __future__ import annotations

import pytest

from tests.web.support import text_of


def job_of(alice, response) -> dict:
    assert response.status_code == 303, text_of(response)
    return alice.api.get(response.headers["location"]).json()


def test_the_form_offers_the_owner_s_uploads_and_only_theirs(alice, bob, uploads):
    model, prop = uploads
    form = alice.get("/submit")
    assert f'<option value="{model["id"]}">tiny.onnx.gz · {model["id"][:8]}</option>' in form.text
    assert f'<option value="{prop["id"]}">tiny_unsat.vnnlib.gz · {prop["id"][:8]}</option>' in form.text
    assert model["id"] not in bob.get("/submit").text
    chosen = alice.get(f"/submit?kind=train&model_id={model['id']}")
    assert f'<option value="{model["id"]}" selected>' in chosen.text and '<option value="train" selected>' in chosen.text


def test_a_verify_job_on_an_uploaded_model_and_property_uploads_nothing(alice, uploads):
    model, prop = uploads
    job = job_of(alice, alice.post("/submit", {"kind": "verify", "model_id": model["id"], "property_id": prop["id"]},
                                   files={"model": ("", b""), "property": ("", b"")}))
    assert (job["kind"], job["model_id"], job["property_id"]) == ("verify", model["id"], prop["id"])
    assert len(alice.api.get("/models").json()["items"]) == 1


def test_a_train_job_from_the_form_with_its_fields_and_options(alice, uploads):
    job = job_of(alice, alice.post("/submit", {"kind": "train", "method": "crown-ibp", "arch": "mlp", "eps": "0.05",
                                               "epochs": "2", "options": '{"train_subset": 64}'}))
    assert (job["kind"], job["model_id"], job["property_id"]) == ("train", None, None)
    assert job["config"] == {"train_subset": 64, "method": "crown-ibp", "arch": "mlp", "eps": 0.05, "epochs": 2}
    fine_tune = job_of(alice, alice.post("/submit", {"kind": "train", "model_id": uploads[0]["id"], "epochs": "1"}))
    assert fine_tune["model_id"] == uploads[0]["id"] and fine_tune["config"] == {"epochs": 1}


@pytest.mark.parametrize("form, message", [
    ({"kind": "verify"}, "choose an ONNX model file, or one of your models"),
    ({"kind": "verify", "model_id": "MODEL"}, "a verify job needs a VNN-LIB property file, or one of your properties"),
    ({"kind": "verify", "model_id": "MODEL", "property_id": "PROPERTY", "epochs": "3"},
     "epochs: training fields are for train jobs; clear them for a verify job"),
    ({"kind": "train", "epochs": "two"}, "epochs: 'two' is not a whole number"),
    ({"kind": "train", "eps": "wide"}, "eps: 'wide' is not a number"),
    ({"kind": "train", "epochs": "3", "options": '{"epochs": 4}'}, "epochs: given both as a field and in the engine options"),
    ({"kind": "train", "arch": "resnet"}, "unknown architecture 'resnet'"),
    ({"kind": "train", "epochs": "0"}, "epochs"),
    ({"kind": "inspect", "model_id": "0" * 32}, "model '00000000000000000000000000000000' not found"),
])
def test_a_bad_choice_or_training_field_returns_the_form_naming_it(alice, uploads, form, message):
    model, prop = uploads
    form = {key: value.replace("MODEL", model["id"]).replace("PROPERTY", prop["id"]) for key, value in form.items()}
    before = alice.api.get("/jobs").json()["items"]
    response = alice.post("/submit", form)
    assert response.status_code in (404, 422), response.text
    assert message in text_of(response) and 'role="alert"' in response.text
    for name in ("epochs", "eps"):
        if name in form:
            assert f'name="{name}"' in response.text and f'value="{form[name]}"' in response.text
    assert alice.api.get("/jobs").json()["items"] == before


def test_a_file_and_a_choice_together_are_refused(alice, uploads, bundled_benchmarks):
    path = bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz"
    response = alice.post("/submit", {"kind": "inspect", "model_id": uploads[0]["id"]},
                          files={"model": (path.name, path.read_bytes())})
    assert response.status_code == 422
    assert "model: upload a file or choose one of yours, not both" in text_of(response)


def test_another_owner_s_model_cannot_be_chosen(alice, bob, uploads):
    response = bob.post("/submit", {"kind": "inspect", "model_id": uploads[0]["id"]})
    assert response.status_code == 404 and "not found" in text_of(response)
