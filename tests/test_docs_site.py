"""The documentation site's configuration (docs/conf.py) agrees with the project: its tools are
in the docs extra, the gallery shows every example and runs all but the one that starts a
cluster, and each example can be a gallery page. (CI builds the site: .ci/run.)"""

import ast
import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def conf():
    """docs/conf.py's settings, read without running it (it imports TensorFlow)."""
    tree = ast.parse((ROOT / "docs" / "conf.py").read_text())
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values


def test_the_docs_extra_installs_every_extension():
    docs = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["docs"]
    names = {re.split(r"[<>=!\[ ;]", n, maxsplit=1)[0].lower() for n in docs}
    provided_by = {"numpydoc": "numpydoc", "myst_parser": "myst-parser",
                   "sphinx_gallery": "sphinx-gallery", "sphinx": "sphinx"}
    for extension in conf()["extensions"]:
        assert provided_by[extension.split(".")[0]] in names, extension
    assert conf()["html_theme"].replace("_", "-") in names
    assert {"matplotlib", "pandas"} <= names  # what the executed examples import


def test_the_gallery_runs_every_example_but_the_cluster_one():
    pattern = re.compile(conf()["sphinx_gallery_conf"]["filename_pattern"])
    run = {p.name for p in EXAMPLES.glob("*.py") if pattern.search(str(p))}
    assert run == {p.name for p in EXAMPLES.glob("*.py")} - {"dask_search.py"}


def test_each_example_opens_with_a_gallery_title():
    for script in sorted(EXAMPLES.glob("*.py")):
        lines = (ast.get_docstring(ast.parse(script.read_text()), clean=False) or "").strip().splitlines()
        assert len(lines) > 1 and lines[1] == "=" * len(lines[0]), f"{script.name}: no title"


def test_the_gallery_passes_quick_only_to_examples_that_take_it():
    spec = importlib.util.spec_from_file_location("gallery_args", ROOT / "docs" / "sphinxext" / "gallery_args.py")
    gallery_args = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery_args)
    for script in sorted(EXAMPLES.glob("*.py")):
        target = ROOT / "docs" / "auto_examples" / script.with_suffix(".rst").name
        argv = gallery_args.arguments({}, {"src_file": str(script), "target_file": str(target)})
        if "--quick" in argv:
            assert '"--quick" in sys.argv' in script.read_text(), script.name
        for argument in argv:  # a path it writes lands in the build, not in examples/
            assert argument == "--quick" or Path(argument).parent == target.parent
