"""Retention and end of life (CON-9, #14): the one place that deletes stored
documents and personal data, across contracts, KYC and users."""
