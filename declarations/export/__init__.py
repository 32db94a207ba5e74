"""The export documents (message specification chapter 2)."""
