"""The scanning page (PRODUCT.md "Verifier HTTP interface", `/`): static files beside this module."""
