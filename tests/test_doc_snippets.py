"""Every Python block of README.md and docs/*.md runs as written, as a user would paste it into
a script, unless the line before it marks it as a fragment (``<!-- fragment -->``: a piece
that continues the text around it, or shows output).

Each block runs in its own process, from a scratch folder. Where a block reads files (an image
folder, parquet files), the test writes small ones under the path the block names, in that
folder: only the data source differs from what a user has.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
FRAGMENT = re.compile(r"^\s*<!-- fragment\b.*-->\s*$")
OPENING = re.compile(r"^(\s*)```python\s*$")


def blocks(document):
    """(line number, code, is_fragment) for each ```python block of ``document``."""
    lines = (ROOT / document).read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = OPENING.match(lines[i])
        if not opening:
            i += 1
            continue
        indent = opening.group(1)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        code = "\n".join(line[len(indent):] for line in lines[i + 1:end]) + "\n"
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        found.append((i + 1, code, bool(FRAGMENT.match(before))))
        i = end + 1
    return found


# Blocks that run a whole search or cross-validation (tens of fits) or start a cluster: run by
# the full suite (CI), like the examples, not by the fast one (-m "not slow").
SLOW = ("LocalCluster(", "GridSearchCV(clf,", "GridSearchCV(\n    clf,")


def _runnable():
    params = []
    for document in DOCUMENTS:
        for line, code, fragment in blocks(document):
            if fragment:
                continue
            marks = [pytest.mark.slow] if any(key in code for key in SLOW) else []
            params.append(pytest.param(code, id=f"{document}:{line}", marks=marks))
    return params


def write_image_folder(folder, extension, classes=("cat", "dog"), per_class=6, size=32):
    """A tiny image folder: one sub-folder per class, images whose brightness tells the class."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for k, name in enumerate(classes):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 96, (size, size, 3)) + 128 * k
            image = tf.constant(pixels.astype(np.uint8))
            data = tf.io.encode_png(image) if extension == "png" else tf.io.encode_jpeg(image)
            tf.io.write_file(str(folder / name / f"{i:03d}.{extension}"), data)


def write_events(folder, files=2, rows=300):
    """Parquet files with the columns docs/scaling.md reads."""
    import pandas as pd

    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(files):
        amount = rng.gamma(2.0, 50.0, rows)
        pd.DataFrame({
            "amount": amount,
            "age": rng.integers(18, 80, rows).astype(float),
            "country": rng.choice(["de", "fr", "it"], rows),
            "label": (amount > 100).astype(int),
        }).to_parquet(folder / f"part-{k}.parquet")


def set_up_data(code, folder):
    if '"photos/"' in code:
        write_image_folder(folder / "photos", "png")
    if '"flowers/"' in code:
        write_image_folder(folder / "flowers", "jpg")
    if '"events/*.parquet"' in code:
        write_events(folder / "events")


def test_every_document_has_blocks_and_the_extraction_finds_them():
    """The extraction sees the blocks (an indented one too), so the test below is not vacuous."""
    found = {document: blocks(document) for document in DOCUMENTS}
    assert len(found["README.md"]) >= 4
    assert any(code.startswith("import os") for _, code, _ in found["README.md"])
    assert sum(not fragment for codes in found.values() for _, _, fragment in codes) >= 8


def test_a_fragment_marker_stands_before_a_python_block():
    """A marker elsewhere would silently mark nothing (or the wrong block)."""
    for document in DOCUMENTS:
        lines = (ROOT / document).read_text().splitlines()
        for i, line in enumerate(lines):
            if FRAGMENT.match(line):
                following = next(text for text in lines[i + 1:] if text.strip())
                assert OPENING.match(following), f"{document}:{i + 1}: marker before {following!r}"


@pytest.mark.parametrize("code", _runnable())
def test_block_runs_as_written(code, tmp_path):
    set_up_data(code, tmp_path)
    script = tmp_path / "snippet.py"
    script.write_text(code)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{code}\n--- stderr:\n{result.stderr[-3000:]}"
