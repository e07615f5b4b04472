"""Identity documents (KYC-1..6): consent, document types, upload checks,
virus scanning, quarantine and the bank's review."""
