"""User management inside a company (USR), powers of attorney, certificate
issuance requests (CERT-2, CERT-3) and company info (CO-1, CO-2)."""
