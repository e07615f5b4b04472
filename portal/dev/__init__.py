"""Developer pages of the embedded profile (the demo mailbox)."""
