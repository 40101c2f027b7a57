"""Wire formats mapped onto the data dictionary, one module each, registered by name.

The collector writes what it receives to the raw topic with a ``playpipe.format`` header;
the standardizer looks the format up here and maps each message to dictionary events::

    fmt = get_format("native")
    events = fmt.map(value, headers)        # raises MappingError with the reason

Built-in formats are imported lazily; third-party formats register through the
``playpipe.sources`` entry-point group (``name = "package.module:FormatClass"``).
"""

from __future__ import annotations

from playpipe.sources.registry import (
    MappingError,
    SourceFormat,
    available_formats,
    get_format,
    make_format,
)

__all__ = ["MappingError", "SourceFormat", "available_formats", "get_format", "make_format"]
