"""The API's request and answer bodies, one module per area (:mod:`.jobs`: long work as jobs)."""
