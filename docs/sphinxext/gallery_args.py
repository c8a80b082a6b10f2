"""The command-line arguments sphinx-gallery gives each example it runs (``reset_argv``).

Named by string in conf.py, so that the configuration stays picklable (Sphinx caches it).
sphinx-gallery runs each script from its own folder (examples/), so an example that writes a
file is given a path in the build's output instead.
"""

from pathlib import Path

# examples whose main() takes --quick: the same steps on less data, so the build stays fast
QUICK = {"quickstart.py", "images_from_folder.py"}


def arguments(gallery_conf, script_vars):
    name = Path(script_vars["src_file"]).name
    if name == "plot_learning_curves.py":  # its one argument: where to save the PNG
        return [str(Path(script_vars["target_file"]).with_name("learning_curves.png"))]
    return ["--quick"] if name in QUICK else []
