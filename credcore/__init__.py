"""Puente's credential core: SD-JWT VC issuance and verification, Token Status List, trust list,
credential types and the offline QR format.

Pure functions and values. No web framework, database, network or environment access: time,
randomness, key lookup, status fetching and replay stores are passed in.
"""

from credcore.errors import CredentialError

__all__ = ["CredentialError"]
