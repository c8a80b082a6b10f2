"""The two errors a refused file raises: the file is not one of ours (truncated, modified,
another format) or one of its entries was refused. Every check of the package raises these
(or a limit's error, ``limits.too_costly``), so that a bad file always gets our message."""

import os


def not_ours(path, why):
    return ValueError(
        f"{os.fspath(path)!s} is not a readable skkeras_prep estimator file: {why}. Load files "
        "written by est.save(path); a truncated or modified file must be saved again."
    )


def refused(where, why):
    return ValueError(f"The file's entry {where} was refused: {why}.")
