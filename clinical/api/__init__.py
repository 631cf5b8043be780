"""The clinical REST API, one module per resource (see clinical/urls.py)."""
