"""What a ``model.weights.h5`` entry may declare, read from its HDF5 metadata before Keras
reads a weight (docs/persistence.md, "Bounded cost").

Keras reads each weight dataset whole into memory before it checks its shape, and HDF5 can
compress a dataset inside the file (chunks of zeros take almost nothing), which the zip
compression ratio cannot see. An HDF5 file can also point outside itself: external links,
external raw storage and virtual datasets name other files. Keras writes none of these.
"""

import io

_H5_ERRORS = (OSError, ValueError, KeyError, RuntimeError, TypeError, ArithmeticError)


def weights_problem(data, allowed_bytes):
    """Why the weights file ``data`` is refused (it points outside itself, is not readable
    HDF5, or its datasets declare more than ``allowed_bytes``), or None."""
    import h5py

    links, datasets = [], []
    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            f.visititems_links(lambda name, link: None if isinstance(link, h5py.HardLink)
                               else links.append(f"{name} ({type(link).__name__})"))
            if links:
                return f"its weights hold links {links[:3]}; Keras writes none"
            f.visititems(lambda name, obj: datasets.append(obj)
                         if isinstance(obj, h5py.Dataset) else None)
            total = 0
            for dataset in datasets:
                if dataset.external or dataset.is_virtual:
                    return f"its weight {dataset.name} is stored in another file"
                total += int(dataset.size) * dataset.dtype.itemsize
    except _H5_ERRORS as exc:
        return f"its weights are not a readable HDF5 file ({type(exc).__name__})"
    if total > allowed_bytes:
        return (f"its weights declare {total:,} bytes in {len(data):,} bytes of HDF5 "
                "(compressed inside the file)")
    return None
