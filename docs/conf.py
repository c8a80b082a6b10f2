"""Sphinx configuration of the skkeras_prep documentation site.

Build (warnings are errors; the README's "Documentation" section gives the same command):

    pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html

The API reference is generated from the docstrings (autosummary + numpydoc, api.rst), the user
guide is the Markdown files of this folder (MyST), and the gallery is built from examples/
(sphinx-gallery). The notebook repr links to the generated API pages, so their layout
(``api/generated/<public path>.html``) is part of skkeras_prep/_html_repr.py's contract.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # document this checkout, not an installed copy
sys.path.insert(0, str(Path(__file__).resolve().parent / "sphinxext"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow start-up in the build log

import skkeras_prep  # noqa: E402
from skkeras_prep._html_repr import DOCS_URL  # noqa: E402

project = "skkeras_prep"
author = "the skkeras_prep developers"
copyright = "the skkeras_prep developers"
release = version = skkeras_prep.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_templates", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.md5",
                    "auto_examples/*.json"]
templates_path = ["_templates"]

# API reference: one generated page per public object (api/generated/<public path>.rst)
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"  # numpydoc's "Parameters" sections carry the types
numpydoc_show_class_members = False  # the class template lists the methods itself
numpydoc_class_members_toctree = False

# User guide in Markdown: headings get anchors so that "page.md#section" links resolve
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# Gallery. Every example is shown; the ones matching filename_pattern are run (dask_search.py
# starts a cluster and is only shown). reset_argv (sphinxext/gallery_args.py) gives the
# examples that have one their "--quick" switch (the same steps on less data), which keeps the
# whole build within a couple of minutes.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # each API page lists the examples that use its object ("Examples using ...")
    "doc_module": ("skkeras_prep",),
    "backreferences_dir": "api/backreferences",
    "filename_pattern": r"/(?!dask_search)[a-z_]+\.py$",
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "gallery_args.arguments",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "plot_gallery": "True",
}

html_theme = "pydata_sphinx_theme"
html_title = "skkeras_prep"
html_baseurl = DOCS_URL or ""
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
}
html_show_sourcelink = False


def _skip_routing_setters(app, what, name, obj, skip, options):
    """scikit-learn adds ``set_<method>_request`` to every estimator class (metadata routing);
    their docstrings are scikit-learn's and link into its own glossary, so they are left to
    scikit-learn's documentation."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_routing_setters)
