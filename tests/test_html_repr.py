"""The notebook (HTML) repr: the model builder shows as a box beside the preprocessor, and the
boxes of our public classes link to their documentation pages."""

import html as html_module
import importlib.util
import pathlib
import re
import tomllib

import keras
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep._html_repr import DOCS_URL, DOCUMENTED
from skkeras_prep.models import MLP

ROOT = pathlib.Path(__file__).resolve().parent.parent


def labels(html):
    """The text pieces of the repr (box labels among them), markup removed: independent of
    how a scikit-learn version nests its label elements."""
    pieces = re.split(r"<[^>]+>", html[html.index("<div"):])
    return [html_module.unescape(p).strip() for p in pieces if p.strip()]


def links(html):
    return re.findall(r'href="([^"#]+)"', html)


def test_the_model_builder_shows_as_a_box_beside_the_preprocessor():
    html = estimator_html_repr(KerasPipelineClassifier(MLP((8,), dropout=0.2), StandardScaler()))
    shown = labels(html)
    assert "KerasPipelineClassifier" in shown
    assert {"preprocessor: StandardScaler", "model: MLP", "MLP", "StandardScaler"} <= set(shown)
    assert "MLP(dropout=0.2, hidden_layer_sizes=(8,))" in html  # the builder's own parameters
    assert f"{DOCS_URL}api/MLP.md" in links(html)


def test_the_estimator_box_links_to_its_page():
    for est in (KerasPipelineClassifier(), KerasPipelineRegressor(MLP())):
        name = type(est).__name__
        assert f"{DOCS_URL}api/{name}.md" in links(estimator_html_repr(est))


def test_a_function_or_keras_model_shows_as_a_labelled_box():
    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)])

    shown = labels(estimator_html_repr(KerasPipelineRegressor(build)))
    assert "model: test_a_function_or_keras_model_shows_as_a_labelled_box.<locals>.build" in shown
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert "model: Sequential" in labels(estimator_html_repr(KerasPipelineRegressor(model)))


def test_inside_a_pipeline_and_after_clone_the_parts_still_show():
    pipe = make_pipeline(StandardScaler(), clone(KerasPipelineClassifier(MLP(), StandardScaler())))
    shown = labels(estimator_html_repr(pipe))
    assert "model: MLP" in shown and "preprocessor: StandardScaler" in shown


def test_a_users_subclass_gets_no_link_rather_than_a_wrong_one():
    class MyClassifier(KerasPipelineClassifier):
        pass

    assert MyClassifier()._get_doc_link() == ""
    assert MLP()._get_doc_link().endswith("/api/MLP.md")


def test_every_linked_page_exists_and_holds_the_current_docstring():
    """The pages are written by docs/api/regenerate.py from the docstrings; rerun it after
    changing a public docstring."""
    spec = importlib.util.spec_from_file_location("regenerate", ROOT / "docs" / "api" / "regenerate.py")
    regenerate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(regenerate)
    for name in DOCUMENTED:
        path = ROOT / "docs" / "api" / f"{name}.md"
        assert path.exists(), f"{path} is missing: run python docs/api/regenerate.py"
        assert path.read_text() == regenerate.page(name), (
            f"{path.name} is out of date with the docstring: run python docs/api/regenerate.py"
        )


def test_the_documentation_root_is_the_one_pyproject_declares():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Documentation"] == DOCS_URL
