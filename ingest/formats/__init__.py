"""The built-in input formats: one module each, declaring its ``READER`` (see
:mod:`dosewatch.ingest.registry`). A new format is a new module here plus its tests."""
