"""Request and answer models of the API, one module per resource."""
