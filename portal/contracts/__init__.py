"""Contract packages (CON): preparation, sending, signing, conclusion, lists, search."""
