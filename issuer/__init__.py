"""The issuer service (issue 3): institutions, staff, issuance, OpenID4VCI, status lists, batches."""
