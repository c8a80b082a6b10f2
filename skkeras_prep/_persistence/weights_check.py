"""What a ``model.weights.h5`` entry may declare, read from its HDF5 metadata before Keras
reads a weight (docs/persistence.md, "Bounded cost").

Keras reads each weight dataset whole into memory before it checks its shape, and HDF5 can
compress a dataset inside the file (chunks of zeros take almost nothing), which the zip
compression ratio cannot see. An HDF5 file can also point outside itself: external links,
external raw storage and virtual datasets name other files. Keras writes none of these.
"""

import io

_H5_ERRORS = (OSError, ValueError, KeyError, RuntimeError, TypeError, ArithmeticError)
_MAX_OBJECTS = 100_000  # groups and datasets visited in one weights file


def _problem(f, allowed_bytes, size):
    """Walk ``f`` group by group in Python (exceptions inside h5py's visit callbacks leave
    its lock in a bad state), following hard links only and each object once."""
    import h5py

    total, seen, stack = 0, set(), [f]
    while stack:
        group = stack.pop()
        for name in list(group):
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                return f"its weights hold a link of kind {type(link).__name__} ({name!r}); Keras writes none"
            item = group[name]
            if item.id in seen:
                continue
            seen.add(item.id)
            if len(seen) > _MAX_OBJECTS:
                return f"its weights hold more than {_MAX_OBJECTS:,} objects"
            if isinstance(item, h5py.Group):
                stack.append(item)
            elif isinstance(item, h5py.Dataset):
                if item.external or item.is_virtual:
                    return f"its weight {item.name} is stored in another file"
                total += int(item.size) * item.dtype.itemsize
    if total > allowed_bytes:
        return (f"its weights declare {total:,} bytes in {size:,} bytes of HDF5 "
                "(compressed inside the file)")
    return None


def weights_problem(data, allowed_bytes):
    """Why the weights file ``data`` is refused (it points outside itself, is not readable
    HDF5, or its datasets declare more than ``allowed_bytes``), or None."""
    import h5py

    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            return _problem(f, allowed_bytes, len(data))
    except _H5_ERRORS as exc:
        return f"its weights are not a readable HDF5 file ({type(exc).__name__})"
