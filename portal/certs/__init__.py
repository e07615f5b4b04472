"""The signing room: signing PIN screens, the certificate life cycle and the signing
dialog (PIN-1…PIN-5, CERT-1, CERT-4…CERT-6, SIGN-2), and certificate issuance
requests (CERT-2, CERT-3). Every certificate operation goes through the adapter
``remote_signing.client``."""
