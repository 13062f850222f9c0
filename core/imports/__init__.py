"""The order-import domain: CSV parsing (pure) and the import run itself."""
