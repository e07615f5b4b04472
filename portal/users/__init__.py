"""The users area, by concern: users of a company (USR, ``services``), company
info (CO-1, CO-2, ``company``) and powers of attorney (``poa``). Certificate
issuance requests are the signing room's (``portal.certs``)."""
