"""The notebook (HTML) repr: the model builder shows as a box beside the preprocessor, and the
boxes of our public classes link to their documentation pages."""

import html as html_module
import importlib
import pathlib
import re
import tomllib

import keras
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep import _html_repr
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
    assert not [link for link in links(html) if "api/generated" in link]  # no host: no link


SITE = "https://docs.example.org/skkeras_prep/"


def test_with_a_documentation_root_each_box_links_to_its_page(monkeypatch):
    monkeypatch.setattr(_html_repr, "DOCS_URL", SITE)
    html = estimator_html_repr(KerasPipelineClassifier(MLP((8,)), StandardScaler()))
    assert f"{SITE}api/generated/skkeras_prep.models.MLP.html" in links(html)
    for est in (KerasPipelineClassifier(), KerasPipelineRegressor(MLP())):
        name = type(est).__name__
        assert f"{SITE}api/generated/skkeras_prep.{name}.html" in links(estimator_html_repr(est))


def test_without_a_documentation_root_no_box_links_to_a_page():
    assert DOCS_URL is None  # the site has no host yet (see _html_repr.DOCS_URL)
    for est in (KerasPipelineClassifier(), KerasPipelineRegressor(MLP()), MLP()):
        assert est._get_doc_link() == ""


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


def test_a_users_subclass_gets_no_link_rather_than_a_wrong_one(monkeypatch):
    monkeypatch.setattr(_html_repr, "DOCS_URL", SITE)

    class MyClassifier(KerasPipelineClassifier):
        pass

    assert MyClassifier()._get_doc_link() == ""
    assert MLP()._get_doc_link() == f"{SITE}api/generated/skkeras_prep.models.MLP.html"


def generated_pages():
    """The public paths that docs/api/index.rst generates a page for: each name of an
    autosummary with ":toctree: generated/", under the module of the ".. currentmodule::"
    before it (the built page is api/generated/<public path>.html)."""
    pages, module, in_summary = set(), None, False
    for line in (ROOT / "docs" / "api" / "index.rst").read_text().splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::")[1].strip()
        elif line.startswith(".. autosummary::"):
            in_summary = True
        elif in_summary and line.strip().startswith(":toctree:"):
            assert line.split(":toctree:")[1].strip() == "generated/", line
        elif in_summary and line.startswith("   ") and not line.strip().startswith(":"):
            pages.add(f"{module}.{line.strip()}")
        elif line and not line.startswith(" "):
            in_summary = False
    return pages


def test_every_linked_page_is_generated_from_the_public_path_of_its_class():
    """The site's API reference (docs/api/index.rst, built by sphinx-build) has a page for each
    linked class, named by the path users import it from, and that path is the class."""
    pages = generated_pages()
    for name, (defining, public) in DOCUMENTED.items():
        cls = getattr(importlib.import_module(defining), name)
        assert getattr(importlib.import_module(public), name) is cls
        assert f"{public}.{name}" in pages, f"docs/api/index.rst does not list {public}.{name}"
        assert _html_repr.page_url(cls, SITE) == f"{SITE}api/generated/{public}.{name}.html"


def test_the_documentation_root_is_the_one_pyproject_declares():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project.get("urls", {}).get("Documentation") == DOCS_URL
