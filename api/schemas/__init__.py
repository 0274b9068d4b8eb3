"""The API's request and answer models (pydantic), one module per resource."""
