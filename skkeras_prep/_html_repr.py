"""How the public classes show in a notebook (scikit-learn's HTML repr).

- **Parts as boxes.** scikit-learn draws a parameter as a nested box only when it has ``fit``;
  a model builder (``models.MLP``) has none, so the estimator lays out its parts itself
  (``_sk_visual_block_``): the preprocessor and the model builder side by side, each with its
  own parameters. A function or a ``keras.Model`` given as ``model`` shows as a labelled box.
- **Documentation links.** scikit-learn puts a "?" link on every box, from the object's
  ``_get_doc_link()`` (documented for third-party estimators, with ``_doc_link_module``). Each
  public class has one page in the Sphinx site built from docs/ (docs/api/index.rst generates
  it from the docstring with autosummary and numpydoc): ``api/generated/<public path>.html``,
  e.g. ``api/generated/skkeras_prep.models.MLP.html``, so scikit-learn's per-parameter
  text-fragment links (``#:~:text=<name>,-<type>``) land on the parameter's line.
"""

from ._compat import sklearn_visual_block

# The project's documentation root: where the site that docs/ builds is published, ending in
# "/". The site has no host yet, so there is none: no box gets a "?" link (a link to a page
# that does not exist would be worse), and pyproject.toml declares no Documentation URL.
# When the site is published, set it here and as pyproject.toml's [project.urls]
# Documentation (tests/test_html_repr.py checks that the two agree).
DOCS_URL = None

# The public classes that have a documentation page: name -> (the module defining it, the
# module users import it from, which names the page).
DOCUMENTED = {
    "KerasPipelineClassifier": ("skkeras_prep.classifier", "skkeras_prep"),
    "KerasPipelineRegressor": ("skkeras_prep.regressor", "skkeras_prep"),
    "MLP": ("skkeras_prep.models", "skkeras_prep.models"),
    "CNN": ("skkeras_prep.models", "skkeras_prep.models"),
    "KerasApplication": ("skkeras_prep.models", "skkeras_prep.models"),
}


def doc_link(cls):
    """The URL of the documentation page of class ``cls``, or "" if it has none (a user's
    subclass gets no link rather than a wrong one; nothing has one while the site has no
    host)."""
    return page_url(cls, DOCS_URL)


def page_url(cls, root):
    """The page of class ``cls`` in the site published at ``root``: "" for no root or a
    class without a page."""
    defining, public = DOCUMENTED.get(cls.__name__, (None, None))
    if not root or defining != cls.__module__:
        return ""
    return f"{root}api/generated/{public}.{cls.__name__}.html"


class DocLinkMixin:
    """The "?" link of a public class's box points at its page."""

    _doc_link_module = "skkeras_prep"

    def _get_doc_link(self):
        return doc_link(type(self))


class PartsReprMixin(DocLinkMixin):
    """An estimator's box shows its preprocessor and model builder as nested boxes."""

    def _sk_visual_block_(self):
        parts = [(name, getattr(self, name, None)) for name in ("preprocessor", "model")]
        parts = [(name, part) for name, part in parts if part is not None]
        if not parts:
            return sklearn_visual_block("single", self, names=type(self).__name__,
                                        name_details=str(self))
        shown, names, details = [], [], []
        for name, part in parts:
            if hasattr(part, "get_params") and not isinstance(part, type):
                shown.append(part)  # drawn with its own parameters and link
                label = type(part).__name__
            else:  # a builder function or a keras.Model: a labelled box
                label = getattr(part, "__qualname__", None) or type(part).__name__
                shown.append(label)
            names.append(f"{name}: {label}")
            details.append(str(part) if not isinstance(part, str) else part)
        return sklearn_visual_block("parallel", shown, names=names, name_details=details)
