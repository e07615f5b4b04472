"""Remote signing: the portal's adapter (``client``), the PDF signer (``pdf``)
and the embedded signing service (``service``, RS-1/RS-2)."""
